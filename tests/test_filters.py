"""Filters: SQL with bound parameters, URL round trips, periods (table-driven, on the tiny store)."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.filters import NO_TOPIC, Filters

MARCH = {"date_from": date(2025, 3, 1), "date_to": date(2025, 3, 31)}


@pytest.mark.parametrize(
    ("filters", "sql", "params"),
    [
        (Filters(), "TRUE", {}),
        (Filters(districts=("朝阳区",)), "district IN ($f0)", {"f0": "朝阳区"}),
        (Filters(**MARCH), "received_at >= $f0::TIMESTAMP AND received_at < ($f1::DATE + INTERVAL 1 DAY)",
         {"f0": date(2025, 3, 1), "f1": date(2025, 3, 31)}),
        (Filters(categories=("城乡建设/市政设施",)), "((category_l1 = $f0 AND category_l2 = $f1))",
         {"f0": "城乡建设", "f1": "市政设施"}),
        (Filters(topics=("井盖", NO_TOPIC)), "(topic IN ($f0) OR topic IS NULL)", {"f0": "井盖"}),
        # every term in the content or the reply (答复意见)
        (Filters(text="井盖 破损"),
         "(contains(content, $f0) OR contains(reply, $f0)) AND (contains(content, $f1) OR contains(reply, $f1))",
         {"f0": "井盖", "f1": "破损"}),
        # Latin letters in any case ("WATER" and "Water" are one word)
        (Filters(text="Water"), "(contains(lower(content), $f0) OR contains(lower(reply), $f0))", {"f0": "water"}),
    ],
)
def test_where_sql_and_params(filters, sql, params):
    w = filters.where()
    assert w.sql == sql
    assert w.params == params


@pytest.mark.parametrize(
    ("filters", "expected_ids"),
    [
        (Filters(**MARCH), [f"T{i:02d}" for i in range(1, 13)]),
        (Filters(**MARCH, districts=("朝阳区",)), ["T03", "T04", "T05", "T10"]),
        (Filters(streets=("八里庄街道",), districts=("海淀区",)), ["T08", "T12", "T17"]),
        (Filters(categories=("市场监管",)), ["T06", "T11", "T18"]),
        (Filters(categories=("城乡建设/物业管理/物业服务",), **MARCH), ["T08", "T10"]),
        (Filters(topics=("井盖",)), ["T01", "T02", "T03", "T13", "T16"]),
        (Filters(topics=(NO_TOPIC,), **MARCH), ["T08", "T09", "T10", "T12"]),
        (Filters(channels=("网络",), **MARCH), ["T03", "T06", "T10"]),
        (Filters(appeal_types=("咨询",)), ["T08", "T19"]),
        (Filters(functions=("公益诉讼",)), ["T01", "T02", "T04", "T05", "T13"]),
        (Filters(functions=("刑事", "行政")), ["T06", "T11"]),
        (Filters(text="兴谷市场"), ["T06", "T11", "T18"]),
        (Filters(text="兴谷市场 三无"), ["T11"]),
        (Filters(date_from=date(2025, 3, 31), date_to=date(2025, 3, 31)), ["T12"]),
    ],
)
def test_where_selects_the_right_tickets(tiny_con, filters, expected_ids):
    w = filters.where("t")
    got = [r[0] for r in tiny_con.execute(
        f"SELECT ticket_id FROM tickets t WHERE {w.sql} ORDER BY ticket_id", w.params).fetchall()]
    assert got == expected_ids


def test_user_text_is_bound_never_formatted(tiny_con):
    f = Filters(text="'); DROP TABLE tickets; --", districts=("x' OR '1'='1",))
    w = f.where()
    assert "DROP" not in w.sql and "'1'='1" not in w.sql
    assert tiny_con.execute(f"SELECT count(*) FROM tickets WHERE {w.sql}", w.params).fetchone()[0] == 0
    assert tiny_con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 20


def test_daily_where_matches_ticket_counts(tiny_con):
    for f in (Filters(**MARCH), Filters(districts=("平谷区",)), Filters(topics=("污水",), **MARCH)):
        w, d = f.where(), f.daily_where()
        n_t = tiny_con.execute(f"SELECT count(*) FROM tickets WHERE {w.sql}", w.params).fetchone()[0]
        n_d = tiny_con.execute(f"SELECT sum(n) FROM ticket_daily WHERE {d.sql}", d.params).fetchone()[0]
        assert n_t == n_d
    with pytest.raises(ValueError):
        Filters(text="x").daily_where()


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(**MARCH, districts=("朝阳区", "东城区"), categories=("城乡建设/市政设施/井盖破损",),
                         topics=("井盖",), channels=("电话",), appeal_types=("投诉",), functions=("公益诉讼",),
                         text="井盖 破损", streets=("建国门街道",))],
)
def test_url_round_trip(filters):
    assert Filters.from_query(filters.to_query()) == filters


def test_from_query_drops_bad_dates_and_keeps_unknown_values():
    # An unknown value is kept so that it matches nothing: a shared link naming one shows nothing, not
    # everything (issue 22 item 7; the sidebar says which values are unknown).
    f = Filters.from_query({"from": "2025-13-01", "to": "2025-03-31", "function": "刑事,魔法", "foo": "bar"})
    assert f.date_from is None and f.date_to == date(2025, 3, 31)
    assert f.functions == ("刑事", "魔法")
    swapped = Filters.from_query({"from": "2025-03-31", "to": "2025-03-01"})
    assert swapped.date_from == date(2025, 3, 1)


def test_periods():
    f = Filters(**MARCH)
    assert f.span_days() == 31
    prev = f.previous_period()
    assert (prev.date_from, prev.date_to) == (date(2025, 1, 29), date(2025, 2, 28))
    ya = f.year_ago()
    assert (ya.date_from, ya.date_to) == (date(2024, 3, 1), date(2024, 3, 31))
    leap = Filters(date_from=date(2024, 2, 29), date_to=date(2024, 2, 29)).year_ago()
    assert leap.date_from == date(2023, 2, 28)
    assert Filters().previous_period() is None


def test_validation_and_description():
    with pytest.raises(ValueError, match="晚于"):
        Filters(date_from=date(2025, 3, 2), date_to=date(2025, 3, 1))
    # an unknown function is kept and matches nothing: a shared link naming one shows nothing (issue 22 item 7)
    assert Filters(functions=("魔法",)).functions == ("魔法",)
    assert Filters().describe() == "全部数据"
    d = Filters(**MARCH, districts=("朝阳区",), text="井盖").describe()
    assert "2025-03-01 至 2025-03-31" in d and "区：朝阳区" in d and "关键词：井盖" in d
    assert Filters(districts="朝阳区").districts == ("朝阳区",)
