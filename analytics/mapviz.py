"""Map builders: folium maps for the page, plotly static maps for images, all offline.

Procuratorates work on networks without internet, so nothing here may point
at a CDN or a public tile server:

- Leaflet, MarkerCluster and the heat plugin come from the copies the app
  serves itself, through the folium subclasses of analytics/leaflet_assets.py
  (folium's own classes are not changed); jQuery, Bootstrap and the
  awesome-markers assets folium also lists are not loaded (we use no
  folium.Icon and no branca colormap: legends are our own HTML);
- the base map is the street and district outlines (GeoJSON), with tiles=None
  and maxZoom=18 (MarkerCluster needs a max zoom without a tile layer);
- an internal tile server can be configured (HOTLINE_TILE_URL); when its tiles
  are GCJ-02 (HOTLINE_TILE_CRS=gcj02, Gaode style) every drawn coordinate,
  outlines included, is shifted to GCJ-02 so it lines up, and clicks coming
  back from the map are shifted back with `click_to_wgs84`;
- plotly static maps use map_style="white-bg" plus GeoJSON outline layers and
  an explicit centre and zoom (other styles fetch from the internet).

Builders are pure functions: data in, folium.Map / go.Figure out.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from functools import lru_cache

import folium
import folium.plugins
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely
from branca.element import MacroElement, Template

from analytics import leaflet_assets, theme
from analytics.maps import METRICS, PointLayer
from data import settings
from geo import boundaries, crs
from geo.grid import cells_geojson

MAX_ZOOM = 18
CITY_ZOOM = 9
OUTLINE = "#616161"
NO_DATA = "#F5F5F5"


# ---------------------------------------------------------------- coordinates
def tile_settings() -> tuple[str, str, str]:
    """(url, crs, attribution) of the optional internal tile server; url '' means none."""
    url = str(settings.get("HOTLINE_TILE_URL") or "").strip()
    tcrs = crs.normalise_crs(str(settings.get("HOTLINE_TILE_CRS") or "wgs84"))
    return url, tcrs, str(settings.get("HOTLINE_TILE_ATTRIBUTION"))


def display_crs() -> str:
    """The CRS drawn coordinates must be in: the tiles' CRS when tiles are used, else WGS84."""
    url, tcrs, _ = tile_settings()
    return tcrs if url else "wgs84"


def to_display(lon, lat, target: str | None = None):
    return crs.from_wgs84(lon, lat, target or display_crs())


def click_to_wgs84(lon: float, lat: float, source: str | None = None) -> tuple[float, float]:
    """A coordinate clicked on the map, back in WGS84."""
    return crs.to_wgs84(float(lon), float(lat), source or display_crs())


def _shift_geojson(gj: dict, target: str) -> dict:
    if target == "wgs84":
        return gj
    out = {"type": "FeatureCollection", "features": []}
    for feat in gj["features"]:
        geom = shapely.geometry.shape(feat["geometry"])
        moved = shapely.transform(geom, lambda xy: np.column_stack(crs.from_wgs84(xy[:, 0], xy[:, 1], target)))
        out["features"].append({"type": "Feature", "properties": feat["properties"],
                                "geometry": shapely.geometry.mapping(moved)})
    return out


def _round_coords(obj, nd: int = 5):
    """Round every number of a GeoJSON coordinate array (1 m at 5 decimals)."""
    if isinstance(obj, float):
        return round(obj, nd)
    if isinstance(obj, list | tuple):
        return [_round_coords(x, nd) for x in obj]
    return obj


@lru_cache(maxsize=16)
def _region_outline_json(region: str, level: str, target: str) -> str:
    """Simplified outlines as a JSON string (cached per region, level and CRS)."""
    if level == "district":
        gj = boundaries.districts_geojson(simplify=0.001)
    else:
        gj = boundaries.streets_geojson(simplify=0.0008)
    gj = _shift_geojson(gj, target)
    nd = 5 if level == "district" else 4  # streets to ~10 m: half the bytes sent on every rerun
    for feat in gj["features"]:
        feat["geometry"]["coordinates"] = _round_coords(feat["geometry"]["coordinates"], nd)
    return json.dumps(gj, ensure_ascii=False, separators=(",", ":"))


def outline_geojson(level: str, target: str = "wgs84", *, bare: bool = False) -> dict:
    """The region's district or street outlines as GeoJSON (WGS84 or the display CRS).

    `bare`: geometry only, no names or codes. The base layer under every map is bare: it draws lines, and a map
    sent to a district account must not carry the names of the districts outside its scope (docs/security.md).
    """
    if level not in ("district", "street"):
        raise ValueError("level must be 'district' or 'street'")
    from geo import regions

    parsed = _region_outline(regions.active().name, level, target)
    # A new collection and new features (callers filter the features, and folium adds an "id" to each), each
    # with its own properties; the geometries are shared with the cache and never changed by anyone: parsing the
    # street outlines for every map drawn was a fifth of the server's busy time with 20 users (py-spy).
    return {**parsed, "features": [{**feat, "properties": {} if bare else dict(feat["properties"])}
                                   for feat in parsed["features"]]}


@lru_cache(maxsize=16)
def _region_outline(region: str, level: str, target: str) -> dict:
    """`_region_outline_json` parsed once (read-only: `outline_geojson` hands out copies of its features)."""
    return json.loads(_region_outline_json(region, level, target))


# ---------------------------------------------------------------- colours and legends
def breaks(values, k: int = 5) -> list[float]:
    """Up to k+1 increasing class limits (quantiles of the positive values)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x) and x > 0], dtype=float)
    if v.size == 0:
        return [0.0, 1.0]
    qs = np.unique(np.quantile(v, np.linspace(0, 1, k + 1)))
    if qs.size == 1:
        return [0.0, float(qs[0])]
    qs[0] = min(qs[0], v.min())
    return [float(x) for x in qs]


def colour(value, limits: list[float], palette: list[str] | None = None) -> str:
    """Colour of a value in classes given by `limits` (sequential reds by default)."""
    palette = palette or theme.SEQUENTIAL[1:]
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value <= 0:
        return NO_DATA
    n_cls = max(len(limits) - 1, 1)
    k = int(np.searchsorted(limits, value, side="left")) - 1
    k = min(max(k, 0), n_cls - 1)
    idx = round(k * (len(palette) - 1) / max(n_cls - 1, 1))
    return palette[idx]


def diverging_colour(value, bound: float) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or bound <= 0:
        return NO_DATA
    pal = theme.DIVERGING  # blue (fewer) -> grey -> red (more)
    t = max(-1.0, min(1.0, value / bound))
    return pal[round((t + 1) / 2 * (len(pal) - 1))]


def _fmt(x: float) -> str:
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}"


def legend_html(title: str, items: list[tuple[str, str]], note: str = "") -> str:
    """A small legend box (own HTML, no branca: branca colormaps make streamlit-folium load d3 from a CDN)."""
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{c};'
        f'border:1px solid #9e9e9e;margin-right:6px;vertical-align:middle"></span>{html.escape(t)}</div>'
        for c, t in items)
    extra = f'<div style="color:#757575;margin-top:4px">{html.escape(note)}</div>' if note else ""
    return (f'<div class="hotline-legend" style="position:absolute;bottom:24px;left:12px;z-index:1000;'
            f'background:rgba(255,255,255,.92);padding:8px 10px;border:1px solid #bdbdbd;border-radius:4px;'
            f'font:12px sans-serif;line-height:18px;max-width:260px">'
            f'<b>{html.escape(title)}</b>{rows}{extra}</div>')


def _add_legend(m: folium.Map, legend: str) -> None:
    m.get_root().html.add_child(folium.Element(legend))


# ---------------------------------------------------------------- folium
def base_map(center: tuple[float, float] | None = None, zoom: int = CITY_ZOOM, *,
             streets: bool = True, tiles: bool = True) -> folium.Map:
    """An empty map: outlines as the base layer (or the internal tiles under them), local assets only.

    `center` is (lon, lat) in WGS84.
    """
    target = display_crs()
    lon, lat = center or boundaries.CITY_CENTRE
    dlon, dlat = to_display(lon, lat, target)
    m = leaflet_assets.Map(location=[dlat, dlon], zoom_start=zoom, tiles=None, maxZoom=MAX_ZOOM, max_zoom=MAX_ZOOM,
                   min_zoom=7, control_scale=True, prefer_canvas=True)
    # without tiles Leaflet's grey container background would be the "land": make it paper white
    m.get_root().header.add_child(folium.Element(
        "<style>.leaflet-container{background:#ffffff}.hotline-legend b{display:block;margin-bottom:2px}</style>"))
    url, _, attribution = tile_settings()
    if url and tiles:
        folium.TileLayer(tiles=url, attr=attribution, name="底图", max_zoom=MAX_ZOOM, overlay=False).add_to(m)
    if streets:
        folium.GeoJson(outline_geojson("street", target, bare=True), name="街乡边界", control=False,
                       style_function=lambda _f: {"color": "#BDBDBD", "weight": 0.6, "fill": False},
                       smooth_factor=1.0, interactive=False).add_to(m)
    folium.GeoJson(outline_geojson("district", target, bare=True), name="区界", control=False,
                   style_function=lambda _f: {"color": OUTLINE, "weight": 1.6, "fill": False},
                   interactive=False).add_to(m)
    return m


def _fit(m: folium.Map, lons, lats) -> None:
    lons = np.asarray(lons, dtype=float)
    lats = np.asarray(lats, dtype=float)
    ok = np.isfinite(lons) & np.isfinite(lats)
    if not ok.any():
        return
    x, y = to_display(lons[ok], lats[ok])
    pad = 0.01
    m.fit_bounds([[float(np.min(y)) - pad, float(np.min(x)) - pad], [float(np.max(y)) + pad, float(np.max(x)) + pad]],
                 max_zoom=15)


def choropleth_map(df: pd.DataFrame, level: str = "district", metric: str = "n", *,
                   fit: bool = False) -> folium.Map:
    """Districts or streets coloured by `metric` (n, per_10k or change) from `maps.area_values`."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}")
    target = display_crs()
    gj = outline_geojson(level, target)
    key = "district" if level == "district" else "street_code"
    rows = {str(r[key]): r for r in df.to_dict("records")}
    gj["features"] = [f for f in gj["features"] if str(f["properties"][key]) in rows]
    values = [rows[str(f["properties"][key])].get(metric) for f in gj["features"]]
    values = [None if v is None or pd.isna(v) else float(v) for v in values]
    if metric == "change":
        finite = [abs(v) for v in values if v is not None]
        bound = max(finite) if finite else 0.0
        fill = [diverging_colour(v, bound) for v in values]
        items = [(theme.DIVERGING[-1], f"增加 {_fmt(bound)}"), (theme.DIVERGING[2], "持平"),
                 (theme.DIVERGING[0], f"减少 {_fmt(bound)}"), (NO_DATA, "无上期数据")]
    else:
        lim = breaks(values)
        fill = [colour(v, lim) for v in values]
        items = [(colour(hi, lim), f"{_fmt(lo)} – {_fmt(hi)}") for lo, hi in itertools.pairwise(lim)]
        items.append((NO_DATA, "0 / 无数据"))
    for feat, c, _v in zip(gj["features"], fill, values, strict=True):
        r = rows[str(feat["properties"][key])]
        name = r["district"] if level == "district" else f"{r['district']} {r['street']}"
        prev = r.get("n_prev")
        prev_s = "—" if prev is None or pd.isna(prev) else f"{int(prev):,}"
        per = r.get("per_10k")
        per_s = "—" if per is None or pd.isna(per) else f"{per:.2f}"
        feat["properties"] = {key: feat["properties"][key], "name": name, "n": f"{int(r['n']):,}",
                              "per_10k": per_s + ("（估算人口）" if level == "street" else ""),
                              "prev": prev_s, "fill": c}
    m = base_map(streets=False)
    folium.GeoJson(
        gj, name="分区着色",
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "fillOpacity": 0.75,
                                  "color": "#757575", "weight": 0.7},
        highlight_function=lambda _f: {"weight": 2.5, "color": theme.PRIMARY},
        tooltip=folium.GeoJsonTooltip(fields=["name", "n", "per_10k", "prev"],
                                      aliases=["区域", "工单量", "每万人", "上期"], sticky=True),
    ).add_to(m)
    title = METRICS[metric] + ("（街乡人口为估算）" if level == "street" and metric == "per_10k" else "")
    _add_legend(m, legend_html(title, items))
    if fit and len(df):
        sub = boundaries.districts() if level == "district" else boundaries.streets()
        sub = sub[sub[key].astype(str).isin(rows)]
        x0, y0, x1, y1 = sub.total_bounds
        _fit(m, [x0, x1], [y0, y1])
    return m


_POINT_CALLBACK = """
function (row) {
    var m = L.circleMarker(new L.LatLng(row[0], row[1]),
        {radius: 6, color: '#ffffff', weight: 1, fillColor: row[3], fillOpacity: 0.9});
    m.bindTooltip(row[2]);
    return m;
};
"""


def _point_rows(df: pd.DataFrame, target: str) -> list[list]:
    x, y = to_display(df["lon"].to_numpy(float), df["lat"].to_numpy(float), target)
    out = []
    for xi, yi, r in zip(x, y, df.to_dict("records"), strict=True):
        when = pd.Timestamp(r["received_at"]).strftime("%Y-%m-%d") if pd.notna(r.get("received_at")) else ""
        text = html.escape(f"{r['ticket_id']} {when} {r.get('street') or ''} {r.get('address') or ''}")
        open_ = r.get("status") not in ("已办结",) and pd.isna(r.get("closed_at"))
        out.append([round(float(yi), 6), round(float(xi), 6), text, theme.PRIMARY if open_ else theme.ACCENT])
    return out


class GridCells(MacroElement):
    """Grid cells sent as one compact array and drawn as rectangles by a few lines of JavaScript.

    A folium GeoJSON of 5,000 square cells is ~1.6 MB (five corner pairs and the properties of every
    cell, re-sent on every rerun); here a cell is its south-west corner, its count, a colour index and two
    day offsets (~35 bytes), and the browser builds the rectangles from the cell size.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var d = {{ this.payload }};
    var day = function (k) { return new Date(d.t0 + k * 86400000).toISOString().slice(0, 10); };
    var group = L.featureGroup();
    for (var k = 0; k < d.c.length; k++) {
        var c = d.c[k];
        var r = L.rectangle([[c[0], c[1]], [c[0] + d.dlat, c[1] + d.dlon]],
            {fillColor: d.pal[c[3]], fillOpacity: 0.8, color: '#ffffff', weight: 0.3});
        r.bindTooltip('工单量 ' + c[2] + '<br>首次 ' + day(c[4]) + '<br>最近 ' + day(c[5]), {sticky: true});
        group.addLayer(r);
    }
    group.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}
""")

    def __init__(self, payload: dict):
        super().__init__()
        self._name = "GridCells"
        self.payload = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class HotspotMarks(MacroElement):
    """The ranked places as circle markers from one compact array (a folium CircleMarker per place is its
    own script block and tooltip object: 600 of them were 1.2 MB of HTML and 1.4 s of rendering)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var d = {{ this.payload }};
    for (var k = 0; k < d.m.length; k++) {
        var c = d.m[k], s = d.s[c[3]];
        L.circleMarker([c[0], c[1]], {radius: c[2], color: s[0], weight: s[1], fill: true, fillColor: s[2],
                                      fillOpacity: s[3]})
            .bindTooltip(c[4]).addTo({{ this._parent.get_name() }});
    }
})();
{% endmacro %}
""")

    def __init__(self, payload: dict):
        super().__init__()
        self._name = "HotspotMarks"
        self.payload = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def grid_payload(layer: PointLayer, target: str) -> tuple[dict, list[tuple[str, str]]]:
    """The cells of a grid layer as a compact dict (see `GridCells`) and its legend items."""
    df = layer.frame
    lim = breaks(df["n"].tolist())
    colours = [colour(float(v), lim) for v in df["n"].to_numpy(float)]
    pal = sorted(set(colours))
    idx = {c: k for k, c in enumerate(pal)}
    gi, gj = df["gi"].to_numpy(), df["gj"].to_numpy()
    lon0, lat0 = gj * layer.grid.dlon, gi * layer.grid.dlat
    x, y = to_display(lon0, lat0, target)  # south-west corners in the display CRS
    t0 = pd.Timestamp(df["first"].min()).normalize()
    first = ((pd.to_datetime(df["first"]).dt.normalize() - t0).dt.days).to_numpy()
    last = ((pd.to_datetime(df["last"]).dt.normalize() - t0).dt.days).to_numpy()
    cells = [[round(float(b), 5), round(float(a), 5), int(n), idx[c], int(f0), int(f1)]
             for a, b, n, c, f0, f1 in zip(x, y, df["n"].to_numpy(), colours, first, last, strict=True)]
    payload = {"dlat": round(layer.grid.dlat, 7), "dlon": round(layer.grid.dlon, 7), "pal": pal,
               "t0": int(t0.value // 1_000_000), "c": cells}
    items = [(colour(hi, lim), f"{_fmt(lo)} – {_fmt(hi)} 件") for lo, hi in itertools.pairwise(lim)]
    return payload, items


def points_map(layer: PointLayer, *, fit: bool = True, title: str = "工单点位") -> folium.Map:
    """Clustered points, or grid cells coloured by count when the layer was aggregated."""
    target = display_crs()
    m = base_map()
    if layer.mode == "points":
        fg = folium.FeatureGroup(name="工单点位")
        leaflet_assets.FastMarkerCluster(_point_rows(layer.frame, target), callback=_POINT_CALLBACK,
                                         name="工单点位", options={"maxClusterRadius": 45}).add_to(fg)
        fg.add_to(m)
        _add_legend(m, legend_html(title, [(theme.PRIMARY, "未办结"), (theme.ACCENT, "已办结")],
                                   "数字为聚合的点位数，放大查看单个工单"))
    elif layer.mode == "grid":
        payload, items = grid_payload(layer, target)
        GridCells(payload).add_to(m)
        _add_legend(m, legend_html(f"{title}（{layer.grid.label()} 网格）", items, layer.notes[0]))
    if fit and layer.shown:
        _fit(m, layer.frame["lon"], layer.frame["lat"])
    return m


def heat_map(layer: PointLayer, *, fit: bool = True) -> folium.Map:
    """A heatmap of the points (or of the grid cells, weighted by their counts)."""
    target = display_crs()
    m = base_map()
    if layer.shown:
        df = layer.frame
        x, y = to_display(df["lon"].to_numpy(float), df["lat"].to_numpy(float), target)
        w = df["n"].to_numpy(float) if layer.mode == "grid" else np.ones(len(df))
        w = w / w.max()
        data = [[round(float(b), 6), round(float(a), 6), round(float(c), 4)] for a, b, c in zip(x, y, w, strict=True)]
        radius = 14 if layer.mode == "points" else 22
        leaflet_assets.HeatMap(data, name="热力图", radius=radius, blur=radius, min_opacity=0.35, max_zoom=12,
                               gradient={0.2: "#FDD0C0", 0.45: "#FC9272", 0.7: "#EF3B2C", 1.0: "#99000D"}).add_to(m)
        _add_legend(m, legend_html("热力图", [("#FDD0C0", "较少"), ("#EF3B2C", "较多"), ("#99000D", "最集中")],
                                   layer.notes[0] if layer.notes else ""))
        if fit:
            _fit(m, df["lon"], df["lat"])
    return m


def hotspot_map(gi_cells: pd.DataFrame, grid, table: pd.DataFrame, *, fit: bool = True,
                max_marks: int = 600) -> folium.Map:
    """Gi* hotspot cells (by z) and the ranked hotspots / repeat places as circles.

    At most `max_marks` places are drawn (the table is ranked, so the top ones); every folium
    CircleMarker is its own script statement, and hundreds more only slow the page.
    """
    target = display_crs()
    table = table.head(max_marks)
    m = base_map()
    hot = gi_cells[gi_cells["hot"]] if len(gi_cells) else gi_cells
    if len(hot):
        zs = hot["z"].to_numpy(float)
        pal = theme.SEQUENTIAL[2:]
        zlim = [1.96, 2.58, 3.29, max(3.3, float(zs.max()))]
        props = [{"n": int(r.n), "z": f"{r.z:.2f}", "q": f"{r.q:.1e}", "hotspot": int(r.cluster),
                  "fill": pal[min(int(np.searchsorted(zlim, r.z, side="right")) - 1, len(pal) - 1)]}
                 for r in hot.itertuples(index=False)]
        gj = _shift_geojson(cells_geojson(grid, hot["gi"], hot["gj"], props), target)
        folium.GeoJson(
            gj, name="Gi* 热点格",
            style_function=lambda f: {"fillColor": f["properties"]["fill"], "fillOpacity": 0.7,
                                      "color": "#ffffff", "weight": 0.4},
            tooltip=folium.GeoJsonTooltip(fields=["hotspot", "n", "z", "q"],
                                          aliases=["热点编号", "格内工单", "Gi* z值", "FDR q值"]),
        ).add_to(m)
    if len(table):
        x, y = to_display(table["lon"].to_numpy(float), table["lat"].to_numpy(float), target)
        rows = list(zip(x, y, table.itertuples(index=False), strict=True))
        # repeat places first and small, statistical hotspots last and large: hotspots stay on top
        rows.sort(key=lambda t: (t[2].kind == "统计热点", t[2].n))
        marks = []
        for xi, yi, r in rows:
            is_hot = r.kind == "统计热点"
            is_repeat = bool(r.repeat)
            radius = (9 + min(12, math.sqrt(r.n))) if is_hot else (3 + min(6, math.sqrt(r.n) / 2))
            style = (int(is_hot) * 2 + int(is_repeat))  # index into the four styles below
            tip = html.escape(f"#{r.rank} {r.kind} {r.street} {r.address}：{r.n} 件" + ("，重复" if is_repeat else ""))
            marks.append([round(float(yi), 5), round(float(xi), 5), round(radius, 1), style, tip])
        styles = [  # [stroke colour, weight, fill colour, fill opacity] for (place | hotspot) × (plain | repeat)
            ["#ffffff", 1, theme.PALETTE[3], 0.6], ["#212121", 1, theme.PALETTE[3], 0.6],
            ["#ffffff", 1, theme.PRIMARY, 0.9], ["#212121", 2.5, theme.PRIMARY, 0.9],
        ]
        HotspotMarks({"s": styles, "m": marks}).add_to(m)
    _add_legend(m, legend_html("热点", [(theme.SEQUENTIAL[2], "Gi* z ≥ 1.96"), (theme.SEQUENTIAL[4], "z ≥ 3.29"),
                                       (theme.PRIMARY, "统计热点（圆点）"), (theme.PALETTE[3], "重复点位（圆点）")],
                                 "黑框：重复投诉"))
    if fit and len(table):
        _fit(m, table["lon"], table["lat"])
    elif fit and len(hot):
        _fit(m, hot["lon"], hot["lat"])
    return m


# ---------------------------------------------------------------- plotly static maps
def _zoom_for(lons, lats, width: int, height: int) -> tuple[dict, float]:
    lons = np.asarray(lons, dtype=float)
    lats = np.asarray(lats, dtype=float)
    ok = np.isfinite(lons) & np.isfinite(lats)
    if not ok.any():
        lon, lat = boundaries.CITY_CENTRE
        return {"lon": lon, "lat": lat}, 7.6
    x0, x1 = float(lons[ok].min()), float(lons[ok].max())
    y0, y1 = float(lats[ok].min()), float(lats[ok].max())
    span_x = max(x1 - x0, 0.01) * 1.15
    span_y = max(y1 - y0, 0.01) * 1.15
    # at zoom z the world is 512·2^z px wide; a degree of latitude is 1/cos(lat) times taller
    zx = math.log2(360.0 / span_x * max(width - 40, 100) / 512)
    zy = math.log2(360.0 / span_y * max(height - 110, 100) / 512 * math.cos(math.radians((y0 + y1) / 2)))
    return {"lon": (x0 + x1) / 2, "lat": (y0 + y1) / 2}, max(6.5, min(15.0, min(zx, zy)))


def _outline_layers(*, streets: bool, bounds: tuple[float, float, float, float] | None = None) -> list[dict]:
    """District lines, plus street lines (only the streets meeting `bounds`, to keep images light)."""
    layers = [{"source": outline_geojson("district", bare=True), "type": "line", "color": OUTLINE, "line": {"width": 1.2}}]
    if streets:
        gj = outline_geojson("street")
        if bounds is not None:
            x0, y0, x1, y1 = bounds
            codes = set(boundaries.streets().cx[x0:x1, y0:y1]["street_code"].astype(str))
            gj["features"] = [f for f in gj["features"] if str(f["properties"]["street_code"]) in codes]
        for f in gj["features"]:
            f["properties"] = {}   # lines only: no names in an image's figure
        layers.insert(0, {"source": gj, "type": "line", "color": "#BDBDBD", "line": {"width": 0.5}})
    return layers


def static_choropleth(df: pd.DataFrame, level: str = "district", metric: str = "n", *, title: str | None = None,
                      subtitle: str | None = None, width: int = 1000, height: int = 760) -> go.Figure:
    """A plotly choropleth of `maps.area_values` output for images (white background, outlines, no tiles)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}")
    if df.empty:
        return theme.empty_figure()
    key = "district" if level == "district" else "street_code"
    gj = outline_geojson(level)
    names = df["district"] if level == "district" else df["district"] + " " + df["street"]
    z = df[metric].astype(float)
    diverging = metric == "change"
    bound = float(np.nanmax(np.abs(z))) if diverging and np.isfinite(z).any() else None
    fig = go.Figure(go.Choroplethmap(
        geojson=gj, featureidkey=f"properties.{key}", locations=df[key].astype(str), z=z.fillna(0),
        text=names, hovertemplate="%{text}<br>" + METRICS[metric] + "：%{z:,.2f}<extra></extra>",
        colorscale=[[i / (len(theme.DIVERGING) - 1), c] for i, c in enumerate(theme.DIVERGING)] if diverging
        else [[i / (len(theme.SEQUENTIAL) - 1), c] for i, c in enumerate(theme.SEQUENTIAL)],
        zmin=-bound if bound else None, zmax=bound if bound else None,
        marker={"line": {"width": 0.6, "color": "#9E9E9E"}, "opacity": 0.85},
        colorbar={"title": {"text": METRICS[metric]}, "thickness": 14},
    ))
    sub = boundaries.districts() if level == "district" else boundaries.streets()
    sub = sub[sub[key].astype(str).isin(set(df[key].astype(str)))]
    x0, y0, x1, y1 = sub.total_bounds if len(sub) else (*boundaries.BBOX[:2], *boundaries.BBOX[2:])
    center, zoom = _zoom_for([x0, x1], [y0, y1], width, height)
    fig.update_layout(map={"style": "white-bg", "center": center, "zoom": zoom,
                           "layers": _outline_layers(streets=False)})
    theme.style(fig, title=title, subtitle=subtitle, height=height, legend=False)
    fig.update_layout(width=width, margin={"l": 10, "r": 10, "t": 80 if title else 10, "b": 10})
    return fig


def static_points(df: pd.DataFrame, *, title: str | None = None, subtitle: str | None = None,
                  label_col: str | None = None, size_col: str | None = None, color: str | None = None,
                  width: int = 1100, height: int = 760) -> go.Figure:
    """A plotly point map (lon, lat [, label, size]) over street and district outlines, for images.

    With `label_col` each point carries its label (e.g. the hotspot rank) as text.
    """
    if df.empty:
        return theme.empty_figure("所选条件下没有可上图的点位")
    lons, lats = df["lon"].astype(float), df["lat"].astype(float)
    if size_col:
        s = df[size_col].astype(float)
        size = 10 + 22 * np.sqrt(s / max(float(s.max()), 1.0))
    else:
        size = np.full(len(df), 9.0)
    mode = "markers+text" if label_col else "markers"
    fig = go.Figure(go.Scattermap(
        lon=lons, lat=lats, mode=mode, text=df[label_col].astype(str) if label_col else None,
        textposition="top right", textfont={"size": 13, "color": "#212121"},
        marker={"size": size, "color": color or theme.PRIMARY, "opacity": 0.85},
        hoverinfo="text",
    ))
    center, zoom = _zoom_for(lons, lats, width, height)
    # street lines only help once zoomed in; at city scale they are noise and slow the render
    half_w = 360.0 / 2 ** zoom * width / 512 / 2
    half_h = half_w * height / width
    view = (center["lon"] - half_w, center["lat"] - half_h, center["lon"] + half_w, center["lat"] + half_h)
    fig.update_layout(map={"style": "white-bg", "center": center, "zoom": zoom,
                           "layers": _outline_layers(streets=zoom >= 9.5, bounds=view)})
    theme.style(fig, title=title, subtitle=subtitle, height=height, legend=False)
    fig.update_layout(width=width, margin={"l": 10, "r": 10, "t": 80 if title else 10, "b": 10})
    return fig


def monthly_figure(df: pd.DataFrame, *, title: str = "逐月工单量", subtitle: str | None = None) -> go.Figure:
    """Bars of `maps.monthly_counts` (tickets per month, located share in the hover)."""
    if df.empty:
        return theme.empty_figure()
    months = pd.to_datetime(df["month"]).dt.strftime("%Y-%m")
    fig = go.Figure(go.Bar(
        x=months, y=df["n"], marker_color=theme.PRIMARY, customdata=df["n_located"],
        hovertemplate="%{x}<br>工单 %{y:,} 件<br>带坐标 %{customdata:,} 件<extra></extra>",
    ))
    fig.update_xaxes(type="category", title=None)
    fig.update_yaxes(title="工单量", rangemode="tozero")
    return theme.style(fig, title=title, subtitle=subtitle, legend=False)
