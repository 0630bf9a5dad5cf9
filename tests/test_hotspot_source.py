"""hotspot_tickets / hotspot_cells (data/positions.py) give exactly the answers read from `tickets`."""

from __future__ import annotations

import shutil
from datetime import date

import numpy as np
import pandas as pd
import pytest

from analytics import hotspot_sql as hsql
from analytics import hotspots as hs
from analytics import query
from analytics.filters import Filters
from data import derived, positions, store
from geo import boundaries

M_LAT = 111_320.0
M_LON = M_LAT * np.cos(np.radians(40.0))


def _tables_equal(a: hs.Hotspots, b: hs.Hotspots) -> None:
    pd.testing.assert_frame_equal(a.table.reset_index(drop=True), b.table.reset_index(drop=True))
    pd.testing.assert_frame_equal(a.places.reset_index(drop=True), b.places.reset_index(drop=True))
    pd.testing.assert_frame_equal(a.gi.cells, b.gi.cells)
    assert a.notes == b.notes and a.method == b.method


def _both(con, f, monkeypatch, **kw):
    """(from the derived tables, from tickets)"""
    assert query.located(con, f).fast
    fast = hs.hotspot_table(con, f, **kw)
    with monkeypatch.context() as m:
        m.setattr(positions, "ready", lambda con: False)
        assert not query.located(con, f).fast
        slow = hs.hotspot_table(con, f, **kw)
    return fast, slow


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """3,000 scattered tickets + 12 busy spots (tickets on a 10 m lattice, so several share a 20 m position),
    two problems, closes 1-40 days after receipt, one year."""
    rng = np.random.default_rng(11)
    lon0, lat0, lon1, lat1 = boundaries.BBOX
    pts = []
    while sum(len(p) for p in pts) < 3000:
        lo, la = rng.uniform(lon0, lon1, 10_000), rng.uniform(lat0, lat1, 10_000)
        ok = boundaries.assign_points(lo, la)["district"].notna().to_numpy()
        pts.append(np.column_stack([lo[ok], la[ok]]))
    bg = np.vstack(pts)[:3000]
    centres = boundaries.street_table().sample(12, random_state=3)[["lon", "lat"]].to_numpy()
    spots = [np.column_stack([c[0] + np.round(rng.normal(0, 40, 40) / 10) * 10 / M_LON,
                              c[1] + np.round(rng.normal(0, 40, 40) / 10) * 10 / M_LAT]) for c in centres]
    xy = np.vstack([bg, *spots])
    n = len(xy)
    where = boundaries.assign_points(xy[:, 0], xy[:, 1])
    received = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 364 * 24 * 60, n), unit="m")
    topic = np.where(rng.random(n) < 0.6, "井盖", "污水")
    df = pd.DataFrame({  # noqa: F841 - read by the INSERT below
        "ticket_id": [f"G{i:05d}" for i in range(n)], "received_at": received, "topic": topic,
        "channel": np.where(rng.random(n) < 0.5, "电话", "网络"),
        "district": where["district"], "street": where["street"], "street_code": where["street_code"],
        "address": [f"测试路{i % 7}号" for i in range(n)], "lon": xy[:, 0], "lat": xy[:, 1],
        "closed_at": received + pd.to_timedelta(rng.integers(1, 40, n), unit="D"),
    })
    path = tmp_path_factory.mktemp("hsrc") / "gen.duckdb"
    con = store.connect(path)
    con.execute("""INSERT INTO tickets (ticket_id, received_at, topic, channel, district, street, street_code,
                   address, lon, lat, closed_at)
                   SELECT ticket_id, received_at, topic, channel, district, street, street_code, address, lon, lat,
                   closed_at FROM df""")
    derived.refresh(con)
    con.close()
    return path


YEAR = {"date_from": date(2025, 1, 1), "date_to": date(2025, 12, 31)}


@pytest.mark.parametrize("f", [
    Filters(**YEAR),
    Filters(**YEAR, topics=("井盖",)),
    Filters(date_from=date(2025, 6, 1), date_to=date(2025, 6, 30), topics=("污水",)),
    Filters(**YEAR, channels=("电话",)),
    Filters(),
], ids=["year", "topic", "month", "channel", "no-dates"])
def test_generated_store_same_answers_from_derived_tables_and_tickets(generated, f, monkeypatch):
    con = store.connect(generated, read_only=True)
    try:
        fast, slow = _both(con, f, monkeypatch)
    finally:
        con.close()
    _tables_equal(fast, slow)
    assert len(fast.table)
    if (f.span_days() or 365) >= 365:  # over a year the comparison covers relapses too
        assert fast.places["n_after_close"].sum() > 0


def test_generated_store_same_answers_with_and_without_the_members_table(generated, monkeypatch):
    """Above MEMBERS_DIRECT_FROM pairs each figure joins hotspot_tickets to the keys again (no temporary table);
    the figures are the same either way, and the same as from `tickets`."""
    con = store.connect(generated, read_only=True)
    try:
        for f in (Filters(**YEAR, topics=("井盖",)), Filters(**YEAR, channels=("电话",))):
            with monkeypatch.context() as m:
                m.setattr(hsql, "MEMBERS_DIRECT_FROM", 10**9)
                temp = hs.hotspot_table(con, f, ids=True)
            with monkeypatch.context() as m:
                m.setattr(hsql, "MEMBERS_DIRECT_FROM", 0)
                direct, slow = _both(con, f, monkeypatch, ids=True)
            _tables_equal(direct, temp)
            _tables_equal(direct, slow)
    finally:
        con.close()


def test_tiny_store_clues_the_same_from_links_and_clue_tickets(tiny_con, monkeypatch):
    """The linked clues from funnel_tickets (direct and with the members table) equal those from clue_tickets."""
    from data import links

    assert links.ready(tiny_con)
    f = Filters()
    for direct_from in (0, 10**9):
        with monkeypatch.context() as m:
            m.setattr(hsql, "MEMBERS_DIRECT_FROM", direct_from)
            got = hs.hotspot_table(tiny_con, f, ids=True)
            m.setattr(links, "ready", lambda con: False)
            without = hs.hotspot_table(tiny_con, f, ids=True)
        _tables_equal(got, without)
        assert sorted(got.table["clues"]) == ["", "C01", "C02", "C03、C05"]


def test_generated_store_light_path_from_cells(generated, monkeypatch):
    """The capped all-problem view from hotspot_cells equals the one from tickets (500 m and 1 km cells)."""
    monkeypatch.setattr(hs, "ALL_PROBLEMS_MAX_LOCATED", 100)
    con = store.connect(generated, read_only=True)
    try:
        for f in (Filters(**YEAR), Filters(date_from=date(2025, 3, 1), date_to=date(2025, 5, 30))):
            assert query.located(con, f).cells
            for cell in (500, 1000):
                fast, slow = _both(con, f, monkeypatch, cell_m=cell)
                assert any("只计算统计热点" in n for n in fast.notes) and len(fast.table)
                _tables_equal(fast, slow)
    finally:
        con.close()


def test_tiny_store_same_answers_from_derived_tables_and_tickets(tiny_con, monkeypatch):
    for f in (Filters(), Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31)), Filters(topics=("井盖",))):
        fast, slow = _both(tiny_con, f, monkeypatch)
        _tables_equal(fast, slow)
    n = tiny_con.execute(f"SELECT count(*) FROM {positions.TABLE}").fetchone()[0]
    assert n == 19  # the tiny store's located tickets


def test_stale_table_is_detected_and_rebuilt(generated, tmp_path):
    path = tmp_path / "copy.duckdb"
    shutil.copy(generated, path)
    con = store.connect(path)
    try:
        assert positions.ready(con) and positions.TABLE not in derived.outdated(con)
        sql = """INSERT INTO tickets (ticket_id, received_at, topic, lon, lat, closed_at)
                 VALUES ('NEW1', TIMESTAMP '2026-01-05 10:00', '井盖', 116.40, 39.90, NULL)"""
        con.execute(sql)
        assert not positions.ready(con) and positions.TABLE in derived.outdated(con)
        assert not query.located(con, Filters()).fast  # readers fall back to tickets
        assert positions.TABLE in derived.upgrade(con)
        assert positions.ready(con)
        assert con.execute(f"SELECT count(*) FROM {positions.TABLE} WHERE ticket_id = 'NEW1'").fetchone()[0] == 1
    finally:
        con.close()


def test_parts_are_consecutive_runs_under_the_limit():
    assert positions.parts([("a", 3), ("b", 3), ("c", 5), ("d", 1)], 6) == [["a", "b"], ["c", "d"]]
    assert positions.parts([("a", 9), ("b", 1)], 6) == [["a"], ["b"]]   # a problem over the limit is one part
    assert positions.parts([], 6) == [[]]


def test_rebuild_in_parts_gives_the_same_tables_in_the_same_order(generated, tmp_path, monkeypatch):
    """One problem per part and one year per cells step (as at 125 M) = the tables built in one piece."""
    path = tmp_path / "parts.duckdb"
    shutil.copy(generated, path)
    con = store.connect(path)
    try:
        # a second year, so the cells are built in two steps and closes of 2024 flag tickets of 2025
        sql = """INSERT INTO tickets (ticket_id, received_at, topic, channel, district, street, street_code,
                                      address, lon, lat, closed_at)
                 SELECT 'P' || ticket_id, received_at - INTERVAL 300 DAY, topic, channel, district, street,
                        street_code, address, lon, lat, closed_at - INTERVAL 300 DAY
                 FROM tickets WHERE ticket_id < 'G01000'"""
        con.execute(sql)
        monkeypatch.setattr(positions, "PART_ROWS", 10**9)
        positions.refresh(con)
        one_t = con.execute(f"SELECT * FROM {positions.TABLE}").fetchall()
        one_c = con.execute(f"SELECT * FROM {positions.CELLS}").fetchall()
        monkeypatch.setattr(positions, "PART_ROWS", 1)
        n = positions.refresh(con)
        assert con.execute(f"SELECT * FROM {positions.TABLE}").fetchall() == one_t   # same rows, same order
        assert con.execute(f"SELECT * FROM {positions.CELLS}").fetchall() == one_c
        assert n == len(one_t) and sum(r[-1] for r in one_t) > 0                   # some tickets came back
        years = con.execute(f"SELECT count(DISTINCT year(day)) FROM {positions.CELLS}").fetchone()[0]
        assert years == 2
        # and the cells are the whole table's counts, whatever the steps
        sql = positions._CELLS_PART_SQL
        whole = con.execute(sql, {**positions.CELL_GRID.sql_params(), "lo": date(1900, 1, 1),
                                  "hi": date(2100, 1, 1)}).fetchall()
        assert whole == one_c
        assert positions.ready(con)
    finally:
        con.close()


def test_rebuild_of_a_store_without_located_tickets(empty_db_path):
    con = store.connect(empty_db_path)
    try:
        assert positions.refresh(con) == 0 and positions.ready(con)
        assert con.execute(f"SELECT count(*) FROM {positions.CELLS}").fetchone()[0] == 0
    finally:
        con.close()
