"""Plotly figures of the overview, funnel and ticket pages: pure `DataFrame -> go.Figure` builders.

Each builder takes the frame of the matching analytics function, styles it
with the house theme and puts the filter value of every mark in `customdata`
(district name, category path, topic, stage key …), so a click on it can be
turned into a filter change by ui/drill.py. An empty frame gives a figure
that says so.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics import theme

_FMT_INT = "{:,}"
TICK_FORMATS = {"day": "%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}


def _room(values: pd.Series, factor: float = 1.3) -> float:
    """Axis end leaving room for the value labels drawn outside the bars."""
    top = float(values.max()) if len(values) else 0.0
    return top * factor if top > 0 else 1.0


def _pct_text(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{v:+.0%}"


def trend_figure(df: pd.DataFrame, grain: str = "day", *, subtitle: str | None = None) -> go.Figure:
    """Tickets per bucket (line) and the same buckets a year earlier (dashed grey), from overview.trend()."""
    if df.empty:
        return theme.empty_figure("所选条件下暂无工单")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=df["period"], y=df["n"], mode="lines+markers", name="本期",
                             line={"color": theme.PRIMARY, "width": 3}, customdata=df["period"].dt.strftime("%Y-%m-%d"),
                             hovertemplate="%{x|%Y-%m-%d}<br>工单量 %{y:,}<extra></extra>"))
    if "n_last_year" in df and df["n_last_year"].notna().any():
        fig.add_trace(go.Scatter(x=df["period"], y=df["n_last_year"], mode="lines", name="去年同期",
                                 line={"color": theme.GREY, "width": 2, "dash": "dash"},
                                 hovertemplate="去年同期 %{y:,}<extra></extra>"))
    fig.update_yaxes(title_text="工单量", rangemode="tozero")
    # numeric dates: plotly's default ticks name the months in English ("Oct 5")
    fig.update_xaxes(title_text=None, tickformat=TICK_FORMATS.get(grain, "%Y-%m-%d"))
    return theme.style(fig, title=f"工单量趋势（{theme.GRAIN_LABELS.get(grain, grain)}）", subtitle=subtitle)


def ranking_figure(df: pd.DataFrame, metric: str = "n", *, subtitle: str | None = None,
                   top: int = 16) -> go.Figure:
    """Horizontal bars of districts by count (`n`) or per 10,000 residents (`per_10k`); biggest on top."""
    if metric not in ("n", "per_10k"):
        raise ValueError("metric must be n or per_10k")
    if df.empty or df["n"].sum() == 0:
        return theme.empty_figure("所选条件下暂无工单")
    d = df.sort_values([metric, "district"], ascending=[False, True]).head(top).iloc[::-1]
    text = [(_FMT_INT.format(int(v)) if metric == "n" else f"{v:.2f}") for v in d[metric]]
    fig = go.Figure(go.Bar(
        x=d[metric], y=d["district"], orientation="h", marker_color=theme.PRIMARY, text=text,
        textposition="outside", customdata=d["district"],
        hovertemplate="%{y}<br>" + ("工单量 %{x:,}" if metric == "n" else "每万人 %{x:.2f} 件") + "<extra></extra>",
    ))
    title = "各区工单量排名" if metric == "n" else "各区每万常住人口工单量"
    fig.update_xaxes(title_text="工单量" if metric == "n" else "件/万人", range=[0, _room(d[metric])])
    fig.update_layout(clickmode="event+select")
    return theme.style(fig, title=title, subtitle=subtitle, legend=False, height=max(320, 28 * len(d) + 120))


def top_figure(df: pd.DataFrame, *, title: str, subtitle: str | None = None) -> go.Figure:
    """Horizontal bars of overview.top_values() (categories or special projects); key in customdata."""
    if df.empty:
        return theme.empty_figure("所选条件下暂无数据")
    d = df.iloc[::-1]
    fig = go.Figure(go.Bar(
        x=d["n"], y=d["label"], orientation="h", marker_color=theme.ACCENT, customdata=d["key"],
        text=[f"{n:,}（{s:.0%}）" for n, s in zip(d["n"], d["share"].fillna(0), strict=True)],
        textposition="outside", hovertemplate="%{customdata}<br>工单量 %{x:,}<extra></extra>",
    ))
    fig.update_xaxes(title_text="工单量", range=[0, _room(d["n"])])
    return theme.style(fig, title=title, subtitle=subtitle, legend=False, height=max(320, 30 * len(d) + 120))


def changes_figure(up: pd.DataFrame, down: pd.DataFrame, *, dimension: str = "三级分类",
                   subtitle: str | None = None) -> go.Figure:
    """Risers (red) and fallers (green) by absolute change, labelled with the % change."""
    if up.empty and down.empty:
        return theme.empty_figure("与上期相比无明显变化（或上期无数据）")
    d = pd.concat([down.iloc[::-1], up.iloc[::-1]], ignore_index=True) if not down.empty else up.iloc[::-1]
    names = [str(k).split("/")[-1] for k in d["key"]]
    colors = [theme.UP if c > 0 else theme.DOWN for c in d["change"]]
    text = [f"{c:+,}（{_pct_text(p) if not pd.isna(p) else '新增'}）" for c, p in zip(d["change"], d["pct"], strict=True)]
    fig = go.Figure(go.Bar(
        x=d["change"], y=names, orientation="h", marker_color=colors, text=text, textposition="outside",
        customdata=d["key"], cliponaxis=False,
        hovertemplate="%{customdata}<br>变化 %{x:+,}<extra></extra>",
    ))
    lim = _room(d["change"].abs(), 2.0 if (d["change"] < 0).any() else 1.6)
    fig.update_xaxes(title_text="较上期变化（件）", zeroline=True, zerolinecolor="#616161",
                     range=[-lim if (d["change"] < 0).any() else 0, lim if (d["change"] > 0).any() else 0])
    return theme.style(fig, title=f"变化最大的{dimension}（较上期）", subtitle=subtitle, legend=False,
                       height=max(320, 30 * len(d) + 120))


def funnel_figure(df: pd.DataFrame, *, subtitle: str | None = None) -> go.Figure:
    """The funnel of funnel.stages(): counts with conversion from the previous step; stage key in customdata."""
    if df.empty or df["n"].iloc[0] == 0:
        return theme.empty_figure("所选条件下暂无工单")
    text = [f"{n:,}" + ("" if pd.isna(r) else f"（转化 {r:.1%}）") for n, r in zip(df["n"], df["rate_prev"], strict=True)]
    fig = go.Figure(go.Funnel(
        y=df["stage"], x=df["n"], text=text, textinfo="text", customdata=df["key"],
        marker={"color": [theme.PALETTE[i % len(theme.PALETTE)] for i in range(len(df))]},
        hovertemplate="%{y}：%{x:,}<extra></extra>",
    ))
    return theme.style(fig, title="诉求→线索→立案→整改", subtitle=subtitle, legend=False)


def split_figure(df: pd.DataFrame, *, dimension: str = "区", subtitle: str | None = None) -> go.Figure:
    """Clues, cases and rectified cases per group of funnel.split(); group key in customdata."""
    if df.empty or (df[["clues", "cases", "rectified"]].sum().sum() == 0):
        return theme.empty_figure("所选条件下暂无线索")
    d = df[(df["clues"] > 0) | (df["cases"] > 0)]
    fig = go.Figure()
    for col, name, color in (("clues", "线索", theme.PALETTE[1]), ("cases", "立案", theme.PALETTE[0]),
                             ("rectified", "整改", theme.PALETTE[2])):
        fig.add_trace(go.Bar(x=d["key"], y=d[col], name=name, marker_color=color, customdata=d["key"],
                             hovertemplate="%{x}<br>" + name + " %{y:,}<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="数量")
    return theme.style(fig, title=f"按{dimension}：线索、立案与整改", subtitle=subtitle)


def durations_figure(df: pd.DataFrame, *, subtitle: str | None = None) -> go.Figure:
    """Median (bar) and 90th percentile (marker) days of each stage from funnel.durations()."""
    d = df[df["n"] > 0]
    if d.empty:
        return theme.empty_figure("暂无可计算的办理时长")
    fig = go.Figure()
    fig.add_trace(go.Bar(x=d["stage"], y=d["median_days"], name="中位数", marker_color=theme.ACCENT,
                         text=[f"{v:.1f}天" for v in d["median_days"]], textposition="outside",
                         hovertemplate="%{x}<br>中位数 %{y:.1f} 天<extra></extra>"))
    fig.add_trace(go.Scatter(x=d["stage"], y=d["p90_days"], name="90%分位", mode="markers",
                             marker={"symbol": "line-ew-open", "size": 28, "color": theme.PRIMARY,
                                     "line": {"width": 3}},
                             hovertemplate="%{x}<br>90%分位 %{y:.1f} 天<extra></extra>"))
    fig.update_yaxes(title_text="天", rangemode="tozero")
    return theme.style(fig, title="各环节用时（天）", subtitle=subtitle)


def location_figure(lon: float, lat: float, nearby: pd.DataFrame | None = None, *,
                    outlines: dict | None = None, zoom: float = 15, centre_name: str = "本工单",
                    nearby_name: str = "附近工单") -> go.Figure:
    """A small offline map: the ticket (red), other tickets nearby (blue), street outlines, no tiles. The
    screening queue names them 事项中心 / 事项工单."""
    fig = go.Figure()
    if nearby is not None and not nearby.empty and {"lon", "lat"} <= set(nearby.columns):
        fig.add_trace(go.Scattermap(lon=nearby["lon"], lat=nearby["lat"], mode="markers", name=nearby_name,
                                    marker={"size": 10, "color": theme.ACCENT}, text=nearby.get("ticket_id"),
                                    hovertemplate="%{text}<extra></extra>"))
    fig.add_trace(go.Scattermap(lon=[lon], lat=[lat], mode="markers", name=centre_name,
                                marker={"size": 16, "color": theme.PRIMARY},
                                hovertemplate=f"{centre_name}<br>{lon:.5f}, {lat:.5f}<extra></extra>"))
    layers = []
    if outlines:
        layers.append({"sourcetype": "geojson", "source": outlines, "type": "line",
                       "color": "#616161", "line": {"width": 1.5}})
    fig.update_layout(map={"style": "white-bg", "center": {"lon": lon, "lat": lat}, "zoom": zoom,
                           "layers": layers},
                      margin={"l": 0, "r": 0, "t": 0, "b": 0}, height=320,
                      legend={"orientation": "h", "y": 0.02, "x": 0.01, "bgcolor": "rgba(255,255,255,0.7)"})
    fig.update_layout(font={"family": theme.font_family()})
    return theme.plain_traces(fig)
