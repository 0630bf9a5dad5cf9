"""The linked tickets (`funnel_tickets`): every clue-ticket link with the ticket's filter columns.

Why: the funnel and every "tickets that reached a clue" question start from
the tickets linked to a clue, about 1% of all tickets. Selecting them from
`tickets` means reading the ids of the whole period (25 M a year in Beijing),
and a clue's first signal (its earliest linked ticket, in any period) means
reading every ticket id. This table holds one row per distinct
(clue_id, ticket_id) link whose ticket exists, with the ticket's columns that
the filters, the sort keys of the ticket list and the funnel need, and the
clue's earliest linked ticket time (`first_at`). It is rebuilt after every
import that changes tickets or clue links (data/ingest/pipeline.py) and by
`refresh()`; the rebuild is a join of the small `clue_tickets` with `tickets`
by id (about 1 s at 25 M tickets).

A store whose table was never built, or whose links changed since the last
build (a `--no-refresh` import), is detected by `ready()`; readers then use
`SOURCE_INLINE`, the same rows computed on the fly (slow, but the same answers).
"""

from __future__ import annotations

import duckdb

TABLE = "funnel_tickets"
META_KEY = "funnel_tickets_links"   # meta value: number of clue_tickets rows at the last build

# The ticket columns copied (everything Filters.where and the ticket list's sort keys use).
TICKET_COLUMNS = ("received_at", "district", "street", "category_l1", "category_l2", "category_l3", "topic",
                  "channel", "appeal_type", "status", "content")

def _rows_sql(first_at: str) -> str:
    return ("SELECT ct.clue_id, t.ticket_id, " + ", ".join(f"t.{c}" for c in TICKET_COLUMNS) + ", "
            f"CAST(t.received_at AS DATE) AS day, {first_at} AS first_at "
            "FROM (SELECT DISTINCT clue_id, ticket_id FROM clue_tickets) ct "
            "JOIN tickets t ON t.ticket_id = ct.ticket_id")


# Time order (like tickets), so a date range skips row groups.
REFRESH_SQL = (f"CREATE OR REPLACE TABLE {TABLE} AS {_rows_sql('min(t.received_at) OVER (PARTITION BY ct.clue_id)')} "
               "ORDER BY received_at, ticket_id, clue_id")

# The same rows without the table (stores built before it existed, or stale), as a derived table
# expression, but without first_at (a window over every link would stop the filters from reaching the
# tickets scan): readers that need it use FIRST_INLINE.
SOURCE_INLINE = f"({_rows_sql('CAST(NULL AS TIMESTAMP)')})"

# Each clue's earliest linked ticket without the table, for the clues of a CTE named `cl`: a semi-join, so
# only the linked ids are looked up (one scan of the ticket ids).
FIRST_INLINE = """
SELECT ct.clue_id, min(t.received_at) AS first_at
FROM (SELECT ticket_id, received_at FROM tickets
      WHERE ticket_id IN (SELECT ticket_id FROM clue_tickets WHERE clue_id IN (SELECT clue_id FROM cl))) t
JOIN clue_tickets ct ON ct.ticket_id = t.ticket_id
WHERE ct.clue_id IN (SELECT clue_id FROM cl)
GROUP BY 1
"""

READY_SQL = f"""
SELECT (SELECT max(value) FROM meta WHERE key = '{META_KEY}') = (SELECT CAST(count(*) AS VARCHAR) FROM clue_tickets)
"""


def refresh(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild `funnel_tickets` from clue_tickets and tickets; returns its row count."""
    con.execute(REFRESH_SQL)
    (n_links,) = con.execute("SELECT count(*) FROM clue_tickets").fetchone()
    con.execute("DELETE FROM meta WHERE key = $k", {"k": META_KEY})
    con.execute("INSERT INTO meta (key, value) VALUES ($k, $v)", {"k": META_KEY, "v": str(n_links)})
    (n,) = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    return int(n)


def ready(con: duckdb.DuckDBPyConnection) -> bool:
    """True when `funnel_tickets` was built after the last change of the clue links."""
    try:
        return bool(con.execute(READY_SQL).fetchone()[0])
    except duckdb.CatalogException:  # a store without the meta table
        return False


def source(con: duckdb.DuckDBPyConnection) -> str:
    """FROM-clause text of the linked tickets: the table when ready, else the inline query (fixed SQL only)."""
    return TABLE if ready(con) else SOURCE_INLINE
