"""The ledger's tables (analytics/ledger.py) agree with the ledger itself (data/ledger), clue by clue.

The store of tests/test_ledger_funnel.py (three app clues, two imported clues acted on, the tiny store's
others imported as they are): for every clue, the sheet's stage, next deadline and its state (computed in
SQL) equal what data/ledger derives in Python, on several days, weekends included.
"""

from __future__ import annotations

from datetime import date

import pytest

from analytics import ledger as lsheet
from data import ledger, records, scope
from data.ledger import overlay
from tests.test_ledger_funnel import stores  # noqa: F401  (the fixture)
from tests.test_links import open_ro


def _cursor(path, sc=scope.CITY):
    con = open_ro(path)
    cur = scope.scoped_cursor(con, sc, ledger=True)
    with records.session(path) as rc:
        overlay.sync(cur, overlay.frames(con.cursor(), rc))
    return con, cur


@pytest.mark.parametrize("today", [date(2025, 3, 26), date(2025, 3, 29), date(2025, 4, 6), date(2025, 5, 26),
                                   date(2025, 7, 1)])
def test_sheet_equals_the_ledger(stores, today):  # noqa: F811
    path = stores["current"][0]
    con, cur = _cursor(path)
    try:
        df = lsheet.sheet(cur, as_of=today).set_index("clue_id")
        assert sorted(df.index) == ["C01", "C02", "C03", "C04", "C05", "X-2025-000001", "X-2025-000002",
                                    "X-2025-000003"]
        with records.session(path) as rc:
            for cid, row in df.iterrows():
                c = ledger.get_clue(rc, cid, scope.CITY, store=con, today=today)
                assert row["stage_label"] == c.stage_label, cid
                if c.next_due is None:
                    assert row["next_due"] is None or str(row["next_due"]) in ("NaT", "None"), cid
                else:
                    assert (row["next_rule"], row["next_due"].date() if hasattr(row["next_due"], "date")
                            else row["next_due"], row["due_state"]) == \
                        (c.next_due.rule, c.next_due.due, c.next_due.state), (cid, today)
                assert row["tickets"] == len(c.ticket_ids), cid
    finally:
        con.close()


def test_lists_and_counts(stores):  # noqa: F811
    path = stores["current"][0]
    con, cur = _cursor(path)
    try:
        today = date(2025, 5, 26)
        # rectified Apr 25 -> follow-up due Jun 24 (pending). X-2 (12309, registered Wed Mar 26, never
        # decided): review due Apr 2 -> overdue. X-3 (liaison, not filed Fri Mar 28): notice due Mon Mar 31 ->
        # overdue. C04: suggestion Fri Mar 28 + 60 = Tue May 27 -> due soon. C02: reply Jun 1 recorded, rectified
        # Jun 8 (later than today, but recorded) -> follow-up due Aug 7. C05: transferred, imported: nothing due.
        od = lsheet.due_list(cur, today)
        assert od["clue_id"].tolist() == ["X-2025-000003", "X-2025-000002", "C04"]
        assert od["due_state"].tolist() == ["overdue", "overdue", "due_soon"]
        assert od["days_over"].tolist() == [56, 54, -1]
        t = lsheet.due_totals(cur, today)
        assert t == {"overdue": 2, "due_soon": 1}
        d = lsheet.due_overview(cur, today)
        assert (d["clues"], d["overdue"], d["due_soon"]) == (len(lsheet.sheet(cur, as_of=today)), 2, 1)
        assert d["clues"] > 0
        assert lsheet.count(cur, lsheet.LedgerFilters(origin="app")) == 3
        page = lsheet.clue_list(cur, lsheet.LedgerFilters(text="污水"), today)
        assert page["clue_id"].tolist() == ["X-2025-000001", "C02"]
        district = _cursor(path, scope.Scope(("朝阳区",)))[1]
        assert lsheet.sheet(district, as_of=today)["clue_id"].tolist() == ["C02", "X-2025-000001"]
        res = lsheet.rectification_results(cur, date(2025, 4, 1), date(2025, 4, 30))
        assert res.to_dict("records") == [{"item": "截断污水直排", "unit": "吨", "cases": 1, "value": 50.0},
                                          {"item": "清理河道垃圾", "unit": "吨", "cases": 1, "value": 2.0}]
        s = lsheet.ledger_summary(cur, date(2025, 3, 1), as_of=today)
        assert (s["registered"], s["filed"], s["rectified"], s["overdue"], s["due_soon"]) == (8, 4, 1, 2, 1)
    finally:
        con.close()


def test_a_clue_summary_shows_numbers_masked(stores):  # noqa: F811
    """Staff write summaries and may quote a citizen's phone or ID number: the clue page's facts and the ledger's
    lists show them masked, like ticket texts."""
    import dataclasses

    import pandas as pd

    from analytics import ledger_clue, privacy

    path = stores["current"][0]
    with records.session(path) as rc:
        c = ledger.get_clue(rc, "X-2025-000001", scope.CITY)
    quoted = dataclasses.replace(c, summary="举报人电话13812345678，身份证110105198001011234")
    shown = dict(ledger_clue.facts(quoted).values.tolist())["线索摘要"]
    assert "13812345678" not in shown and "138****5678" in shown and "110105198001011234" not in shown
    frame = pd.DataFrame({"clue_id": ["X"], "summary": [quoted.summary]})
    assert "13812345678" not in privacy.mask_frame(frame)["summary"].iloc[0]


def test_an_empty_ledger_says_so_instead_of_zero_deadlines(empty_db_path):
    # the overview shows "—" and "线索台账中尚无线索" when the ledger holds no clue (issue 20: no 0 for an
    # input the data never had)
    con, cur = _cursor(empty_db_path)
    try:
        d = lsheet.due_overview(cur, date(2025, 5, 26))
        assert (d["clues"], d["overdue"], d["due_soon"]) == (0, 0, 0)
    finally:
        con.close()
