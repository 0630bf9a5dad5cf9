"""One ledger for both sources: the funnel over the app's clues equals the funnel of the same clues imported.

On a copy of the tiny store the app registers three clues and acts on two imported ones (data/ledger). A second
copy gets the same clues written by hand as the case system's rows (clues, clue_tickets, cases,
rectifications) and its derived tables rebuilt. Every funnel figure read through the ledger overlay
(data/ledger/overlay.py) on the first must equal the plain read of the second: counts, splits, stage times,
deadlines and the overdue list, the overview's KPIs, the ticket list's funnel stages and a ticket's path,
for the city and for one district, with the per-clue table current and stale.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime

import pandas as pd
import pytest

from analytics import funnel, overview, tickets
from analytics.filters import Filters
from data import ledger, links, records, scope, store
from data.ledger import overlay
from data.people import Principal
from tests.test_links import open_ro, variant_copy

ME = Principal("zhang", "prosecutor", (), "张三")

# The same clues as the case system's rows. reply_due_at: the end of the due day (data/ledger/deadlines.py):
# Mar 28 + 60 = May 27 (Tue); C04's suggestion Mar 28 + 60 as well.
EXPECTED_SQL = """
INSERT INTO clues (clue_id, created_at, district, function, department, topic, source, status, reviewed_at, summary)
VALUES ('X-2025-000001', '2025-03-26 10:00:00', '朝阳区', '公益诉讼', '第八检察部', '污水', '筛查规则', '已立案',
        '2025-03-27 00:00:00', '望京小区周边污水'),
       ('X-2025-000002', '2025-03-26 10:00:00', '海淀区', '公益诉讼', NULL, NULL, '12309检察服务中心', '待审查', NULL,
        '八里庄工地夜间施工'),
       ('X-2025-000003', '2025-03-26 10:00:00', '东城区', '行政', NULL, NULL, '联络点', '不立案',
        '2025-03-28 00:00:00', '东华门施工噪声');
INSERT INTO clue_tickets (clue_id, ticket_id) VALUES
    ('X-2025-000001', 'T10'), ('X-2025-000001', 'T14'), ('X-2025-000002', 'T12'), ('X-2025-000003', 'T09'),
    ('C04', 'T20');
INSERT INTO cases (case_id, clue_id, filed_at, case_type, measure, measure_at, reply_due_at, replied_at, urgent) VALUES
    ('X-2025-000001-A', 'X-2025-000001', '2025-03-27 00:00:00', '公益诉讼', '诉前检察建议', '2025-03-28 00:00:00',
     '2025-05-27 23:59:59', '2025-04-20 00:00:00', false),
    ('C04-A', 'C04', '2025-03-26 10:00:00', '民事', '社会治理检察建议', '2025-03-28 00:00:00',
     '2025-05-27 23:59:59', NULL, false);
INSERT INTO rectifications (case_id, rectified_at, result, followed_up_at, outcome, outcome_value, outcome_unit) VALUES
    ('X-2025-000001-A', '2025-04-25 00:00:00', '整改到位', NULL, '截断污水直排', 50, '吨'),
    ('X-2025-000001-A', '2025-04-25 00:00:00', '整改到位', NULL, '清理河道垃圾', 2, '吨');
UPDATE clues SET status = '已立案', reviewed_at = '2025-03-26 10:00:00' WHERE clue_id = 'C04';
UPDATE cases SET replied_at = '2025-06-01 00:00:00' WHERE case_id = 'K02';
"""


def _act(path) -> None:
    """The app's side: three clues registered on Wed Mar 26 2025, steps dated by hand, two imported clues."""
    clock = {"now": datetime(2025, 3, 26, 10, 0)}
    real = records.now
    records.now = lambda: clock["now"]
    try:
        ro = store.connect(path, read_only=True)
        with records.session(path) as rc:
            a = ledger.register_clue(rc, ME, source="rule", district="朝阳区", function="公益诉讼",
                                     source_ref={"rule_id": 7, "rule_version": 3, "rule_key": "sewage",
                                                 "queue_items": [41]},
                                     department="第八检察部", topic="污水", summary="望京小区周边污水",
                                     ticket_ids=["T10", "T14"])
            ledger.register_clue(rc, ME, source="12309", district="海淀区", function="公益诉讼",
                                 summary="八里庄工地夜间施工", ticket_ids=["T12"])
            c = ledger.register_clue(rc, ME, source="liaison", district="东城区", function="行政",
                                     summary="东华门施工噪声", ticket_ids=["T09"])
            ledger.record_stage(rc, ME, "C04", "decide", details={"outcome": "file"}, store=ro)
            clock["now"] = datetime(2025, 7, 1, 9, 0)
            ledger.record_stage(rc, ME, a.clue_no, "decide", on=date(2025, 3, 27), details={"outcome": "file"})
            ledger.record_stage(rc, ME, a.clue_no, "suggest", on=date(2025, 3, 28),
                                details={"kind": "pre_litigation", "urgent": False, "addressee": "朝阳区水务局"})
            ledger.record_stage(rc, ME, a.clue_no, "reply", on=date(2025, 4, 20))
            ledger.record_stage(rc, ME, a.clue_no, "rectify", on=date(2025, 4, 25), details={"result": "整改到位"},
                                outcomes=[("截断污水直排", 50, "吨"), ("清理河道垃圾", 2, "吨")])
            ledger.record_stage(rc, ME, c.clue_no, "decide", on=date(2025, 3, 28), details={"outcome": "not_file"})
            ledger.record_stage(rc, ME, "C04", "suggest", on=date(2025, 3, 28), store=ro,
                                details={"kind": "social_governance", "urgent": False, "addressee": "平谷区人社局"})
            ledger.attach_tickets(rc, ME, "C04", ["T20"], "同一工地去年的工单", store=ro)
            ledger.correct_stage(rc, ME, "C02", "reply", on=date(2025, 6, 1), reason="以回函落款日期为准", store=ro)
        ro.close()
    finally:
        records.now = real


@pytest.fixture(scope="module")
def stores(tiny_db_path, tmp_path_factory):
    d = tmp_path_factory.mktemp("ledger_funnel")
    app = shutil.copy(tiny_db_path, d / "app.duckdb")
    _act(app)
    expected = shutil.copy(tiny_db_path, d / "expected.duckdb")
    con = store.connect(expected)
    con.execute(EXPECTED_SQL)
    links.refresh(con)
    con.close()
    # The same pair with the per-clue table stale (a ledger import without refresh): the funnel joins the ledgers.
    app_stale = variant_copy(app, d / "app_stale.duckdb", ready=True, clues=False)
    shutil.copy(records.path_for(app), records.path_for(app_stale))
    exp_stale = variant_copy(expected, d / "exp_stale.duckdb", ready=True, clues=False)
    return {"current": (app, expected), "stale": (app_stale, exp_stale)}


FILTERS = [
    Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31)),
    Filters(date_from=date(2025, 2, 1), date_to=date(2025, 3, 31), topics=("污水",)),
    Filters(),
    Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31), functions=("公益诉讼", "民事")),
]
SCOPES = [scope.CITY, scope.Scope(("朝阳区",)), scope.Scope(("平谷区", "海淀区"), texts=False)]


def _outputs(con, f: Filters) -> list:
    as_of = datetime(2025, 6, 30)
    out = [funnel.has_records(con), funnel.stages(con, f), funnel.durations(con, f),
           *(funnel.split(con, f, by) for by in funnel.SPLITS), *funnel.deadline_report(con, f, as_of),
           overview.funnel_totals(con, f), *(tickets.count(con, f, stage=s) for s in tickets.STAGE_CLAUSES),
           *(tickets.page(con, f, stage=s, mask=False) for s in tickets.STAGE_CLAUSES),
           tickets.path(con, "T10", mask=False), tickets.path(con, "T20", mask=False),
           tickets.path(con, "T05", mask=False)]
    if f.date_from:
        periods = [f, f.previous_period(), f.year_ago()]
        out += [overview.funnel_totals_periods(con, f, periods), overview.kpis(con, f)]
    return out


# (store variant, scope, filters): every filter and scope on the current store, the stale one on a few.
CASES = ([("current", scope.CITY, f) for f in FILTERS]
         + [("current", sc, FILTERS[0]) for sc in SCOPES[1:]] + [("current", SCOPES[2], FILTERS[3])]
         + [("stale", scope.CITY, FILTERS[0]), ("stale", SCOPES[1], FILTERS[2]), ("stale", scope.CITY, FILTERS[3])])


@pytest.mark.parametrize("variant, sc, f", CASES, ids=lambda x: x.describe() if hasattr(x, "describe") else str(x))
def test_the_funnel_counts_both_kinds_of_clue(stores, variant, sc, f):
    app_path, exp_path = stores[variant]
    app, exp = open_ro(app_path), open_ro(exp_path)
    try:
        assert links.clues_ready(app) == links.clues_ready(exp) == (variant == "current")
        cur = scope.scoped_cursor(app, sc, ledger=True)
        with records.session(app_path) as rc:
            overlay.sync(cur, overlay.frames(app.cursor(), rc))
        plain = scope.scoped_cursor(exp, sc)
        for i, (a, b) in enumerate(zip(_outputs(cur, f), _outputs(plain, f), strict=True)):
            if isinstance(a, pd.DataFrame):
                pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"output {i}")
            else:
                assert a == b, i
    finally:
        app.close()
        exp.close()


def test_the_overlay_changes_the_figures(stores):
    """The comparison above is not vacuous: without the overlay the app's store gives the old funnel."""
    app_path, _exp = stores["current"]
    con = open_ro(app_path)
    march = FILTERS[0]
    try:
        plain = scope.scoped_cursor(con, scope.CITY)
        cur = scope.scoped_cursor(con, scope.CITY, ledger=True)
        with records.session(app_path) as rc:
            overlay.sync(cur, overlay.frames(con.cursor(), rc))
        assert funnel.stages(plain, march)["n"].tolist() == [12, 5, 2, 2]
        # March: + X-1 (T10), X-2 (T12), X-3 (T09) = 8 clues; cases K01, K02, C04-A, X-1-A; X-1-A rectified.
        assert funnel.stages(cur, march)["n"].tolist() == [12, 8, 4, 3]
    finally:
        con.close()
