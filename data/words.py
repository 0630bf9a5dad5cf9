"""Words and phrases of each ticket's text, computed once at import and stored.

The topics page ranks words, follows them over time and tests which ones are
emerging. Segmenting Chinese text is far too slow to do on every view (25 M
tickets a year), so every import segments only the tickets it inserted or
updated and stores, per ticket, the set of distinct meaningful words in
`ticket_words`, then rebuilds the affected days of the small `word_daily`
summary that the page reads for its common filters.

Segmentation: jieba's dictionary and algorithm, through the C++ build
`jieba_fast_dat` when it is installed (about 13x faster, same dictionary and
user-dictionary format), else plain `jieba`; HMM off (new-word guessing adds
noise and costs time), the domain dictionary `data/dict/domain.txt` and every
Beijing street/township name loaded as user words, and the stopwords of
`data/dict/stopwords.txt` dropped.

A meaningful word has at least two characters, is not a stopword, contains no
digit (numbers, phone and ID numbers) and is not part of the complainant's own
name. A phrase is two meaningful words adjacent in the text, stored as
"词1 词2" (a space inside: the dashboard's text filter then requires both).
"""

from __future__ import annotations

import csv
import logging
import re
import tempfile
import time
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from data import derived, settings

DICT_DIR = Path(__file__).with_name("dict")
DOMAIN_FILE = DICT_DIR / "domain.txt"
STOPWORDS_FILE = DICT_DIR / "stopwords.txt"
STREET_NAMES_FILE = settings.PROJECT_ROOT / "geo" / "assets" / "beijing_subdistrict_centroids_wgs84.csv"
_STREET_SUFFIXES = ("街道办事处", "地区办事处", "街道", "地区", "镇", "乡")
# Compounds of jieba's base dictionary that hide a domain word: split them so
# 污水排放 counts as 污水 + 排放, like every other ticket about 污水.
SPLIT_WORDS = ("污水排放", "施工噪声", "噪音扰民", "井盖破损")

CHUNK_ROWS = 100_000          # tickets segmented per batch (bounds memory)
MIN_ROWS_FOR_WORKERS = 50_000  # below this, one process (starting workers costs about a second)
_TEXT_CACHE_MAX = 200_000     # distinct texts remembered (repeated complaints are common)
_HAS_DIGIT = re.compile(r"\d")
_WORDY = re.compile(r"[\u4e00-\u9fffA-Za-z]")

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- segmentation
@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The stopword list (comments and blank lines skipped)."""
    lines = STOPWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def place_words() -> list[str]:
    """Street/township names with and without their suffix (建国门街道, 建国门), 2+ characters."""
    out: dict[str, None] = {}
    with STREET_NAMES_FILE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = row["name"].strip()
            out[name] = None
            for suf in _STREET_SUFFIXES:
                if name.endswith(suf) and len(name) - len(suf) >= 2:
                    out[name[: -len(suf)]] = None
                    break
    return list(out)


def _cache_dir() -> Path:
    """Where jieba keeps its prefix-dictionary cache: var/cache/jieba, else the temp dir."""
    for d in (settings.PROJECT_ROOT / "var" / "cache" / "jieba", Path(tempfile.gettempdir()) / "hotline-jieba"):
        try:
            d.mkdir(parents=True, exist_ok=True)
            probe = d / ".w"
            probe.touch()
            probe.unlink()
            return d
        except OSError:
            continue
    return Path(tempfile.gettempdir())


@lru_cache(maxsize=1)
def tokenizer():
    """The initialised jieba tokenizer (domain dictionary and place names loaded), built once per process."""
    cache = _cache_dir()
    try:
        import jieba_fast_dat as jb
        from jieba_fast_dat.utils import CacheManager

        CacheManager.TMP_DIR = cache
    except ImportError:  # pragma: no cover - plain jieba fallback
        import jieba as jb
    jb.setLogLevel(logging.WARNING)
    dt = jb.dt
    dt.tmp_dir = str(cache)
    dt.initialize()
    dt.load_userdict(str(DOMAIN_FILE))
    for w in SPLIT_WORDS:
        dt.del_word(w)
    for w in place_words():
        dt.add_word(w, 1000, "ns")
    return dt


def backend() -> str:
    """Which segmenter is in use (for logs and the benchmark)."""
    return type(tokenizer()).__module__.split(".")[0]


def words_of(text: str | None, name: str | None = None) -> list[str]:
    """Distinct meaningful words, then adjacent-word phrases, of one text, in order of appearance.

    `name` is the complainant's name: words that are part of it are dropped
    so a name never shows up in a word ranking.
    """
    if not text:
        return []
    out = _segment(text)
    if name and len(name) >= 2 and any(name[i:i + 2] in text for i in range(len(name) - 1)):
        return [w for w in out if not any(part in name for part in w.split(" "))]
    return list(out)


_KEEP: dict[str, bool] = {}


def _keep(tok: str) -> bool:
    """Is this token a meaningful word? (memoised: the vocabulary of tickets is small)"""
    k = _KEEP.get(tok)
    if k is None:
        if len(_KEEP) > 1_000_000:  # unique numbers would grow it without bound
            _KEEP.clear()
        k = (len(tok) >= 2 and tok == tok.strip() and tok not in stopwords()
             and not _HAS_DIGIT.search(tok) and bool(_WORDY.search(tok)))
        _KEEP[tok] = k
    return k


@lru_cache(maxsize=1)
def _cutter():
    """text -> list of tokens (HMM off); jieba_fast_dat's C++ function called directly (skips two Python layers)."""
    dt = tokenizer()
    try:
        from jieba_fast_dat import _jieba_fast_dat_functions_py3 as cpp

        cut, dat, total = cpp._cut_internal_cpp, dt.dat, float(dt.total)
        cut(dat, "井盖", total, False)
        return lambda text: cut(dat, text, total, False)
    except (ImportError, AttributeError):  # pragma: no cover - plain jieba
        return lambda text: dt.lcut(text, HMM=False)


@lru_cache(maxsize=_TEXT_CACHE_MAX)
def _segment(text: str) -> tuple[str, ...]:
    keep = _KEEP
    words: dict[str, None] = {}
    phrases: dict[str, None] = {}
    prev = None
    for tok in _cutter()(text):
        k = keep.get(tok)
        if k is None:
            k = _keep(tok)
        if k:
            words[tok] = None
            if prev is not None:
                phrases[prev + " " + tok] = None
            prev = tok
        else:
            prev = None
    return (*words, *phrases)


# --------------------------------------------------------------------------- storage
SOURCE_SQL = """
SELECT ticket_id, content, complainant_name, CAST(received_at AS DATE) AS day, district, topic, category_l1
FROM tickets
WHERE rowid >= $lo AND rowid < $hi AND content IS NOT NULL {only_new}
"""
ONLY_NEW = "AND ticket_id IN (SELECT ticket_id FROM _words_ids)"
IDS_SQL = "CREATE OR REPLACE TEMP TABLE _words_ids AS SELECT DISTINCT ticket_id FROM {ids}"
# First rowid of each chunk of CHUNK_ROWS target tickets. Row ids are not dense: rows written inside the
# caller's open transaction get ids near 2**55, so chunks are cut by rank, not by rowid arithmetic.
CHUNK_STARTS_SQL = """
SELECT rid, total FROM (
    SELECT rowid AS rid, row_number() OVER (ORDER BY rowid) AS k, count(*) OVER () AS total
    FROM tickets WHERE content IS NOT NULL {only_new}
) WHERE (k - 1) % $chunk = 0
ORDER BY rid
"""
MAX_ROWID = 2**63 - 1
# Tickets of this import that already had words: their old words still count in word_daily.
OLD_WORDS_SQL = "SELECT count(*) FROM ticket_words WHERE ticket_id IN (SELECT ticket_id FROM _words_ids)"
OLD_DAYS_SQL = """
CREATE OR REPLACE TEMP TABLE _words_days AS
SELECT DISTINCT day FROM ticket_words WHERE ticket_id IN (SELECT ticket_id FROM _words_ids)
UNION
SELECT DISTINCT CAST(received_at AS DATE) FROM tickets WHERE ticket_id IN (SELECT ticket_id FROM _words_ids)
"""
DELETE_OLD_SQL = "DELETE FROM ticket_words WHERE ticket_id IN (SELECT ticket_id FROM _words_ids)"
INSERT_SQL = "INSERT INTO ticket_words (ticket_id, word, day) SELECT ticket_id, word, day FROM _words_batch"
# Each batch is also counted by day x district x topic x category_l1 x word as it is stored, so that
# word_daily never needs the join of ticket_words (9 rows a ticket) with tickets.
ACC_CREATE_SQL = ("CREATE OR REPLACE TEMP TABLE _words_acc (day DATE, district VARCHAR, topic VARCHAR, "
                  "category_l1 VARCHAR, word VARCHAR, n BIGINT, chunk INTEGER)")
ACC_INSERT_SQL = ("INSERT INTO _words_acc SELECT day, district, topic, category_l1, word, count(*), $chunk "
                  "FROM _words_batch GROUP BY ALL")
# Every statement over the counts runs once per calendar month (`{win}`, see _by_window): at 25 M tickets
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
    _run(con, f"CREATE OR REPLACE TABLE {table} ({grain} DATE, {cols}word VARCHAR, n BIGINT)")


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> None:
    """Execute a statement and consume its result (DuckDB 2.0 refuses new work while one is pending)."""
    con.execute(sql, params or {}).fetchall()


def _windows(lo: date | None, hi: date | None, grain: str = "month") -> list[tuple[date, date]]:
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


def _by_window(con: duckdb.DuckDBPyConnection, sqls: list[str], col: str, lo: date | None, hi: date | None,
               params: dict | None = None, grain: str = "month") -> None:
    """Run each statement (with a `{win}` condition on `col`) once per window of lo..hi, then for NULL days.

    Bounds the memory of each statement by one month of counts whatever the size of the import.
    """
    for a, b in _windows(lo, hi, grain):
        for sql in sqls:
            win = {"wa": a, "wb": b} if "{win}" in sql else {}
            _run(con, sql.format(win=f"{col} >= $wa AND {col} < $wb"), {**(params or {}), **win})
    for sql in sqls:
        _run(con, sql.format(win=f"{col} IS NULL"), params)


def refresh(con: duckdb.DuckDBPyConnection, *, new_ticket_ids_table: str | None = None,
            old_tickets_table: str | None = None) -> dict:
    """Segment tickets and store their words, then bring `word_daily` and the monthly summaries up to date.

    With `new_ticket_ids_table` (a table/view with a `ticket_id` column) only
    those tickets are (re)segmented: their old words are deleted first and only
    the days they touch (before and after the update) are rebuilt in
    `word_daily` (and their months in the monthly tables). Without it every
    ticket is done again. Runs on the caller's connection (its temp tables and
    open transaction are seen). Returns counts and timings.

    With `old_tickets_table` too (the updated tickets' rows as they were before
    the import: data/derived.py's incremental refresh), `word_daily` and the
    monthly and weekly tables get signed deltas instead (`_apply_word_deltas`):
    the changed tickets' words counted as they are now, minus as they were, so
    updates spread over a year do not recount the year.
    """
    t0 = time.perf_counter()
    ensure_schema(con)
    had_words = 0
    if new_ticket_ids_table is None:
        _run(con, "DELETE FROM ticket_words")
        only_new = ""
    else:
        sql = IDS_SQL.format(ids=derived.table_name(new_ticket_ids_table))
        _run(con, sql)
        _run(con, OLD_DAYS_SQL)
        (had_words,) = con.execute(OLD_WORDS_SQL).fetchone()
        if old_tickets_table is not None:
            _run(con, OLD_ACC_SQL.format(old=derived.table_name(old_tickets_table)))
        _run(con, DELETE_OLD_SQL)
        only_new = ONLY_NEW
    _run(con, ACC_CREATE_SQL)
    sql = CHUNK_STARTS_SQL.format(only_new=only_new)
    chunks = con.execute(sql, {"chunk": CHUNK_ROWS}).fetchall()
    starts, total = [r[0] for r in chunks], (chunks[0][1] if chunks else 0)
    n_tickets, n_rows = _segment_into_store(con, SOURCE_SQL.format(only_new=only_new), starts, total)
    t1 = time.perf_counter()
    if new_ticket_ids_table is None:
        _run(con, WORD_DAILY_CREATE_SQL)
        lo, hi = con.execute("SELECT min(day), max(day) FROM _words_acc").fetchone()
        _by_window(con, [WORD_DAILY_FROM_ACC_SQL], "day", lo, hi)
        refresh_summaries(con)
    elif old_tickets_table is not None:
        _apply_word_deltas(con)
        _run(con, "DROP TABLE IF EXISTS _words_days")
        _run(con, "DROP TABLE IF EXISTS _words_ids")
    else:
        lo, hi = con.execute("SELECT min(day), max(day) FROM _words_days").fetchone()
        if had_words:
            # Updated tickets: their old words counted under their old district/topic/category, which the
            # tickets table no longer has, so the affected days are recounted from ticket_words.
            _by_window(con, [WORD_DAILY_DELETE_SQL], "day", lo, hi)
            _by_window(con, [WORD_DAILY_INSERT_SQL], "w.day", lo, hi)
        else:
            _by_window(con, [WORD_DAILY_ADD_SQL, WORD_DAILY_DELETE_SQL, WORD_DAILY_INSERT_NEW_SQL], "day", lo, hi)
            _run(con, "DROP TABLE IF EXISTS _words_new_daily")
        refresh_summaries(con, days_table="_words_days")
        _run(con, "DROP TABLE IF EXISTS _words_days")
        _run(con, "DROP TABLE IF EXISTS _words_ids")
    _run(con, "DROP TABLE IF EXISTS _words_acc")
    t2 = time.perf_counter()
    stats = {"tickets": n_tickets, "word_rows": n_rows, "segment_seconds": round(t1 - t0, 3),
             "summary_seconds": round(t2 - t1, 3),
             "tickets_per_second": round(n_tickets / (t1 - t0)) if n_tickets and t1 > t0 else None}
    log.info("words: %s", stats)
    return stats


# Incremental refresh (data/derived.py): the changed tickets' words as counted before the import (their old
# ticket_words rows with their old district/topic/category), minus from the new counts (_words_acc).
OLD_ACC_SQL = """
CREATE OR REPLACE TEMP TABLE _words_old_acc AS
SELECT w.day, o.district, o.topic, o.category_l1, w.word, count(*) AS n
FROM ticket_words w JOIN {old} o USING (ticket_id)
WHERE w.ticket_id IN (SELECT ticket_id FROM _words_ids)
GROUP BY ALL
"""
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


def _apply_word_deltas(con: duckdb.DuckDBPyConnection) -> None:
    """Add `_words_delta` to word_daily and each summary: the touched groups are deleted and written again
    with their new counts (empty ones dropped), at the end of the table (sorted again past
    derived.COMPACT_SHARE). The same rows as a recount (tests/test_incremental.py)."""
    _run(con, WORDS_DELTA_SQL)
    if not has_summaries(con):   # an older store: build them whole after word_daily
        _apply_word_delta(con, "word_daily", "day", _DIMS, "day")
        refresh_summaries(con)
    else:
        for table, col, dims, order in _delta_tables():
            _apply_word_delta(con, table, col, dims, order)
    for t in ("_words_delta", "_words_old_acc"):
        _run(con, f"DROP TABLE IF EXISTS {t}")


def _apply_word_delta(con: duckdb.DuckDBPyConnection, table: str, col: str, dims: tuple[str, ...],
                      order: str) -> None:
    """Add `_words_delta` to one word count table (see derived.add_deltas); the weekly tables are sorted by
    word, so every row written there is out of order."""
    if not con.execute("SELECT count(*) FROM _words_delta").fetchone()[0]:
        return
    period = "day" if col == "day" else f"date_trunc('{col}', day)::DATE"
    derived.add_deltas(con, table, delta="_words_delta", col=col, keys=(*dims, "word"), measures=("n",),
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
    _run(con, WORD_DAILY_CREATE_SQL)
    lo, hi = con.execute("SELECT min(day), max(day) FROM ticket_words").fetchone()
    _by_window(con, [WORD_DAILY_REBUILD_SQL], "w.day", lo, hi)


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
                _by_window(con, [sql], "day" if source == "word_daily" else grain, lo, hi, grain=grain)
        return
    if days_table != "_words_days":
        _run(con, f"CREATE OR REPLACE TEMP TABLE _words_days AS SELECT DISTINCT day FROM {derived.table_name(days_table)}")
    for grain in SUMMARY_GRAINS:
        _run(con, PERIODS_SQL.format(grain=grain))
        lo, hi = con.execute("SELECT min(period), max(period) FROM _words_periods").fetchone()
        if lo is None:
            continue
        last_day = hi + timedelta(days=31 if grain == "month" else 6)
        for table, dims, source in _summary_plan(grain):
            _run(con, f"DELETE FROM {table} WHERE {grain} IN (SELECT period FROM _words_periods)")
            sql = f"INSERT INTO {table} " + _period_select(grain, dims, source, True)
            _by_window(con, [sql], "day" if source == "word_daily" else grain, lo, last_day,
                       params={"lo": lo, "hi": hi}, grain=grain)
    _run(con, "DROP TABLE IF EXISTS _words_periods")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Add the `day` column and `word_daily` to stores created before they existed (monthly tables: refresh_summaries)."""
    cols = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'ticket_words'").fetchall()}
    if "day" not in cols:
        _run(con, "ALTER TABLE ticket_words ADD COLUMN day DATE")
    _run(con, "CREATE TABLE IF NOT EXISTS word_daily (day DATE, district VARCHAR, topic VARCHAR, "
         "category_l1 VARCHAR, word VARCHAR, n BIGINT)")


HAS_SUMMARIES_SQL = ("SELECT count(*) FROM duckdb_tables() WHERE table_name IN ("
                     + ", ".join(f"'{t}'" for t, _ in WORD_SUMMARIES + WORD_WEEKLY) + ")")


def has_summaries(con: duckdb.DuckDBPyConnection) -> bool:
    """Does the store have every monthly and weekly word summary? (Only ever created filled, by this module.)"""
    (n,) = con.execute(HAS_SUMMARIES_SQL).fetchone()
    return n == len(WORD_SUMMARIES) + len(WORD_WEEKLY)


def _words_many(items: list[tuple[str | None, str | None]]) -> list[list[str]]:
    """words_of() over (text, name) pairs: the unit of work of a worker process."""
    return [words_of(text, name) for text, name in items]


def _worker_init() -> None:
    logging.getLogger().setLevel(logging.WARNING)
    tokenizer()


def workers_for(n_rows: int) -> int:
    """Worker processes to use for `n_rows` tickets (setting HOTLINE_WORDS_WORKERS; 0 = one per core)."""
    import os

    want = settings.get("HOTLINE_WORDS_WORKERS")
    if want <= 0:
        want = os.cpu_count() or 1
    # Starting workers costs about a second: not worth it for small imports.
    return 1 if n_rows < MIN_ROWS_FOR_WORKERS else want


def _store_batch(con: duckdb.DuckDBPyConnection, src: pa.Table, per_ticket: list[list[str]], chunk: int) -> int:
    """Write one chunk's words to ticket_words and count them into _words_acc; returns the rows written."""
    counts = np.fromiter((len(ws) for ws in per_ticket), dtype=np.int64, count=len(per_ticket))
    n = int(counts.sum())
    if not n:
        return 0
    take = pa.array(np.repeat(np.arange(len(per_ticket), dtype=np.int64), counts))
    cols = {c: src.column(c).take(take) for c in ("ticket_id", "day", "district", "topic", "category_l1")}
    cols["word"] = pa.array([w for ws in per_ticket for w in ws], pa.string())
    con.register("_words_batch", pa.table(cols))
    try:
        _run(con, INSERT_SQL)
        _run(con, ACC_INSERT_SQL, {"chunk": chunk})
    finally:
        con.unregister("_words_batch")
    return n


def _segment_into_store(con: duckdb.DuckDBPyConnection, source_sql: str, starts: list[int],
                        total: int) -> tuple[int, int]:
    """Segment the target tickets chunk by chunk (`starts`: first rowid of each chunk; read whole, then written).

    With more than one worker, each chunk's texts are split over a pool of
    processes, and the main process stores the previous chunk while the
    workers segment the next one. They are forked (spawn would re-run the
    caller's main module, which fails under `python -c` or stdin) after the
    tokenizer is loaded, and touch nothing but the tokenizer.
    """
    if not starts:
        return 0, 0
    n_workers = workers_for(total)
    pool = None
    if n_workers > 1:
        import multiprocessing

        tokenizer()  # loaded once here, inherited by the workers
        pool = multiprocessing.get_context("fork").Pool(n_workers, initializer=_worker_init)
    n_tickets = n_rows = 0
    pending = None  # (source rows, async result or words) of the chunk not stored yet

    def flush() -> int:
        src, res, k = pending
        per_ticket = [ws for part in res.get() for ws in part] if pool is not None else res
        return _store_batch(con, src, per_ticket, k)

    try:
        for k, (start, end) in enumerate(zip(starts, [*starts[1:], MAX_ROWID], strict=True)):
            src = con.sql(source_sql, params={"lo": start, "hi": end}).to_arrow_table()
            if not src.num_rows:
                continue
            items = list(zip(src.column("content").to_pylist(), src.column("complainant_name").to_pylist(),
                             strict=True))
            if pool is not None:
                step = -(-len(items) // (n_workers * 4))
                res = pool.map_async(_words_many, [items[i:i + step] for i in range(0, len(items), step)])
            else:
                res = _words_many(items)
            if pending is not None:
                n_rows += flush()
            pending = (src, res, k)
            n_tickets += src.num_rows
        if pending is not None:
            n_rows += flush()
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return n_tickets, n_rows
