"""Honest first screens on any data (issue 20): the default period, thin comparisons, inputs the data never
had, the category levels it has, and the stopwords of letters and English text. Small files written here."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from analytics import coverage, overview, periods
from analytics.filters import Filters


def _store(tmp_path, rows: list[dict], name="s", mapping=None):
    """A store holding `rows` imported through the pipeline (a CSV written here)."""
    from data import store
    from data.ingest import ingest_files

    f = tmp_path / f"{name}.csv"
    pd.DataFrame(rows).to_csv(f, index=False)
    db = tmp_path / f"{name}.duckdb"
    con = store.connect(db)
    reps = ingest_files(con, [f], mapping=mapping)
    assert all(r.ok for r in reps), [r.message for r in reps]
    con.close()
    return store.connect(db, read_only=True)


def _days(start: date, n: int, per_day: int = 1, **cols) -> list[dict]:
    out = []
    for i in range(n):
        for j in range(per_day):
            t = datetime.combine(start + timedelta(days=i), datetime.min.time()) + timedelta(hours=9, minutes=j)
            out.append({"工单编号": f"T{start:%m%d}{i:03d}{j:02d}", "受理时间": t.strftime("%Y-%m-%d %H:%M"),
                        "诉求内容": "路灯不亮，晚上很黑", **cols})
    return out


# ---------------------------------------------------------------- default period
@pytest.mark.parametrize("lo, hi, month_n, expect, kind", [
    # data ending on a month's last day: that month (today's behaviour on the demo)
    (date(2024, 1, 1), date(2024, 3, 31), 10, (date(2024, 3, 1), date(2024, 3, 31)), "month"),
    # an export taken mid-month: the incomplete tail is not the default, the last complete month is
    (date(2017, 6, 8), date(2020, 1, 7), 10, (date(2019, 12, 1), date(2019, 12, 31)), "month"),
    # less than a calendar month of data (a four-hour NYC window): the last 30 days, from the first day
    (date(2024, 4, 16), date(2024, 4, 16), None, (date(2024, 4, 16), date(2024, 4, 16)), "days"),
    (date(2024, 3, 20), date(2024, 4, 16), None, (date(2024, 3, 20), date(2024, 4, 16)), "days"),
    # the last complete month has no tickets (a gap): the last 30 days instead
    (date(2010, 1, 1), date(2025, 2, 6), 0, (date(2025, 1, 8), date(2025, 2, 6)), "days"),
])
def test_default_period_rule(lo, hi, month_n, expect, kind):
    p = periods.choose(lo, hi, month_n)
    assert (p.date_from, p.date_to) == expect and p.kind == kind
    assert p.reason.startswith("默认显示")


def _per_month(counts: dict[tuple[int, int], int]):
    """window_tickets for choose(): the tickets of whole months (year, month) -> n."""
    return lambda a, b: sum(n for (y, m), n in counts.items() if a <= date(y, m, 1) <= b)


def test_a_thin_last_month_widens_to_three_then_twelve_months_then_everything():
    # sparse messages (the smartgov sample's last months): December 6, November 17, October 8
    sparse = {(2019, 12): 6, (2019, 11): 17, (2019, 10): 8, (2019, 9): 13, **{(2019, m): 10 for m in range(1, 9)}}
    lo, hi = date(2017, 6, 8), date(2020, 1, 7)
    p = periods.choose(lo, hi, 6, window_tickets=_per_month(sparse), floor=30)
    assert (p.date_from, p.date_to, p.kind) == (date(2019, 10, 1), date(2019, 12, 31), "months")
    assert p.reason == "默认显示最近 3 个完整月（最近一个完整月仅 6 件工单，少于 30 件）"
    p = periods.choose(lo, hi, 6, window_tickets=_per_month(sparse), floor=40)       # 3 months: 31
    assert (p.date_from, p.date_to, p.kind) == (date(2019, 1, 1), date(2019, 12, 31), "months")
    p = periods.choose(lo, hi, 6, window_tickets=_per_month(sparse), floor=500)      # 12 months: 124
    assert (p.date_from, p.date_to, p.kind) == (lo, hi, "all") and "数据较少" in p.reason
    # twelve months that the data does not cover entirely are not a "complete" window: everything instead
    p = periods.choose(date(2019, 8, 15), hi, 6, window_tickets=_per_month(sparse), floor=40)
    assert (p.date_from, p.date_to, p.kind) == (date(2019, 8, 15), hi, "all")
    # a month that holds enough stays the default
    p = periods.choose(lo, hi, 30, window_tickets=_per_month(sparse), floor=30)
    assert (p.date_from, p.date_to, p.kind) == (date(2019, 12, 1), date(2019, 12, 31), "month")


def test_default_period_says_why_the_tail_is_left_out():
    p = periods.choose(date(2017, 6, 8), date(2020, 1, 7), 10)
    assert "2020-01-01 起的数据不足一个整月" in p.reason
    assert periods.choose(None, None) is None


def test_default_period_from_the_store(tmp_path, monkeypatch):
    # 40 days up to 2024-05-10: April is complete, the 10 days of May are a tail
    con = _store(tmp_path, _days(date(2024, 4, 1), 40))
    p = periods.default_period(con)
    assert (p.date_from, p.date_to, p.kind) == (date(2024, 4, 1), date(2024, 4, 30), "month")
    # April's 30 tickets are too few for this setting; three months are not covered: all the data
    monkeypatch.setenv("HOTLINE_DEFAULT_PERIOD_MIN_TICKETS", "31")
    p = periods.default_period(con)
    assert (p.date_from, p.date_to, p.kind) == (date(2024, 4, 1), date(2024, 5, 10), "all")
    assert p.reason == "默认显示全部数据（最近一个完整月仅 30 件工单，少于 31 件，数据较少）"


# ---------------------------------------------------------------- thin comparisons
def test_thin_previous_period_is_not_compared(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_MIN_COMPARE_BASE", "30")
    # March: 4 tickets; April: 62 tickets (2 a day)
    con = _store(tmp_path, _days(date(2024, 3, 28), 4) + _days(date(2024, 4, 1), 31, per_day=2)[:62])
    april = Filters(date_from=date(2024, 4, 1), date_to=date(2024, 4, 30))
    k = overview.kpis(con, april)
    row = k.set_index("key").loc["tickets"]
    assert row["value"] == 60 and row["prev"] == 4
    assert pd.isna(row["prev_pct"])                                   # never "+1400.0%"
    assert row["prev_note"] == "上期仅 4 件工单（少于 30 件），不作比较"
    assert overview.previous_note(con, april) == row["prev_note"]
    assert overview.changes(con, april, by="category_l1").empty
    monkeypatch.setenv("HOTLINE_MIN_COMPARE_BASE", "4")
    k = overview.kpis(con, april)
    assert k.set_index("key").loc["tickets", "prev_pct"] == pytest.approx((60 - 4) / 4)
    assert overview.previous_note(con, april) is None


# ---------------------------------------------------------------- inputs the data never had
def test_rates_without_their_columns_read_dash_and_name_the_column(tmp_path):
    con = _store(tmp_path, _days(date(2024, 4, 1), 5, 一级分类="城乡建设"))
    cov = coverage.coverage(con)
    assert cov.tickets == 5 and not cov.has("responded_at") and not cov.has("lon")
    f = Filters(date_from=date(2024, 4, 1), date_to=date(2024, 4, 30))
    r = overview.with_missing_inputs(overview.rates(con, f), cov).set_index("key")
    assert pd.isna(r.loc["response", "rate"])                         # not 0.0 %
    assert "“响应时间”" in r.loc["response", "missing"]
    assert "“办结时间”、“是否解决”" in r.loc["resolution", "missing"]
    assert "“满意度”" in r.loc["satisfaction", "missing"]
    k = overview.with_missing_inputs(overview.kpis(con, f), cov).set_index("key")
    assert k.loc["tickets", "value"] == 5 and pd.isna(k.loc["tickets", "missing"])
    assert pd.isna(k.loc["located", "value"]) and "“经纬度”" in k.loc["located", "missing"]
    assert pd.isna(k.loc["clues", "value"]) and "线索台账" in k.loc["clues", "missing"]


def test_a_real_zero_stays_zero(tmp_path):
    # the store has response times (one ticket); the other period's 0 % is a real 0 %
    rows = _days(date(2024, 4, 1), 3) + _days(date(2024, 5, 1), 2)
    rows[0]["响应时间"] = "2024-04-01 10:00"
    con = _store(tmp_path, rows)
    cov = coverage.coverage(con)
    f = Filters(date_from=date(2024, 5, 1), date_to=date(2024, 5, 31))
    r = overview.with_missing_inputs(overview.rates(con, f), cov).set_index("key")
    assert r.loc["response", "rate"] == 0 and pd.isna(r.loc["response", "missing"])


# ---------------------------------------------------------------- category levels
def test_charts_use_the_deepest_level_the_data_has(tmp_path):
    con = _store(tmp_path, _days(date(2024, 4, 1), 3, 一级分类="城乡建设") + _days(date(2024, 5, 1), 2, 一级分类="交通"))
    cov = coverage.coverage(con)
    assert cov.category_depth == 1 and coverage.deepest_category(cov) == "category_l1"
    top = overview.top_values(con, Filters(), by=coverage.deepest_category(cov))
    assert list(top["label"]) == ["城乡建设", "交通"]                  # level 3 would say 暂无数据
    from analytics import topics

    tree = topics.trim_tree(topics.category_tree(con, Filters()), cov.category_depth)
    assert set(tree["level"]) == {1} and topics.UNCATEGORISED not in set(tree["label"])


def test_unplaced_tickets_are_counted_for_the_ranking_note(tmp_path):
    con = _store(tmp_path, _days(date(2024, 4, 1), 3, 所属区="朝阳区") + _days(date(2024, 5, 1), 2))
    assert overview.unplaced(con, Filters()) == 2
    rk = overview.district_ranking(con, Filters())
    assert int(rk["n"].sum()) == 3


# ---------------------------------------------------------------- words
def test_letter_and_english_fillers_are_stopwords():
    from data import segment

    letter = "尊敬的领导：您好！我们小区的路灯坏了很久，恳请领导尽快协调维修，这样无法正常生活。此致敬礼"
    words = segment.words_of(letter)
    for filler in ("尊敬", "领导", "恳请", "这样", "无法", "正常", "生活", "此致", "敬礼"):
        assert filler not in words
    assert "路灯" in words
    english = "The Department of Transportation referred this complaint. Please contact 311. Traffic Signal out"
    words = segment.words_of(english)
    assert not {"The", "the", "of", "Department", "complaint", "Please", "contact"} & set(words)
    assert {"transportation", "traffic", "signal"} <= set(words)           # Latin words in lower case
    assert segment.words_of("WATER LEAK") == segment.words_of("Water leak") == ["water", "leak"]


def test_an_empty_topic_chart_says_why(tmp_path, tiny_con):
    from datetime import date as d

    assert coverage.topic_note(tiny_con, Filters(date_from=d(2025, 3, 1), date_to=d(2025, 3, 31))) is None
    # tickets of Beijing (a district) without any topic signal: none is a topic ticket, and that is all it says
    con = _store(tmp_path, _days(date(2024, 4, 1), 3, 所属区="朝阳区"))
    assert coverage.topic_note(con, Filters()) == "所选 3 件工单中没有专项工单（专项由“专项”列或北京市的专项规则判定）。"


def test_the_trend_opens_on_a_grain_that_fits_the_period():
    span = lambda a, b: Filters(date_from=a, date_to=b)  # noqa: E731
    assert overview.default_grain(span(date(2025, 3, 1), date(2025, 3, 31))) == "day"
    assert overview.default_grain(span(date(2019, 10, 1), date(2019, 12, 31))) == "week"   # a widened default
    assert overview.default_grain(span(date(2017, 6, 8), date(2020, 1, 7))) == "month"
    assert overview.default_grain(Filters()) == "day"
