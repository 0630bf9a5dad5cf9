"""Figures of the wall screen (大屏): the district map, the trend with last year and the ranking.

Pure builders (frames of analytics/screen.py in, go.Figure out) in the screen's style (`theme.screen_style`:
dark or light, type sized by `scale` for the room). The map is offline like every map of the product: plotly's
`white-bg` style, a ground of our own colour and the district or street outlines as GeoJSON layers, no tiles.
Its labels are Chinese characters only (`screen.map_label`): the browser draws those with its own font,
where any other character would make the map library ask a glyph server for it.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely

from analytics import mapviz, theme
from analytics.screen import map_label

MAP_METRICS = {"per_10k": "每万人工单量", "n": "工单量"}
LABEL_HEADROOM = 1.3   # the trend's value axis reaches 30 % above its highest point (the last value's label)
# A ground polygon well beyond any city the map may show: the map is drawn on the panel's colour.
_WORLD = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {
    "type": "Polygon", "coordinates": [[[-179, -80], [179, -80], [179, 80], [-179, 80], [-179, -80]]]}}]}


def _px(v: float, scale: float) -> int:
    return max(1, round(v * scale))


@lru_cache(maxsize=4)
def _label_points(level: str) -> dict[str, tuple[float, float]]:
    """A point inside each area's outline, for its label (key: district name or street code)."""
    key = "district" if level == "district" else "street_code"
    out = {}
    for feat in mapviz.outline_geojson(level)["features"]:
        p = shapely.geometry.shape(feat["geometry"]).representative_point()
        out[str(feat["properties"][key])] = (p.x, p.y)
    return out


def _view(geoms: list[dict], width: int, height: int) -> tuple[dict, float]:
    """Centre and zoom that fit the outlines in a width × height map (the world is 512·2^zoom px wide)."""
    bounds = np.array([shapely.geometry.shape(g).bounds for g in geoms]) if geoms else None
    if bounds is None or not len(bounds):
        return {"lon": 116.40, "lat": 40.19}, 7.6
    x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
    x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
    span_x = max(x1 - x0, 0.01) * 1.06
    span_y = max(y1 - y0, 0.01) * 1.06
    zx = math.log2(360.0 / span_x * width / 512)
    zy = math.log2(360.0 / span_y * height / 512 * math.cos(math.radians((y0 + y1) / 2)))
    return {"lon": (x0 + x1) / 2, "lat": (y0 + y1) / 2}, max(5.0, min(14.0, min(zx, zy)))


def map_figure(areas: pd.DataFrame, marks: pd.DataFrame, *, level: str = "district", metric: str = "per_10k",
               mode: str = "dark", scale: float = 1.0, width: int = 800, height: int = 560,
               colours: dict[str, str] | None = None) -> go.Figure:
    """The district (or street) choropleth of `maps.area_values` with the hotspots of `screen.month_hotspots`.

    `metric`: per_10k (per 10,000 residents; districts only, street populations are estimates) or n.
    Marks are sized by their tickets and coloured by project (`colours`: project -> colour; one colour when
    absent). Only the areas in `areas` are drawn, so a district account's map shows its own districts.
    """
    if metric not in MAP_METRICS:
        raise ValueError(f"metric must be one of {tuple(MAP_METRICS)}")
    if level not in ("district", "street"):
        raise ValueError("level must be 'district' or 'street'")
    c = theme.screen_colours(mode)
    fig = go.Figure()
    key = "district" if level == "district" else "street_code"
    shown = set(areas[key].astype(str)) if len(areas) else set()
    gj = mapviz.outline_geojson(level)
    gj["features"] = [ft for ft in gj["features"] if str(ft["properties"][key]) in shown]
    if len(areas):
        z = areas[metric].astype(float).fillna(0).to_numpy()
        names = areas["district"] if level == "district" else areas["street"]
        unit = "件/万人" if metric == "per_10k" else "件"
        fig.add_trace(go.Choroplethmap(
            geojson=gj, featureidkey=f"properties.{key}", locations=areas[key].astype(str), z=z, zmin=0,
            zmax=max(float(z.max()), 1e-9), text=names,
            colorscale=[[i / (len(c["map"]) - 1), col] for i, col in enumerate(c["map"])],
            marker={"line": {"width": 1.2 * scale, "color": c["outline"]}, "opacity": 0.92},
            hovertemplate="%{text}<br>" + MAP_METRICS[metric] + " %{z:,.2f} " + unit + "<extra></extra>",
            colorbar={"title": {"text": unit, "font": {"size": _px(15, scale), "color": c["muted"]}},
                      "thickness": _px(12, scale), "len": 0.42, "x": 0.995, "xanchor": "right", "y": 0.03,
                      "yanchor": "bottom", "tickfont": {"size": _px(14, scale), "color": c["muted"]},
                      "outlinewidth": 0, "bgcolor": "rgba(0,0,0,0)"},
            name=MAP_METRICS[metric], showlegend=False,
        ))
        if level == "district":
            pts = _label_points("district")
            lab = [(map_label(d), *pts[d]) for d in areas["district"] if d in pts and map_label(d)]
            if lab:
                fig.add_trace(go.Scattermap(
                    lon=[p[1] for p in lab], lat=[p[2] for p in lab], text=[p[0] for p in lab], mode="text",
                    textfont={"size": _px(15, scale), "color": c["text"]}, hoverinfo="skip", showlegend=False))
    if len(marks):
        top = max(float(marks["n"].max()), 1.0)
        for i, (topic, grp) in enumerate(marks.groupby("topic", sort=False)):
            colour = (colours or {}).get(topic, c["hot"] if not colours else
                                         theme.SCREEN_PROJECT_COLOURS[i % len(theme.SCREEN_PROJECT_COLOURS)])
            size = (_px(9, scale) + _px(17, scale) * np.sqrt(grp["n"].astype(float) / top)).round(1)
            text = [f"{topic}｜{s or d}：{n:,} 件" + ("（重复投诉）" if r else "")
                    for s, d, n, r in zip(grp["street"], grp["district"], grp["n"], grp["repeat"], strict=True)]
            fig.add_trace(go.Scattermap(lon=grp["lon"], lat=grp["lat"], mode="markers", hoverinfo="skip",
                                        marker={"size": size + _px(5, scale), "color": c["text"], "opacity": 0.85},
                                        showlegend=False))
            fig.add_trace(go.Scattermap(lon=grp["lon"], lat=grp["lat"], mode="markers", name=str(topic),
                                        marker={"size": size, "color": colour, "opacity": 0.95}, text=text,
                                        hovertemplate="%{text}<extra></extra>", showlegend=bool(colours)))
    centre, zoom = _view([ft["geometry"] for ft in gj["features"]], width, height)
    fig.update_layout(map={"style": "white-bg", "center": centre, "zoom": zoom, "layers": [
        {"sourcetype": "geojson", "source": _WORLD, "type": "fill", "color": c["panel"], "below": "traces"},
        {"sourcetype": "geojson", "source": gj, "type": "line", "color": c["outline"],
         "line": {"width": 1.2 * scale}},
    ]})
    theme.screen_style(fig, mode, scale, height=height, legend=bool(colours) and len(marks) > 0)
    fig.update_layout(width=width, margin={"l": 0, "r": 0, "t": 0, "b": 0},
                      legend={"orientation": "v", "yanchor": "top", "y": 0.99, "xanchor": "left", "x": 0.01,
                              "bgcolor": c["panel"], "bordercolor": c["border"], "borderwidth": 1})
    return fig


def _month_ticks(periods: pd.Series, last_day) -> list[str]:
    """"12月", "1月" …; a last month that ends before the month does (the data's last day) says "至N日"."""
    out = []
    for i, p in enumerate(pd.to_datetime(periods)):
        label = f"{p.month}月"
        if last_day is not None and i == len(periods) - 1 and last_day.day < p.days_in_month:
            label += f"（至{last_day.day}日）"
        out.append(label)
    return out


def trend_figure(trend: pd.DataFrame, *, mode: str = "dark", scale: float = 1.0, height: int = 280,
                 last_day=None) -> go.Figure:
    """Tickets per month (`overview.trend(grain="month")`) and the same months a year earlier (dashed).

    `last_day`: the data's last day; a last month that ends before it is labelled "至N日" (a partial month).
    """
    c = theme.screen_colours(mode)
    fig = go.Figure()
    if trend.empty:
        fig.add_annotation(text="暂无工单", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                           font={"size": _px(22, scale), "color": c["muted"]})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return theme.screen_style(fig, mode, scale, height=height)
    x = _month_ticks(trend["period"], last_day)
    if trend["n_last_year"].notna().any():
        fig.add_trace(go.Scatter(x=x, y=trend["n_last_year"].astype(float), mode="lines", name="上年同期",
                                 line={"color": c["line_last"], "width": 2.5 * scale, "dash": "dash"},
                                 hovertemplate="上年同期 %{y:,}<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=trend["n"], mode="lines+markers+text", name="本期",
                             line={"color": c["line_now"], "width": 4 * scale},
                             marker={"size": _px(8, scale), "color": c["line_now"]},
                             text=[""] * (len(trend) - 1) + [f"{int(trend['n'].iloc[-1]):,}"],
                             textposition="top center", textfont={"size": _px(17, scale), "color": c["text"]},
                             cliponaxis=False, hovertemplate="%{x}<br>工单量 %{y:,}<extra></extra>"))
    theme.screen_style(fig, mode, scale, height=height, legend=True)
    fig.update_xaxes(type="category", showgrid=False, tickangle=0, tickfont={"size": _px(15, scale)})
    # Room above the highest point for the last value's label, inside the plot area: the legend sits above
    # the plot area, so a last month that is the highest never writes its label over the legend.
    top = float(pd.concat([trend["n"], trend["n_last_year"]]).astype(float).max())
    fig.update_yaxes(range=[0, (top if top > 0 else 1) * LABEL_HEADROOM], tickformat="~s", nticks=4)
    fig.update_layout(margin={"l": _px(48, scale), "r": _px(14, scale), "t": _px(34, scale), "b": _px(8, scale)})
    return fig


def ranking_figure(ranking: pd.DataFrame, *, name_col: str = "name", value_col: str = "n",
                   mode: str = "dark", scale: float = 1.0, height: int = 480, top: int = 16) -> go.Figure:
    """Horizontal bars of the ranking (most on top), the value written at each bar's end."""
    c = theme.screen_colours(mode)
    fig = go.Figure()
    if ranking.empty or float(ranking[value_col].sum()) == 0:
        fig.add_annotation(text="本月暂无工单", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                           font={"size": _px(22, scale), "color": c["muted"]})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return theme.screen_style(fig, mode, scale, height=height)
    d = ranking.sort_values([value_col, name_col], ascending=[False, True]).head(top).iloc[::-1]
    values = d[value_col].astype(float)
    text = [f"{v:,.0f}" if value_col == "n" else f"{v:,.2f}" for v in values]
    colours = [c["primary"] if i >= len(d) - 3 else c["bar"] for i in range(len(d))]   # the top three in red
    fig.add_trace(go.Bar(x=values, y=d[name_col], orientation="h", marker={"color": colours}, text=text,
                         textposition="outside", cliponaxis=False, textfont={"size": _px(16, scale), "color": c["text"]},
                         hovertemplate="%{y} %{x:,}<extra></extra>"))
    theme.screen_style(fig, mode, scale, height=height)
    fig.update_xaxes(visible=False, range=[0, float(values.max()) * 1.22 or 1])
    fig.update_yaxes(tickfont={"size": _px(16, scale), "color": c["text"]}, showgrid=False)
    fig.update_layout(bargap=0.28, margin={"l": _px(8, scale), "r": _px(8, scale), "t": _px(2, scale),
                                           "b": _px(2, scale)})
    return fig
