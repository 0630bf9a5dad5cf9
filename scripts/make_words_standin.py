"""A stand-in store with the word and daily summaries of 25 M tickets a year, built from a 1 M demo in minutes.

    .venv/bin/python scripts/make_words_standin.py SRC_1M.duckdb OUT.duckdb

The 1 M demo's 730 days are folded onto 15 (day index mod 15: each folded day holds the tickets of ~49 real
days, ~67 k tickets, Beijing's daily volume), and that fortnight is repeated over 2025-11-01 .. 2026-10-31.
Only the tables the topics page reads for its summary path are written (word_daily, ticket_daily, the cubes,
the monthly/weekly word tables; tickets and ticket_words empty), so it measures the summary queries at the
target density while the real 25 M demo takes hours to build. Not a substitute for it: the variety of words
per day is that of the 1 M demo's 730 days, not of 25 M distinct tickets.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb

from data import summaries, word_tables

WORD_DAILY_SQL = """
CREATE TABLE word_daily AS
WITH base AS (
    SELECT datediff('day', $d0, w.day) % 15 AS j, t.district, t.topic, t.category_l1, w.word, count(*) AS n
    FROM src.ticket_words w JOIN src.tickets t USING (ticket_id) GROUP BY ALL)
SELECT (DATE '2025-11-01' + (k * 15 + j)::INT) AS day, district, topic, category_l1, word, n
FROM base, range(25) r(k) WHERE day <= DATE '2026-10-31' ORDER BY day
"""
TICKET_DAILY_SQL = """
CREATE TABLE ticket_daily AS
WITH base AS (
    SELECT datediff('day', $d0, day) % 15 AS j, district, street, category_l1, category_l2, category_l3, topic,
           channel, appeal_type, sum(n) AS n, sum(n_located) AS n_located, sum(n_responded) AS n_responded,
           sum(n_closed) AS n_closed, sum(n_resolved) AS n_resolved, sum(n_rated) AS n_rated,
           sum(n_satisfied) AS n_satisfied
    FROM src.ticket_daily GROUP BY ALL)
SELECT (DATE '2025-11-01' + (k * 15 + j)::INT) AS day, * EXCLUDE (j, k)
FROM base, range(25) r(k) WHERE day <= DATE '2026-10-31' ORDER BY day
"""


def main() -> int:
    src, out = sys.argv[1], Path(sys.argv[2])
    if out.exists():
        out.unlink()
    t0 = time.perf_counter()
    con = duckdb.connect(str(out))
    con.execute("ATTACH $p AS src (READ_ONLY)", {"p": src})
    (d0,) = con.execute("SELECT min(day) FROM src.ticket_daily").fetchone()
    con.execute(WORD_DAILY_SQL, {"d0": d0})
    con.execute(TICKET_DAILY_SQL, {"d0": d0})
    summaries.refresh_cubes(con)
    word_tables.refresh_summaries(con)
    for table in ("ticket_words", "tickets", "clue_tickets", "clues"):
        sql = f"CREATE TABLE {table} AS SELECT * FROM src.{table} LIMIT 0"
        con.execute(sql)
    for table in ("word_daily", "ticket_daily", *(t for t, _ in word_tables.WORD_SUMMARIES + word_tables.WORD_WEEKLY)):
        sql = f"SELECT count(*) FROM {table}"
        print(f"{table}: {con.execute(sql).fetchone()[0]:,} rows")
    con.close()
    print(f"built {out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
