"""Back after a close (办结后再诉, data/after_close.py): the window and radius, the stored flags, the reference, the
hotspot view's counts, settings that mark the stored flags stale, and the incremental refresh."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from analytics import hotspots as hs
from analytics.filters import Filters
from data import after_close, derived, positions, store
from geo import boundaries
from geo.crs import haversine_m

M_LAT = 111_320.0
M_LON = 111_320.0 * np.cos(np.radians(40.0))
P = (116.4213, 39.9063)   # a spot in Dongcheng (建国门街道)


def _at(dx_m: float, dy_m: float = 0.0, origin=P) -> tuple[float, float]:
    return origin[0] + dx_m / M_LON, origin[1] + dy_m / M_LAT


def _store(path, rows) -> None:
    """A store holding these located tickets (ticket_id, received_at, closed_at, lon, lat, topic), with its
    hotspot tables (the rest of the derived tables are not needed here)."""
    df = pd.DataFrame(rows, columns=["ticket_id", "received_at", "closed_at", "lon", "lat", "topic"])
    df["received_at"] = pd.to_datetime(df["received_at"])
    df["closed_at"] = pd.to_datetime(df["closed_at"])
    where = boundaries.assign_points(df["lon"].to_numpy(), df["lat"].to_numpy())
    df = df.assign(district=where["district"], street=where["street"], street_code=where["street_code"],
                   address="测试路口")
    con = store.connect(path)
    con.register("_df", df)
    con.execute("""INSERT INTO tickets (ticket_id, received_at, closed_at, topic, district, street, street_code,
                   address, lon, lat) SELECT ticket_id, received_at, closed_at, topic, district, street, street_code,
                   address, lon, lat FROM _df""")
    con.unregister("_df")
    derived.refresh(con)
    con.close()


def _planted_sequence() -> list[tuple]:
    """The issue's place: complaints that return 25 days after each close, scattered within 30 m of one spot
    (six tickets on a 30 m circle around P, the next one 72° further round: 35 m from the one before)."""
    rows, t = [], pd.Timestamp("2025-01-06 09:00")
    for k in range(6):
        a = np.radians(72 * k)
        rows.append((f"R{k + 1}", t, t + pd.Timedelta(days=3), *_at(30 * np.cos(a), 30 * np.sin(a)), "污水"))
        t = t + pd.Timedelta(days=3 + 25)
    return rows


def _controls() -> list[tuple]:
    """Tickets that are not back after a close, each for one reason, near another spot Q (2 km east of P)."""
    q = _at(2000)
    return [
        ("Q1", "2025-03-01 09:00", "2025-03-02 09:00", *q, "井盖"),
        ("Q2", "2025-03-06 09:00", "2025-03-07 09:00", *_at(10, 0, q), "井盖"),    # 4 days later: the same episode
        ("Q3", "2025-06-15 09:00", None, *_at(-10, 0, q), "井盖"),                # 100 days after Q2's close: too late
        ("Q4", "2025-03-20 09:00", None, *_at(0, 40, q), "污水"),                 # near, but another problem
        ("Q5", "2025-03-25 09:00", None, *_at(0, 150, q), "井盖"),                # 18 days, but 150 m away
    ]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    path = tmp_path_factory.mktemp("after_close") / "planted.duckdb"
    _store(path, _planted_sequence() + _controls())
    return path


def test_rule_defaults_settings_and_text(monkeypatch):
    r = after_close.Rule.from_settings()
    assert (r.min_days, r.max_days, r.radius_m) == (7, 90, 50.0)
    assert r.describe() == "在约 50 米内同一问题的工单办结后 7–90 天内再次投诉"
    monkeypatch.setenv("HOTLINE_RETURN_MIN_DAYS", "0")
    monkeypatch.setenv("HOTLINE_RETURN_RADIUS_M", "80")
    assert after_close.Rule.from_settings() == after_close.Rule(0, 90, 80.0)
    assert after_close.Rule(0, 90, 80.0).key != r.key
    with pytest.raises(ValueError, match="window"):
        after_close.Rule(90, 30)
    assert r.reach_cells(20) == 6   # 100 m cells: near tickets are at most 6 positions of 20 m apart


def test_every_pair_within_the_radius_counts_and_none_beyond_twice_it():
    """Near = the same cell of one of four 100 m grids shifted by 50 m: every pair less than 50 m apart (east-west
    and north-south) is near, none 100 m or more apart either way (at most 141 m apart in all)."""
    rule = after_close.Rule()
    rng = np.random.default_rng(5)
    lon0, lat0 = 116.40, 39.90
    a = np.column_stack([lon0 + rng.uniform(-300, 300, 20000) / M_LON, lat0 + rng.uniform(-300, 300, 20000) / M_LAT])
    b = a + np.column_stack([rng.uniform(-150, 150, 20000) / M_LON, rng.uniform(-150, 150, 20000) / M_LAT])
    dx = np.abs(a[:, 0] - b[:, 0]) * M_LON
    dy = np.abs(a[:, 1] - b[:, 1]) * M_LAT
    near = rule.near(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert near[(dx < 49.5) & (dy < 49.5)].all()          # (0.5 m for the degrees' rounding over 300 m)
    assert not near[(dx > 100.5) | (dy > 100.5)].any()
    within = haversine_m(a[:, 0], a[:, 1], b[:, 0], b[:, 1]) <= 49.0
    assert within.sum() > 500 and near[within].all()      # within the radius as the crow flies: always
    assert (near & ~within).any()                          # and some pairs a little farther


def test_the_planted_returns_all_count(planted):
    """Every return of the planted place counts (the old rule, 30-90 days at the same 20 m position, counted 1
    of the 5); the controls do not."""
    con = store.connect(planted, read_only=True)
    try:
        flags = dict(con.execute(f"SELECT ticket_id, back FROM {positions.TABLE}").fetchall())
        assert [flags[f"R{k}"] for k in range(1, 7)] == [False, True, True, True, True, True]
        assert not any(flags[f"Q{k}"] for k in range(1, 6))
        h = hs.hotspot_table(con, Filters(topics=("污水",)), ids=True)
        (place,) = [p for p in h.places.itertuples() if "R1" in p.ticket_ids]
        assert (place.n, place.n_after_close, place.repeat) == (6, 5, True)
        assert "7–90 天内再次投诉" in h.method
    finally:
        con.close()


def test_the_sql_flags_equal_the_reference_on_random_tickets(tmp_path):
    """ids_sql (stored flags) and flags() (all pairs in memory) agree ticket by ticket."""
    rng = np.random.default_rng(8)
    n = 400
    x, y = rng.uniform(-150, 150, n), rng.uniform(-150, 150, n)
    received = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300 * 24, n), unit="h")
    closed = received + pd.to_timedelta(rng.integers(1, 30 * 24, n), unit="h")
    closed = closed.where(rng.random(n) < 0.8)
    topic = np.where(rng.random(n) < 0.7, "井盖", "污水")
    rows = [(f"X{i:03d}", received[i], closed[i], *_at(x[i], y[i]), topic[i]) for i in range(n)]
    path = tmp_path / "random.duckdb"
    _store(path, rows)
    con = store.connect(path, read_only=True)
    stored = dict(con.execute(f"SELECT ticket_id, back FROM {positions.TABLE}").fetchall())
    con.close()
    df = pd.DataFrame(rows, columns=["ticket_id", "received_at", "closed_at", "lon", "lat", "topic"])
    lon, lat = df["lon"].to_numpy(float), df["lat"].to_numpy(float)
    want = np.zeros(n, dtype=bool)
    for _, idx in df.groupby("topic").indices.items():
        want[idx] = after_close.flags(df["received_at"].to_numpy("datetime64[s]")[idx],
                                      pd.to_datetime(df["closed_at"]).to_numpy("datetime64[s]")[idx], lon[idx],
                                      lat[idx], after_close.Rule())
    assert [stored[t] for t in df["ticket_id"]] == want.tolist()
    assert 20 < want.sum() < n - 20


def test_changed_settings_mark_the_stored_flags_stale(planted, tmp_path, monkeypatch):
    p = shutil.copy(planted, tmp_path / "copy.duckdb")
    monkeypatch.setenv("HOTLINE_RETURN_MAX_DAYS", "20")   # the 25-day returns no longer count
    with pytest.raises(store.StoreError, match=r"hotspot_tickets.*python manage\.py init"):
        store.connect(p, read_only=True)
    store.connect(p).close()   # what `python manage.py init --db PATH` does
    con = store.connect(p, read_only=True)
    try:
        assert con.execute(f"SELECT count(*) FILTER (WHERE back) FROM {positions.TABLE}").fetchone()[0] == 0
    finally:
        con.close()


def test_a_close_imported_later_flags_a_neighbour_incrementally(tiny_db_path, tmp_path):
    """A close imported after a ticket 45 m away (another 20 m position) makes it back after a close: the
    incremental refresh rewrites the neighbouring positions' flags, as a full rebuild would."""
    from bench.batches import export
    from data.ingest import ingest_files
    from tests.test_incremental import assert_same_as_full

    con = store.connect(shutil.copy(tiny_db_path, tmp_path / "tiny.duckdb"))
    try:
        lon, lat = con.execute("SELECT lon, lat FROM tickets WHERE ticket_id = 'T05'").fetchone()
        y_lon, y_lat = _at(40, 0, (lon, lat))
        x_lon, x_lat = _at(-5, 0, (lon, lat))
        one = ("SELECT * REPLACE ($id AS ticket_id, CAST($received AS TIMESTAMP) AS received_at, "
               "CAST($closed AS TIMESTAMP) AS closed_at, $lon AS lon, $lat AS lat, 'wgs84' AS source_crs) "
               "FROM tickets WHERE ticket_id = 'T05'")
        f1 = export(con, tmp_path / "y.csv", one, {"id": "Y1", "received": "2025-06-20 10:00", "closed": None,
                                                  "lon": y_lon, "lat": y_lat})
        (rep,) = ingest_files(con, [f1])
        assert rep.inserted == 1 and rep.refresh["mode"] == "incremental"
        back = f"SELECT back FROM {positions.TABLE} WHERE ticket_id = $id"
        assert con.execute(back, {"id": "Y1"}).fetchone() == (False,)   # T05 closed 98 days before: too long ago
        f2 = export(con, tmp_path / "x.csv", one, {"id": "X1", "received": "2025-05-01 10:00",
                                                  "closed": "2025-05-03 10:00", "lon": x_lon, "lat": x_lat})
        (rep,) = ingest_files(con, [f2])
        assert rep.inserted == 1 and rep.refresh["mode"] == "incremental"
        pos = con.execute(f"SELECT ticket_id, pi, pj FROM {positions.TABLE} WHERE ticket_id IN ('X1', 'Y1') "
                          "ORDER BY ticket_id").fetchall()
        assert pos[0][1:] != pos[1][1:]   # two positions
        assert con.execute(back, {"id": "Y1"}).fetchone() == (True,)    # 48 days after X1's close, 45 m away
        assert_same_as_full(con)
    finally:
        con.close()
