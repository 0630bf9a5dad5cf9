"""A static map for print: district (or street) outlines shaded by counts, with grid cells as bubbles.

Drawn on plain axes (no WebGL map, no tiles), so it is vector, fast and offline; the briefing pack's
per-project maps use it (analytics/briefing_content.py). The interactive maps are analytics/mapviz.py.
"""

from __future__ import annotations

import functools

import pandas as pd
import plotly.graph_objects as go

from analytics import theme

Y_SCALE = 1.305  # 1 / cos(40°): degrees of latitude drawn longer than longitude at Beijing


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


def _outlines(districts: tuple[str, ...]) -> list[tuple[str, list[tuple[list, list]], tuple[float, float]]]:
    """(name, [(xs, ys) per ring], label point) of the districts, or of the streets of `districts` (the
    districts themselves in a region pack without streets)."""
    from geo import regions

    return _region_outlines(regions.active().name, districts)


@functools.lru_cache(maxsize=32)
def _region_outlines(region: str, districts: tuple[str, ...]):
    from geo import boundaries

    if districts and len(boundaries.streets()):
        gdf = boundaries.streets()
        gdf = gdf[gdf["district"].isin(districts)]
        key, tol = "street", 0.0005
    elif districts:
        gdf = boundaries.districts()
        gdf = gdf[gdf["district"].isin(districts)]
        key, tol = "district", 0.0005
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
