"""Five years (125 M tickets) for the benchmark, made from the one-year (25 M) store.

Generating 125 M tickets takes hours on two cores, while what the benchmark
measures at that size is the queries over five years of tickets. So the
five-year store is the 25 M store plus four copies of its year shifted back by
1..4 years: every timestamp of tickets, clues, cases and rectifications moves
by whole years, ids get a suffix `-Yk`, and the stored words move with their
tickets. Every copy is appended in time order (a year at a time, oldest first
would not change the blocks' time ranges either), so the tables stay
clustered by time as the import leaves them. Then the summaries are rebuilt
from the tables (`derived.rebuild`), exactly as an import would.

The copies repeat the newest year's pattern (no year-on-year growth); the
numbers this store gives are query costs, not a demo of five years.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

YEARS_BACK = (4, 3, 2, 1)   # oldest copy first

_SHIFT = "INTERVAL ({k}) YEAR"

TICKETS_SQL = """
INSERT INTO tickets SELECT * REPLACE (
    ticket_id || '-Y{k}' AS ticket_id,
    received_at - {shift} AS received_at,
    responded_at - {shift} AS responded_at,
    closed_at - {shift} AS closed_at)
FROM tickets WHERE NOT contains(ticket_id, '-Y')
"""
WORDS_SQL = """
INSERT INTO ticket_words SELECT ticket_id || '-Y{k}', word, CAST(day - {shift} AS DATE)
FROM ticket_words WHERE NOT contains(ticket_id, '-Y')
"""
WORD_DAILY_SQL = """
INSERT INTO word_daily SELECT * REPLACE (CAST(day - {shift} AS DATE) AS day)
FROM word_daily WHERE day >= DATE '{first_day}'
"""
CLUES_SQL = """
INSERT INTO clues SELECT * REPLACE (clue_id || '-Y{k}' AS clue_id, created_at - {shift} AS created_at,
    reviewed_at - {shift} AS reviewed_at)
FROM clues WHERE NOT contains(clue_id, '-Y')
"""
LINKS_SQL = """
INSERT INTO clue_tickets SELECT * REPLACE (clue_id || '-Y{k}' AS clue_id, ticket_id || '-Y{k}' AS ticket_id)
FROM clue_tickets WHERE NOT contains(clue_id, '-Y')
"""
CASES_SQL = """
INSERT INTO cases SELECT * REPLACE (case_id || '-Y{k}' AS case_id, clue_id || '-Y{k}' AS clue_id,
    filed_at - {shift} AS filed_at, measure_at - {shift} AS measure_at,
    reply_due_at - {shift} AS reply_due_at, replied_at - {shift} AS replied_at)
FROM cases WHERE NOT contains(case_id, '-Y')
"""
RECTIFICATIONS_SQL = """
INSERT INTO rectifications SELECT * REPLACE (case_id || '-Y{k}' AS case_id,
    rectified_at - {shift} AS rectified_at, followed_up_at - {shift} AS followed_up_at)
FROM rectifications WHERE NOT contains(case_id, '-Y')
"""
STEPS = (("tickets", TICKETS_SQL), ("ticket_words", WORDS_SQL), ("word_daily", WORD_DAILY_SQL), ("clues", CLUES_SQL),
         ("clue_tickets", LINKS_SQL), ("cases", CASES_SQL), ("rectifications", RECTIFICATIONS_SQL))


COPIES_KEY = "five_year_copies"   # meta key written once the four copies are in (a build can resume after it)


def five_years(one_year_db: Path, out_db: Path, log=print) -> float:
    """Write the five-year store at `out_db` from the one-year store; returns the seconds it took.

    The store is built at `<out_db stem>.building` and renamed when complete. If a
    build was interrupted after the copies were written (an hour of work at 125 M),
    the next call resumes there and only rebuilds the summaries.
    """
    from data import store

    t0 = time.perf_counter()
    tmp = out_db.with_suffix(".building")
    if tmp.exists() and _copies_done(tmp):
        log(f"  resuming {tmp}: the four copies are in; rebuilding the summaries")
    else:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        shutil.copyfile(one_year_db, tmp)
        try:
            con = store.connect(tmp)
            try:
                _copy_years(con, one_year_db, log)
            finally:
                con.close()
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    con = _open_plain(tmp)
    try:
        _summaries(con, log)
    finally:
        con.close()
    tmp.rename(out_db)
    return time.perf_counter() - t0


def _open_plain(path: Path):
    """The store without `store.connect`'s upgrade on open (it would rebuild each summary in one piece)."""
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    con.execute("SET enable_progress_bar = false")
    # Appending needs little memory; without a limit DuckDB keeps up to 80% of RAM of cached blocks
    # (20 GB seen here), which leaves the dashboard and a browser on the same machine short.
    con.execute("SET memory_limit = '8GB'")
    return con


def _copies_done(path: Path) -> bool:
    con = _open_plain(path)
    try:
        sql = "SELECT count(*) FROM meta WHERE key = $k"
        return bool(con.execute(sql, {"k": COPIES_KEY}).fetchone()[0])
    finally:
        con.close()


def _copy_years(con, one_year_db: Path, log) -> None:
    con.execute("SET memory_limit = '8GB'")
    first_day, last_day = con.execute("SELECT min(day), max(day) FROM ticket_daily").fetchone()
    if first_day is None or (last_day - first_day).days > 365:
        raise ValueError(f"{one_year_db} must hold at most one year of tickets ({first_day} .. {last_day})")
    for k in YEARS_BACK:
        shift = _SHIFT.format(k=int(k))
        for table, template in STEPS:
            t1 = time.perf_counter()
            # Integers, a date and fixed text only.
            sql = template.format(k=int(k), shift=shift, first_day=first_day.isoformat())
            con.execute(sql)
            log(f"  year -{k}: {table} copied ({time.perf_counter() - t1:.0f} s)")
        con.execute("CHECKPOINT")
    sql = "INSERT INTO meta (key, value) VALUES ($k, 'done')"
    con.execute(sql, {"k": COPIES_KEY})
    con.execute("CHECKPOINT")


def _summaries(con, log) -> None:
    from data import links, positions, summaries, word_tables

    steps = (
        ("ticket_daily", lambda: summaries.build_daily(con)),   # a year at a time
        ("the smaller cubes", lambda: summaries.refresh_cubes(con)),
        ("funnel_tickets and funnel_clues", lambda: links.refresh(con)),
        ("the monthly word tables", lambda: word_tables.refresh_summaries(con)),
        ("hotspot_tickets and hotspot_cells", lambda: positions.refresh(con)),
    )
    done_sql = "SELECT count(*) FROM meta WHERE key = $k"
    mark_sql = "INSERT INTO meta (key, value) VALUES ($k, 'done')"
    for name, step in steps:
        key = f"five_year_summary:{name}"   # a resumed build skips the summaries built before it stopped
        if con.execute(done_sql, {"k": key}).fetchone()[0]:
            log(f"  {name}: built before")
            continue
        t1 = time.perf_counter()
        step()
        con.execute(mark_sql, {"k": key})
        con.execute("CHECKPOINT")
        log(f"  {name} rebuilt ({time.perf_counter() - t1:.0f} s)")
    (n,) = con.execute("SELECT count(*) FROM tickets").fetchone()
    log(f"  {n:,} tickets")
