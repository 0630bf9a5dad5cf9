"""The visit list, the hotspot table and the map's marks point where a hotspot's tickets are, not at its grid
cells: a planted place of six tickets within 30 m of one spot is listed within 30 m of it (it was 255 m away:
the count-weighted centre of its 500 m cell, which now carries the Gi* statistic only)."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from analytics import hotspot_stats, hotspots, mapviz, visits
from analytics.filters import Filters
from data import derived, store
from geo import boundaries
from geo.crs import from_wgs84, haversine_m
from geo.grid import Grid

M_LAT = 111_320.0
M_LON = 111_320.0 * np.cos(np.radians(40.0))
YEAR = Filters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))


def _spot() -> tuple[float, float]:
    """A spot 180 m east and 180 m north of the centre of its 500 m cell (255 m from it), in Beijing."""
    g = Grid(500)
    gi, gj = g.index([116.45], [39.93])
    lon, lat = g.centre(gi, gj)
    return float(lon[0]) + 180 / M_LON, float(lat[0]) + 180 / M_LAT


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """1,000 manhole tickets scattered over Beijing (none within 2 km of the spot) and six within 30 m of it."""
    rng = np.random.default_rng(16)
    spot = _spot()
    pts = []
    while len(pts) < 1000:
        lon, lat = rng.uniform(115.5, 117.4, 4000), rng.uniform(39.5, 41.0, 4000)
        ok = boundaries.assign_points(lon, lat)["district"].notna().to_numpy().copy()
        ok &= haversine_m(lon, lat, spot[0], spot[1]) > 2000
        pts += list(zip(lon[ok], lat[ok], strict=True))
    pts = pts[:1000]
    angle = rng.uniform(0, 2 * np.pi, 6)
    dist = rng.uniform(5, 30, 6)
    place = [(spot[0] + d * np.cos(a) / M_LON, spot[1] + d * np.sin(a) / M_LAT) for a, d in zip(angle, dist, strict=True)]
    n = len(pts) + len(place)
    lon, lat = np.array([p[0] for p in pts + place]), np.array([p[1] for p in pts + place])
    where = boundaries.assign_points(lon, lat)
    received = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 360 * 24, n), unit="h")
    df = pd.DataFrame({"ticket_id": [f"B{i:04d}" for i in range(len(pts))] + [f"P{i}" for i in range(6)],
                       "received_at": received, "topic": "井盖", "lon": lon, "lat": lat,
                       "district": where["district"], "street": where["street"], "street_code": where["street_code"],
                       "address": "测试路口"})
    path = tmp_path_factory.mktemp("points") / "points.duckdb"
    con = store.connect(path)
    con.register("_df", df)
    con.execute("""INSERT INTO tickets (ticket_id, received_at, topic, lon, lat, district, street, street_code, address)
                   SELECT ticket_id, received_at, topic, lon, lat, district, street, street_code, address FROM _df""")
    con.unregister("_df")
    derived.refresh(con)
    con.close()
    return path, spot


def _planted_row(table: pd.DataFrame, hot) -> pd.Series:
    rows = table[table["kind"] == "统计热点"]
    assert len(rows) >= 1
    if rows["ticket_ids"].map(bool).all():
        rows = rows[rows["ticket_ids"].map(lambda ids: {f"P{i}" for i in range(6)} <= set(ids))]
    else:   # the capped view lists no ids ([]): its one hotspot
        rows = rows.iloc[:1]
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.mark.parametrize("ids", [True, False], ids=["listed", "lazy"])
def test_the_table_and_the_visit_list_point_where_the_tickets_are(planted, ids):
    path, spot = planted
    con = store.connect(path, read_only=True)
    try:
        hot = hotspots.hotspot_table(con, YEAR.replace(topics=("井盖",)), ids=ids)
        table = hotspots.with_ticket_ids(con, hot, len(hot.table))
        row = _planted_row(table, hot)
        assert haversine_m(row["lon"], row["lat"], *spot) <= 30.0
        # the cells carry the statistic: their count-weighted centre is where the row used to point
        cluster = hot.gi.clusters.set_index("cluster").loc[int(row["cluster"])]
        assert haversine_m(cluster["lon"], cluster["lat"], *spot) > 200
        v = visits.build(con, YEAR.replace(topics=("井盖",)), hot=hot)
        first = v.rows.iloc[0]
        assert haversine_m(first["lon_wgs84"], first["lat_wgs84"], *spot) <= 30.0
        glon, glat = from_wgs84(np.array([first["lon_wgs84"]]), np.array([first["lat_wgs84"]]), "gcj02")
        assert (round(float(glon[0]), 6), round(float(glat[0]), 6)) == (first["lon_gcj02"], first["lat_gcj02"])
        html = mapviz.hotspot_map(hot.gi.cells, hot.gi.grid, hot.table).get_root().render()
        payload = json.loads(html.split("var d = ", 1)[1].split(";\n", 1)[0])
        marks = [(m[1], m[0]) for m in payload["m"]]   # [lat, lon, ...] per mark
        assert min(haversine_m(lo, la, *spot) for lo, la in marks) <= 31.0   # 5 decimals: about 1 m
    finally:
        con.close()


@pytest.mark.parametrize("dates", [True, False], ids=["from the cell counts", "from the tickets"])
def test_the_capped_all_problem_rows_point_at_their_tickets_mean(planted, monkeypatch, dates):
    """Without a chosen problem and above the cap only Gi* runs; its rows point at the mean of their tickets
    (from `hotspot_cells` sums with dates, else from the tickets)."""
    path, spot = planted
    monkeypatch.setattr(hotspots, "ALL_PROBLEMS_MAX_LOCATED", 100)
    con = store.connect(path, read_only=True)
    try:
        hot = hotspots.hotspot_table(con, YEAR if dates else Filters())
        assert any("只计算统计热点" in n for n in hot.notes)
        row = _planted_row(hot.table, hot)
        assert haversine_m(row["lon"], row["lat"], *spot) <= 30.0
        assert row["n"] == 6
    finally:
        con.close()


def test_a_hotspot_points_at_its_busiest_place_else_at_its_tickets_mean():
    places = pd.DataFrame({"place": [1, 2, 3, 4], "cluster": [1, 1, 0, 2], "n": [3, 5, 9, 2],
                           "lon": [116.40, 116.41, 116.42, 116.43], "lat": [39.90, 39.91, 39.92, 39.93]})
    lon, lat = hotspot_stats.hotspot_points([1, 2, 3], places, [116.5, 116.6, 116.7], [40.0, 40.1, 40.2])
    assert (lon[0], lat[0]) == (116.41, 39.91)     # place 2 (5 tickets), not place 3 (outside every hotspot)
    assert (lon[1], lat[1]) == (116.43, 39.93)
    assert (lon[2], lat[2]) == (116.7, 40.2)       # no place inside: the mean of its tickets
    lon, lat = hotspot_stats.hotspot_points([1], places.iloc[:0], [116.5], [40.0])
    assert (lon[0], lat[0]) == (116.5, 40.0)
