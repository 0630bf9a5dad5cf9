"""The one-click briefing pack: an A4 PDF (and PPTX) for press officers and leadership.

Before a press briefing (新闻发布会) or a leadership meeting, staff need the
period's figures in one clean document: cover, KPIs, trend, district ranking,
special projects, the ticket → clue → case → rectification funnel, maps of the
three named problems (井盖, 污水, 假冒伪劣) and the top hotspots, each with a
one-line Chinese caption that states the numbers. This module gathers those
aggregates (`build`), draws the figures with the house style, and prints an
HTML page to PDF with the local headless Chromium (`render_pdf`), nothing
fetched from the network. The numbers come from analytics.overview (KPIs,
rates, trend, district ranking, special projects, funnel totals) and
analytics.maps (street ranking, per-topic areas and grid cells), so the pack
agrees with the pages; only the count of tickets feeding clues and the
250 m hotspot cells are small SQL functions here.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd
import plotly.graph_objects as go

from analytics import export, overview, privacy, theme
from analytics.filters import Filters
from geo import grid as geogrid

TOPICS_MAPPED = ("井盖", "污水", "假冒伪劣")
PACK_TITLE = "12345热线检察监督工作简报"
MAP_CELL_M = 1000
MAP_MAX_CELLS = 3000
HOTSPOT_CELL_M = 250
HOTSPOT_LIMIT = 10
Y_SCALE = 1.305  # 1 / cos(40°): degrees of latitude drawn longer than longitude at Beijing

# ---------------------------------------------------------------- formatting


def fmt_n(n) -> str:
    """12345 -> '1.2 万', 2345 -> '2,345'."""
    n = int(n or 0)
    if abs(n) >= 10_000:
        return f"{n / 10_000:.1f} 万"
    return f"{n:,}"


def fmt_pct(x, digits: int = 1) -> str:
    return f"{x * 100:.{digits}f}%"


def fmt_change(p, word: str) -> str:
    """'同比上升 8.1%' / '同比下降 2.0%' / '同比持平' / '无同比数据'."""
    if p is None or pd.isna(p):
        return f"无{word}数据"
    if abs(p) < 0.0005:
        return f"{word}持平"
    return f"{word}{'上升' if p > 0 else '下降'} {abs(p) * 100:.1f}%"


def period_label(f: Filters) -> str:
    if f.date_from and f.date_to:
        return f"{f.date_from:%Y年%-m月%-d日}至{f.date_to:%Y年%-m月%-d日}"
    return "全部时间"


def scope_label(f: Filters) -> str:
    return "、".join(f.districts) if f.districts else "全市"


# ---------------------------------------------------------------- aggregates of our own

LINKED_TICKETS_SQL = """
    SELECT count(DISTINCT t.ticket_id)
    FROM tickets t
    WHERE {where} AND EXISTS (SELECT 1 FROM clue_tickets ct WHERE ct.ticket_id = t.ticket_id)
"""

HOTSPOTS_SQL = """
    SELECT {gi} AS gi, {gj} AS gj, mode(topic) AS topic, mode(district) AS district, mode(street) AS street,
           mode(address) AS address, count(*) AS n, count(DISTINCT CAST(received_at AS DATE)) AS days,
           CAST(min(received_at) AS DATE) AS first_day, CAST(max(received_at) AS DATE) AS last_day
    FROM tickets t
    WHERE {where} AND topic IS NOT NULL AND lat IS NOT NULL AND lon IS NOT NULL
    GROUP BY 1, 2
    HAVING count(*) >= 2
    ORDER BY n DESC, days DESC, last_day DESC
    LIMIT $lim
"""


def linked_tickets(con, f: Filters) -> int:
    """Tickets of the selection that feed at least one clue."""
    w = f.where("t")
    sql = LINKED_TICKETS_SQL.format(where=w.sql)
    return int(con.execute(sql, w.params).fetchone()[0])


def street_ranking(con, f: Filters) -> pd.DataFrame:
    """Tickets per street of the selected districts, from maps.area_values, in the shape of
    overview.district_ranking (the street name in column `district`), most tickets first."""
    from analytics import maps

    av = maps.area_values(con, f, "street").sort_values(["n", "street_code"], ascending=[False, True])
    return pd.DataFrame({"district": av["street"].to_numpy(), "n": av["n"].astype("int64").to_numpy(),
                         "population": av["population"].to_numpy(), "per_10k": av["per_10k"].to_numpy()})


def funnel_stages(con, f: Filters) -> pd.DataFrame:
    """The pipeline in five numbers: tickets, tickets feeding clues, clues, cases, rectified cases."""
    n = _tickets(con, f)
    clues, cases, rect = overview.funnel_totals(con, f)
    rows = [("tickets", "受理工单", n), ("linked", "形成线索的工单", linked_tickets(con, f)),
            ("clues", "登记线索", clues), ("cases", "立案", cases), ("rectified", "完成整改", rect)]
    return pd.DataFrame(rows, columns=["key", "label", "n"])


def _tickets(con, f: Filters) -> int:
    w = f.where("t")
    sql = "SELECT count(*) FROM tickets t WHERE " + w.sql
    return int(con.execute(sql, w.params).fetchone()[0])


def topic_places(con, f: Filters, topic: str, *, by_street: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tickets of one special project per district (or street) and per 1 km grid cell (centre lon/lat).

    The counts come from the map page's functions (maps.area_values, maps.grid_counts), so the pack and the
    map agree. Returns (area, n) with areas that have tickets, most first, and cells (lon, lat, n), at most
    MAP_MAX_CELLS of the busiest.
    """
    from analytics import maps

    ft = f.replace(topics=(topic,))
    av = maps.area_values(con, ft, "street" if by_street else "district")
    av = av.assign(area=av["street"] if by_street else av["district"])
    areas = (av.loc[av["n"] > 0, ["area", "n"]].sort_values(["n", "area"], ascending=[False, True])
             .reset_index(drop=True))
    cells = maps.grid_counts(con, ft, geogrid.Grid(MAP_CELL_M)).head(MAP_MAX_CELLS)
    return areas, cells[["gi", "gj", "lon", "lat", "n"]].reset_index(drop=True)


def hotspots(con, f: Filters, limit: int = HOTSPOT_LIMIT) -> pd.DataFrame:
    """250 m cells with the most special-project tickets (at least 2): the places to walk to."""
    g = geogrid.Grid(HOTSPOT_CELL_M)
    w = f.where("t")
    sql = HOTSPOTS_SQL.format(gi=geogrid.SQL_GI, gj=geogrid.SQL_GJ, where=w.sql)
    df = con.execute(sql, {**w.params, **g.sql_params(), "lim": int(limit)}).fetchdf()
    if len(df):
        lon, lat = g.centre(df["gi"], df["gj"])
        df = df.assign(lon=lon, lat=lat)
        if privacy.enabled():  # citizens sometimes write a phone number into the address
            df["address"] = df["address"].map(privacy.mask_text)
    return df


# ---------------------------------------------------------------- figures

def _style(fig: go.Figure, height: int, legend: bool = False) -> go.Figure:
    theme.style(fig, height=height, legend=legend)
    fig.update_layout(margin={"l": 70, "r": 30, "t": 30, "b": 50})
    return fig


def fill_days(df: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Daily trend with the days without tickets as 0, so the line does not jump over them."""
    if df.empty or not (f.date_from and f.date_to):
        return df
    days = pd.DataFrame({"period": pd.date_range(f.date_from, f.date_to, freq="D")})
    out = days.merge(df.assign(period=pd.to_datetime(df["period"])), on="period", how="left")
    out["n"] = out["n"].fillna(0).astype("int64")
    if df["n_last_year"].notna().any():
        out["n_last_year"] = out["n_last_year"].fillna(0).astype("Int64")
    return out


def trend_figure(df: pd.DataFrame, grain: str) -> go.Figure:
    if df.empty or int(df["n"].sum()) == 0:
        return theme.empty_figure("本期无工单")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=df["period"], y=df["n"], mode="lines+markers" if len(df) <= 40 else "lines",
                             name="本期", line={"color": theme.PRIMARY, "width": 3}))
    if df["n_last_year"].notna().any():
        fig.add_trace(go.Scatter(x=df["period"], y=df["n_last_year"].astype("float"), mode="lines",
                                 name="去年同期", line={"color": theme.GREY, "width": 2, "dash": "dash"}))
    _style(fig, 520, legend=True)
    fig.update_layout(legend={"y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"})
    fig.update_yaxes(title_text="工单量（件）", rangemode="tozero")
    fig.update_xaxes(tickformat="%m-%d" if grain == "day" else "%Y-%m-%d" if grain == "week" else "%Y-%m")
    return fig


def ranking_figure(df: pd.DataFrame, *, label_col: str = "district", limit: int = 16) -> go.Figure:
    d = df[df["n"] > 0].head(limit)
    if d.empty:
        return theme.empty_figure("本期无工单")
    d = d.iloc[::-1]
    text = [f"{n:,}" for n in d["n"]]
    fig = go.Figure(go.Bar(x=d["n"], y=d[label_col], orientation="h", text=text, textposition="outside",
                           marker_color=[theme.PRIMARY if i == len(d) - 1 else "#E57373" for i in range(len(d))],
                           cliponaxis=False))
    _style(fig, max(300, 32 * len(d) + 80))
    fig.update_layout(margin={"l": 110, "r": 60})
    fig.update_xaxes(title_text="工单量（件）")
    return fig


def topics_figure(df: pd.DataFrame) -> go.Figure:
    if df.empty:
        return theme.empty_figure("本期无专项工单")
    d = df.iloc[::-1]
    text = [f"{n:,}（{s * 100:.1f}%）" for n, s in zip(d["n"], d["share"].fillna(0), strict=True)]
    fig = go.Figure(go.Bar(x=d["n"], y=d["label"], orientation="h", text=text, textposition="outside",
                           marker_color=theme.ACCENT, cliponaxis=False))
    _style(fig, max(260, 34 * len(d) + 80))
    fig.update_layout(margin={"l": 110, "r": 120})
    fig.update_xaxes(title_text="工单量（件）")
    return fig


def funnel_figure(stages: pd.DataFrame) -> go.Figure:
    """The pipeline as a funnel. When tickets outnumber the tickets feeding clues more than tenfold, the
    tickets bar would flatten every other stage into a line, so the funnel starts at the clue tickets and
    a note above it gives the ticket count."""
    n0 = int(stages["n"].iloc[0])
    if n0 == 0:
        return theme.empty_figure("本期无工单")
    colours = [theme.PRIMARY, "#D32F2F", theme.ACCENT, "#2E7D32", "#00838F"]
    shown, note = stages, None
    n1 = int(stages["n"].iloc[1])
    if n1 and n0 > 10 * n1:
        shown, colours = stages.iloc[1:], colours[1:]
        note = f"受理工单 {n0:,} 件，其中 {n1 / n0:.2%} 形成线索（下图自形成线索的工单起）"
    vals = [int(v) for v in shown["n"]]
    text = [f"{v:,}" if i == 0 else f"{v:,}（占上一环节 {v / vals[i - 1]:.1%}）" if vals[i - 1] else f"{v:,}"
            for i, v in enumerate(vals)]
    fig = go.Figure(go.Funnel(y=shown["label"], x=vals, text=text, textinfo="text",
                              marker={"color": colours}, connector={"line": {"color": theme.GREY}}))
    _style(fig, 400)
    fig.update_layout(margin={"l": 130, "r": 30, "t": 50 if note else 30})
    if note:
        fig.add_annotation(text=note, xref="paper", yref="paper", x=0, y=1.08, xanchor="left", showarrow=False,
                           font={"size": 13, "color": "#616161"})
    return fig


def _polygons(geom):
    if geom is None or geom.is_empty:
        return []
    return list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]


def _bin_colour(v: float, vmax: float) -> str:
    if v <= 0 or vmax <= 0:
        return "#FAFAFA"
    scale = theme.SEQUENTIAL[1:]
    i = min(len(scale) - 1, int((v / vmax) * len(scale) - 1e-9))
    return scale[i]


@functools.lru_cache(maxsize=32)
def _outlines(districts: tuple[str, ...]) -> list[tuple[str, list[tuple[list, list]], tuple[float, float]]]:
    """(name, [(xs, ys) per ring], label point) of the districts, or of the streets of `districts`."""
    from geo import boundaries

    if districts:
        gdf = boundaries.streets()
        gdf = gdf[gdf["district"].isin(districts)]
        key, tol = "street", 0.0005
    else:
        gdf = boundaries.districts()
        key, tol = "district", 0.002
    geoms = gdf.geometry.simplify(tol, preserve_topology=True)
    out = []
    for name, geom, pt in zip(gdf[key], geoms, gdf.geometry.representative_point(), strict=True):
        rings = []
        for poly in _polygons(geom):
            xs, ys = poly.exterior.coords.xy
            rings.append((list(xs), list(ys)))
        out.append((name, rings, (pt.x, pt.y)))
    return out


def static_map(areas: pd.DataFrame, cells: pd.DataFrame, *, districts: tuple[str, ...] = (),
               height: int = 620, width: int = 620) -> go.Figure:
    """A static map for print: district (or, for one district, street) outlines shaded by tickets,
    plus 1 km cells as bubbles. Drawn on plain axes (no WebGL map), so it is vector and fast."""
    shapes = _outlines(tuple(districts))
    counts = dict(zip(areas["area"], areas["n"], strict=True)) if len(areas) else {}
    vmax = float(max(counts.values())) if counts else 0.0
    by_colour: dict[str, tuple[list, list]] = {}
    for name, rings, _ in shapes:  # one trace per colour: rings separated by gaps are filled one by one
        xs_all, ys_all = by_colour.setdefault(_bin_colour(float(counts.get(name, 0)), vmax), ([], []))
        for xs, ys in rings:
            xs_all.extend([*xs, None])
            ys_all.extend([*ys, None])
    fig = go.Figure([go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=colour,
                                line={"color": "#757575", "width": 0.7}, hoverinfo="skip", showlegend=False)
                     for colour, (xs, ys) in by_colour.items()])
    if len(cells):
        c = cells[cells["n"] > 0]
        size = 5 + 22 * (c["n"] / c["n"].max()) ** 0.5
        fig.add_trace(go.Scatter(x=c["lon"], y=c["lat"], mode="markers", showlegend=False,
                                 marker={"size": size, "color": theme.ACCENT, "opacity": 0.55,
                                         "line": {"color": "white", "width": 0.5}}))
    if vmax > 0:  # a colour bar for the shading
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                                 marker={"color": [0, vmax], "cmin": 0, "cmax": vmax, "showscale": True,
                                         "colorscale": theme.SEQUENTIAL,
                                         "colorbar": {"title": {"text": "工单量"}, "thickness": 12,
                                                      "len": 0.5, "y": 0.25, "tickformat": ",d",
                                                      "dtick": max(1, round(vmax / 5))}}))
    top = set(list(counts)[:5])
    for name, _, (x, y) in shapes:
        if not districts or name in top:
            short = name.replace("街道", "") if districts else name.replace("区", "")
            fig.add_annotation(x=x, y=y, text=short, showarrow=False, font={"size": 10, "color": "#424242"})
    theme.style(fig, height=height, legend=False)
    fig.update_layout(width=width, margin={"l": 5, "r": 5, "t": 5, "b": 5}, plot_bgcolor="white")
    fig.update_xaxes(visible=False, showgrid=False)
    fig.update_yaxes(visible=False, showgrid=False, scaleanchor="x", scaleratio=Y_SCALE)
    return fig


# ---------------------------------------------------------------- the pack

@dataclass
class Section:
    key: str
    heading: str
    caption: str
    figure: go.Figure | None = None
    width: int = 1000
    height: int = 420
    fmt: str = "svg"
    aside: list[str] = field(default_factory=list)


@dataclass
class Briefing:
    filters: Filters
    title: str
    generated: date
    kpis: pd.DataFrame
    rates: pd.DataFrame
    sections: dict[str, Section]
    hotspots: pd.DataFrame
    headline: str
    timings: dict[str, float] = field(default_factory=dict)
    overflow: list[int] = field(default_factory=list)  # pages cut off in the printed PDF (should be none)

    @property
    def period(self) -> str:
        return period_label(self.filters)

    @property
    def scope(self) -> str:
        return scope_label(self.filters)


def pack_filters(date_from: date, date_to: date, district: str | None = None) -> Filters:
    return Filters(date_from=date_from, date_to=date_to, districts=(district,) if district else ())


def _grain(f: Filters) -> str:
    days = f.span_days() or 0
    return "day" if days <= 62 else "week" if days <= 370 else "month"


def build(con: duckdb.DuckDBPyConnection, f: Filters, *, title: str = PACK_TITLE,
          today: date | None = None) -> Briefing:
    """Gather every number and figure of the pack for the selection `f` (dates and district)."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        timings[name] = now - t0
        t0 = now

    k = overview.kpis(con, f).set_index("key")
    rates = overview.rates(con, f)
    n = int(k.loc["tickets", "value"])
    lap("kpis")

    grain = _grain(f)
    tr = overview.trend(con, f, grain)
    if grain == "day":
        tr = fill_days(tr, f)
    lap("trend")
    one_district = len(f.districts) == 1
    ranking = street_ranking(con, f) if one_district else overview.district_ranking(con, f)
    lap("ranking")
    topics = overview.top_values(con, f, by="topic", limit=10)
    lap("topics")
    stages = funnel_stages(con, f)
    lap("funnel")
    places = {t: topic_places(con, f, t, by_street=one_district) for t in TOPICS_MAPPED}
    lap("maps_data")
    hot = hotspots(con, f)
    lap("hotspots")

    # ---- captions (one line each, with the numbers)
    prev_pct, yoy_pct = k.loc["tickets", "prev_pct"], k.loc["tickets", "yoy_pct"]
    clues, cases, rect = (int(k.loc[x, "value"]) for x in ("clues", "cases", "rectified"))
    area_word = "街道（乡镇）" if one_district else "区"
    top_area = ranking.iloc[0] if len(ranking) and int(ranking["n"].iloc[0]) > 0 else None
    if n:
        headline = f"本期共受理工单 {fmt_n(n)} 件，{fmt_change(yoy_pct, '同比')}"
        if top_area is not None:
            headline += f"，{top_area['district']}居首"
        headline += "。"
    else:
        headline = "本期无工单。"
    kpi_caption = (f"{period_label(f)}{scope_label(f)}共受理工单 {fmt_n(n)} 件，{fmt_change(prev_pct, '环比')}，"
                   f"{fmt_change(yoy_pct, '同比')}；关联登记线索 {clues:,} 条，立案 {cases:,} 件，完成整改 {rect:,} 件。")

    if n:
        days = max(1, f.span_days() or len(tr))
        peak = tr.loc[tr["n"].idxmax()]
        unit = {"day": "", "week": "当周", "month": "当月"}[grain]
        when = f"{peak['period']:%Y年%-m月%-d日}{unit}" if grain != "month" else f"{peak['period']:%Y年%-m月}"
        trend_caption = f"日均受理 {n / days:,.1f} 件，{when}最多（{int(peak['n']):,} 件）"
        if tr["n_last_year"].notna().any():
            trend_caption += f"；去年同期共 {fmt_n(int(tr['n_last_year'].fillna(0).sum()))} 件"
        trend_caption += "。"
    else:
        trend_caption = "本期无工单。"

    if top_area is not None:
        rank_caption = (f"{top_area['district']}工单量居首（{int(top_area['n']):,} 件，占 {fmt_pct(top_area['n'] / n)}）")
        per = ranking.dropna(subset=["per_10k"])
        per = per[per["n"] > 0]
        if len(per):
            best = per.loc[per["per_10k"].astype(float).idxmax()]
            rank_caption += f"；按常住人口计，{best['district']}每万人 {float(best['per_10k']):.1f} 件最高"
        rank_caption += "。"
    else:
        rank_caption = "本期无工单。"

    if len(topics):
        t_total = int(topics["n"].sum())
        t_top = topics.iloc[0]
        topic_caption = (f"专项工单共 {fmt_n(t_total)} 件，占全部工单 {fmt_pct(t_total / n) if n else '0%'}；"
                         f"{t_top['label']}最多（{int(t_top['n']):,} 件）。")
    else:
        topic_caption = "本期无专项工单。"

    s = dict(zip(stages["key"], stages["n"], strict=True))
    if s["tickets"]:
        funnel_caption = (f"{s['tickets']:,} 件工单中 {s['linked']:,} 件形成线索（{fmt_pct(s['linked'] / s['tickets'], 2)}），"
                          f"登记线索 {s['clues']:,} 条，立案 {s['cases']:,} 件"
                          + (f"（线索立案率 {fmt_pct(s['cases'] / s['clues'])}）" if s["clues"] else "")
                          + f"，完成整改 {s['rectified']:,} 件。")
    else:
        funnel_caption = "本期无工单。"

    sections = {
        "trend": Section("trend", "二、受理趋势", trend_caption, trend_figure(tr, grain), height=520),
        "ranking": Section("ranking", f"三、各{area_word}工单量排名", rank_caption,
                           ranking_figure(ranking, limit=16 if not one_district else 15), height=560),
        "topics": Section("topics", "四、热点专项", topic_caption, topics_figure(topics), height=360),
        "funnel": Section("funnel", "五、工单—线索—案件—整改转化", funnel_caption, funnel_figure(stages), height=380),
    }
    for i, t in enumerate(TOPICS_MAPPED):
        areas, cells = places[t]
        tn = int(areas["n"].sum()) if len(areas) else 0
        if tn:
            top = areas.iloc[0]
            cap = (f"{t}类工单 {tn:,} 件，{top['area']}最多（{int(top['n']):,} 件）；"
                   f"分布在 {len(cells):,} 个 1 公里网格，最密集网格 {int(cells['n'].max()) if len(cells) else 0:,} 件。")
        else:
            cap = f"本期无{t}类工单。"
        aside = [f"{a}：{int(v):,} 件" for a, v in zip(areas["area"].head(6), areas["n"].head(6), strict=True)]
        fig = static_map(areas, cells, districts=f.districts)
        sections[f"map_{t}"] = Section(f"map_{t}", f"六、专项分布图（{i + 1}）：{t}", cap, fig, width=620,
                                       height=620, aside=aside)
    if len(hot):
        h = hot.iloc[0]
        place = f"{h['district'] or ''}{h['street'] or ''}" + (f"（{h['address']}）" if h["address"] else "")
        hot_caption = (f"专项工单最集中的点位在{place}，{int(h['n']):,} 件{h['topic']}工单，"
                       f"涉及 {int(h['days']):,} 天；前 {len(hot)} 个点位合计 {int(hot['n'].sum()):,} 件。")
    else:
        hot_caption = "本期没有两件以上专项工单集中的点位。"
    sections["hotspots"] = Section("hotspots", "七、重点点位（250 米网格）", hot_caption)
    sections["kpis"] = Section("kpis", "一、核心指标", kpi_caption)
    lap("figures")
    return Briefing(filters=f, title=title, generated=today or date.today(), kpis=k.reset_index(), rates=rates,
                    sections=sections, hotspots=hot, headline=headline, timings=timings)


# ---------------------------------------------------------------- HTML -> PDF

CSS = """
@page { size: A4; margin: 14mm 15mm 16mm 15mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif; color: #212121; margin: 0; font-size: 10.5pt; }
.page { height: 265mm; overflow: hidden; page-break-after: always; position: relative; }
.page.last { page-break-after: auto; }
h1 { font-size: 26pt; color: #B71C1C; margin: 0 0 6mm 0; letter-spacing: 1px; }
h2 { font-size: 14pt; color: #B71C1C; border-left: 5px solid #B71C1C; padding-left: 3mm; margin: 0 0 2mm 0; }
.caption { font-size: 10.5pt; margin: 0 0 3mm 0; line-height: 1.5; }
.fig { width: 100%; display: block; }
.cover { display: flex; flex-direction: column; justify-content: center; padding: 0 8mm; }
.cover .band { height: 6mm; background: #B71C1C; margin-bottom: 22mm; }
.cover .meta { font-size: 13pt; line-height: 2; color: #424242; }
.cover .headline { margin-top: 16mm; font-size: 14pt; font-weight: bold; line-height: 1.6; }
.cover ul { font-size: 11pt; line-height: 1.8; padding-left: 5mm; color: #424242; }
.cover .source { position: absolute; bottom: 4mm; font-size: 9pt; color: #757575; }
.kpis { display: grid; grid-template-columns: repeat(5, 1fr); gap: 3mm; margin: 2mm 0 3mm 0; }
.kpi { border: 1px solid #E0E0E0; border-top: 3px solid #B71C1C; padding: 2.5mm; }
.kpi .v { font-size: 17pt; font-weight: bold; }
.kpi .l { font-size: 9.5pt; color: #616161; }
.kpi .c { font-size: 8.5pt; color: #616161; margin-top: 1mm; }
.up { color: #C62828; } .down { color: #2E7D32; }
.rates { display: flex; gap: 6mm; font-size: 10pt; margin-bottom: 5mm; color: #424242; }
.section { margin-bottom: 5mm; }
.section:last-child { margin-bottom: 0; }
.maprow { display: flex; gap: 4mm; align-items: flex-start; }
.maprow img { width: 112mm; }
.maprow .side { flex: 1; font-size: 9.5pt; line-height: 1.7; }
table { border-collapse: collapse; width: 100%; font-size: 8.3pt; table-layout: fixed; }
table.hot col.c-rank { width: 5%; } table.hot col.c-topic { width: 10%; } table.hot col.c-d { width: 8%; }
table.hot col.c-s { width: 12%; } table.hot col.c-addr { width: 35%; } table.hot col.c-n { width: 7%; }
table.hot col.c-days { width: 7%; } table.hot col.c-date { width: 8%; }
td.date { white-space: nowrap; }
.compact .maprow img { width: 92mm; } .compact .caption { font-size: 9.5pt; } .compact table { font-size: 7.6pt; }
th { background: #F5F5F5; font-weight: bold; }
th, td { border: 1px solid #E0E0E0; padding: 1.3mm 1.6mm; text-align: left; }
td.n { text-align: right; }
.note { font-size: 8.5pt; color: #757575; margin-top: 2mm; }
"""

FOOTER = ('<div style="width:100%;font-size:8px;color:#757575;font-family:\'Noto Sans CJK SC\',sans-serif;'
          'padding:0 15mm;display:flex;justify-content:space-between;">'
          '<span>{title} · {period}</span><span>第 <span class="pageNumber"></span> 页 / 共 '
          '<span class="totalPages"></span> 页</span></div>')

PAGES = 6


def _img(data: bytes, fmt: str, cls: str = "fig") -> str:
    mime = export.MIME[fmt]
    return f'<img class="{cls}" src="data:{mime};base64,{base64.b64encode(data).decode()}"/>'


def _e(x) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x))


def _day(v, short: bool = False) -> str:
    if v is None or pd.isna(v):
        return ""
    return f"{pd.Timestamp(v):%m-%d}" if short else f"{pd.Timestamp(v):%Y-%m-%d}"


def _cut(v, n: int) -> str:
    s = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def _kpi_cards(b: Briefing) -> str:
    cards = []
    for _, r in b.kpis.iterrows():
        if r["key"] == "located":
            continue
        bits = []
        for col, word in (("prev_pct", "环比"), ("yoy_pct", "同比")):
            p = r[col]
            cls = "" if p is None or pd.isna(p) else ("up" if p > 0 else "down" if p < 0 else "")
            bits.append(f'<span class="{cls}">{_e(fmt_change(p, word))}</span>')
        cards.append(f'<div class="kpi"><div class="l">{_e(r["label"])}</div><div class="v">{_e(fmt_n(r["value"]))}'
                     f'</div><div class="c">{"<br>".join(bits)}</div></div>')
    rates = " ".join(
        f"<span>{_e(r['label'])}：<b>{_e(fmt_pct(r['rate']) if pd.notna(r['rate']) else '—')}</b>"
        f"（{int(r['numerator']):,}/{int(r['denominator']):,}）</span>" for _, r in b.rates.iterrows())
    return f'<div class="kpis">{"".join(cards)}</div><div class="rates">{rates}</div>'


def _fig(s: Section, images: dict[str, bytes], cls: str = "fig") -> str:
    """The figure as an inline image, or a placeholder the print page fills with plotly.js (see render_pdf)."""
    if s.key in images:
        return _img(images[s.key], s.fmt, cls)
    if s.figure is None:
        return ""
    return f'<img class="{cls}" data-fig="{_e(s.key)}" alt=""/>'


def _section(s: Section, images: dict[str, bytes]) -> str:
    fig = _fig(s, images)
    return f'<div class="section"><h2>{_e(s.heading)}</h2><p class="caption">{_e(s.caption)}</p>{fig}</div>'


def _map_section(s: Section, images: dict[str, bytes]) -> str:
    side = "".join(f"<div>{_e(a)}</div>" for a in s.aside) or "<div>无</div>"
    return (f'<div class="section"><h2>{_e(s.heading)}</h2><p class="caption">{_e(s.caption)}</p>'
            f'<div class="maprow">{_fig(s, images, "")}<div class="side"><b>工单最多的地区</b>{side}'
            f'<div class="note">底图为区/街乡边界，颜色越深工单越多；蓝色圆点为 1 公里网格，圆点越大工单越多。</div>'
            f'</div></div></div>')


def _hotspot_table(b: Briefing) -> str:
    s = b.sections["hotspots"]
    if b.hotspots.empty:
        body = '<p class="note">无。</p>'
    else:
        rows = "".join(
            f"<tr><td>{i + 1}</td><td>{_e(r['topic'])}</td><td>{_e(r['district'])}</td><td>{_e(r['street'])}</td>"
            f"<td>{_e(_cut(r['address'], 40))}</td><td class='n'>{int(r['n']):,}</td><td class='n'>{int(r['days']):,}</td>"
            f"<td class='date'>{_day(r['first_day'], short=True)}</td>"
            f"<td class='date'>{_day(r['last_day'], short=True)}</td></tr>"
            for i, (_, r) in enumerate(b.hotspots.iterrows()))
        cols = "".join(f'<col class="{c}">' for c in ("c-rank", "c-topic", "c-d", "c-s", "c-addr", "c-n", "c-days",
                                                         "c-date", "c-date"))
        body = (f'<table class="hot"><colgroup>{cols}</colgroup><tr><th>序号</th><th>专项</th><th>区</th><th>街道/乡镇</th>'
                f"<th>主要地址</th><th>工单量</th><th>涉及天数</th><th>首次</th><th>最近</th></tr>{rows}</table>"
                f'<p class="note">首次、最近为本期内该点位第一件和最后一件工单的受理日期（{_e(b.filters.date_from)} 起）。</p>')
    return f'<div class="section"><h2>{_e(s.heading)}</h2><p class="caption">{_e(s.caption)}</p>{body}</div>'


def render_images(b: Briefing) -> dict[str, bytes]:
    """Every figure of the pack as SVG (vector, small) through the shared kaleido server."""
    out = {}
    for key, s in b.sections.items():
        if s.figure is not None:
            out[key] = export.figure_bytes(s.figure, s.fmt, width=s.width, height=s.height, scale=1)
    return out


def to_html(b: Briefing, images: dict[str, bytes]) -> str:
    """The pack as one self-contained HTML document (figures inline), PAGES A4 pages."""
    sec = b.sections
    summary = "".join(f"<li>{_e(sec[k].caption)}</li>" for k in ("kpis", "ranking", "topics", "funnel"))
    cover = (f'<div class="page cover"><div class="band"></div><h1>{_e(b.title)}</h1>'
             f'<div class="meta">统计期间：{_e(b.period)}<br>统计范围：{_e(b.scope)}<br>'
             f'生成日期：{b.generated:%Y年%-m月%-d日}</div>'
             f'<div class="headline">{_e(b.headline)}</div><ul>{summary}</ul>'
             f'<div class="source">{_e(theme.SOURCE_LINE)}。个人信息已脱敏。</div></div>')
    p2 = (f'<div class="page"><div class="section"><h2>{_e(sec["kpis"].heading)}</h2>'
          f'<p class="caption">{_e(sec["kpis"].caption)}</p>{_kpi_cards(b)}</div>{_section(sec["trend"], images)}</div>')
    p3 = f'<div class="page">{_section(sec["ranking"], images)}{_section(sec["topics"], images)}</div>'
    p4 = f'<div class="page">{_section(sec["funnel"], images)}{_funnel_table(b)}</div>'
    m = [_map_section(sec[f"map_{t}"], images) for t in TOPICS_MAPPED]
    p5 = f'<div class="page">{m[0]}{m[1]}</div>'
    p6 = f'<div class="page last">{m[2]}{_hotspot_table(b)}</div>'
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{_e(b.title)}</title>'
            f'<style>{CSS}</style></head><body>{cover}{p2}{p3}{p4}{p5}{p6}</body></html>')


def _funnel_table(b: Briefing) -> str:
    k = b.kpis.set_index("key")

    def cell(v) -> str:
        return "—" if v is None or pd.isna(v) else f"{int(v):,}"

    rows = "".join(
        f"<tr><td>{_e(k.loc[key, 'label'])}</td><td class='n'>{cell(k.loc[key, 'value'])}</td>"
        f"<td class='n'>{cell(k.loc[key, 'prev'])}</td><td class='n'>{cell(k.loc[key, 'yoy'])}</td></tr>"
        for key in ("tickets", "clues", "cases", "rectified"))
    return ('<div class="section"><h2>附：主要指标对比</h2><table><tr><th>指标</th><th>本期</th><th>上一周期</th>'
            f'<th>去年同期</th></tr>{rows}</table><p class="note">线索、立案、整改按本期受理工单关联统计。'
            '上一周期为紧邻本期、等长的时间段。</p></div>')


# 1-based numbers of the pages whose content is taller than the A4 page box (it would be cut off).
OVERFLOW_JS = """() => Array.from(document.querySelectorAll('.page'))
    .map((p, i) => p.scrollHeight > p.clientHeight + 1 ? i + 1 : 0).filter(i => i > 0)"""


def _is_local(url: str) -> bool:
    return url.startswith(("data:", "about:", "blob:")) or url.startswith(("http://127.0.0.1", "http://localhost"))


# Fill every <img data-fig> with an SVG drawn by the page's own plotly.js (the same SVG kaleido would make).
FILL_FIGURES_JS = """async (figs) => {
    const imgs = Array.from(document.querySelectorAll('img[data-fig]'));
    for (const img of imgs) {
        const f = figs[img.dataset.fig];
        const url = await Plotly.toImage({data: f.data, layout: f.layout}, {format: 'svg', width: f.width,
                                                                            height: f.height});
        await new Promise((ok, bad) => { img.onload = ok; img.onerror = bad; img.src = url; });
    }
    return imgs.length;
}"""


def _figure_specs(b: Briefing) -> dict:
    return {k: {**json.loads(s.figure.to_json()), "width": s.width, "height": s.height}
            for k, s in b.sections.items() if s.figure is not None}


def render_pdf(doc_html: str, *, title: str = PACK_TITLE, period: str = "", report: dict | None = None,
               figures: dict | None = None) -> bytes:
    """Print the HTML to an A4 PDF with page numbers, in headless Chromium, all network requests blocked.

    Pages whose content would be cut off are retried in a compact layout; `report["overflow"]` lists
    the pages still too tall afterwards (empty when everything fits).
    """
    result: dict = {}

    def work() -> None:
        try:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=export.chromium_path(), headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run"])
                try:
                    # the A4 content width (210 - 2 x 15 mm = 680 px), so the overflow check sees the printed layout
                    page = browser.new_page(viewport={"width": 680, "height": 1000})
                    page.emulate_media(media="print")
                    page.route("**/*", lambda route: route.continue_() if _is_local(route.request.url)
                               else route.abort())
                    page.set_content(doc_html, wait_until="load")
                    if figures:  # plotly.js from the local package, injected as text: no request at all
                        page.add_script_tag(path=str(export.plotlyjs_path()))
                        page.evaluate(FILL_FIGURES_JS, figures)
                    page.evaluate("document.fonts.ready")
                    over = page.evaluate(OVERFLOW_JS)
                    if over:  # something would be cut off: shrink maps and type, then check again
                        page.evaluate("document.body.classList.add('compact')")
                        over = page.evaluate(OVERFLOW_JS)
                    result["overflow"] = over
                    result["pdf"] = page.pdf(
                        format="A4", print_background=True, display_header_footer=True,
                        header_template="<div></div>",
                        footer_template=FOOTER.format(title=html.escape(title), period=html.escape(period)),
                        margin={"top": "14mm", "bottom": "16mm", "left": "15mm", "right": "15mm"})
                finally:
                    browser.close()
        except Exception as exc:  # reported in the caller's thread
            result["error"] = exc

    # Playwright's sync API refuses to run inside an asyncio loop; a thread of its own is always safe.
    t = threading.Thread(target=work, name="briefing-pdf")
    t.start()
    t.join()
    if "error" in result:
        exc = result["error"]
        if isinstance(exc, export.ExportError):
            raise exc
        raise export.ExportError(f"简报 PDF 生成失败：{type(exc).__name__}: {exc}") from exc
    if report is not None:
        report["overflow"] = result.get("overflow", [])
    return export.fix_pdf_unicode(result["pdf"])


def to_pdf(b: Briefing, *, kaleido: bool = False) -> bytes:
    """The pack as an A4 PDF. Figures are drawn by plotly.js inside the printing Chromium (one browser,
    no kaleido start); kaleido=True renders them with the shared kaleido server first instead."""
    t0 = time.perf_counter()
    images = render_images(b) if kaleido else {}
    b.timings["images"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    report: dict = {}
    pdf = render_pdf(to_html(b, images), title=b.title, period=b.period, report=report,
                     figures=None if kaleido else _figure_specs(b))
    b.overflow = report.get("overflow", [])
    b.timings["pdf"] = time.perf_counter() - t0
    return pdf


# ---------------------------------------------------------------- PPTX

def to_pptx(b: Briefing) -> bytes:
    """The same pack as 16:9 slides: cover, KPIs, one figure per slide with its caption, hotspots."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.util import Emu, Pt

    font = theme.font_family().split(",")[0].strip()
    red = RGBColor(0xB7, 0x1C, 0x1C)
    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(12192000), Emu(6858000)
    blank = prs.slide_layouts[6]
    W = prs.slide_width

    def text(slide, x, y, w, h, s, size=14, bold=False, color=None):
        box = slide.shapes.add_textbox(x, y, w, h)
        tf = box.text_frame
        tf.word_wrap = True
        lines = s if isinstance(s, list) else [s]
        for i, line in enumerate(lines):
            para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            run = para.add_run()
            run.text = line
            run.font.size = Pt(size)
            run.font.bold = bold
            run.font.name = font
            if color is not None:
                run.font.color.rgb = color
        return box

    emu = 12192000 / 13.333  # EMU per inch on a 13.333" slide
    inch = int(emu)
    s = prs.slides.add_slide(blank)
    bar = s.shapes.add_shape(1, 0, 0, W, int(0.25 * inch))
    bar.fill.solid()
    bar.fill.fore_color.rgb = red
    bar.line.fill.background()
    text(s, inch, int(1.8 * inch), W - 2 * inch, inch, b.title, 36, True, red)
    text(s, inch, int(3.0 * inch), W - 2 * inch, int(1.2 * inch),
         [f"统计期间：{b.period}", f"统计范围：{b.scope}", f"生成日期：{b.generated:%Y年%-m月%-d日}"], 18)
    text(s, inch, int(4.6 * inch), W - 2 * inch, inch, b.headline, 20, True)
    text(s, inch, int(6.8 * inch), W - 2 * inch, int(0.4 * inch), theme.SOURCE_LINE, 11)

    s = prs.slides.add_slide(blank)
    text(s, int(0.5 * inch), int(0.3 * inch), W - inch, int(0.6 * inch), b.sections["kpis"].heading, 24, True, red)
    text(s, int(0.5 * inch), int(1.0 * inch), W - inch, int(0.9 * inch), b.sections["kpis"].caption, 14)
    cards = [r for _, r in b.kpis.iterrows() if r["key"] != "located"]
    cw = int((W - inch) / len(cards))
    for i, r in enumerate(cards):
        x = int(0.5 * inch) + i * cw
        text(s, x, int(2.3 * inch), cw, int(0.5 * inch), str(r["label"]), 14)
        text(s, x, int(2.8 * inch), cw, int(0.8 * inch), fmt_n(r["value"]), 32, True, red)
        text(s, x, int(3.7 * inch), cw, int(0.8 * inch),
             [fmt_change(r["prev_pct"], "环比"), fmt_change(r["yoy_pct"], "同比")], 12)
    rates = "；".join(f"{r['label']} {fmt_pct(r['rate']) if pd.notna(r['rate']) else '—'}"
                     for _, r in b.rates.iterrows())
    text(s, int(0.5 * inch), int(5.0 * inch), W - inch, int(0.5 * inch), rates, 14)

    order = ["trend", "ranking", "topics", "funnel"] + [f"map_{t}" for t in TOPICS_MAPPED]
    for key in order:
        sec = b.sections[key]
        png = export.figure_bytes(sec.figure, "png", width=sec.width, height=sec.height, scale=2)
        s = prs.slides.add_slide(blank)
        text(s, int(0.5 * inch), int(0.25 * inch), W - inch, int(0.6 * inch), sec.heading, 24, True, red)
        text(s, int(0.5 * inch), int(0.9 * inch), W - inch, int(0.7 * inch), sec.caption, 14)
        max_w, max_h = W - inch, int(5.6 * inch)
        ratio = sec.width / sec.height
        h = max_h
        w = int(h * ratio)
        if w > max_w:
            w, h = max_w, int(max_w / ratio)
        s.shapes.add_picture(io.BytesIO(png), int((W - w) / 2), int(1.65 * inch), w, h)

    s = prs.slides.add_slide(blank)
    sec = b.sections["hotspots"]
    text(s, int(0.5 * inch), int(0.25 * inch), W - inch, int(0.6 * inch), sec.heading, 24, True, red)
    text(s, int(0.5 * inch), int(0.9 * inch), W - inch, int(0.7 * inch), sec.caption, 14)
    if len(b.hotspots):
        cols = ["专项", "区", "街道/乡镇", "主要地址", "工单量", "涉及天数", "最近"]
        tbl = s.shapes.add_table(len(b.hotspots) + 1, len(cols), int(0.5 * inch), int(1.7 * inch), W - inch,
                                 int(0.4 * inch) * (len(b.hotspots) + 1)).table
        for j, c in enumerate(cols):
            tbl.cell(0, j).text = c
        for i, (_, r) in enumerate(b.hotspots.iterrows(), start=1):
            vals = [r["topic"], r["district"], r["street"], r["address"], f"{int(r['n']):,}", f"{int(r['days']):,}",
                    _day(r["last_day"])]
            for j, v in enumerate(vals):
                tbl.cell(i, j).text = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
        for row in tbl.rows:
            for cell in row.cells:
                for para in cell.text_frame.paragraphs:
                    for run in para.runs:
                        run.font.size = Pt(11)
                        run.font.name = font
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def make(con: duckdb.DuckDBPyConnection, f: Filters, fmt: str = "pdf", *, today: date | None = None) -> bytes:
    """Build the pack for `f` and render it as PDF or PPTX bytes."""
    if fmt not in ("pdf", "pptx"):
        raise ValueError("fmt must be pdf or pptx")
    b = build(con, f, today=today)
    return to_pdf(b) if fmt == "pdf" else to_pptx(b)
