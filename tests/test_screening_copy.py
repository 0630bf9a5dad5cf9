"""The screening copy (`screening_tickets`, data/screen_tickets.py): rules with a place condition read it when it
is current, and find exactly the hits they find in `tickets`: on the tiny hand-checked store (every place rule
of tests/test_screening_rules.py and the starter library), and on the generated demo (the starter library and
seeded random variants of it, over a year and over its last days). A stale copy is never read; imports keep
it current (row for row against a rebuild: tests/test_incremental.py)."""

from __future__ import annotations

import random
import shutil
from dataclasses import replace
from datetime import date, timedelta

import pytest

from data import screen_tickets, store
from data.screening import library
from data.screening import rule as R
from data.screening.compile import EVERYTHING, Target, target_span
from data.screening.run import compiled, find, located_copy
from tests.test_screening_rules import CASES

PLACE_CASES = [c for c in CASES if "repeat" in c[1] or "after_close" in c[1]]


def _both(con, rule: R.Rule, target: Target, resolve=lambda _k: None) -> tuple[list, list, str]:
    """The hits of `rule` read from `tickets` and from the copy (sorted rows), and the copy's SQL."""
    span = target_span(con, target)
    out, sql = [], ""
    for use_copy in (False, True):
        c = compiled(rule, target, span, resolve, located_copy=use_copy)
        rows = con.execute(f"SELECT * FROM ({c.sql}) h ORDER BY ALL", c.params).fetchall()
        out.append(rows)
        sql = c.sql
    return out[0], out[1], sql


def _starter() -> list[R.Rule]:
    return library.read_files(library.starter_dir("beijing"))


def test_the_copy_holds_every_located_ticket_sorted_by_problem(tiny_con):
    assert screen_tickets.ready(tiny_con) and located_copy(tiny_con)
    cols = screen_tickets.COLUMNS
    want = tiny_con.execute(f"SELECT {cols} FROM tickets WHERE lon IS NOT NULL AND lat IS NOT NULL ORDER BY ALL").fetchall()
    got = tiny_con.execute(f"SELECT {cols} FROM {screen_tickets.TABLE} ORDER BY ALL").fetchall()
    assert got == want and len(got) == 19   # T08 has no coordinates
    stored = tiny_con.execute(f"SELECT problem, received_at FROM {screen_tickets.TABLE}").fetchall()
    assert stored == sorted(stored)


@pytest.mark.parametrize("conditions, expected", [c[1:] for c in PLACE_CASES], ids=[c[0] for c in PLACE_CASES])
def test_place_rules_find_the_same_hits_in_the_copy(tiny_con, conditions, expected):
    r = R.parse({"key": "tt", "name": "测试", "conditions": conditions})
    plain, copied, sql = _both(tiny_con, r, EVERYTHING)
    assert f"FROM {screen_tickets.TABLE}" in sql
    assert copied == plain
    assert sorted(row[0] for row in copied) == expected


def test_rules_without_a_place_condition_read_tickets(tiny_con):
    # they hit unlocated tickets too (T08 has no coordinates), which the copy does not hold
    r = R.parse({"key": "tt", "name": "咨询", "conditions": {"appeal_types": ["咨询"]}})
    plain, copied, sql = _both(tiny_con, r, EVERYTHING)
    assert screen_tickets.TABLE not in sql and copied == plain and "T08" in {row[0] for row in plain}


def _lowered(r: R.Rule) -> R.Rule:
    """A starter rule with its repeat threshold at 2 tickets in 120 days (the tiny store holds 20 tickets)."""
    if r.conditions.repeat is None:
        return r
    rep = replace(r.conditions.repeat, min_tickets=2, days=120)
    return replace(r, conditions=replace(r.conditions, repeat=rep))


def test_the_starter_library_and_its_layers_find_the_same_hits_in_the_copy(tiny_con):
    rules = {r.key: _lowered(r) for r in _starter()}
    layered = R.parse({"key": "layer", "name": "上层", "layer_of": "manhole-covers",
                       "conditions": {"keywords": {"none": ["危险"]},
                                      "after_close": {"min_days": 7, "max_days": 90, "radius_m": 50}}})
    total = 0
    for r in [*rules.values(), layered]:
        for target in (EVERYTHING, Target(date(2025, 3, 1), date(2025, 3, 31)), Target(import_ids=(0,))):
            plain, copied, _sql = _both(tiny_con, r, target, resolve=rules.get)
            assert copied == plain, (r.key, target)
            total += len(plain)
    assert total > 0


def test_a_stale_copy_is_not_read(tiny_db_path, tmp_path):
    p = tmp_path / "stale.duckdb"
    shutil.copy(tiny_db_path, p)
    con = store.connect(p)
    con.execute("""INSERT INTO tickets (ticket_id, received_at, topic, content, lon, lat, import_id)
                   SELECT 'T99', received_at + INTERVAL 1 DAY, topic, content, lon, lat, 99 FROM tickets
                   WHERE ticket_id = 'T02'""")   # no refresh: the copy lacks T99
    assert not screen_tickets.ready(con) and not located_copy(con)
    r = R.parse({"key": "tt", "name": "重复", "conditions": {
        "topics": ["井盖"], "repeat": {"min_tickets": 3, "radius_m": 100, "days": 60}}})
    assert "T99" in set(find(con, r, EVERYTHING)["ticket_id"])
    con.close()


def test_a_store_without_the_copy_opens_read_only_and_a_write_open_builds_it(tiny_db_path, tmp_path):
    p = tmp_path / "old.duckdb"
    shutil.copy(tiny_db_path, p)
    con = store.connect(p)
    con.execute(f"DROP TABLE {screen_tickets.TABLE}")   # as a store written before the copy existed
    con.execute("DELETE FROM meta WHERE key = $k", {"k": screen_tickets.META_KEY})
    con.close()
    ro = store.connect(p, read_only=True)   # readers do without it: rules read `tickets`
    assert not located_copy(ro)
    ro.close()
    con = store.connect(p)
    assert screen_tickets.ready(con)
    con.close()


def _variants(rules: list[R.Rule], n: int, seed: int) -> list[R.Rule]:
    """Seeded random variants of the place rules: other radii, counts, windows."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        r = rng.choice([x for x in rules if x.conditions.repeat is not None])
        rep = replace(r.conditions.repeat, min_tickets=rng.randint(2, 8), radius_m=rng.choice([30, 50, 100, 200, 400]),
                      days=rng.choice([7, 30, 60, 120]))
        out.append(replace(r, key=f"{r.key}-v{k}", conditions=replace(r.conditions, repeat=rep)))
    return out


def test_on_the_generated_demo_every_place_rule_finds_the_same_hits(demo):
    con = store.connect(demo[1], read_only=True)
    assert located_copy(con)
    (hi,) = con.execute("SELECT max(received_at)::DATE FROM tickets").fetchone()
    rules = _starter()
    year, days = Target(hi - timedelta(days=364), hi), Target(hi - timedelta(days=6), hi)
    hits = 0
    for r in [*rules, *_variants(rules, 12, seed=18)]:
        for target in (year, days):
            plain, copied, _sql = _both(con, r, target)
            assert copied == plain, (r.key, target)
            hits += len(plain)
    assert hits > 1000
    con.close()


def _mode_by_hand(s) -> str:
    """The per-group definition the item labels had (most frequent non-blank value, ties: the smallest)."""
    s = s.dropna().astype(str)
    s = s[s != ""]
    if s.empty:
        return ""
    counts = s.value_counts()
    return str(sorted(counts[counts == counts.max()].index)[0])


def test_item_labels_are_the_most_frequent_values_of_each_place():
    import numpy as np
    import pandas as pd

    from data.screening import places

    rng = np.random.default_rng(18)
    n = 3000
    pool = ["建国门内大街", "望京河", "望京西园", "", None, "八里庄", "滨河路", "河"]
    keyed = pd.DataFrame({
        "item": rng.choice([f"cell:{i}:1" for i in range(60)], n),
        "district": rng.choice(["东城区", "朝阳区", None, ""], n),
        "street": rng.choice(["建国门街道", "望京街道", None], n),
        "address": [pool[k] for k in rng.integers(0, len(pool), n)],
        "lon": rng.uniform(116.3, 116.5, n), "lat": rng.uniform(39.8, 40.0, n),
        "received_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s"),
        "ticket_id": [f"T{k}" for k in range(n)],
    })
    keyed.loc[keyed["item"] == "cell:7:1", ["district", "address"]] = None     # a place with no value at all
    got = places.summarise(keyed, "item").set_index("item")
    for item, rows in keyed.groupby("item"):
        assert got.loc[item, "district"] == _mode_by_hand(rows["district"])
        assert got.loc[item, "street"] == _mode_by_hand(rows["street"])
        label = _mode_by_hand(rows["address"]) or (got.loc[item, "district"] + got.loc[item, "street"])
        assert got.loc[item, "label"] == label
        assert got.loc[item, "n"] == len(rows)
    assert got.loc["cell:7:1", "district"] == ""


def test_a_busy_place_says_how_many_ids_its_excel_cell_lists(tmp_path):
    import io

    import pandas as pd

    from data.screening import report

    ids = " ".join(f"BJ2026113000{k:04d}-3" for k in range(5000))      # 5,000 ids: 95,000 characters
    rows = pd.DataFrame([{"rule": "r1", "rule_name": "井盖", "version": 1, "place": "建国门", "district": "东城区",
                          "street": "建国门街道", "n": 5000, "first": "2026-11-01", "last": "2026-11-30",
                          "ticket_ids": ids, "lon": 116.42, "lat": 39.9}])
    back = pd.read_excel(io.BytesIO(report.to_bytes(rows, "xlsx")))
    cell = back.loc[0, "工单编号"]
    shown = cell.split(" …")[0].split(" ")
    assert len(cell) <= report.XLSX_CELL_MAX
    assert cell.endswith(f"（共 5,000 件，此格列出前 {len(shown):,} 件；CSV 导出列出全部）")
    assert shown == ids.split(" ")[:len(shown)] and len(shown) > 1000
    csv = pd.read_csv(io.BytesIO(report.to_bytes(rows, "csv")), encoding="utf-8-sig")
    assert csv.loc[0, "工单编号"] == ids
