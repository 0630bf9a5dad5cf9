"""Getis-Ord Gi*, FDR, planted-cluster detection (precision/recall), repeat places and the ranked table."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics import hotspot_sql as hsql
from analytics import hotspot_stats as hstats
from analytics import hotspots as hs
from analytics.filters import Filters
from geo import boundaries
from geo.crs import haversine_m

M_LAT = 111_320.0
M_LON = 111_320.0 * np.cos(np.radians(40.0))


# ---------------------------------------------------------------- the statistic itself
def _gi_star_bruteforce(x, mask, r):
    """Gi* straight from Ord & Getis (1995), one cell at a time."""
    vals = x[mask].astype(float)
    n = vals.size
    xbar = vals.mean()
    s = np.sqrt((vals ** 2).mean() - xbar ** 2)
    z = np.full(x.shape, np.nan)
    for i, j in zip(*np.nonzero(mask), strict=True):
        w = np.zeros(x.shape)
        w[max(0, i - r):i + r + 1, max(0, j - r):j + r + 1] = 1
        w = w * mask
        sw = w.sum()
        num = (w * x).sum() - xbar * sw
        den = s * np.sqrt((n * (w ** 2).sum() - sw ** 2) / (n - 1))
        z[i, j] = num / den
    return z


def test_gi_star_matches_the_published_formula():
    rng = np.random.default_rng(3)
    x = rng.poisson(0.7, (12, 15)).astype(float)
    x[4:6, 7:9] += 9
    mask = np.ones_like(x, dtype=bool)
    mask[0, :4] = False
    mask[10:, 12:] = False
    for r in (1, 2):
        z, local = hstats.getis_ord_gi_star(x, mask, r)
        ref = _gi_star_bruteforce(np.where(mask, x, 0), mask, r)
        np.testing.assert_allclose(z[mask], ref[mask], rtol=1e-10)
        assert np.isnan(z[~mask]).all()
        assert local[5, 8] >= 36
    z, _ = hstats.getis_ord_gi_star(x, mask, 1)
    assert np.unravel_index(np.nanargmax(z), z.shape) in {(4, 7), (4, 8), (5, 7), (5, 8)}


def test_count_floor_grows_with_density():
    assert hstats.count_floor(0, 1000, 9, 0.05) == 1
    low = hstats.count_floor(500, 65_000, 9, 0.05)
    high = hstats.count_floor(50_000, 65_000, 9, 0.05)
    assert 2 <= low < high
    lam = 50_000 / 65_000 * 9
    assert stats.poisson.sf(high - 1, lam) * 65_000 < 0.05 <= stats.poisson.sf(high - 2, lam) * 65_000


# ---------------------------------------------------------------- planted clusters
def _uniform_in_beijing(rng, n):
    lon0, lat0, lon1, lat1 = boundaries.BBOX
    out = []
    while sum(len(o) for o in out) < n:
        lo = rng.uniform(lon0, lon1, 20_000)
        la = rng.uniform(lat0, lat1, 20_000)
        ok = boundaries.assign_points(lo, la)["district"].notna().to_numpy()
        out.append(np.column_stack([lo[ok], la[ok]]))
    return np.vstack(out)[:n]


def _load(path, pts, *, topic="井盖", seed=0, closed_after_days=None):
    from data import derived, store, summaries

    rng = np.random.default_rng(seed)
    n = len(pts)
    where = boundaries.assign_points(pts[:, 0], pts[:, 1])
    received = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 364 * 24 * 60, n), unit="m")
    df = pd.DataFrame({  # noqa: F841 - read by the INSERT below (DuckDB replacement scan)
        "ticket_id": [f"S{i:06d}" for i in range(n)], "received_at": received, "topic": topic,
        "category_l1": "城乡建设", "category_l2": "市政设施", "category_l3": "井盖破损", "content": "井盖破损",
        "district": where["district"], "street": where["street"], "street_code": where["street_code"],
        "address": [f"测试路{i % 50}号" for i in range(n)], "lon": pts[:, 0], "lat": pts[:, 1],
        "closed_at": received + pd.Timedelta(days=closed_after_days or 2),
    })
    con = store.connect(path)
    con.execute("""INSERT INTO tickets (ticket_id, received_at, topic, category_l1, category_l2, category_l3,
                   content, district, street, street_code, address, lon, lat, closed_at)
                   SELECT ticket_id, received_at, topic, category_l1, category_l2, category_l3, content, district,
                   street, street_code, address, lon, lat, closed_at FROM df""")
    summaries.refresh_daily(con)
    derived.upgrade(con)   # the other derived tables, as `init` builds them
    con.close()


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """4,000 uniform background tickets over Beijing plus 10 clusters of 12-30 tickets (σ = 60 m)."""
    rng = np.random.default_rng(2025)
    bg = _uniform_in_beijing(rng, 4000)
    centres = boundaries.street_table().sample(10, random_state=7)[["lon", "lat"]].to_numpy()
    sizes = rng.integers(12, 31, len(centres))
    clusters = [np.column_stack([c[0] + rng.normal(0, 60, k) / M_LON, c[1] + rng.normal(0, 60, k) / M_LAT])
                for c, k in zip(centres, sizes, strict=True)]
    path = tmp_path_factory.mktemp("planted") / "planted.duckdb"
    pts = np.vstack([bg, *clusters])
    _load(path, pts)
    return path, centres, len(pts)


def _match(found_lon, found_lat, centres, within_m=600.0):
    if len(found_lon) == 0:
        return np.zeros(0, bool), np.zeros(len(centres), bool)
    d = haversine_m(np.asarray(found_lon)[:, None], np.asarray(found_lat)[:, None],
                    centres[:, 0][None, :], centres[:, 1][None, :])
    return d.min(axis=1) <= within_m, d.min(axis=0) <= within_m


def test_gi_star_finds_planted_clusters_with_precision_and_recall(planted):
    from data import store

    path, centres, n_total = planted
    con = store.connect(path, read_only=True)
    gi = hs.gi_star(con, Filters(topics=("井盖",)), 500)
    con.close()
    true_hits, found = _match(gi.clusters["lon"], gi.clusters["lat"], centres)
    precision = true_hits.mean()
    recall = found.mean()
    assert recall >= 0.9, f"recall {recall:.2f}: {len(gi.clusters)} hotspots"
    assert precision >= 0.8, f"precision {precision:.2f}: {len(gi.clusters)} hotspots"
    assert gi.total == n_total  # every located ticket counted
    assert (gi.cells.loc[gi.cells["hot"], "q"] < 0.05).all() and (gi.cells.loc[gi.cells["hot"], "z"] > 0).all()
    assert "Getis-Ord Gi*" in gi.method and "500 m" in gi.method and "FDR q<0.05" in gi.method


def test_uniform_scatter_gives_almost_no_hotspots(tmp_path):
    from data import store

    rng = np.random.default_rng(11)
    path = tmp_path / "uniform.duckdb"
    _load(path, _uniform_in_beijing(rng, 4000))
    con = store.connect(path, read_only=True)
    gi = hs.gi_star(con, Filters(), 500)
    con.close()
    assert len(gi.clusters) <= 1  # the count floor keeps chance triples from being reported


def test_district_filter_restricts_the_study_area(planted):
    from data import store

    path, _, _ = planted
    con = store.connect(path, read_only=True)
    whole = hs.gi_star(con, Filters(), 500)
    one = hs.gi_star(con, Filters(districts=("朝阳区",)), 500)
    con.close()
    assert one.n_cells < whole.n_cells / 5
    assert one.total < whole.total


def test_hotspot_table_ranks_and_links_tickets(planted):
    from data import store

    path, _, _ = planted
    con = store.connect(path, read_only=True)
    h = hs.hotspot_table(con, Filters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31)), 500, ids=True)
    con.close()
    t = h.table
    assert list(t.columns) == hs.TABLE_COLUMNS
    assert list(t["rank"]) == list(range(1, len(t) + 1))
    assert (t["n"].diff().dropna() <= 0).all()
    assert (t["ticket_ids"].map(len) == t["n"].clip(upper=hs.MAX_IDS)).all()
    hot = t[t["kind"] == "统计热点"]
    assert len(hot) == len(h.gi.clusters)
    assert all(len(m) == 12 for m in t["monthly"]) and (t["monthly"].map(sum) == t["n"]).all()
    # a planted cluster of 12-30 tickets within ~60 m is a repeat place too
    assert hot["repeat"].mean() >= 0.8
    assert t["trend"].str.contains("前半期").all()
    shown = hs.display_table(t)
    assert {"排名", "类型", "街道/乡镇", "最常见地址", "工单量", "首次", "最近", "趋势", "重复", "关联线索"} <= set(shown.columns)


# ---------------------------------------------------------------- repeat places
def _tickets(rows):
    df = pd.DataFrame(rows, columns=["ticket_id", "received_at", "closed_at", "lon", "lat", "problem"])
    df["received_at"] = pd.to_datetime(df["received_at"], format="mixed")
    df["closed_at"] = pd.to_datetime(df["closed_at"], format="mixed")
    df["district"], df["street"], df["address"] = "东城区", "建国门街道", "某路口"
    return df


def _at(x_m, y_m=0.0, lon0=116.42, lat0=39.90):
    return lon0 + x_m / M_LON, lat0 + y_m / M_LAT


def _crafted_rows():
    a = _at(0)
    return [
        # place A (river): fixed, then polluted again a month later at the same spot -> back (A2);
        # A3 came 46 days after A1's close and 11 days after A2's, 36 m from both: back too (a return scattered a
        # few tens of metres away is the same place; within 7-90 days and 50 m, data/after_close.py)
        ("A1", "2025-03-01", "2025-03-05", *_at(0), "污水"),
        ("A2", "2025-04-06", "2025-04-09", *_at(0), "污水"),
        ("A3", "2025-04-20", None, *_at(-30, 20), "污水"),
        # place B: three manhole tickets within 100 m, each received before the previous was closed
        ("B1", "2025-05-01 08:00", "2025-05-10", *_at(2000), "井盖"),
        ("B2", "2025-05-02 08:00", "2025-05-11", *_at(2050), "井盖"),
        ("B3", "2025-05-03 08:00", None, *_at(2000, 60), "井盖"),
        # same spot as A but another problem: not grouped with A
        ("C1", "2025-03-02", "2025-03-03", a[0], a[1], "井盖"),
        # two tickets 150 m apart: not a place
        ("D1", "2025-06-01", "2025-06-02", *_at(5000), "污水"),
        ("D2", "2025-07-01", None, *_at(5150), "污水"),
        # pair reported again 39 days after close at the same spot: flagged although only two
        ("E1", "2025-01-10", "2025-01-12", *_at(8000), "井盖"),
        ("E2", "2025-02-20", None, *_at(8000), "井盖"),
        # pair reported again 9 days after close at the same spot: back (more than the 7-day settling week)
        ("H1", "2025-09-01", "2025-09-02", *_at(17000), "井盖"),
        ("H2", "2025-09-11", None, *_at(17000), "井盖"),
        # pair reported again, but 200 days after the close: not a recurrence after a fix
        ("G1", "2025-01-10", "2025-01-12", *_at(14000), "井盖"),
        ("G2", "2025-07-31", None, *_at(14010), "井盖"),
        # pair both open: neither >= 3 nor again after close
        ("F1", "2025-01-10", None, *_at(11000), "井盖"),
        ("F2", "2025-01-11", None, *_at(11030), "井盖"),
    ]


def test_repeat_places_on_a_crafted_sequence():
    p = hstats.repeat_places(_tickets(_crafted_rows()))
    by_ids = {tuple(sorted(r.ticket_ids)): r for r in p.itertuples(index=False)}
    assert set(by_ids) == {("A1", "A2", "A3"), ("B1", "B2", "B3"), ("E1", "E2"), ("F1", "F2"), ("G1", "G2"),
                           ("H1", "H2")}
    assert (by_ids[("G1", "G2")].n_after_close, by_ids[("G1", "G2")].repeat) == (0, False)
    assert (by_ids[("H1", "H2")].n_after_close, by_ids[("H1", "H2")].repeat) == (1, True)
    a_, b_, e_, f_ = (by_ids[k] for k in [("A1", "A2", "A3"), ("B1", "B2", "B3"), ("E1", "E2"), ("F1", "F2")])
    assert (a_.n, a_.n_after_close, a_.repeat) == (3, 2, True)
    assert (b_.n, b_.n_after_close, b_.repeat) == (3, 0, True)
    assert (e_.n, e_.n_after_close, e_.repeat) == (2, 1, True)
    assert (f_.n, f_.n_after_close, f_.repeat) == (2, 0, False)
    assert str(a_.first)[:10] == "2025-03-01" and str(a_.last)[:10] == "2025-04-20"
    # ranked: flagged first, most reopened first
    assert sorted(p.iloc[0]["ticket_ids"]) == ["A1", "A2", "A3"]
    assert p.iloc[-1]["repeat"] == False  # noqa: E712 - numpy bool


def _store_of(path, df):
    """A store holding these tickets (problem as topic), with its daily summary."""
    from data import derived, store, summaries

    where = boundaries.assign_points(df["lon"].to_numpy(), df["lat"].to_numpy())
    df = df.assign(topic=df["problem"], district=where["district"], street=where["street"],
                   street_code=where["street_code"])
    con = store.connect(path)
    con.execute("""INSERT INTO tickets (ticket_id, received_at, closed_at, topic, district, street, street_code,
                   address, lon, lat) SELECT ticket_id, received_at, closed_at, topic, district, street, street_code,
                   address, lon, lat FROM df""")
    summaries.refresh_daily(con)
    derived.upgrade(con)   # the other derived tables, as `init` builds them
    con.close()


def _by_ids(places):
    return {tuple(sorted(r.ticket_ids)): (r.n, r.n_after_close, bool(r.repeat)) for r in places.itertuples()}


def test_sql_repeat_places_match_the_ticket_level_reference(tmp_path):
    """hotspot_table groups places from SQL positions; on the crafted sequence it finds the same places."""
    from data import store

    df = _tickets(_crafted_rows())
    path = tmp_path / "crafted.duckdb"
    _store_of(path, df)
    con = store.connect(path, read_only=True)
    h = hs.hotspot_table(con, Filters(), ids=True)
    con.close()
    assert h.tickets_used == len(df) == 17
    assert _by_ids(h.places) == _by_ids(hstats.repeat_places(df))
    assert _by_ids(h.places)[("A1", "A2", "A3")] == (3, 2, True)
    # each flagged place is a table row of its own, or lies in a Gi* hotspot row flagged as repeat
    for ids in [("A1", "A2", "A3"), ("B1", "B2", "B3"), ("E1", "E2"), ("H1", "H2")]:
        rows = h.table[h.table["ticket_ids"].map(lambda x, ids=ids: set(ids) <= set(x))]
        assert len(rows) == 1 and rows["repeat"].all(), ids
    assert not h.table["ticket_ids"].map(lambda x: "F1" in x or "G1" in x or "D1" in x).any()


def test_group_positions_weights_and_cap():
    lon, lat = (np.array(v) for v in zip(*[_at(x) for x in (0, 50, 1000, 3000, 3060)], strict=True))
    ids, formed = hs.group_positions(lon, lat, [5, 1, 1, 2, 1], 100)
    assert formed == 2 and ids[0] == ids[1] != ids[3] == ids[4] and ids[2] >= formed  # 1000 m: alone
    ids, formed = hs.group_positions(lon, lat, [5, 1, 1, 2, 1], 100, max_places=1)
    assert formed == 1 and ids[0] == ids[1] and ids[3] >= 1 and ids[4] >= 1  # the densest place first
    assert hs.group_positions(lon[:1], lat[:1], [3], 100) == (np.array([0]), 1)  # 3 tickets at one position


def test_caps_say_what_they_did(planted, monkeypatch):
    """Coarser positions, the place cap and the all-problem cap are applied and named on screen."""
    from data import store

    path, _, _ = planted
    year = Filters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    con = store.connect(path, read_only=True)
    full = hs.hotspot_table(con, year)
    few = hs.hotspot_table(con, year, max_positions=500, max_places=3)
    assert any("米位置合并" in n for n in few.notes) and any("前 3 处" in n for n in few.notes)
    assert len(few.places) <= 3 < len(full.places)
    monkeypatch.setattr(hs, "ALL_PROBLEMS_MAX_LOCATED", 100)
    light = hs.hotspot_table(con, year)
    assert any("只计算统计热点" in n for n in light.notes) and light.places.empty
    t = light.table
    assert len(t) == len(full.gi.clusters) and (t["kind"] == "统计热点").all()
    assert list(t["n"]) == list(full.table.loc[full.table["kind"] == "统计热点", "n"])
    assert (t["ticket_ids"].map(len) == 0).all() and (t["street"] != "").all()
    first = t.iloc[0]
    got = hs.cluster_tickets(con, year, light.gi, int(first["cluster"]), limit=10_000)
    con.close()
    assert len(got) == first["n"] and got["received_at"].is_monotonic_decreasing


def test_group_places_does_not_chain():
    lon, lat = zip(*[_at(x) for x in (0, 80, 160, 240, 320)], strict=True)
    place = hstats.group_places(np.array(lon), np.array(lat), 100)
    for pid in np.unique(place):
        xs = np.array([0, 80, 160, 240, 320])[place == pid]
        assert xs.max() - xs.min() <= 200  # every member within 100 m of its leader
    assert len(np.unique(place)) >= 2
    assert hstats.group_places(np.array([]), np.array([])).size == 0


def test_repeat_places_and_table_on_the_tiny_store(tiny_con):
    t = hs.located_tickets(tiny_con, Filters())
    assert len(t) == 19
    p = hstats.repeat_places(t)
    got = {tuple(sorted(r.ticket_ids)): (r.n, r.n_after_close, r.repeat) for r in p.itertuples(index=False)}
    # "back after a close" = 7-90 days after a close within 50 m (same problem): T01/T02 came 19/20 days after
    # T13's close, T05 10 days after T15's (T04 only 6 days after it: the same episode), T11 13 days after
    # T06's; T16, T18, T20 and T17 closed about a year before the next ticket. The places also repeat by their
    # counts: 3-4 tickets where a 100 m disc of the street expects < 0.05
    assert got == {
        ("T01", "T02", "T13", "T16"): (4, 2, True),   # 建国门
        ("T04", "T05", "T15"): (3, 1, True),          # 望京 river
        ("T06", "T11", "T18"): (3, 1, True),          # 兴谷 market
        ("T07", "T20"): (2, 0, False),                # 滨河 wages: two only
        ("T12", "T17"): (2, 0, False),                # 海淀八里庄 noise: two only
    }
    assert (p["expected"] < 0.05).all() and (p.loc[p["repeat"], "q"] < 0.05).all()
    march = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    h = hs.hotspot_table(tiny_con, march)
    # three pairs in March, each with a ticket back after a close (T01 and T02, T05, T11): three places to visit
    assert sorted(h.places["n"]) == [2, 2, 2] and h.places["repeat"].all()
    assert sorted(h.places["n_after_close"]) == [1, 1, 2]
    assert sorted(h.table["address"]) == ["兴谷农贸市场", "建国门内大街与朝阳门南小街路口", "望京河边"]
    assert (h.table["kind"] == "重复点位").all()
    full = hs.hotspot_table(tiny_con, Filters())
    jgm = full.table[full.table["street"] == "建国门街道"].iloc[0]
    assert jgm["clues"] == "C01" and jgm["n"] == 4
    assert full.table["ticket_ids"].isna().all()  # listed on demand, for the rows a user opens
    pos = int(np.flatnonzero(full.table["street"] == "兴谷街道")[0])
    row = full.table.iloc[pos]
    assert hs.ticket_ids(tiny_con, full, [pos]) == [["T11", "T06", "T18"]] and row["repeat"]  # newest first
    assert row["address"] == "兴谷农贸市场" and row["clues"] == "C03、C05" and row["n_after_close"] == 1   # T11


def test_peak_labels_split_two_summits_and_keep_a_plateau_whole():
    z = np.full((5, 9), np.nan)
    z[2, :] = [5, 8, 6, 4, 3, 4, 7, 9, 5]  # a ridge of significant cells with two summits
    z[1, 1] = 6
    lab = hstats.peak_labels(z)
    assert lab[2, 0] == lab[2, 1] == lab[2, 2] == lab[1, 1] == lab[2, 3] != 0
    assert lab[2, 5] == lab[2, 6] == lab[2, 7] == lab[2, 8] != lab[2, 1]
    assert set(np.unique(lab)) == {0, 1, 2}
    assert (lab[np.isnan(z)] == 0).all()
    flat = np.full((3, 3), 4.0)  # a plateau is one hotspot, not nine
    assert set(np.unique(hstats.peak_labels(flat))) == {1}
    assert (hstats.peak_labels(np.full((2, 2), np.nan)) == 0).all()


def test_peak_labels_climb_to_the_best_neighbour_not_past_it():
    # The centre's better neighbours come in scan order (-1,-1) = 2, then (-1,0) = 3: it must point at
    # (0,1), the best one, not at (0,0) moved by (-1,0) (off the raster). Every cell climbs to the one summit.
    z = np.array([[2.0, 3.0, 0.5],
                  [0.1, 1.0, 0.2],
                  [0.3, 0.4, 0.6]])
    assert (hstats.peak_labels(z) == 1).all()
    # Two summits apart: each side climbs to its own, through best neighbours only.
    z = np.full((3, 7), np.nan)
    z[1, :] = [1.0, 2.0, 5.0, 0.5, 6.0, 2.0, 1.0]
    z[0, 1], z[2, 5] = 3.0, 4.0
    lab = hstats.peak_labels(z)
    assert lab[1, 0] == lab[1, 1] == lab[0, 1] == lab[1, 2] != lab[1, 4] == lab[1, 5] == lab[2, 5] == lab[1, 6]
    assert lab[1, 3] == lab[1, 4]   # the saddle's best neighbour is 6.0, on the right


# ---------------------------------------------------------------- the demo's planted truth
@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    """A 20k-ticket, one-year demo built through the import pipeline (~35 s CPU), with `demo_truth`."""
    import datetime as dt

    from data.synth.build import build_database

    path = tmp_path_factory.mktemp("demo20k") / "demo.duckdb"
    build_database(path, tickets=20_000, years=1, seed=5, end=dt.date(2026, 10, 31))
    return path


@pytest.mark.slow
def test_detection_against_the_demo_truth(small_demo):
    """Every planted hotspot and repeat place of the demo is found (see scripts/check_hotspots_truth.py)."""
    from data import store

    con = store.connect(small_demo, read_only=True)
    truth = con.execute("SELECT * FROM demo_truth").df()
    lo, hi = con.execute("SELECT min(received_at)::DATE, max(received_at)::DATE FROM tickets").fetchone()
    found = tp = recalled = planted_n = rep_n = rep_found = 0
    for topic in sorted(truth["topic"].unique()):
        h = hs.hotspot_table(con, Filters(topics=(topic,), date_from=lo, date_to=hi))
        planted = truth[(truth["topic"] == topic) & (truth["kind"] == "hotspot")][["lon", "lat"]].to_numpy()
        t_hits, p_found = _match(h.gi.clusters["lon"], h.gi.clusters["lat"], planted)
        found, tp = found + len(t_hits), tp + int(t_hits.sum())
        planted_n, recalled = planted_n + len(planted), recalled + int(p_found.sum())
        reps = truth[(truth["topic"] == topic) & (truth["kind"] != "hotspot")][["lon", "lat"]].to_numpy()
        flagged = h.places[h.places["repeat"]]
        if len(reps):
            _, r_found = _match(flagged["lon"].astype(float), flagged["lat"].astype(float), reps, within_m=150)
            rep_n, rep_found = rep_n + len(reps), rep_found + int(r_found.sum())
    con.close()
    assert planted_n >= 20 and rep_n >= 3
    assert recalled / planted_n >= 0.9, f"planted hotspots recalled {recalled}/{planted_n}"
    assert rep_found / rep_n >= 0.8, f"planted repeat places recalled {rep_found}/{rep_n}"
    assert tp / found >= 0.5, f"precision {tp}/{found}"


def _lazy_equals_eager(con, f, **kw):
    eager = hs.hotspot_table(con, f, ids=True, **kw)
    lazy = hs.hotspot_table(con, f, **kw)
    cols = [c for c in hs.TABLE_COLUMNS if c != "ticket_ids"]
    pd.testing.assert_frame_equal(lazy.table[cols], eager.table[cols])
    pcols = [c for c in hs.PLACE_COLUMNS if c != "ticket_ids"]
    pd.testing.assert_frame_equal(lazy.places[pcols], eager.places[pcols])
    assert lazy.notes == eager.notes and lazy.gi.cells.equals(eager.gi.cells)
    if lazy.members is not None:  # not listed (they are when the modes need them: too many members)
        assert lazy.table["ticket_ids"].isna().all() and lazy.places["ticket_ids"].isna().all()
    assert hs.ticket_ids(con, lazy, range(len(lazy.table))) == eager.table["ticket_ids"].tolist()
    assert hs.ticket_ids(con, lazy, range(len(lazy.places)), places=True) == eager.places["ticket_ids"].tolist()
    # a few rows at a time, out of order, give the same lists
    picked = list(range(len(lazy.table)))[::-2][:3]
    assert hs.ticket_ids(con, lazy, picked) == [eager.table["ticket_ids"].iloc[r] for r in picked]
    top = hs.with_ticket_ids(con, lazy, 2)
    assert top["ticket_ids"].tolist() == eager.table["ticket_ids"].head(2).tolist()
    return eager, lazy


def test_lazily_listed_ticket_ids_equal_the_eager_lists(planted, tiny_con, monkeypatch):
    from data import positions, store

    path, _, _ = planted
    con = store.connect(path, read_only=True)
    try:
        year = Filters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
        eager, lazy = _lazy_equals_eager(con, year)
        assert lazy.members is not None and len(eager.table) > 3 and sum(map(len, eager.table["ticket_ids"])) == eager.table["n"].sum()
        _lazy_equals_eager(con, year, max_ids=5)           # cut to the latest 5 per row
        _lazy_equals_eager(con, year, max_positions=500)   # coarser positions (shift > 0)
        with monkeypatch.context() as m:                   # from `tickets` (store not yet upgraded)
            m.setattr(positions, "ready", lambda con: False)
            _lazy_equals_eager(con, year)
        with monkeypatch.context() as m:                   # no temporary table: each figure joins again
            m.setattr(hsql, "MEMBERS_DIRECT_FROM", 0)
            _lazy_equals_eager(con, year)
        with monkeypatch.context() as m:                   # more members than the temporary table holds
            m.setattr(hsql, "MEMBERS_IN_MEMORY_FAST", 10)
            assert _lazy_equals_eager(con, year, max_ids=7)[1].members is None
    finally:
        con.close()
    for f in (Filters(), Filters(topics=("井盖",))):
        _lazy_equals_eager(tiny_con, f)
