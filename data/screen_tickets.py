"""The located tickets with their text, sorted by problem then time, as the screening rules read them
(`screening_tickets`).

Why: a screening rule with a place condition (repeat, back after a close: data/screening/compile.py) reads
the located tickets of its project over a year and tests its keywords on their texts. In `tickets` those rows
are spread over every row group of the year, so a year of one project at Beijing's scale (25 M tickets) reads
and decompresses a little of every row group. Here the rows of one problem are a few contiguous row groups,
so DuckDB's zone maps skip the others.

- One row per ticket with coordinates (`lon` and `lat` both set: the rules' own "located", which keeps points
  outside the street polygons, unlike the hotspot tables), with every column a rule's conditions read:
  times, places, categories, topic, channel, appeal type, status, satisfaction, resolved, import, text.
  Same rows and values as `tickets` for those columns, so a rule gives exactly the same hits from either.
- Sorted by problem (`PROBLEM_SQL`, the hotspot tables' own), then time and ticket id.
- Kept up to date with every import by `data.derived.refresh` (both modes: rebuilt in parts with the other
  derived tables, or after an import only the changed tickets' rows deleted and written again at the end,
  with `tablebuild.compact_if_needed` sorting the table again past its share of rows out of order).
- `ready()` compares a fingerprint of `tickets` with the one stored at the last build or update. A rule reads
  this table only when it is ready (data/screening/run.py), else `tickets`: a stale copy is never read.
  A store without it (written by an older version) gets it from `python manage.py init` or any read-write open.
"""

from __future__ import annotations

import duckdb

from data import scope
from data.tablebuild import UNSORTED_KEY, compact_if_needed, get_meta, set_meta, table_name

TABLE = "screening_tickets"
META_KEY = "screening_tickets_state"
LAYOUT = "v1"
PROBLEM_SQL = "coalesce(topic, category_l3, category_l2, category_l1, '未分类')"   # as data/positions.py
LOCATED_SQL = "lon IS NOT NULL AND lat IS NOT NULL"                            # as data/screening/compile.py
ORDER = "problem, received_at, ticket_id"
COLUMNS = ("ticket_id, received_at, closed_at, district, street, address, lon, lat, import_id, content, "
           "category_l1, category_l2, category_l3, topic, channel, appeal_type, status, satisfaction, resolved")
PART_ROWS = 6_000_000    # located tickets per build step at most (a problem larger than that is one step)

_SELECT_SQL = f"SELECT {PROBLEM_SQL} AS problem, {COLUMNS} FROM tickets WHERE {LOCATED_SQL}"
_PART_SQL = f"{_SELECT_SQL} AND list_contains($problems, {PROBLEM_SQL}) ORDER BY {ORDER}"
_CREATE_SQL = f"CREATE OR REPLACE TABLE {TABLE} AS {_PART_SQL}"
_MORE_SQL = f"INSERT INTO {TABLE} {_PART_SQL}"
_PROBLEMS_SQL = f"SELECT {PROBLEM_SQL} AS problem, count(*) AS n FROM tickets WHERE {LOCATED_SQL} GROUP BY ALL ORDER BY problem"
# A fingerprint of `tickets` from DuckDB's statistics (milliseconds at 25 M rows): it changes with every import
# that adds or changes a ticket (a new import id), and with added or removed rows or later closes.
_STATE_SQL = "SELECT concat_ws('|', count(*), max(import_id), max(received_at), max(closed_at), $layout) FROM tickets"


def fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """The state of `tickets` as stored in `meta` when the table is built or updated."""
    return con.execute(_STATE_SQL, {"layout": LAYOUT}).fetchone()[0]


def ready(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the table holds the current `tickets` (whole tables seen, also from a district-scoped cursor)."""
    cur = scope.bookkeeping_cursor(con)
    try:
        built = get_meta(cur, META_KEY)
        if built is None or built != fingerprint(cur):
            return False
        sql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $t"
        return cur.execute(sql, {"t": TABLE}).fetchone()[0] == 1
    except duckdb.CatalogException:   # a store without meta or tickets
        return False


def refresh(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild the table from `tickets`, a few problems at a time (bounded memory); returns its rows."""
    from data.positions import parts

    for i, problems in enumerate(parts(con.execute(_PROBLEMS_SQL).fetchall(), PART_ROWS)):
        con.execute(_CREATE_SQL if i == 0 else _MORE_SQL, {"problems": problems})
    set_meta(con, META_KEY, fingerprint(con))
    con.execute("DELETE FROM meta WHERE key = $k", {"k": UNSORTED_KEY + TABLE})   # every row in order again
    (n,) = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    return int(n)


def refresh_for(con: duckdb.DuckDBPyConnection, ids_table: str) -> dict:
    """After the tickets of `ids_table` (a table with `ticket_id`) were inserted or updated: their rows deleted
    and written again from `tickets` (at the end of the table, then sorted again if too many are out of order).
    Same rows as `refresh`. Returns the rows written and whether the table was sorted again."""
    ids = table_name(ids_table)
    con.execute(f"DELETE FROM {TABLE} WHERE ticket_id IN (SELECT ticket_id FROM {ids})")
    (n,) = con.execute(f"INSERT INTO {TABLE} {_SELECT_SQL} AND ticket_id IN (SELECT ticket_id FROM {ids}) "
                       f"ORDER BY {ORDER}").fetchone()
    sorted_again = compact_if_needed(con, TABLE, ORDER, int(n))
    set_meta(con, META_KEY, fingerprint(con))
    return {"screening_rows": int(n), "screening_sorted": sorted_again}
