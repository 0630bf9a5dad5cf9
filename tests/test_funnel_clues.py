"""The per-clue table (`funnel_clues`, data/links.py) gives exactly the funnel of the joined ledgers.

A generated store (numpy, fixed seed) with the awkward cases a real ledger has: clues with two cases or
none, cases of unknown or missing clues, several rectifications per case (未整改, no date, no result),
links to unknown tickets and duplicate links, clues without links, missing dates, functions and districts.
Every funnel output and the overview's funnel KPIs are computed three ways (per-clue table, linked
tickets with the ledgers joined, inline rows) and must be identical.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import funnel, overview
from analytics.filters import FUNCTIONS, NO_TOPIC, Filters
from data import derived, links, store, summaries
from data.ingest import ingest_files
from tests.test_links import open_ro, variant_copy

DISTRICTS = ["东城区", "西城区", "朝阳区", "海淀区", "平谷区"]
TOPICS = ["井盖", "污水", "欠薪", None]
CATEGORIES = [("城乡建设", "市政设施", "井盖"), ("城乡建设", "市政设施", "路灯"), ("环境保护", "水污染", "污水"),
              ("劳动和社会保障", "劳动保障", "欠薪")]
MEASURES = ["诉前检察建议", "社会治理检察建议", "支持起诉", "刑事立案", None]
RESULTS = ["整改到位", "部分整改", "未整改", None]
T0 = datetime(2024, 1, 1)


def _pick(rng, values, n, p=None):
    return [values[i] for i in rng.choice(len(values), size=n, p=p)]


def _maybe(rng, values: list, share_null: float) -> list:
    return [None if rng.random() < share_null else v for v in values]


def _days(rng, n, hi) -> list[timedelta]:
    return [timedelta(seconds=int(s)) for s in rng.integers(0, int(hi * 86400), size=n)]


def generate(path: Path, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    n_t, n_c = 4000, 900
    received = sorted(T0 + d for d in _days(rng, n_t, 730))
    cats = _pick(rng, CATEGORIES, n_t)
    tickets = pd.DataFrame({
        "ticket_id": [f"G{i:05d}" for i in range(n_t)], "received_at": received,
        "channel": _pick(rng, ["电话", "网络", "微信"], n_t), "appeal_type": _pick(rng, ["投诉", "求助"], n_t),
        "category_l1": [c[0] for c in cats], "category_l2": [c[1] for c in cats], "category_l3": [c[2] for c in cats],
        "topic": _pick(rng, TOPICS, n_t), "content": _pick(rng, ["路口井盖破损", "河道污水", "拖欠工资", "噪音"], n_t),
        "district": _maybe(rng, _pick(rng, DISTRICTS, n_t), 0.02), "street": _pick(rng, ["甲街道", "乙街道"], n_t),
        "status": _pick(rng, ["已办结", "办理中"], n_t),
    })
    # Links: 1-4 tickets per clue, 2% of clues without any, some to unknown tickets, some duplicated.
    link_rows = []
    for c in range(n_c):
        if rng.random() < 0.02:
            continue
        for t in rng.choice(n_t, size=int(rng.integers(1, 5)), replace=False):
            link_rows.append((f"C{c:04d}", f"G{t:05d}" if rng.random() > 0.03 else f"NOPE{t}"))
    link_rows += link_rows[:40:4]
    links_df = pd.DataFrame(link_rows, columns=["clue_id", "ticket_id"])
    first = (links_df.merge(tickets[["ticket_id", "received_at"]], on="ticket_id")
             .groupby("clue_id")["received_at"].min())
    clue_ids = [f"C{c:04d}" for c in range(n_c)]
    created = [first.get(c, T0) + d for c, d in zip(clue_ids, _days(rng, n_c, 30), strict=True)]
    clues = pd.DataFrame({
        "clue_id": clue_ids, "created_at": _maybe(rng, created, 0.01),
        "district": _maybe(rng, _pick(rng, DISTRICTS, n_c), 0.02),
        "function": _maybe(rng, _pick(rng, list(FUNCTIONS), n_c, p=[0.2, 0.2, 0.1, 0.5]), 0.02),
        "topic": _pick(rng, TOPICS, n_c),
        "reviewed_at": _maybe(rng, [c + d for c, d in zip(created, _days(rng, n_c, 20), strict=True)], 0.15),
    })
    case_rows = []
    for c, at in zip(clue_ids, created, strict=True):
        r = rng.random()
        for k in range(2 if r < 0.06 else 1 if r < 0.7 else 0):
            case_rows.append((f"K{c[1:]}{k}", c, at + timedelta(days=float(rng.uniform(0, 20)))))
    case_rows += [(f"KX{i}", f"UNKNOWN{i}" if i % 3 else None, T0 + timedelta(days=300 + i)) for i in range(12)]
    n_k = len(case_rows)
    filed = [x[2] for x in case_rows]
    measure_at = [f + d for f, d in zip(filed, _days(rng, n_k, 10), strict=True)]
    cases = pd.DataFrame({
        "case_id": [x[0] for x in case_rows], "clue_id": [x[1] for x in case_rows],
        "filed_at": _maybe(rng, filed, 0.03), "measure": _pick(rng, MEASURES, n_k),
        "measure_at": _maybe(rng, measure_at, 0.1),
        "replied_at": _maybe(rng, [m + d for m, d in zip(measure_at, _days(rng, n_k, 90), strict=True)], 0.3),
        "urgent": _maybe(rng, [bool(x) for x in rng.integers(0, 2, size=n_k)], 0.1),
    })
    rect_rows = []
    for case_id, f in zip(cases["case_id"], filed, strict=True):
        for _ in range(int(rng.choice(3, p=[0.35, 0.5, 0.15]))):
            at = None if rng.random() < 0.1 else f + timedelta(days=float(rng.uniform(0, 100)))
            rect_rows.append((case_id, at, RESULTS[int(rng.integers(0, 4))]))
    rect_rows += [("KNOWN_NOT", T0, "整改到位")]
    rects = pd.DataFrame(rect_rows, columns=["case_id", "rectified_at", "result"])

    con = store.connect(path)
    for name, df in (("tickets", tickets), ("clue_tickets", links_df), ("clues", clues), ("cases", cases),
                     ("rectifications", rects)):
        con.register("_df", df)
        cols = ", ".join(df.columns)
        sql = f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _df"  # fixed table names, generated columns
        con.execute(sql)
        con.unregister("_df")
    summaries.refresh_daily(con)
    links.refresh(con)
    derived.upgrade(con)   # the other derived tables, as `init` builds them
    con.close()
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("funnel_clues")
    src = generate(d / "gen.duckdb")
    return {"clues": src,
            "links": variant_copy(src, d / "links.duckdb", ready=True, clues=False),
            "inline": variant_copy(src, d / "inline.duckdb", ready=False)}


def test_generated_store_has_the_awkward_cases(generated):
    con = open_ro(generated["clues"])
    try:
        assert links.clues_ready(con)

        def one(sql):
            return con.execute(sql).fetchone()[0]

        assert one("SELECT count(*) FROM (SELECT clue_id FROM cases GROUP BY 1 HAVING count(*) > 1)") > 20
        assert one("SELECT count(*) FROM (SELECT case_id FROM rectifications GROUP BY 1 HAVING count(*) > 1)") > 20
        assert one("SELECT count(*) FROM rectifications WHERE result = '未整改' OR rectified_at IS NULL") > 50
        assert one("SELECT count(*) FROM clues WHERE clue_id NOT IN (SELECT clue_id FROM funnel_tickets)") > 5
        # the table: one row per clue and case, one clue_row per clue, numbered by the first linked ticket
        assert one(f"SELECT count(*) FROM {links.CLUES_TABLE}") == one(
            "SELECT count(*) FROM clues c LEFT JOIN cases k USING (clue_id)")
        assert one(f"SELECT count(*) FROM {links.CLUES_TABLE} WHERE clue_row") == one("SELECT count(*) FROM clues")
        assert one(f"SELECT count(DISTINCT clue_no) FROM {links.CLUES_TABLE}") == one("SELECT count(*) FROM clues")
        assert one(f"""SELECT count(*) FROM {links.TABLE} t JOIN {links.CLUES_TABLE} c USING (clue_no)
                       WHERE c.clue_row AND c.clue_id <> t.clue_id""") == 0
        assert one(f"SELECT count(*) FROM {links.TABLE} WHERE clue_no IS NULL") == 0
        firsts = con.execute(f"SELECT first_at FROM {links.CLUES_TABLE} WHERE clue_row AND first_at IS NOT NULL "
                             "ORDER BY clue_no").fetchall()
        assert firsts == sorted(firsts)
    finally:
        con.close()


def test_generated_store_funnel_is_not_trivial(generated):
    con = open_ro(generated["clues"])
    try:
        n = funnel.stages(con, Filters())["n"].tolist()
        assert n[0] == 4000 and 800 < n[1] < 900 and n[2] > 500 and 0 < n[3] < n[2]
        od = funnel.overdue(con, Filters(), as_of=datetime(2026, 1, 1))
        assert set(od["state"]) == {"逾期未办", "超期办结"} and set(od["rule"]) == {r[0] for r in funnel.RULES.values()}
    finally:
        con.close()


YEAR = Filters(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))
MONTH = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
CASES = [
    Filters(),
    YEAR,
    MONTH,
    Filters(date_from=date(2025, 4, 1), date_to=date(2025, 6, 30)),
    YEAR.replace(districts=("朝阳区",)),
    YEAR.replace(districts=("东城区", "平谷区"), topics=("井盖",)),
    YEAR.replace(topics=(NO_TOPIC,)),
    YEAR.replace(functions=("公益诉讼",)),
    MONTH.replace(functions=("刑事", "民事")),
    YEAR.replace(text="井盖"),
    YEAR.replace(categories=("城乡建设/市政设施",), channels=("电话",)),
    Filters(date_from=date(2027, 1, 1), date_to=date(2027, 1, 31)),   # nothing selected
]


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.describe())
def test_same_funnel_from_every_path(generated, f):
    cons = {k: open_ro(p) for k, p in generated.items()}
    try:
        assert [links.clues_ready(c) for c in cons.values()] == [True, False, False]
        as_of = datetime(2025, 9, 1)
        periods = [p for p in (f, f.previous_period(), f.year_ago()) if p is not None]
        out = {}
        for k, con in cons.items():
            out[k] = [funnel.stages(con, f), funnel.durations(con, f),
                      *(funnel.split(con, f, by) for by in funnel.SPLITS),
                      *funnel.deadline_report(con, f, as_of), overview.funnel_totals(con, f)]
            if f.date_from:
                out[k] += [overview.funnel_totals_periods(con, f, periods), overview.kpis(con, f)]
        for k in ("links", "inline"):
            for i, (a, b) in enumerate(zip(out["clues"], out[k], strict=True)):
                if isinstance(a, pd.DataFrame):
                    pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"{k} output {i}")
                else:
                    assert a == b, (k, i)
    finally:
        for c in cons.values():
            c.close()


CASE_FILE = """案件编号,线索编号,立案时间,案件类型,监督措施,措施时间,回复期限,回复时间,是否紧急
K03,C03,2025-03-26 09:00,刑事,诉前检察建议,2025-03-27 09:00,,,否
"""


def test_case_import_refreshes_the_table(tiny_db_path, tmp_path):
    """A case import rebuilds funnel_clues at once (data/ingest/pipeline.py): the new case counts."""
    p = shutil.copy(tiny_db_path, tmp_path / "cases_fresh.duckdb")
    march = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    con = store.connect(p)
    try:
        f = tmp_path / "cases_new.csv"
        f.write_text(CASE_FILE, encoding="utf-8")
        (rep,) = ingest_files(con, [f], kind="cases")
        assert rep.ok and rep.inserted == 1, rep.message
        assert links.ready(con) and links.clues_ready(con) and derived.outdated(con) == []
        assert funnel.stages(con, march)["n"].tolist() == [12, 5, 3, 2]
    finally:
        con.close()


def test_case_import_without_refresh_marks_the_table_stale_until_upgrade(tiny_db_path, tmp_path):
    """With refresh=False (bulk loads) the derived tables are not rebuilt: readers join the ledgers (same
    numbers) until the store is upgraded, which rebuilds funnel_clues."""
    p = shutil.copy(tiny_db_path, tmp_path / "cases.duckdb")
    march = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    con = store.connect(p)
    assert links.clues_ready(con)
    f = tmp_path / "cases_new.csv"
    f.write_text(CASE_FILE, encoding="utf-8")
    (rep,) = ingest_files(con, [f], kind="cases", refresh=False)
    assert rep.ok and rep.inserted == 1, rep.message
    assert links.ready(con) and not links.clues_ready(con)
    assert derived.outdated(con) == [links.CLUES_TABLE]
    stale = funnel.stages(con, march)["n"].tolist()
    assert stale == [12, 5, 3, 2]
    overdue_stale = funnel.overdue(con, march, as_of=datetime(2025, 6, 30))
    con.close()
    # a reader never writes: it is told to run `init`, which upgrades the store (data/store.py)
    with pytest.raises(store.StoreError, match=r"python manage.py init --db"):
        store.connect(p, read_only=True)
    store.connect(p).close()
    con = store.connect(p, read_only=True)
    try:
        assert links.clues_ready(con) and derived.outdated(con) == []
        assert funnel.stages(con, march)["n"].tolist() == stale
        od = funnel.overdue(con, march, as_of=datetime(2025, 6, 30))
        pd.testing.assert_frame_equal(od, overdue_stale, check_exact=True)
        assert "K03" in od["item_id"].tolist()   # measured Mar 27, never replied: overdue
    finally:
        con.close()


def test_older_store_without_the_table_gets_it_when_opened(tiny_db_path, tmp_path):
    p = shutil.copy(tiny_db_path, tmp_path / "old.duckdb")
    con = store.connect(p)
    con.execute("DELETE FROM meta WHERE key = $k", {"k": links.CLUES_META_KEY})
    con.execute(f"DROP TABLE {links.CLUES_TABLE}")
    con.execute(f"ALTER TABLE {links.TABLE} DROP COLUMN clue_no")   # as written by the previous version
    con.close()
    con = duckdb_ro = open_ro(p)
    assert links.ready(duckdb_ro) and not links.clues_ready(duckdb_ro)
    con.close()
    with pytest.raises(store.StoreError, match=r"python manage.py init --db"):
        store.connect(p, read_only=True)
    store.connect(p).close()   # what `python manage.py init --db p` does
    con = store.connect(p, read_only=True)
    try:
        assert links.clues_ready(con)
        assert funnel.stages(con, Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31)))["n"].tolist() == [
            12, 5, 2, 2]
    finally:
        con.close()


@pytest.mark.parametrize("slim", [False, True], ids=["full", "slim"])
@pytest.mark.parametrize("f", [Filters(), YEAR.replace(districts=("朝阳区",)), MONTH], ids=lambda f: f.describe())
def test_pandas_baseline_computes_the_same_funnel(generated, f, slim):
    """The benchmark's pandas dashboard (bench/pandas_side.py) does the funnel page's work, not less; so does
    its slim load (int row keys in place of ticket ids) that runs at 25 M."""
    from bench import pandas_side

    con = open_ro(generated["clues"])
    try:
        d = pandas_side.load(con, words=False, slim=slim)
        as_of = datetime(2025, 9, 1)
        pd_f = pandas_side.funnel(d, f, as_of=pd.Timestamp(as_of))
        st = funnel.stages(con, f).set_index("key")["n"]
        assert (pd_f["tickets"], pd_f["clues"], pd_f["cases"], pd_f["rectified"]) == tuple(st)
        sp = funnel.split(con, f, "district").set_index("key")
        got = pd_f["by_district"].astype(int)
        for col in ("clues", "cases", "rectified"):
            want = sp.loc[sp[col] > 0, col].drop("（未填）", errors="ignore").sort_index()
            assert got.loc[got[col] > 0, col].sort_index().to_dict() == want.to_dict(), col
        du = funnel.durations(con, f).set_index("key")
        for key, (n, med, p90) in pd_f["durations"].items():   # the product counts whole seconds
            assert n == du.loc[key, "n"], key
            if n:
                assert med == pytest.approx(du.loc[key, "median_days"], abs=2e-5), key
                assert p90 == pytest.approx(du.loc[key, "p90_days"], abs=2e-5), key
        dl, od = funnel.deadline_report(con, f, as_of)
        counts = pd_f["deadlines"]
        for row in dl.itertuples():
            for state in funnel.STATES:
                assert int(counts.get((row.key, state), 0)) == getattr(row, state), (row.key, state)
        assert pd_f["overdue"]["item_id"].tolist() == od["item_id"].tolist()
    finally:
        con.close()
