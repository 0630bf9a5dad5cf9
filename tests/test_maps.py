"""Map aggregates on the tiny hand-checked store, and the folium/plotly map objects' options.

Counts below are read off tests/data/tiny/load.sql: March 2025 = T01-T12
(东城 T01 T02 T09, 朝阳 T03 T04 T05 T10, 平谷 T06 T07 T11, 海淀 T08 T12;
T10 has no coordinates), the 31 days before = T13 (东城), T14 T15 (朝阳).
"""

from __future__ import annotations

import json
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from analytics import hotspots, leaflet_assets, maps, mapviz
from analytics.filters import Filters
from geo import boundaries, crs
from geo.grid import Grid, beijing_cells

MARCH = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
URL_RE = re.compile(r"https?://[^\s\"'<>)]+")


# ---------------------------------------------------------------- polygon assignment and areas
def test_every_located_tiny_ticket_falls_in_its_recorded_street(tiny_con):
    df = tiny_con.execute("SELECT ticket_id, district, street, lon, lat FROM tickets WHERE lon IS NOT NULL "
                          "ORDER BY ticket_id").df()
    assert len(df) == 19
    got = boundaries.assign_points(df["lon"], df["lat"])
    assert list(got["district"]) == list(df["district"])
    assert list(got["street"]) == list(df["street"])
    assert maps.street_at(116.420606, 39.908785) == {"district": "东城区", "street": "建国门街道",
                                                      "street_code": "110101008000"}
    assert maps.street_at(120.0, 30.0) is None


def test_district_values_count_per_10k_and_change(tiny_con):
    d = maps.area_values(tiny_con, MARCH, "district").set_index("district")
    assert len(d) == 16
    assert d["n"].sum() == 12
    got = d.loc[d["n"] > 0, "n"].to_dict()
    assert got == {"东城区": 3, "朝阳区": 4, "海淀区": 2, "平谷区": 3}
    assert d.loc["东城区", "n_prev"] == 1 and d.loc["朝阳区", "n_prev"] == 2 and d.loc["平谷区", "n_prev"] == 0
    assert d.loc["东城区", "change"] == 2 and d.loc["朝阳区", "change_pct"] == pytest.approx(100.0)
    assert np.isnan(d.loc["平谷区", "change_pct"])  # no previous tickets: no percentage
    pop = d.loc["东城区", "population"]
    assert pop == 708829
    assert d.loc["东城区", "per_10k"] == pytest.approx(round(3 / 708829 * 10_000, 3))
    assert not d["population_estimated"].any()


def test_street_values_keep_same_named_streets_apart(tiny_con):
    s = maps.area_values(tiny_con, MARCH, "street")
    assert len(s) == 343
    nz = s[s["n"] > 0].set_index(["district", "street"])["n"].to_dict()
    assert nz == {("东城区", "建国门街道"): 2, ("东城区", "东华门街道"): 1, ("朝阳区", "八里庄街道"): 2,
                  ("朝阳区", "望京街道"): 2, ("海淀区", "八里庄街道"): 2, ("平谷区", "兴谷街道"): 2,
                  ("平谷区", "滨河街道"): 1}
    wj = s[(s["street"] == "望京街道")].iloc[0]
    assert wj["n_prev"] == 2 and wj["change"] == 0
    assert s["population_estimated"].all()


def test_area_values_follow_district_filter_and_text_path(tiny_con):
    f = MARCH.replace(districts=("平谷区",))
    s = maps.area_values(tiny_con, f, "street")
    assert set(s["district"]) == {"平谷区"} and s["n"].sum() == 3
    # a text filter cannot use the daily summary: the tickets table answers, same semantics
    t = maps.area_values(tiny_con, MARCH.replace(text="井盖"), "district").set_index("district")["n"]
    assert t[t > 0].to_dict() == {"东城区": 2, "朝阳区": 1}
    assert maps.unplaced_count(tiny_con, MARCH) == 0


# ---------------------------------------------------------------- points, grid, months
def test_point_layer_shows_points_under_the_cap(tiny_con):
    lay = maps.point_layer(tiny_con, MARCH, limit=100)
    assert (lay.mode, lay.total, lay.located, lay.shown) == ("points", 12, 11, 11)
    assert "1 件工单无坐标" in lay.note
    assert "content" not in lay.frame.columns  # no ticket text in the map's data (nor in its cache)
    near = maps.tickets_near(tiny_con, MARCH, *lay.frame.set_index("ticket_id").loc["T01", ["lon", "lat"]], 10)
    t01 = near.set_index("ticket_id").loc["T01", "content"]  # a click shows the texts, masked
    assert "13812341234" not in t01 and "138****1234" in t01


def test_only_drawable_coordinates_are_located(empty_db_path):
    from data import store, summaries

    con = store.connect(empty_db_path)
    sql = ("INSERT INTO tickets (ticket_id, received_at, lon, lat, geo_flag) VALUES "
           "('A', '2025-03-01', 116.42, 39.90, NULL), ('B', '2025-03-01', 116.42, 39.90, 'swapped_fixed'), "
           "('C', '2025-03-01', 116.42, 39.90, 'district_mismatch'), ('D', '2025-03-01', 116.42, 39.90, "
           "'outside_polygons'), ('E', '2025-03-01', NULL, NULL, 'no_coords')")
    con.execute(sql)
    summaries.refresh_daily(con)  # the total comes from the daily summary, as after every import
    assert maps.quick_counts(con, Filters()) == (5, 4)  # D has coordinates, outside every street: not drawn
    lay = maps.point_layer(con, Filters(), limit=100)
    assert (lay.total, lay.located) == (5, 3)
    assert sorted(lay.frame["ticket_id"]) == ["A", "B", "C"]
    assert "2 件工单无坐标" in lay.note
    assert maps.grid_counts(con, Filters(), Grid(500))["n"].sum() == 3
    assert sorted(maps.tickets_near(con, Filters(), 116.42, 39.90, 50)["ticket_id"]) == ["A", "B", "C"]
    con.close()


def test_a_map_nothing_can_be_placed_on_says_why_instead_of_an_empty_region(empty_db_path, tiny_con):
    from data import store

    con = store.connect(empty_db_path)
    rows = ("('N1', '2025-03-01', NULL, NULL, NULL, 'no_coords'), "        # no geography at all ("A市")
            "('Y1', '2025-03-02', -73.99, 40.72, NULL, 'outside_region'), "  # another city's point
            "('B1', '2025-03-03', NULL, NULL, '朝阳区', 'by_address')")      # placed by its address text
    con.execute(f"INSERT INTO tickets (ticket_id, received_at, lon, lat, district, geo_flag) VALUES {rows}")
    day = lambda d: Filters(date_from=date(2025, 3, d), date_to=date(2025, 3, d))  # noqa: E731
    assert "既没有坐标，也没有北京市的区县名称" in maps.unplaceable_note(con, day(1))
    assert "坐标不在北京市范围内" in maps.unplaceable_note(con, day(2))
    assert maps.unplaceable_note(con, day(3)) is None                 # a district: the choropleth has it
    assert maps.unplaceable_note(con, Filters()) is None              # one placed ticket is enough
    assert maps.unplaceable_note(con, day(4)) is None                 # nothing selected: the page says so
    con.close()
    assert maps.unplaceable_note(tiny_con, MARCH) is None


def test_point_layer_aggregates_to_grid_above_the_cap(tiny_con):
    lay = maps.point_layer(tiny_con, MARCH, limit=5)
    assert lay.mode == "grid"
    assert lay.shown <= 5
    assert lay.frame["n"].sum() == 11  # nothing lost, only aggregated
    assert "已按" in lay.note and "网格聚合" in lay.note and "5" in lay.note


def test_grid_counts_and_cell_drilldown(tiny_con):
    g = Grid(500)
    cells = maps.grid_counts(tiny_con, Filters(), g)
    assert cells["n"].sum() == 19
    top = cells.iloc[0]
    assert top["n"] == 4  # T01 T02 T13 T16 lie within 10 m of each other at 建国门
    ids = maps.tickets_in_cell(tiny_con, Filters(), g, int(top["gi"]), int(top["gj"]))["ticket_id"]
    assert sorted(ids) == ["T01", "T02", "T13", "T16"]
    gi, gj = g.index(116.420606, 39.908785)
    assert (int(gi), int(gj)) == (int(top["gi"]), int(top["gj"]))
    lon, lat = g.centre(gi, gj)
    assert abs(lon - 116.420606) < g.dlon and abs(lat - 39.908785) < g.dlat


def test_choose_grid_is_the_smallest_size_under_the_limit(tiny_con):
    sizes = maps.MAP_CELL_SIZES_M
    n_cells = {m: len(maps.grid_counts(tiny_con, Filters(), Grid(m))) for m in sizes}
    assert n_cells[125] <= 19 and n_cells[125] >= n_cells[8000]
    located, census = maps.cell_census(tiny_con, Filters())
    assert located == 19 and census == n_cells  # the coarse sizes derived from the finest agree with SQL
    for limit in (1, 3, 5, 8, 11, 19):
        g = maps.choose_grid(tiny_con, Filters(), limit)
        fitting = [m for m in sizes if n_cells[m] <= limit]
        assert g.cell_m == (fitting[0] if fitting else sizes[-1]), limit
    with pytest.raises(ValueError):
        maps.cell_census(tiny_con, Filters(), (100, 250))


def test_quick_counts_bound_the_exact_counts(tiny_con):
    for f in (Filters(), MARCH, Filters(text="井盖"), MARCH.replace(districts=("朝阳区",))):
        total, with_coords = maps.quick_counts(tiny_con, f)
        exact_total, drawable = maps.counts(tiny_con, f)
        assert total == exact_total and with_coords >= drawable, f
    assert maps.quick_counts(tiny_con, Filters()) == (20, 19)


def test_monthly_counts_and_month_filters(tiny_con):
    m = maps.monthly_counts(tiny_con, Filters())
    assert [(str(a)[:7], b, c) for a, b, c in m.itertuples(index=False)] == [
        ("2024-03", 5, 5), ("2025-02", 3, 3), ("2025-03", 12, 11)]
    mt = maps.monthly_counts(tiny_con, Filters(text="井盖"))
    assert list(mt["n"]) == [1, 1, 3]
    f = maps.month_filters(Filters(date_from=date(2025, 2, 15), date_to=date(2025, 3, 10)), date(2025, 2, 1))
    assert (f.date_from, f.date_to) == (date(2025, 2, 15), date(2025, 2, 28))
    f = maps.month_filters(Filters(), date(2024, 2, 1))
    assert (f.date_from, f.date_to) == (date(2024, 2, 1), date(2024, 2, 29))


def test_last_months():
    f = maps.last_months(Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31)), 12)
    assert (f.date_from, f.date_to) == (date(2024, 4, 1), date(2025, 3, 31))
    assert maps.last_months(Filters(date_to=date(2025, 1, 15)), 2).date_from == date(2024, 12, 1)
    assert maps.last_months(Filters(), 12) == Filters()


def test_tickets_near_a_click(tiny_con):
    df = maps.tickets_near(tiny_con, MARCH, 116.4206, 39.9088, radius_m=100)
    assert list(df["ticket_id"]) == ["T01", "T02"]
    assert (df["distance_m"] <= 100).all()
    assert maps.tickets_near(tiny_con, MARCH, 116.0, 40.5, radius_m=100).empty
    ids = maps.tickets_by_ids(tiny_con, ["T13", "T01", "nope"])
    assert list(ids["ticket_id"]) == ["T01", "T13"]


def test_presets(tiny_con):
    f = maps.preset_filters(MARCH, "污水/排污", ("井盖", "污水"))
    assert f.topics == ("污水",) and f.text == ""
    f = maps.preset_filters(MARCH, "假冒伪劣", ("井盖",))  # topic unknown in this store: keyword instead
    assert f.topics == () and f.text == "假冒"
    assert maps.counts(tiny_con, maps.preset_filters(MARCH, "井盖", ("井盖",))) == (3, 3)
    with pytest.raises(ValueError):
        maps.preset_filters(MARCH, "不存在", ())


def test_beijing_cells_cover_beijing_only():
    cells = beijing_cells(2000)
    # Beijing is about 16,410 km²: 2 km cells whose centre is inside number about 4,100
    assert 3_700 < len(cells) < 4_500
    assert cells["district"].nunique() == 16


# ---------------------------------------------------------------- folium objects
def _render(m) -> str:
    return m.get_root().render()


def test_folium_maps_are_offline_with_local_assets(tiny_con):
    lay = maps.point_layer(tiny_con, MARCH, limit=100)
    grid = maps.point_layer(tiny_con, MARCH, limit=5)
    hot = hotspots.hotspot_table(tiny_con, Filters())
    assert len(hot.gi.clusters) == 4 and hot.gi.cells["hot"].any()
    built = {
        "choropleth": mapviz.choropleth_map(maps.area_values(tiny_con, MARCH, "street"), "street", "per_10k"),
        "points": mapviz.points_map(lay),
        "grid": mapviz.points_map(grid),
        "heat": mapviz.heat_map(lay),
        "hotspots": mapviz.hotspot_map(hot.gi.cells, hot.gi.grid, hot.table),
    }
    for name, m in built.items():
        html = _render(m)
        assert URL_RE.findall(html) == [], name
        assert leaflet_assets.LEAFLET_JS in html and leaflet_assets.LEAFLET_CSS in html, name
        assert '"maxZoom": 18' in html, name
        assert "tileLayer" not in html, name  # no tile server by default
        assert "hotline-legend" in html, name
    assert leaflet_assets.CLUSTER_JS in _render(built["points"])
    assert leaflet_assets.HEAT_JS in _render(built["heat"])
    # the clustered points carry every located ticket
    html = _render(built["points"])
    assert all(t in html for t in ("T01", "T02", "T09", "T11", "T12")) and "T10" not in html  # T10 has no coordinates


def test_building_maps_leaves_folium_own_classes_alone(tiny_con):
    """The offline assets are per map (our subclasses), not patched into folium: a plain folium map built in
    the same process still lists folium's own CDN links, and its classes keep their lists."""
    import folium
    import folium.plugins

    before = {cls: (list(cls.default_js), list(cls.default_css)) for cls in (
        folium.Map, folium.plugins.MarkerCluster, folium.plugins.FastMarkerCluster, folium.plugins.HeatMap)}
    lay = maps.point_layer(tiny_con, MARCH, limit=100)
    ours = _render(mapviz.points_map(lay)) + _render(mapviz.heat_map(lay))
    assert URL_RE.findall(ours) == []
    after = {cls: (list(cls.default_js), list(cls.default_css)) for cls in before}
    assert after == before
    assert any(url.startswith("https://") for _, url in folium.Map.default_js)
    plain = _render(folium.Map(tiles=None))
    assert leaflet_assets.LEAFLET_JS not in plain and URL_RE.findall(plain)


def test_tile_server_setting_shifts_to_gcj02(tiny_con, monkeypatch):
    monkeypatch.setenv("HOTLINE_TILE_URL", "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png")
    monkeypatch.setenv("HOTLINE_TILE_CRS", "gcj02")
    lay = maps.point_layer(tiny_con, MARCH.replace(districts=("平谷区",)), limit=100)
    html = _render(mapviz.points_map(lay))
    assert "tileLayer" in html and "127.0.0.1:9/tiles" in html
    t06 = lay.frame.set_index("ticket_id").loc["T06"]
    glon, glat = crs.from_wgs84(t06["lon"], t06["lat"], "gcj02")
    assert f"{glat:.6f}"[:9] in html and f"{glon:.6f}"[:9] in html
    assert f"{t06['lat']:.6f}" not in html  # WGS84 would sit 300-600 m off on GCJ-02 tiles
    lon, lat = mapviz.click_to_wgs84(glon, glat)
    assert abs(lon - t06["lon"]) < 1e-6 and abs(lat - t06["lat"]) < 1e-6


def test_choropleth_colours_follow_values(tiny_con):
    areas = maps.area_values(tiny_con, MARCH, "district")
    m = mapviz.choropleth_map(areas, "district", "n")
    html = _render(m)
    assert html.count(mapviz.NO_DATA) >= 12  # 12 districts without tickets
    lim = mapviz.breaks([3, 4, 2, 3])
    assert mapviz.colour(4, lim) == mapviz.colour(max(lim), lim) != mapviz.colour(2, lim)
    assert mapviz.colour(0, lim) == mapviz.NO_DATA
    with pytest.raises(ValueError):
        mapviz.choropleth_map(areas, "district", "nonsense")


def test_static_maps_use_white_background_and_outlines(tiny_con):
    fig = mapviz.static_choropleth(maps.area_values(tiny_con, MARCH, "district"), "district", "change",
                                   title="变化")
    d = fig.to_plotly_json()
    assert fig.layout.map.style == "white-bg"
    assert fig.layout.map.center.lon is not None and fig.layout.map.zoom > 6
    assert len(fig.layout.map.layers) >= 1
    assert "mapbox://" not in str(d) and URL_RE.findall(fig.to_json()) == []
    pts = pd.DataFrame({"lon": [116.40, 116.42], "lat": [39.90, 39.91], "rank": ["1", "2"], "n": [5, 2]})
    fig = mapviz.static_points(pts, title="点位", label_col="rank", size_col="n")
    assert fig.layout.map.style == "white-bg"
    assert fig.layout.map.zoom >= 11  # two points 2 km apart: zoomed in, not the whole city
    assert len(fig.layout.map.layers) == 2  # street + district outlines when zoomed in
    assert list(fig.data[0].text) == ["1", "2"]


def test_grid_cells_are_sent_compactly(tiny_con, monkeypatch):
    """A grid layer is one array of cells (south-west corner, count, colour, day offsets), not GeoJSON."""
    lay = maps.point_layer(tiny_con, Filters(), limit=5)
    assert lay.mode == "grid"
    payload, items = mapviz.grid_payload(lay, "wgs84")
    cells = payload["c"]
    assert len(cells) == lay.shown and sum(c[2] for c in cells) == lay.frame["n"].sum() and items
    top = lay.frame.iloc[0]
    x0, y0, _, _ = lay.grid.bounds(int(top["gi"]), int(top["gj"]))
    assert cells[0][:3] == [round(y0, 5), round(x0, 5), int(top["n"])]
    assert all(payload["pal"][c[3]] == mapviz.colour(c[2], mapviz.breaks(lay.frame["n"].tolist())) for c in cells)
    t0 = pd.Timestamp(payload["t0"], unit="ms")
    assert t0 + pd.Timedelta(days=cells[0][5]) == pd.Timestamp(top["last"]).normalize()
    html = _render(mapviz.points_map(lay))
    base = _render(mapviz.base_map())
    assert html.count('"Feature"') == base.count('"Feature"')  # the outlines only: no GeoJSON per cell
    assert "L.rectangle" in html and json.dumps(payload["c"][0], separators=(",", ":")) in html
    monkeypatch.setenv("HOTLINE_TILE_URL", "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png")
    monkeypatch.setenv("HOTLINE_TILE_CRS", "gcj02")
    shifted, _ = mapviz.grid_payload(lay, mapviz.display_crs())
    glon, glat = crs.from_wgs84(x0, y0, "gcj02")
    assert shifted["c"][0][:2] == [round(float(glat), 5), round(float(glon), 5)]


def test_automatic_layer_points_only_for_small_selections():
    from analytics.filters import Filters

    city, district = Filters(), Filters(districts=("朝阳区",))
    assert maps.shows_points(city, 2000, 5000) and not maps.shows_points(city, 2001, 5000)
    assert maps.shows_points(district, 5000, 5000) and not maps.shows_points(district, 5001, 5000)


def test_count_at_a_click_and_the_ticket_table(tiny_con):
    districts = maps.area_values(tiny_con, MARCH, "district")
    streets = maps.area_values(tiny_con, MARCH, "street")
    wangjing = {"district": "朝阳区", "street": "望京街道"}
    assert maps.count_at(districts, wangjing, "district") == 4
    assert maps.count_at(streets, wangjing, "street") == 2
    assert maps.count_at(streets, {"district": "延庆区", "street": "没有这条街"}, "street") == 0
    near = maps.tickets_near(tiny_con, MARCH, 116.4, 39.9, 50_000)
    shown = maps.ticket_table(near)
    assert list(shown.columns[:3]) == ["工单编号", "受理时间", "区"] and shown.columns[-1] == "距点击处（米）"
    assert "经度" not in shown.columns and len(shown) == len(near)


def test_maps_drawn_leave_the_parsed_outlines_unchanged(tiny_con):
    """The outlines are parsed once and handed out as copies of their features (the geometries shared):
    drawing every kind of map, with folium adding ids and callers filtering features, changes nothing cached."""
    from analytics import screen_figures

    fresh = {(lv, bare): json.dumps(mapviz.outline_geojson(lv, bare=bare), sort_keys=True)
             for lv in ("district", "street") for bare in (False, True)}
    areas = maps.area_values(tiny_con, MARCH, "district")
    _render(mapviz.choropleth_map(areas, "district", "n"))
    _render(mapviz.base_map(streets=True))
    mapviz.static_choropleth(areas, "district", "change", title="变化").to_json()
    screen_figures.map_figure(areas.assign(per_10k=1.0), pd.DataFrame(), metric="per_10k").to_json()
    gj = mapviz.outline_geojson("district")
    gj["features"] = gj["features"][:1]
    gj["features"][0]["properties"]["district"] = "改过"
    assert mapviz.outline_geojson("district", bare=True)["features"][0]["properties"] == {}
    for (lv, bare), text in fresh.items():
        assert json.dumps(mapviz.outline_geojson(lv, bare=bare), sort_keys=True) == text
    assert len(mapviz.outline_geojson("district")["features"]) >= 16
