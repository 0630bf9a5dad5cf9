"""The briefing pack's content: every number, caption and figure of the one-click pack for press officers
and leadership (`build` -> `Briefing`).

Before a press briefing (新闻发布会) or a leadership meeting, staff need the
period's figures in one clean document: cover, KPIs, trend, district ranking,
special projects, the ticket → clue → case → rectification funnel, maps of the
three named problems (井盖, 污水, 假冒伪劣) and the busiest 250 m grid cells of
the special projects, each with a one-line Chinese caption that states the
numbers. The numbers come from analytics.overview (KPIs, rates, trend, district
ranking, special projects, funnel totals) and analytics.maps (street ranking,
per-topic areas and grid cells), so the pack agrees with the pages; only the
count of tickets feeding clues and the busiest cells are small SQL functions
here. The figures are the pages' own builders (analytics/figures.py) in the
print style (`theme.print_style`), and the print map of analytics/print_map.py.

The busiest cells are counts, ranked: they are not the map page's statistical
hotspots (统计热点, Getis-Ord Gi*) nor its repeat places (重复点位), and the pack
names them 工单密集网格 so no one reads them as either.

Rendering (HTML, PDF, PPTX) is analytics/briefing_render.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd
import plotly.graph_objects as go

from analytics import figures, overview, privacy, theme
from analytics.filters import Filters
from analytics.print_map import static_map
from data.positions import LOCATED_SQL
from geo import grid as geogrid

TOPICS_MAPPED = ("井盖", "污水", "假冒伪劣")
PACK_TITLE = "12345热线检察监督工作简报"
MAP_CELL_M = 1000
MAP_MAX_CELLS = 3000
CELLS_M = 250      # the busiest cells of the special projects (工单密集网格)
CELLS_LIMIT = 10


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

# The busiest cells and, for each, its most frequent topic, district, street and address. A tie between two values
# (two addresses reported equally often) goes to the first in text order, and a tie between cells to the smaller
# grid index: the same answer on every engine and every run (DuckDB's mode() keeps whichever value its hash table
# met first). Portable SQL: window functions, no mode().
_MODE_CTE = """
    mode_{col} AS (SELECT gi, gj, {col} AS v,
                          row_number() OVER (PARTITION BY gi, gj ORDER BY count(*) DESC, {col}) AS r
                   FROM located JOIN cells USING (gi, gj)
                   WHERE {col} IS NOT NULL
                   GROUP BY gi, gj, {col})"""
_MODE_COLUMNS = ("topic", "district", "street", "address")  # fixed identifiers
BUSIEST_CELLS_SQL = """
    WITH located AS (
        SELECT {gi} AS gi, {gj} AS gj, topic, district, street, address, received_at
        FROM tickets t
        WHERE {where} AND topic IS NOT NULL AND {LOCATED_SQL}
    ),
    cells AS (
        SELECT gi, gj, count(*) AS n, count(DISTINCT CAST(received_at AS DATE)) AS days,
               CAST(min(received_at) AS DATE) AS first_day, CAST(max(received_at) AS DATE) AS last_day
        FROM located
        GROUP BY gi, gj
        HAVING count(*) >= 2
        ORDER BY n DESC, days DESC, last_day DESC, gi, gj
        LIMIT $lim
    ),""" + ",".join(_MODE_CTE.format(col=c) for c in _MODE_COLUMNS) + """
    SELECT c.gi, c.gj, """ + ", ".join(f"mode_{c}.v AS {c}" for c in _MODE_COLUMNS) + """,
           c.n, c.days, c.first_day, c.last_day
    FROM cells c""" + "".join(f"""
    LEFT JOIN mode_{c} ON mode_{c}.gi = c.gi AND mode_{c}.gj = c.gj AND mode_{c}.r = 1""" for c in _MODE_COLUMNS) + """
    ORDER BY c.n DESC, c.days DESC, c.last_day DESC, c.gi, c.gj
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


def funnel_figure_frame(stages: pd.DataFrame) -> pd.DataFrame:
    """`funnel_stages` in the shape `figures.funnel_figure` draws (stage, n, rate_prev, key). When tickets outnumber
    the tickets feeding clues more than tenfold, the tickets bar would flatten every later stage into a line, so
    the frame starts at the clue tickets (the caption gives the ticket count)."""
    d = stages.rename(columns={"label": "stage"})
    if int(d["n"].iloc[1]) and int(d["n"].iloc[0]) > 10 * int(d["n"].iloc[1]):
        d = d.iloc[1:]
    n = d["n"].astype("int64").to_numpy()
    prev = pd.Series([float("nan"), *n[:-1]], dtype=float)
    rate = pd.Series(n, dtype=float) / prev.where(prev > 0)
    return pd.DataFrame({"key": d["key"].to_numpy(), "stage": d["stage"].to_numpy(), "n": n,
                         "rate_prev": rate.to_numpy()})


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


def busiest_cells(con, f: Filters, limit: int = CELLS_LIMIT) -> pd.DataFrame:
    """The 250 m cells with the most special-project tickets (at least 2), most first: counts, not a test
    (the map page's Gi* hotspots are `analytics.hotspots`)."""
    g = geogrid.Grid(CELLS_M)
    w = f.where("t")
    sql = BUSIEST_CELLS_SQL.format(gi=geogrid.SQL_GI, gj=geogrid.SQL_GJ, where=w.sql, LOCATED_SQL=LOCATED_SQL)
    df = con.execute(sql, {**w.params, **g.sql_params(), "lim": int(limit)}).fetchdf()
    if len(df):
        lon, lat = g.centre(df["gi"], df["gj"])
        df = df.assign(lon=lon, lat=lat)
        if privacy.enabled():  # citizens sometimes write a phone number into the address
            df["address"] = df["address"].map(privacy.mask_text)
    return df


# ---------------------------------------------------------------- figures

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
    cells: pd.DataFrame        # the busiest 250 m cells (`busiest_cells`)
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
    hot = busiest_cells(con, f)
    lap("cells")

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

    if n and s["linked"] and s["tickets"] > 10 * s["linked"]:
        # the tickets bar would flatten every later stage into a line: the figure starts at the clue tickets
        funnel_caption += "下图自形成线索的工单起。"
    def printed(fig: go.Figure) -> go.Figure:
        return theme.print_style(fig if n else theme.empty_figure("本期无工单"))

    sections = {
        "trend": Section("trend", "二、受理趋势", trend_caption, printed(figures.trend_figure(tr, grain)), height=520),
        "ranking": Section("ranking", f"三、各{area_word}工单量排名", rank_caption,
                           printed(figures.ranking_figure(ranking, top=15 if one_district else 16)), height=560),
        "topics": Section("topics", "四、专项工单", topic_caption,
                          theme.print_style(figures.top_figure(topics, title="专项工单") if len(topics)
                                            else theme.empty_figure("本期无专项工单")), height=360),
        "funnel": Section("funnel", "五、工单—线索—案件—整改转化", funnel_caption,
                          printed(figures.funnel_figure(funnel_figure_frame(stages))), height=380),
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
        cells_caption = (f"专项工单最密集的 250 米网格在{place}，{int(h['n']):,} 件{h['topic']}工单，"
                         f"涉及 {int(h['days']):,} 天；前 {len(hot)} 个网格合计 {int(hot['n'].sum()):,} 件。")
    else:
        cells_caption = "本期没有两件以上专项工单的 250 米网格。"
    sections["cells"] = Section("cells", "七、工单密集网格（250 米）", cells_caption)
    sections["kpis"] = Section("kpis", "一、核心指标", kpi_caption)
    lap("figures")
    return Briefing(filters=f, title=title, generated=today or date.today(), kpis=k.reset_index(), rates=rates,
                    sections=sections, cells=hot, headline=headline, timings=timings)


# ---------------------------------------------------------------- HTML -> PDF
