"""Monthly word summaries (data/words.py) as read by analytics/topics.py: same numbers as the ticket path."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pytest

from analytics import topics as T
from analytics.filters import Filters
from data import derived, store, word_tables
from tests.test_topics import BACKGROUND, GEN_SQL


@pytest.fixture(scope="module")
def gen_path(tmp_path_factory):
    """The generated store of test_topics (2,400 tickets, 2025-01-01 .. 2025-04-30, three districts)."""
    p = tmp_path_factory.mktemp("gen_monthly") / "gen.duckdb"
    con = store.connect(p)
    con.execute(GEN_SQL, {"bg": list(BACKGROUND)})
    derived.refresh(con)
    con.close()
    return p


@pytest.fixture(scope="module")
def gen_ro(gen_path):
    con = store.connect(gen_path, read_only=True)
    yield con
    con.close()


@pytest.mark.parametrize("lo, hi, full, edges", [
    (date(2025, 1, 1), date(2025, 3, 31), (date(2025, 1, 1), date(2025, 3, 1)), []),
    (date(2025, 1, 15), date(2025, 4, 10), (date(2025, 2, 1), date(2025, 3, 1)),
     [(date(2025, 1, 15), date(2025, 1, 31)), (date(2025, 4, 1), date(2025, 4, 10))]),
    (date(2025, 1, 10), date(2025, 1, 20), None, [(date(2025, 1, 10), date(2025, 1, 20))]),
    (date(2025, 1, 31), date(2025, 3, 1), (date(2025, 2, 1), date(2025, 2, 1)),
     [(date(2025, 1, 31), date(2025, 1, 31)), (date(2025, 3, 1), date(2025, 3, 1))]),
    (date(2024, 2, 29), date(2024, 2, 29), None,
     [(date(2024, 2, 29), date(2024, 2, 29))]),
    (date(2024, 12, 2), date(2025, 1, 31), (date(2025, 1, 1), date(2025, 1, 1)),
     [(date(2024, 12, 2), date(2024, 12, 31))]),
    (None, date(2025, 1, 30), (None, date(2024, 12, 1)), [(date(2025, 1, 1), date(2025, 1, 30))]),
    (date(2025, 1, 2), None, (date(2025, 2, 1), None), [(date(2025, 1, 2), date(2025, 1, 31))]),
    (None, None, (None, None), []),
])
def test_month_split(lo, hi, full, edges):
    assert T._period_split(lo, hi, "month") == (full, edges)


@pytest.mark.parametrize("lo, hi, full, edges", [
    (date(2025, 1, 6), date(2025, 1, 19), (date(2025, 1, 6), date(2025, 1, 13)), []),        # Monday .. Sunday
    (date(2025, 1, 1), date(2025, 1, 31), (date(2025, 1, 6), date(2025, 1, 20)),
     [(date(2025, 1, 1), date(2025, 1, 5)), (date(2025, 1, 27), date(2025, 1, 31))]),
    (date(2025, 1, 7), date(2025, 1, 12), None, [(date(2025, 1, 7), date(2025, 1, 12))]),
    (None, date(2025, 1, 8), (None, date(2024, 12, 30)), [(date(2025, 1, 6), date(2025, 1, 8))]),
])
def test_week_split(lo, hi, full, edges):
    assert T._period_split(lo, hi, "week") == (full, edges)


def test_smallest_summary_for_the_filters():
    assert T._word_summary_table(Filters(), "week") == "word_weekly_all"
    assert T._word_summary_table(Filters(districts=("东城区",)), "week") == "word_weekly"
    assert T._word_summary_table(Filters()) == "word_monthly_all"
    assert T._word_summary_table(Filters(topics=("井盖",))) == "word_monthly_topic"
    assert T._word_summary_table(Filters(districts=("东城区",))) == "word_monthly"
    assert T._word_summary_table(Filters(districts=("东城区",), topics=("井盖",))) == "word_monthly"
    assert T._word_summary_table(Filters(categories=("城乡建设",))) == "word_monthly"


def test_whole_months_never_read_word_daily(gen_ro):
    s = T._word_source(Filters(date_from=date(2025, 2, 1), date_to=date(2025, 3, 31)), con=gen_ro)
    assert "word_monthly_all" in s.from_sql and "word_daily" not in s.from_sql
    s = T._word_source(Filters(date_from=date(2025, 2, 3), date_to=date(2025, 3, 31), districts=("东城区",)),
                       con=gen_ro)
    assert "word_monthly " in s.from_sql and "word_daily" in s.from_sql
    s = T._word_source(Filters(date_from=date(2025, 2, 1), date_to=date(2025, 3, 31)), con=gen_ro, grain=None)
    assert "word_monthly" not in s.from_sql
    s = T._word_source(Filters(date_from=date(2025, 2, 3), date_to=date(2025, 3, 30)), con=gen_ro, grain="week")
    assert "word_weekly_all" in s.from_sql and "word_daily" not in s.from_sql


STATES = [
    Filters(date_from=date(2025, 1, 15), date_to=date(2025, 4, 10)),
    Filters(date_from=date(2025, 2, 1), date_to=date(2025, 3, 31), districts=("东城区",)),
    Filters(date_from=date(2025, 1, 10), date_to=date(2025, 1, 20), categories=("城乡建设",)),
    Filters(date_from=date(2025, 4, 1), date_to=date(2025, 4, 30), districts=("西城区", "朝阳区")),
    Filters(date_from=date(2025, 3, 20), date_to=date(2025, 4, 30)),
    Filters(),
]


def _everything(con, f):
    out = {"top": T.top_words(con, f, limit=50).values.tolist(),
           "phrases": T.top_words(con, f, kind="phrase", limit=50).values.tolist(),
           "total": T.example_tickets(con, f, "红绿灯", limit=1).attrs["total"]}
    for grain in ("month", "week", "day"):
        out[grain] = T.word_trend(con, f, ["红绿灯", "垃圾", "路口 红绿灯"], grain=grain).values.tolist()
    if f.date_from:
        em = T.emerging(con, f, periods=1, min_count=2)
        out["emerging"] = em[["key", "x", "y", "p", "q"]].values.tolist()
    return out


@pytest.mark.parametrize("f", STATES, ids=range(len(STATES)))
def test_monthly_summaries_give_the_ticket_path_numbers(gen_ro, f, monkeypatch):
    fast = _everything(gen_ro, f)
    assert fast["top"] and fast["total"] > 0
    monkeypatch.setattr(T, "words_from_summary", lambda _f: False)
    assert fast == _everything(gen_ro, f)


def test_store_without_monthly_tables_uses_word_daily(gen_path, gen_ro, tmp_path):
    p = tmp_path / "old.duckdb"
    shutil.copy(gen_path, p)
    con = store.connect(p)
    for table, _ in word_tables.WORD_SUMMARIES + word_tables.WORD_WEEKLY:
        con.execute(f"DROP TABLE {table}")
    con.close()
    con = duckdb.connect(str(p), read_only=True)  # not store.connect: it would add them back on open
    try:
        f = STATES[0]
        assert "word_monthly" not in T._word_source(f, con=con).from_sql
        assert _everything(con, f) == _everything(gen_ro, f)
    finally:
        con.close()
    # refresh_summaries adds them back (what `manage.py words --summaries` runs).
    con = store.connect(p)
    try:
        word_tables.refresh_summaries(con)
        assert T._has_monthly(con)
    finally:
        con.close()


@pytest.mark.parametrize("f", [Filters(), Filters(date_from=date(2025, 4, 29)),
                               Filters(date_from=date(2025, 1, 1), date_to=date(2025, 4, 30)),
                               Filters(date_to=date(2025, 3, 2), districts=("东城区",))], ids=range(4))
@pytest.mark.parametrize("word", ["红绿灯", "喷淋", "垃圾"])
def test_example_tickets_from_recent_windows_are_the_latest(gen_ro, f, word, monkeypatch):
    fast = T.example_tickets(gen_ro, f, word, limit=10)
    monkeypatch.setattr(T, "RECENT_WINDOWS", ())
    slow = T.example_tickets(gen_ro, f, word, limit=10)
    assert fast["ticket_id"].tolist() == slow["ticket_id"].tolist() and fast.attrs == slow.attrs
    if f.date_from:
        assert (fast["received_at"].dt.date >= f.date_from).all()
