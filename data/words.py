"""Words and phrases of each ticket's text, computed once at import and stored.

The topics page ranks words, follows them over time and tests which ones are
emerging. Segmenting Chinese text is far too slow to do on every view (25 M
tickets a year), so every import segments only the tickets it inserted or
updated and stores, per ticket, the set of distinct meaningful words in
`ticket_words`, then rebuilds the affected days of the small `word_daily`
summary that the page reads for its common filters (data/word_tables.py).
Segmentation itself (jieba, dictionaries, what a meaningful word is) is data/segment.py.
"""

from __future__ import annotations

import logging
import time

import duckdb
import numpy as np
import pyarrow as pa

from data import settings, word_tables
from data.segment import tokenizer, words_of
from data.tablebuild import run, table_name
from data.word_tables import ACC_CREATE_SQL, ACC_INSERT_SQL, by_window

CHUNK_ROWS = 100_000          # tickets segmented per batch (bounds memory)
MIN_ROWS_FOR_WORKERS = 50_000  # below this, one process (starting workers costs about a second)

log = logging.getLogger(__name__)


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
    monthly and weekly tables get signed deltas instead (`word_tables.apply_word_deltas`):
    the changed tickets' words counted as they are now, minus as they were, so
    updates spread over a year do not recount the year.
    """
    t0 = time.perf_counter()
    word_tables.ensure_schema(con)
    had_words = 0
    if new_ticket_ids_table is None:
        run(con, "DELETE FROM ticket_words")
        only_new = ""
    else:
        sql = IDS_SQL.format(ids=table_name(new_ticket_ids_table))
        run(con, sql)
        run(con, OLD_DAYS_SQL)
        (had_words,) = con.execute(OLD_WORDS_SQL).fetchone()
        if old_tickets_table is not None:
            run(con, OLD_ACC_SQL.format(old=table_name(old_tickets_table)))
        run(con, DELETE_OLD_SQL)
        only_new = ONLY_NEW
    run(con, ACC_CREATE_SQL)
    sql = CHUNK_STARTS_SQL.format(only_new=only_new)
    chunks = con.execute(sql, {"chunk": CHUNK_ROWS}).fetchall()
    starts, total = [r[0] for r in chunks], (chunks[0][1] if chunks else 0)
    n_tickets, n_rows = _segment_into_store(con, SOURCE_SQL.format(only_new=only_new), starts, total)
    t1 = time.perf_counter()
    if new_ticket_ids_table is None:
        run(con, word_tables.WORD_DAILY_CREATE_SQL)
        lo, hi = con.execute("SELECT min(day), max(day) FROM _words_acc").fetchone()
        by_window(con, [word_tables.WORD_DAILY_FROM_ACC_SQL], "day", lo, hi)
        word_tables.refresh_summaries(con)
    elif old_tickets_table is not None:
        word_tables.apply_word_deltas(con)
        run(con, "DROP TABLE IF EXISTS _words_days")
        run(con, "DROP TABLE IF EXISTS _words_ids")
    else:
        lo, hi = con.execute("SELECT min(day), max(day) FROM _words_days").fetchone()
        if had_words:
            # Updated tickets: their old words counted under their old district/topic/category, which the
            # tickets table no longer has, so the affected days are recounted from ticket_words.
            by_window(con, [word_tables.WORD_DAILY_DELETE_SQL], "day", lo, hi)
            by_window(con, [word_tables.WORD_DAILY_INSERT_SQL], "w.day", lo, hi)
        else:
            by_window(con, [word_tables.WORD_DAILY_ADD_SQL, word_tables.WORD_DAILY_DELETE_SQL, word_tables.WORD_DAILY_INSERT_NEW_SQL], "day", lo, hi)
            run(con, "DROP TABLE IF EXISTS _words_new_daily")
        word_tables.refresh_summaries(con, days_table="_words_days")
        run(con, "DROP TABLE IF EXISTS _words_days")
        run(con, "DROP TABLE IF EXISTS _words_ids")
    run(con, "DROP TABLE IF EXISTS _words_acc")
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
        run(con, INSERT_SQL)
        run(con, ACC_INSERT_SQL, {"chunk": chunk})
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
