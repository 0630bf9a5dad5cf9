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

The funnel's ledgers (`funnel_clues`): at Beijing scale the clues, cases and
rectifications are not small either (140 k, 120 k and 90 k rows a year), and
every funnel view joined them by string id. `funnel_clues` holds one row per
clue and case of it (a clue without a case has one row with the case columns
NULL): the clue's dates, district, topic, function and earliest linked ticket,
its case's dates, measure and urgency, and the case's first valid
rectification. Clues are numbered (`clue_no`, by their first linked ticket, so
a period's clues are neighbours) and `funnel_tickets` carries the number, so a
view selects its clues from the linked tickets and reads one narrow table,
joined on an integer. Both tables are built together by `refresh()`;
`clues_ready()` compares a fingerprint of the four ledgers (row counts and the
last import id of each) with the one stored at the build, so a ledger import
without a refresh (cases and rectifications do not trigger one) makes readers
use the joins of the ledgers again until the store is upgraded.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import duckdb

from data import scope

TABLE = "funnel_tickets"
META_KEY = "funnel_tickets_links"   # meta value: number of clue_tickets rows at the last build

# The ticket columns copied (everything Filters.where and the ticket list's sort keys use).
TICKET_COLUMNS = ("received_at", "district", "street", "category_l1", "category_l2", "category_l3", "topic",
                  "channel", "appeal_type", "status", "content", "reply", "extra")
# A funnel_tickets built before a column was added (reply, extra: the filters read them) is rebuilt.
_HAS_COLUMNS_SQL = ("SELECT count(*) = 2 FROM information_schema.columns "
                    f"WHERE table_name = '{TABLE}' AND column_name IN ('reply', 'extra')")

def _rows_sql(first_at: str) -> str:
    return ("SELECT ct.clue_id, t.ticket_id, " + ", ".join(f"t.{c}" for c in TICKET_COLUMNS) + ", "
            f"CAST(t.received_at AS DATE) AS day, {first_at} AS first_at "
            "FROM (SELECT DISTINCT clue_id, ticket_id FROM clue_tickets) ct "
            "JOIN tickets t ON t.ticket_id = ct.ticket_id")


CLUES_TABLE = "funnel_clues"
CLUES_META_KEY = "funnel_clues_state"   # meta value: the ledgers' fingerprint (_ledger_state) at the last build

# The build: the links with their tickets are staged once (the join with the 25 M tickets is the
# expensive part), the clues numbered from them, then both tables written.
_STAGE = "_funnel_links_stage"
STAGE_SQL = (f"CREATE OR REPLACE TEMP TABLE {_STAGE} AS "
             f"{_rows_sql('min(t.received_at) OVER (PARTITION BY ct.clue_id)')}")

# One row per clue and case of it. clue_row marks one row per clue (count clues with it); rectified_at is
# the case's earliest rectification with a date and a result other than 未整改 (the funnel's "rectified");
# suggestion marks the cases whose reply deadline applies (a 检察建议 measure with its date).
CLUES_REFRESH_SQL = f"""
CREATE OR REPLACE TABLE {CLUES_TABLE} AS
WITH first AS (SELECT clue_id, min(first_at) AS first_at FROM {_STAGE} GROUP BY 1),
num AS (
    SELECT c.clue_id, f.first_at,
           row_number() OVER (ORDER BY f.first_at NULLS LAST, c.clue_id) AS clue_no
    FROM (SELECT DISTINCT clue_id FROM clues) c LEFT JOIN first f USING (clue_id)
),
rc AS (
    SELECT case_id, min(rectified_at) AS rectified_at FROM rectifications
    WHERE rectified_at IS NOT NULL AND coalesce(result, '') <> '未整改'
    GROUP BY 1
)
SELECT n.clue_no, c.clue_id,
       row_number() OVER (PARTITION BY n.clue_no ORDER BY k.case_id, k.filed_at) = 1 AS clue_row,
       c.created_at, c.reviewed_at, c.district, c.topic, c.function, n.first_at,
       k.case_id, k.filed_at, k.measure, k.measure_at, k.replied_at, k.urgent,
       coalesce(k.measure LIKE '%检察建议%' AND k.measure_at IS NOT NULL, false) AS suggestion,
       rc.rectified_at
FROM clues c JOIN num n USING (clue_id)
LEFT JOIN cases k ON k.clue_id = c.clue_id
LEFT JOIN rc ON rc.case_id = k.case_id
ORDER BY n.clue_no, clue_row DESC
"""

# Time order (like tickets), so a date range skips row groups. clue_no is NULL for a link to an unknown clue.
REFRESH_SQL = f"""
CREATE OR REPLACE TABLE {TABLE} AS
SELECT s.*, n.clue_no FROM {_STAGE} s
LEFT JOIN (SELECT DISTINCT clue_id, clue_no FROM {CLUES_TABLE}) n USING (clue_id)
ORDER BY s.received_at, s.ticket_id, s.clue_id
"""

# What funnel_clues depends on besides the tickets (rebuilt with every ticket import): each ledger's rows
# and last import (an import that replaces rows gives them its id). One cheap query (metadata counts,
# max over a few hundred thousand integers).
_STATE_SQL = """
SELECT 'clue_tickets', count(*), CAST(max(import_id) AS VARCHAR) FROM clue_tickets
UNION ALL SELECT 'clues', count(*), CAST(max(import_id) AS VARCHAR) FROM clues
UNION ALL SELECT 'cases', count(*), CAST(max(import_id) AS VARCHAR) FROM cases
UNION ALL SELECT 'rectifications', count(*), CAST(max(import_id) AS VARCHAR) FROM rectifications
UNION ALL SELECT 'meta', NULL, max(value) FROM meta WHERE key = $k
UNION ALL SELECT 'links_meta', NULL, max(value) FROM meta WHERE key = $links_key
"""

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


DROP_STAGE_SQL = f"DROP TABLE IF EXISTS {_STAGE}"
COUNT_SQL = f"SELECT count(*) FROM {TABLE}"


def refresh(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild `funnel_tickets` and `funnel_clues` from the ledgers and tickets; returns the link count."""
    state = _ledger_state(con)   # before the build: a change made during it leaves the tables stale
    con.execute(STAGE_SQL)
    con.execute(CLUES_REFRESH_SQL)
    con.execute(REFRESH_SQL)
    con.execute(DROP_STAGE_SQL)
    (n_links,) = con.execute("SELECT count(*) FROM clue_tickets").fetchone()
    for key, value in ((META_KEY, str(n_links)), (CLUES_META_KEY, state)):
        con.execute("DELETE FROM meta WHERE key = $k", {"k": key})
        con.execute("INSERT INTO meta (key, value) VALUES ($k, $v)", {"k": key, "v": value})
    (n,) = con.execute(COUNT_SQL).fetchone()
    return int(n)


# Readiness answers of read-only connections: the store cannot change while one is open (DuckDB lets no
# other process write it meanwhile, and the dashboard reopens the file when it changes), so each is asked
# once per connection instead of on every query of every page view (a few ms each).
_KNOWN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ACCESS_SQL = "SELECT current_setting('access_mode')"


def _once(con: duckdb.DuckDBPyConnection, name: str, check: Callable[[], bool]) -> bool:
    try:
        known = _KNOWN.get(con)
        if known is None:
            known = {"read_only": con.execute(_ACCESS_SQL).fetchone()[0] == "read_only"}
            _KNOWN[con] = known
    except TypeError:   # not weak-referenceable: ask every time
        return check()
    if not known["read_only"]:
        return check()
    if name not in known:
        known[name] = check()
    return known[name]


def _ready(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        return bool(con.execute(READY_SQL).fetchone()[0]) and bool(con.execute(_HAS_COLUMNS_SQL).fetchone()[0])
    except duckdb.CatalogException:  # a store without the meta table
        return False


def ready(con: duckdb.DuckDBPyConnection) -> bool:
    """True when `funnel_tickets` was built after the last change of the clue links."""
    # Asked of the whole store, also from a district-scoped cursor (data/scope.py), once per connection.
    return _once(scope.base(con), "links", lambda: _ready(scope.bookkeeping_cursor(con)))


def source(con: duckdb.DuckDBPyConnection) -> str:
    """FROM-clause text of the linked tickets: the table when ready, else the inline query (fixed SQL only)."""
    return TABLE if ready(con) else SOURCE_INLINE


def _state_rows(con: duckdb.DuckDBPyConnection) -> tuple[str, str | None]:
    """(the ledgers' fingerprint now, the one stored at the last build or None)."""
    rows = {name: (n, last) for name, n, last in con.execute(
        _STATE_SQL, {"k": CLUES_META_KEY, "links_key": META_KEY}).fetchall()}
    state = ";".join(f"{name}:{rows[name][0]}:{rows[name][1]}"
                     for name in ("clue_tickets", "clues", "cases", "rectifications"))
    # funnel_tickets must be current too (built in the same refresh; a store whose links table was
    # dropped or marked stale uses the joins of the ledgers entirely).
    links_ok = rows["links_meta"][1] == str(rows["clue_tickets"][0])
    return state, rows["meta"][1] if links_ok else None


def _ledger_state(con: duckdb.DuckDBPyConnection) -> str:
    return _state_rows(con)[0]


def _clues_ready(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        state, stored = _state_rows(con)
    except duckdb.CatalogException:  # a store without the meta table
        return False
    return stored is not None and stored == state


def clues_ready(con: duckdb.DuckDBPyConnection) -> bool:
    """True when `funnel_clues` (and the clue numbers of `funnel_tickets`) match the ledgers as they are now."""
    return _once(scope.base(con), "clues", lambda: _clues_ready(scope.bookkeeping_cursor(con)))
