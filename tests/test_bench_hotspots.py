"""The pandas baseline's hotspot page computes the product's hotspot table (bench/pandas_hotspots.py).

Compared row by row with `analytics.hotspots.hotspot_table` on the tiny store and on a small generated demo
store, for every bench state, with the full and the slim loads: the ranked table (rank, kind, place, counts,
first/last, trend, months, repeat flags, "back after a close", modes, problem, clues, Gi* z and centre), every
place (with its expected count and q-value) and the Gi* cells. Then with the product's limits lowered so that
every branch runs on a small store: the coarsened positions, the cap on places, the "light" all-problems case,
modes and clues from each row's latest tickets.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analytics import hotspot_sql as hsql
from analytics import hotspots as hs
from analytics.filters import Filters
from bench import pandas_side
from bench.pandas_hotspots import differences, frame_difference, hotspot_table
from bench.states import filter_states
from data import store


@pytest.fixture(scope="module")
def gen_path(tmp_path_factory):
    """A 20,000-ticket, two-year demo store (the demo generator: hotspots, repeat places, closes, clues)."""
    from data.synth.build import build_database

    path = tmp_path_factory.mktemp("bench_hot") / "gen.duckdb"
    build_database(path, tickets=20_000, years=2, seed=7, fmt="parquet", parallel=False)
    return path


@pytest.fixture(scope="module")
def gen(gen_path):
    con = store.connect(gen_path, read_only=True)
    yield con, {"full": pandas_side.load(con), "slim": pandas_side.load(con, slim=True)}
    con.close()


def _compare(con, d: dict, f: Filters, what: str, *, ids: bool = False, **kw) -> tuple[hs.Hotspots, dict]:
    product = hs.hotspot_table(con, f, **kw)
    ours = hotspot_table(d, f, **kw)
    assert differences(product, ours, ids=ids) == [], what
    return product, ours


def test_differences_are_found():
    """The comparison itself: a changed count, flag, clue, coordinate or note is reported."""
    product = pd.DataFrame({"n": [3, 2], "repeat": [True, False], "clues": ["C1", ""], "lon": [116.4, 116.5],
                            "first": pd.to_datetime(["2025-01-01", "2025-02-01"]).as_unit("us")})
    assert frame_difference(product, product.copy(), "t") is None
    ours = product.assign(first=pd.to_datetime(["2025-01-01", "2025-02-01"]).as_unit("ns"),
                          lon=product["lon"] * (1 + 1e-12))   # another unit, a last-digit sum difference
    assert frame_difference(product, ours, "t") is None
    for col, value in (("n", [3, 3]), ("repeat", [True, True]), ("clues", ["C1", "C2"]), ("lon", [116.4, 116.51])):
        assert f"column {col}" in frame_difference(product, product.assign(**{col: value}), "t")
    assert "1 rows" in frame_difference(product, product.head(1), "t")


TINY_EXTRA = [("March 2025", Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))),
              ("every day", Filters())]


@pytest.mark.parametrize("load", ["full", "slim"])
def test_pandas_hotspot_page_is_the_product_table_on_the_tiny_store(tiny_con, load):
    d = pandas_side.load(tiny_con, slim=load == "slim")
    for name, f in filter_states(tiny_con) + TINY_EXTRA:
        _compare(tiny_con, d, f, f"tiny {load} {name}", ids=load == "full")
    # counted by hand from tests/data/tiny/load.sql: the last year (2024-04-01..2025-03-31), whole city: two
    # hotspots, the Wangjing river (4 sewage tickets T04, T05, T13, T14; clue C02) and the Jianguomen crossing
    # (3 manhole tickets T01, T02, T15; clue C01), each with a repeat place of 3 tickets inside; and the Xinggu
    # market pair (T06, T11: T11 came 13 days after T06's close, back after a close; clues C03, C05)
    year = dict(filter_states(tiny_con))["全市/一年/全部"]
    t = hotspot_table(d, year)["table"]
    got = t[["kind", "address", "n", "repeat", "clues", "problem"]].astype(object).values.tolist()
    assert got == [["统计热点", "望京河边", 4, True, "C02", "污水"],
                   ["统计热点", "建国门内大街与朝阳门南小街路口", 3, True, "C01", "井盖"],
                   ["重复点位", "兴谷农贸市场", 2, True, "C03、C05", "假冒伪劣"]]
    assert t["trend"].tolist() == ["↑ 上升（前半期 0 → 后半期 4）", "↑ 上升（前半期 0 → 后半期 3）",
                                   "↑ 上升（前半期 0 → 后半期 2）"]
    assert [sum(m) for m in t["monthly"]] == [4, 3, 2] and len(t["monthly"][0]) == 12
    places = hotspot_table(d, year)["places"]
    assert places["n"].tolist() == [3, 3, 2] and places["repeat"].tolist() == [True, True, True]
    assert places["n_after_close"].tolist() == [2, 1, 1]   # T01 T02 (after T13), T05 (after T15), T11 (after T06)


@pytest.mark.parametrize("load", ["full", "slim"])
def test_pandas_hotspot_page_is_the_product_table_on_a_generated_store(gen, load):
    con, loads = gen
    seen = {"rows": 0, "lone": 0, "clues": 0, "back": 0, "flagged": 0, "places": 0}
    for name, f in filter_states(con):
        product, _ours = _compare(con, loads[load], f, f"{load} {name}", ids=load == "full")
        tb, pl = product.table, product.places
        seen["rows"] += len(tb)
        seen["lone"] += int((tb["kind"] == "重复点位").sum()) if len(tb) else 0
        seen["clues"] += int((tb["clues"] != "").sum()) if len(tb) else 0
        seen["back"] += int((pl["n_after_close"] > 0).sum()) if len(pl) else 0
        seen["flagged"] += int(pl["repeat"].sum()) if len(pl) else 0
        seen["places"] += len(pl)
    # the comparisons covered every step: hotspots, lone repeat places, flags, back-after-close, clues
    assert all(v > 0 for v in seen.values()), seen


def test_pandas_hotspot_page_keeps_the_product_limits(gen, monkeypatch):
    """With the limits lowered, each branch runs here and still gives the product's table: positions coarsened,
    places capped, the light all-problems case, modes and clues from each row's latest tickets (ids listed)."""
    con, loads = gen
    monkeypatch.setattr(hs, "ALL_PROBLEMS_MAX_LOCATED", 3_000)
    monkeypatch.setattr(hsql, "MEMBERS_IN_MEMORY", 150)
    monkeypatch.setattr(hsql, "MEMBERS_IN_MEMORY_FAST", 150)
    monkeypatch.setattr(hsql, "MEMBERS_DIRECT_FROM", 100)
    kw = {"max_positions": 400, "max_places": 40, "max_ids": 5}
    notes, light, listed = set(), 0, 0
    for load in ("full", "slim"):
        for name, f in filter_states(con):
            product, ours = _compare(con, loads[load], f, f"limits {load} {name}", ids=load == "full", **kw)
            notes.update(product.notes)
            tb = ours["table"]
            light += int((tb["problem"] == "全部问题").sum()) if len(tb) else 0
            listed += sum(1 for x in tb["ticket_ids"] if isinstance(x, list) and len(x) == 5) if len(tb) else 0
    assert any("重复点位先按" in n for n in notes) and any("重复点位只计算最密集" in n for n in notes), notes
    assert light > 0 and listed > 0


def test_loads_carry_the_hotspot_columns_as_the_product_defines_them(tiny_con):
    """located = LOCATED_SQL, problem = PROBLEM_SQL, back = hotspot_tickets.back, for every ticket and load."""
    from data import positions as hpos

    sql = (f"SELECT ticket_id, {hpos.LOCATED_SQL} AS located, {hpos.PROBLEM_SQL} AS problem FROM tickets "
           "ORDER BY ticket_id")
    want = tiny_con.execute(sql).df().set_index("ticket_id")
    back = {r for (r,) in tiny_con.execute(f"SELECT ticket_id FROM {hpos.TABLE} WHERE back").fetchall()}
    for kw in ({}, {"compact": True, "words": False}, {"slim": True}):
        d = pandas_side.load(tiny_con, **kw)
        t = d["tickets"]
        if kw.get("slim"):   # row keys: the store's row numbers
            rows = dict(tiny_con.execute("SELECT CAST(rowid AS INTEGER), ticket_id FROM tickets").fetchall())
            t = t.assign(ticket_id=t["ticket_id"].map(rows))
        t = t.set_index(t["ticket_id"].astype(str)).sort_index()
        assert t["located"].tolist() == want["located"].tolist()
        assert t["problem"].astype(str).tolist() == want["problem"].tolist()
        assert t.index[t["back"]].tolist() == sorted(back)
        assert t["located"].sum() == 19 and set(t["problem"]) >= {"井盖", "污水", "施工噪声"}
