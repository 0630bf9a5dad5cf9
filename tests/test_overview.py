"""Overview numbers on the tiny store, counted by hand from tests/data/tiny/load.sql.

March 2025 = T01-T12; the previous 31 days (2025-01-29..02-28) = T13-T15;
March 2024 = T16-T20. Every volume number is checked on both paths (daily
summary and tickets table).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analytics import overview
from analytics.filters import Filters

MARCH = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))


@pytest.fixture(autouse=True)
def _compare_small_bases(monkeypatch):
    """The tiny store's periods hold 3 to 12 tickets: compare them (the floor is tested in test_honest_screens)."""
    monkeypatch.setenv("HOTLINE_MIN_COMPARE_BASE", "1")
PATHS = pytest.mark.parametrize("summary", [None, False], ids=["summary", "tickets"])


def _kpi(df, key, col="value"):
    return df.loc[df["key"] == key, col].iloc[0]


@PATHS
def test_kpis_march(tiny_con, summary):
    k = overview.kpis(tiny_con, MARCH, summary=summary)
    assert list(k["key"]) == ["tickets", "located", "clues", "cases", "rectified"]
    # T10 has no coordinates. Clues behind T01-T12: C01..C05; cases K01, K02, both rectified.
    assert list(k["value"]) == [12, 11, 5, 2, 2]
    # Previous period T13-T15 (all located); T13 feeds C01 -> K01 (rectified).
    assert list(k["prev"]) == [3, 3, 1, 1, 1]
    # March 2024: T16-T20, all located, none linked to a clue.
    assert list(k["yoy"]) == [5, 5, 0, 0, 0]
    assert _kpi(k, "tickets", "prev_pct") == pytest.approx(3.0)      # (12-3)/3
    assert _kpi(k, "tickets", "yoy_pct") == pytest.approx(1.4)       # (12-5)/5
    assert _kpi(k, "located", "prev_pct") == pytest.approx(8 / 3)
    assert pd.isna(_kpi(k, "clues", "yoy_pct"))                      # base 0: no %
    # Data start on 2024-03-05: March 2024 is only partly covered, Jan 29-Feb 28 2025 fully.
    assert k["yoy_partial"].all() and not k["prev_partial"].any()


def test_kpis_with_text_filter_use_tickets(tiny_con):
    # Text search cannot use the summary: 井盖 occurs in T01, T02, T03 (March), T13 (Feb), T16 (2024).
    f = MARCH.replace(text="井盖")
    assert not f.uses_summary
    k = overview.kpis(tiny_con, f)
    assert list(k["value"]) == [3, 3, 1, 1, 1]
    assert list(k["prev"]) == [1, 1, 1, 1, 1]
    assert list(k["yoy"]) == [1, 1, 0, 0, 0]


def test_kpis_function_filter_restricts_clues(tiny_con):
    # 刑事: only C03 (ticket T06), no case.
    k = overview.kpis(tiny_con, MARCH.replace(functions=("刑事",)))
    assert list(k["value"]) == [1, 1, 1, 0, 0]


def test_kpis_without_comparison_data_say_so(tiny_con):
    # March 2024 is the first month of data: no previous period, no year-ago data.
    k = overview.kpis(tiny_con, Filters(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31)))
    assert list(k["value"]) == [5, 5, 0, 0, 0]
    assert k["prev"].isna().all() and k["yoy"].isna().all()
    assert k["prev_pct"].isna().all() and k["yoy_pct"].isna().all()


def test_kpis_all_time_have_no_comparison(tiny_con):
    k = overview.kpis(tiny_con, Filters())
    assert list(k["value"]) == [20, 19, 5, 2, 2]
    assert k["prev"].isna().all()


@PATHS
def test_rates_march(tiny_con, summary):
    r = overview.rates(tiny_con, MARCH, summary=summary).set_index("key")
    # responded: all but T12; closed and rated: all but T11, T12; resolved: those minus T05 (resolved false);
    # satisfied: rated minus T05 (不满意).
    assert (r.loc["response", "numerator"], r.loc["response", "denominator"]) == (11, 12)
    assert (r.loc["resolution", "numerator"], r.loc["resolution", "denominator"]) == (9, 10)
    assert (r.loc["satisfaction", "numerator"], r.loc["satisfaction", "denominator"]) == (9, 10)
    assert r.loc["response", "rate"] == pytest.approx(11 / 12)


def test_resolution_rate_is_over_closed_tickets(tiny_con):
    # March 2024: T16-T20 all closed and rated; T20 not resolved. Whole store: 18 closed, 16 resolved
    # (T05 and T20 not), 18 rated.
    r = overview.rates(tiny_con, Filters()).set_index("key")
    assert (r.loc["resolution", "numerator"], r.loc["resolution", "denominator"]) == (16, 18)
    assert r.loc["resolution", "rate"] <= 1


def test_rates_empty_selection_have_no_rate(tiny_con):
    r = overview.rates(tiny_con, MARCH.replace(districts=("延庆区",)))
    assert list(r["denominator"]) == [0, 0, 0]
    assert r["rate"].isna().all()


@PATHS
def test_trend_by_week_with_last_year(tiny_con, summary):
    t = overview.trend(tiny_con, MARCH, "week", summary=summary)
    weeks = [d.strftime("%m-%d") for d in t["period"]]
    # Mondays: Mar 1-2 fall in the week of Feb 24.
    assert weeks == ["02-24", "03-03", "03-10", "03-17", "03-24", "03-31"]
    # T01-T04 (3-6 Mar), T05-T07 (10-15), T08-T09 (18-20), T10-T11 (25-28), T12 (31).
    assert list(t["n"]) == [0, 4, 3, 2, 2, 1]
    # 2024 tickets shifted one year: T16 Mar 5 -> 2025-03-05 (week 03-03); T17 Mar 10, T18 Mar 15 (03-10);
    # T19 Mar 20 (03-17); T20 Mar 25 (03-24).
    assert list(t["n_last_year"]) == [0, 1, 2, 1, 1, 0]


@PATHS
def test_trend_by_day_fills_quiet_days(tiny_con, summary):
    t = overview.trend(tiny_con, MARCH, "day", summary=summary)
    assert len(t) == 31 and t["n"].sum() == 12 and t["n_last_year"].sum() == 5
    assert t.loc[t["period"] == "2025-03-01", "n"].iloc[0] == 0


def test_trend_month_without_last_year(tiny_con):
    t = overview.trend(tiny_con, Filters(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31)), "month")
    assert list(t["n"]) == [5]
    assert t["n_last_year"].isna().all()


@PATHS
def test_district_ranking(tiny_con, summary):
    r = overview.district_ranking(tiny_con, MARCH, summary=summary)
    assert len(r) == 16  # every district, zero or not
    top = r.head(4)
    assert list(top["district"]) == ["朝阳区", "东城区", "平谷区", "海淀区"]
    assert list(top["n"]) == [4, 3, 3, 2]
    assert r["n"].sum() == 12
    dc = r.set_index("district").loc["东城区"]
    assert dc["per_10k"] == pytest.approx(3 * 10000 / dc["population"])


def test_district_ranking_only_chosen_districts(tiny_con):
    r = overview.district_ranking(tiny_con, MARCH.replace(districts=("平谷区", "延庆区")))
    assert list(r["district"]) == ["平谷区", "延庆区"] and list(r["n"]) == [3, 0]


@PATHS
def test_top_categories_and_topics(tiny_con, summary):
    c = overview.top_values(tiny_con, MARCH, "category_l3", limit=3, summary=summary)
    assert list(c["key"]) == ["城乡建设/市政设施/井盖破损", "城乡建设/物业管理/物业服务", "市场监管/商品质量/假冒伪劣"]
    assert list(c["n"]) == [3, 2, 2]
    assert c["share"].iloc[0] == pytest.approx(3 / 12)
    l1 = overview.top_values(tiny_con, MARCH, "category_l1", summary=summary)
    assert dict(zip(l1["key"], l1["n"], strict=True)) == {"城乡建设": 5, "生态环境": 4, "市场监管": 2, "劳动社保": 1}
    t = overview.top_values(tiny_con, MARCH, "topic", summary=summary)
    assert dict(zip(t["key"], t["n"], strict=True)) == {"井盖": 3, "假冒伪劣": 2, "污水": 2, "欠薪": 1}
    assert t["share"].sum() == pytest.approx(8 / 12)  # 4 tickets have no topic


@PATHS
def test_changes_by_category(tiny_con, summary):
    ch = overview.changes(tiny_con, MARCH, "category_l3", min_base=1, summary=summary).set_index("key")
    assert ch.loc["城乡建设/市政设施/井盖破损", ["current", "previous", "change"]].tolist() == [3, 1, 2]
    assert ch.loc["城乡建设/市政设施/井盖破损", "pct"] == pytest.approx(2.0)
    assert ch.loc["市场监管/商品质量/假冒伪劣", ["current", "previous", "change"]].tolist() == [2, 0, 2]
    assert pd.isna(ch.loc["市场监管/商品质量/假冒伪劣", "pct"])      # new: no % from 0
    assert ch.loc["生态环境/水污染/污水排放", ["current", "previous", "change"]].tolist() == [2, 1, 1]
    assert len(ch) == 6


def test_changes_minimum_base_drops_small_counts(tiny_con):
    # With a base of 3 only 井盖破损 (3 vs 1) is big enough.
    ch = overview.changes(tiny_con, MARCH, "category_l3", min_base=3)
    assert list(ch["key"]) == ["城乡建设/市政设施/井盖破损"]


@PATHS
def test_changes_by_street_keys_by_district(tiny_con, summary):
    ch = overview.changes(tiny_con, MARCH, "street", min_base=1, summary=summary).set_index("key")
    # 八里庄街道 exists in 朝阳 (T03, T10) and 海淀 (T08, T12): kept apart.
    assert ch.loc["朝阳区/八里庄街道", "current"] == 2 and ch.loc["海淀区/八里庄街道", "current"] == 2
    # 望京街道: T04, T05 now; T14, T15 before -> no change.
    assert ch.loc["朝阳区/望京街道", ["current", "previous", "change"]].tolist() == [2, 2, 0]
    up, down = overview.risers_fallers(ch.reset_index(), k=2)
    assert list(up["change"]) == [2, 2] and down.empty


def test_changes_without_previous_data_is_empty(tiny_con):
    ch = overview.changes(tiny_con, Filters(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31)), min_base=1)
    assert ch.empty and list(ch.columns) == ["key", "current", "previous", "change", "pct"]


def test_bad_arguments_are_refused(tiny_con):
    with pytest.raises(ValueError):
        overview.trend(tiny_con, MARCH, "year; DROP TABLE tickets")
    with pytest.raises(ValueError):
        overview.changes(tiny_con, MARCH, "content")
    with pytest.raises(ValueError):
        overview.top_values(tiny_con, MARCH, "complainant_name")


def test_empty_store(empty_db_path):
    from data import store

    con = store.connect(empty_db_path, read_only=True)
    try:
        assert overview.data_range(con) == (None, None)
        k = overview.kpis(con, MARCH)
        assert list(k["value"]) == [0, 0, 0, 0, 0] and k["prev"].isna().all()
        assert overview.trend(con, MARCH, "month")["n"].tolist() == [0]
        assert overview.district_ranking(con, MARCH)["n"].sum() == 0
    finally:
        con.close()


def test_funnel_still_open_only_for_recent_periods():
    from datetime import date

    last = date(2025, 3, 31)
    assert overview.funnel_still_open(Filters(date_from=date(2025, 3, 1), date_to=last), last)
    assert overview.funnel_still_open(Filters(date_to=date(2025, 1, 1)), last)          # 89 days before
    assert not overview.funnel_still_open(Filters(date_to=date(2024, 12, 31)), last)    # 90 days before
    assert overview.funnel_still_open(Filters(), last)                                 # open end = last day
    assert not overview.funnel_still_open(Filters(), None)                             # empty store


def test_kpi_value_and_last_year(tiny_con):
    k = overview.kpis(tiny_con, MARCH)
    assert overview.kpi_value(k, "tickets") == 12 and overview.kpi_value(k, "rectified") == 2
    assert overview.kpi_value(k, "no such tile") == 0
    assert overview.has_last_year(overview.trend(tiny_con, MARCH, "month"))          # March 2024: T16-T20
    early = Filters(date_from=date(2024, 3, 5), date_to=date(2024, 3, 31))
    assert not overview.has_last_year(overview.trend(tiny_con, early, "month"))      # before the data
