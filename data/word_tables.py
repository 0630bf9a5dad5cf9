"""Word counts: `word_daily` (day x district x topic x category_l1 x word) and its monthly and weekly
summaries, which the topics page reads (analytics/topics.py picks the smallest one that holds the filters).

They are built from `ticket_words` (data/words.py) and from the counts a words refresh stages as
it stores each batch (`_words_acc`, the days touched `_words_days`): in full, by calendar month
(`by_window`, so memory stays bounded), or for the touched days and periods only, or as signed
deltas (`apply_word_deltas`) in an incremental refresh.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from data.tablebuild import add_deltas, run, table_name

# Each batch is also counted by day x district x topic x category_l1 x word as it is stored, so that
# word_daily never needs the join of ticket_words (9 rows a ticket) with tickets.
ACC_CREATE_SQL = ("CREATE OR REPLACE TEMP TABLE _words_acc (day DATE, district VARCHAR, topic VARCHAR, "
                  "category_l1 VARCHAR, word VARCHAR, n BIGINT, chunk INTEGER)")
ACC_INSERT_SQL = ("INSERT INTO _words_acc SELECT day, district, topic, category_l1, word, count(*), $chunk "
                  "FROM _words_batch GROUP BY ALL")
# Every statement over the counts runs once per calendar month (`{win}`, see by_window): at 25 M tickets
# the per-batch counts hold ~40 M rows, and grouping and sorting them at once exceeded a 2 GB memory limit.
WORD_DAILY_CREATE_SQL = ("CREATE OR REPLACE TABLE word_daily (day DATE, district VARCHAR, topic VARCHAR, "
                         "category_l1 VARCHAR, word VARCHAR, n BIGINT)")
WORD_DAILY_FROM_ACC_SQL = """
INSERT INTO word_daily
SELECT day, district, topic, category_l1, word, sum(n)::BIGINT FROM _words_acc WHERE {win} GROUP BY ALL ORDER BY day
"""
# Only new tickets (none had words before): the affected days are their old rows plus the new counts.
WORD_DAILY_ADD_SQL = """
CREATE OR REPLACE TEMP TABLE _words_new_daily AS
SELECT day, district, topic, category_l1, word, sum(n)::BIGINT AS n FROM (
    SELECT day, district, topic, category_l1, word, n FROM word_daily
    WHERE {win} AND day IN (SELECT day FROM _words_days)
    UNION ALL
    SELECT day, district, topic, category_l1, word, n FROM _words_acc WHERE {win}
) GROUP BY ALL
"""

WORD_DAILY_SELECT = """
SELECT w.day, t.district, t.topic, t.category_l1, w.word, count(*) AS n
FROM ticket_words w JOIN tickets t USING (ticket_id)
{where}
GROUP BY ALL
"""
WORD_DAILY_DELETE_SQL = "DELETE FROM word_daily WHERE {win} AND day IN (SELECT day FROM _words_days)"
WORD_DAILY_INSERT_SQL = "INSERT INTO word_daily " + WORD_DAILY_SELECT.format(
    where="WHERE {win} AND w.day IN (SELECT day FROM _words_days)") + " ORDER BY day"
WORD_DAILY_INSERT_NEW_SQL = "INSERT INTO word_daily SELECT * FROM _words_new_daily ORDER BY day"

# Coarser summaries of word_daily, smallest first: (table, dimension columns). A year view reads one row per
# month x word (x dimensions) instead of one per day; analytics/topics.py picks the smallest table that has
# every column the filters need, and adds word_daily rows for the days of partial months.
_DIMS = ("district", "topic", "category_l1")
WORD_SUMMARIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("word_monthly_all", ()),
    ("word_monthly_topic", ("topic",)),
    ("word_monthly", _DIMS),
)
# The same by week (Monday first), for weekly trends of a few words: sorted by word, so that the few words
# asked for are found by the zonemaps without reading the year.
WORD_WEEKLY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("word_weekly_all", ()),
    ("word_weekly_topic", ("topic",)),
    ("word_weekly", _DIMS),
)
# grain (also the table's period column) -> tables
SUMMARY_GRAINS = {"month": WORD_SUMMARIES, "week": WORD_WEEKLY}
PERIOD_SELECT = """
SELECT {period} AS {grain}, {dims}word, sum(n)::BIGINT AS n
FROM {source} {where}
GROUP BY ALL
ORDER BY {order}
"""
PERIODS_SQL = """
CREATE OR REPLACE TEMP TABLE _words_periods AS
SELECT DISTINCT date_trunc('{grain}', day)::DATE AS period FROM _words_days
"""
DAYS_WHERE = ("WHERE day >= $lo AND day < $hi + INTERVAL 1 {grain} "
              "AND date_trunc('{grain}', day)::DATE IN (SELECT period FROM _words_periods)")
PERIODS_WHERE = "WHERE {grain} >= $lo AND {grain} <= $hi AND {grain} IN (SELECT period FROM _words_periods)"


def _summary_plan(grain: str) -> list[tuple[str, tuple[str, ...], str]]:
    """(table, dims, source) in build order: the finest from word_daily, each coarser one from the previous
    (a year of word_daily at 25 M tickets is ~20 M rows, word_monthly ~1 M)."""
    plan, source = [], "word_daily"
    for table, dims in reversed(SUMMARY_GRAINS[grain]):
        plan.append((table, dims, source))
        source = table
    return plan


def _period_select(grain: str, dims: tuple[str, ...], source: str, incremental: bool) -> str:
    """SELECT of one summary from `source`; `incremental`: only the periods in _words_periods ($lo..$hi)."""
    order = ", ".join((grain, *dims)) if grain == "month" else f"word, {grain}"
    period = f"date_trunc('{grain}', day)::DATE" if source == "word_daily" else grain
    where = "WHERE {win}"
    if incremental:
        where = (DAYS_WHERE if source == "word_daily" else PERIODS_WHERE).format(grain=grain) + " AND {win}"
    return PERIOD_SELECT.format(period=period, grain=grain, dims="".join(f"{d}, " for d in dims), source=source,
                                where=where, order=order)


def _create_summary(con: duckdb.DuckDBPyConnection, table: str, grain: str, dims: tuple[str, ...]) -> None:
    cols = "".join(f"{d} VARCHAR, " for d in dims)
    run(con, f"CREATE OR REPLACE TABLE {table} ({grain} DATE, {cols}word VARCHAR, n BIGINT)")


def windows(lo: date | None, hi: date | None, grain: str = "month") -> list[tuple[date, date]]:
    """[a, b) day ranges covering lo..hi: calendar months, or blocks of 4 weeks from a Monday (grain week)."""
    out: list[tuple[date, date]] = []
    if lo is None or hi is None:
        return out
    a = lo.replace(day=1) if grain == "month" else lo - timedelta(days=lo.weekday())
    while a <= hi:
        b = (a.replace(day=28) + timedelta(days=4)).replace(day=1) if grain == "month" else a + timedelta(days=28)
        out.append((a, b))
        a = b
    return out


def by_window(con: duckdb.DuckDBPyConnection, sqls: list[str], col: str, lo: date | None, hi: date | None,
               params: dict | None = None, grain: str = "month") -> None:
    """Run each statement (with a `{win}` condition on `col`) once per window of lo..hi, then for NULL days.

    Bounds the memory of each statement by one month of counts whatever the size of the import.
    """
    for a, b in windows(lo, hi, grain):
        for sql in sqls:
            win = {"wa": a, "wb": b} if "{win}" in sql else {}
            run(con, sql.format(win=f"{col} >= $wa AND {col} < $wb"), {**(params or {}), **win})
    for sql in sqls:
        run(con, sql.format(win=f"{col} IS NULL"), params)


WORDS_DELTA_SQL = """
CREATE OR REPLACE TEMP TABLE _words_delta AS
SELECT day, district, topic, category_l1, word, CAST(sum(n) AS BIGINT) AS n FROM (
    SELECT day, district, topic, category_l1, word, n FROM _words_acc
    UNION ALL
    SELECT day, district, topic, category_l1, word, -n FROM _words_old_acc
) GROUP BY ALL HAVING sum(n) <> 0
"""


def _delta_tables() -> list[tuple[str, str, tuple[str, ...], str]]:
    """(table, period column, dims, stored order) of every word count table a delta is added to."""
    out = [("word_daily", "day", _DIMS, "day")]
    for grain, tables in SUMMARY_GRAINS.items():
        for table, dims in tables:
            order = ", ".join((grain, *dims)) if grain == "month" else f"word, {grain}"
            out.append((table, grain, dims, order))
    return out


def apply_word_deltas(con: duckdb.DuckDBPyConnection) -> None:
    """Add `_words_delta` to word_daily and each summary: the touched groups are deleted and written again
    with their new counts (empty ones dropped), at the end of the table (sorted again past
    tablebuild.COMPACT_SHARE). The same rows as a recount (tests/test_incremental.py)."""
    run(con, WORDS_DELTA_SQL)
    if not has_summaries(con):   # an older store: build them whole after word_daily
        _apply_word_delta(con, "word_daily", "day", _DIMS, "day")
        refresh_summaries(con)
    else:
        for table, col, dims, order in _delta_tables():
            _apply_word_delta(con, table, col, dims, order)
    for t in ("_words_delta", "_words_old_acc"):
        run(con, f"DROP TABLE IF EXISTS {t}")


def _apply_word_delta(con: duckdb.DuckDBPyConnection, table: str, col: str, dims: tuple[str, ...],
                      order: str) -> None:
    """Add `_words_delta` to one word count table (see add_deltas); the weekly tables are sorted by
    word, so every row written there is out of order."""
    if not con.execute("SELECT count(*) FROM _words_delta").fetchone()[0]:
        return
    period = "day" if col == "day" else f"date_trunc('{col}', day)::DATE"
    add_deltas(con, table, delta="_words_delta", col=col, keys=(*dims, "word"), measures=("n",),
                       order=order, period=period, all_unsorted=col == "week")


WORD_DAILY_REBUILD_SQL = """
INSERT INTO word_daily
SELECT w.day, t.district, t.topic, t.category_l1, w.word, count(*) AS n
FROM ticket_words w JOIN tickets t USING (ticket_id)
WHERE {win}
GROUP BY ALL
ORDER BY day
"""


def rebuild_daily(con: duckdb.DuckDBPyConnection) -> None:
    """Recount word_daily from ticket_words and tickets, one month at a time (no segmentation)."""
    ensure_schema(con)
    run(con, WORD_DAILY_CREATE_SQL)
    lo, hi = con.execute("SELECT min(day), max(day) FROM ticket_words").fetchone()
    by_window(con, [WORD_DAILY_REBUILD_SQL], "w.day", lo, hi)


def refresh_summaries(con: duckdb.DuckDBPyConnection, *, days_table: str | None = None) -> None:
    """Rebuild the monthly and weekly word summaries from `word_daily`: all, or the periods of `days_table` (day).

    A store without them (written before they existed) gets all of them, whatever `days_table` says.
    """
    ensure_schema(con)
    if days_table is None or not has_summaries(con):
        lo, hi = con.execute("SELECT min(day), max(day) FROM word_daily").fetchone()
        for grain in SUMMARY_GRAINS:
            for table, dims, source in _summary_plan(grain):
                _create_summary(con, table, grain, dims)
                sql = f"INSERT INTO {table} " + _period_select(grain, dims, source, False)
                by_window(con, [sql], "day" if source == "word_daily" else grain, lo, hi, grain=grain)
        return
    if days_table != "_words_days":
        run(con, f"CREATE OR REPLACE TEMP TABLE _words_days AS SELECT DISTINCT day FROM {table_name(days_table)}")
    for grain in SUMMARY_GRAINS:
        run(con, PERIODS_SQL.format(grain=grain))
        lo, hi = con.execute("SELECT min(period), max(period) FROM _words_periods").fetchone()
        if lo is None:
            continue
        last_day = hi + timedelta(days=31 if grain == "month" else 6)
        for table, dims, source in _summary_plan(grain):
            run(con, f"DELETE FROM {table} WHERE {grain} IN (SELECT period FROM _words_periods)")
            sql = f"INSERT INTO {table} " + _period_select(grain, dims, source, True)
            by_window(con, [sql], "day" if source == "word_daily" else grain, lo, last_day,
                       params={"lo": lo, "hi": hi}, grain=grain)
    run(con, "DROP TABLE IF EXISTS _words_periods")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Add the `day` column and `word_daily` to stores created before they existed (monthly tables: refresh_summaries)."""
    cols = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'ticket_words'").fetchall()}
    if "day" not in cols:
        run(con, "ALTER TABLE ticket_words ADD COLUMN day DATE")
    run(con, "CREATE TABLE IF NOT EXISTS word_daily (day DATE, district VARCHAR, topic VARCHAR, "
         "category_l1 VARCHAR, word VARCHAR, n BIGINT)")


# information_schema (standard SQL, read on every engine), base tables only: a scoped cursor's views do not count
HAS_SUMMARIES_SQL = ("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                     "AND table_type = 'BASE TABLE' AND table_name IN ("
                     + ", ".join(f"'{t}'" for t, _ in WORD_SUMMARIES + WORD_WEEKLY) + ")")


def has_summaries(con: duckdb.DuckDBPyConnection) -> bool:
    """Does the store have every monthly and weekly word summary? (Only ever created filled, by this module.)"""
    (n,) = con.execute(HAS_SUMMARIES_SQL).fetchone()
    return n == len(WORD_SUMMARIES) + len(WORD_WEEKLY)
