"""Funnel numbers on the tiny store, counted by hand from tests/data/tiny/load.sql.

March 2025 tickets T01-T12 link to clues C01 (T01, T02; also T13 in Feb), C02 (T04, T05), C03 (T06),
C04 (T07), C05 (T11). Cases: K01 from C01 (urgent), K02 from C02. Both have a rectification.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from analytics import funnel
from analytics.filters import Filters
from data import links
from tests.test_links import open_ro, variant_copy

MARCH = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
AS_OF = datetime(2025, 6, 30)


@pytest.fixture(scope="module", params=["clues", "links", "inline"])
def tiny_variant(request, tiny_db_path, tmp_path_factory):
    """Every test runs on the tiny store three ways: with the per-clue table (funnel_clues), with only the
    linked-tickets table (the ledgers joined), and with neither (inline rows)."""
    return variant_copy(tiny_db_path, tmp_path_factory.mktemp("variant") / "tiny.duckdb",
                        ready=request.param != "inline", clues=request.param == "clues")


def test_variant_uses_its_path(tiny_variant, request):
    con = open_ro(tiny_variant)
    try:
        kind = request.node.callspec.params["tiny_variant"]
        assert links.ready(con) == (kind != "inline")
        assert links.clues_ready(con) == (kind == "clues")
    finally:
        con.close()


@pytest.fixture()
def tiny_con(tiny_variant):
    con = open_ro(tiny_variant)
    yield con
    con.close()


def test_stages_march(tiny_con):
    s = funnel.stages(tiny_con, MARCH)
    assert list(s["stage"]) == ["诉求工单", "线索", "立案", "整改"]
    assert list(s["n"]) == [12, 5, 2, 2]
    assert pd.isna(s["rate_prev"].iloc[0])
    assert list(s["rate_prev"].iloc[1:]) == pytest.approx([5 / 12, 2 / 5, 1.0])
    assert list(s["rate_total"].iloc[1:]) == pytest.approx([5 / 12, 2 / 12, 2 / 12])


def test_stages_previous_period_and_year_ago(tiny_con):
    feb = Filters(date_from=date(2025, 1, 29), date_to=date(2025, 2, 28))
    assert list(funnel.stages(tiny_con, feb)["n"]) == [3, 1, 1, 1]   # T13 -> C01 -> K01
    y24 = Filters(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31))
    s = funnel.stages(tiny_con, y24)
    assert list(s["n"]) == [5, 0, 0, 0]
    assert s["rate_prev"].iloc[1] == 0 and pd.isna(s["rate_prev"].iloc[3])   # 0 cases: no rate


def test_stages_follow_filters(tiny_con):
    assert list(funnel.stages(tiny_con, MARCH.replace(districts=("平谷区",)))["n"]) == [3, 3, 0, 0]
    assert list(funnel.stages(tiny_con, MARCH.replace(functions=("公益诉讼",)))["n"]) == [4, 2, 2, 2]
    assert list(funnel.stages(tiny_con, MARCH.replace(topics=("井盖",)))["n"]) == [3, 1, 1, 1]
    assert list(funnel.stages(tiny_con, MARCH.replace(text="望京"))["n"]) == [2, 1, 1, 1]  # T04, T05


def test_split_by_district(tiny_con):
    s = funnel.split(tiny_con, MARCH, "district").set_index("key")
    assert s.loc["平谷区", ["tickets", "clues", "cases", "rectified"]].tolist() == [3, 3, 0, 0]
    assert s.loc["朝阳区", ["tickets", "clues", "cases", "rectified"]].tolist() == [4, 1, 1, 1]
    assert s.loc["东城区", ["tickets", "clues", "cases", "rectified"]].tolist() == [3, 1, 1, 1]
    assert s.loc["海淀区", ["tickets", "clues", "cases", "rectified"]].tolist() == [2, 0, 0, 0]
    assert s.loc["朝阳区", "clue_rate"] == pytest.approx(0.25)
    assert pd.isna(s.loc["海淀区", "case_rate"])


def test_split_by_topic_and_function(tiny_con):
    t = funnel.split(tiny_con, MARCH, "topic").set_index("key")
    assert t.loc["假冒伪劣", ["tickets", "clues"]].tolist() == [2, 2]
    assert t.loc["（无专项）", ["tickets", "clues"]].tolist() == [4, 0]
    assert t["tickets"].sum() == 12
    fn = funnel.split(tiny_con, MARCH, "function").set_index("key")
    assert fn.loc["公益诉讼", ["tickets", "clues", "cases", "rectified"]].tolist() == [4, 2, 2, 2]
    for name in ("刑事", "民事", "行政"):
        assert fn.loc[name, ["tickets", "clues", "cases"]].tolist() == [1, 1, 0]


def test_split_refuses_unknown_dimension(tiny_con):
    with pytest.raises(ValueError):
        funnel.split(tiny_con, MARCH, "complainant_name")


def test_durations(tiny_con):
    d = funnel.durations(tiny_con, MARCH).set_index("key")
    # Review: C01 4 d, C02 16 d, C03 5 d, C05 4 d (C04 not reviewed).
    assert d.loc["clue_review", "n"] == 4
    assert d.loc["clue_review", "median_days"] == pytest.approx(4.5)
    assert d.loc["clue_review", "p90_days"] == pytest.approx(5 + 0.7 * 11)   # quantile_cont over 4,4,5,16
    # Ticket -> clue from the earliest linked ticket: C01 T13 Feb 10 09:00 -> Mar 8 09:00 = 26 d;
    # C02 8 d 30 min; C03 7 d 22 h; C04 4 d 14.5 h; C05 18 h. Median = C03.
    assert d.loc["ticket_clue", "n"] == 5
    assert d.loc["ticket_clue", "median_days"] == pytest.approx(7 + 22 / 24)
    # Case -> measure: 3 d each; measure -> reply: K01 13 d, K02 69 d; case -> rectified: 15 d and 70 d.
    assert d.loc["case_measure", "median_days"] == pytest.approx(3.0)
    assert d.loc["measure_reply", "median_days"] == pytest.approx(41.0)
    assert d.loc["case_rectified", "median_days"] == pytest.approx(42.5)
    assert d.loc["case_rectified", "p90_days"] == pytest.approx(15 + 0.9 * 55)
    # Clue -> case: K01 4 d 1 h, K02 16 d 1 h.
    assert d.loc["clue_case", "median_days"] == pytest.approx(10 + 1 / 24)


def test_durations_empty(tiny_con):
    d = funnel.durations(tiny_con, Filters(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31)))
    assert list(d["n"]) == [0] * 6 and d["median_days"].isna().all()


def test_deadlines(tiny_con, monkeypatch):
    d = funnel.deadlines(tiny_con, MARCH, as_of=AS_OF).set_index("key")
    # Review (7 d): C01, C03, C05 on time; C02 late (16 d); C04 never reviewed -> overdue.
    assert d.loc["clue_review", ["total", "on_time", "late", "overdue", "pending"]].tolist() == [5, 3, 1, 1, 0]
    assert d.loc["clue_review", "compliance"] == pytest.approx(0.6)
    # K02 (not urgent): measure Apr 2 + 60 d = Jun 1, replied Jun 10 -> late. K01 (urgent, 15 d): on time.
    assert d.loc["suggestion_reply", ["total", "late"]].tolist() == [1, 1]
    assert d.loc["suggestion_reply", "compliance"] == 0
    assert d.loc["urgent_reply", ["total", "on_time"]].tolist() == [1, 1]
    # Deadlines come from settings: with 20 review days C02 is on time, C04 (Mar 20 + 20 d) still overdue.
    monkeypatch.setenv("HOTLINE_CLUE_REVIEW_DAYS", "20")
    d = funnel.deadlines(tiny_con, MARCH, as_of=AS_OF).set_index("key")
    assert d.loc["clue_review", ["on_time", "late", "overdue"]].tolist() == [4, 0, 1]
    assert d.loc["clue_review", "days"] == 20


def test_deadlines_pending_before_due(tiny_con):
    # On Mar 25, C04 (registered Thu Mar 20, due Thu Mar 27) is not yet due; on Mar 27 it is due that day
    # (pending), on Mar 28 overdue.
    d = funnel.deadlines(tiny_con, MARCH, as_of=datetime(2025, 3, 25)).set_index("key")
    assert d.loc["clue_review", "pending"] == 1
    assert d.loc["clue_review", "overdue"] == 0
    d = funnel.deadlines(tiny_con, MARCH, as_of=datetime(2025, 3, 27, 23, 0)).set_index("key")
    assert d.loc["clue_review", ["pending", "overdue"]].tolist() == [1, 0]
    d = funnel.deadlines(tiny_con, MARCH, as_of=datetime(2025, 3, 28, 0, 30)).set_index("key")
    assert d.loc["clue_review", ["pending", "overdue"]].tolist() == [0, 1]


def test_reply_deadline_moves_off_the_weekend(tiny_con, monkeypatch):
    """K01 (urgent) measured Sat Mar 15: 15 days end Sun Mar 30, so the reply is due Mon Mar 31. With 14 days
    (Sat Mar 29 -> Mon Mar 31) the same; with 13 days (Fri Mar 28) the reply of Mar 28 10:00 is still on time;
    with 12 days (Thu Mar 27) it is late by one day."""
    for days, state in ((15, "on_time"), (14, "on_time"), (13, "on_time"), (12, "late")):
        monkeypatch.setenv("HOTLINE_URGENT_REPLY_DAYS", str(days))
        d = funnel.deadlines(tiny_con, MARCH, as_of=AS_OF).set_index("key")
        assert d.loc["urgent_reply", state] == 1, days


def test_overdue_list(tiny_con):
    o = funnel.overdue(tiny_con, MARCH, as_of=AS_OF)
    assert list(o["item_id"]) == ["C04", "C02", "K02"]
    assert list(o["state"]) == ["逾期未办", "超期办结", "超期办结"]
    # Due days count calendar days and move off weekends (data/ledger/deadlines.py). C04 registered Thu Mar 20:
    # due Thu Mar 27, as of Jun 30 95 days over. C02 registered Fri Mar 14: due Fri Mar 21, reviewed Mar 30:
    # 9 days late. K02 measured Wed Apr 2 + 60 days = Sun Jun 1 -> Mon Jun 2, replied Jun 10: 8 days late.
    assert o["days_over"].tolist() == [95.0, 9.0, 8.0]
    assert [d.isoformat()[:10] for d in o["due_at"]] == ["2025-03-27", "2025-03-21", "2025-06-02"]
    assert list(o["rule"]) == ["线索审查", "线索审查", "检察建议回复"]


def test_store_without_funnel_records(empty_db_path):
    from data import derived, store, summaries

    con = store.connect(empty_db_path)
    con.execute("INSERT INTO tickets (ticket_id, received_at, district) VALUES ('X1', '2025-03-02 10:00', '东城区')")
    summaries.refresh_daily(con)
    derived.upgrade(con)   # the other derived tables, as `init` builds them
    con.close()
    con = store.connect(empty_db_path, read_only=True)
    try:
        assert not funnel.has_records(con)
        assert list(funnel.stages(con, MARCH)["n"]) == [1, 0, 0, 0]
        assert funnel.overdue(con, MARCH, as_of=AS_OF).empty
    finally:
        con.close()


def test_tiny_store_has_funnel_records(tiny_con):
    assert funnel.has_records(tiny_con)
