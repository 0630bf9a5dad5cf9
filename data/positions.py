"""The located tickets as the hotspot analysis reads them (`hotspot_tickets`, `hotspot_cells`).

Why: the hotspot view (Gi* cells, repeat places, the ranked table) reads the
located tickets of one problem over a period. In `tickets` those rows are spread
over the whole period, so a year of one problem means reading the filter
columns of 25 M rows (about 1 s a core at Beijing scale) and, for the table,
decompressing the address/street columns of nearly every row group (about 3 s).

- `hotspot_tickets`: one row per located ticket with only what the hotspot steps
  read (problem, its 20 m position, times, coordinates, district, street,
  address, the filter columns), sorted by problem then time: one problem over a
  year is a few contiguous row groups. Same rows as `tickets` filtered by
  `LOCATED_SQL`, so every answer read from it is exactly the one read from
  `tickets`.
  `back` marks a ticket back after a close (data/after_close.py: received within
  the rule's window, 7-90 days by default, after a ticket about the same problem
  was closed within its radius, 50 m by default), computed over the whole store.
- `hotspot_cells`: located tickets counted per day x district x street x 500 m
  Gi* cell (n, tickets received after noon, first/last, the sums of their
  longitudes and latitudes for the mean point of a row), for the all-problem
  case (a whole city year is 25 M located tickets but a few million cell-days).

Both are rebuilt by `refresh()` (called by `derived.refresh` after every import);
`ready()` compares a fingerprint of `tickets` and of the rule stored in `meta` at the
last build, so a store changed without a refresh (or built before this table
existed, or with other rule settings) is read the slow way (`tickets`) by a
read-write connection and refused by a read-only one until `derived.upgrade()`
(`python manage.py init`) builds it.
"""

from __future__ import annotations

import duckdb

from data import after_close, scope
from data.tablebuild import build_by_year
from geo.grid import Grid

TABLE = "hotspot_tickets"
CELLS = "hotspot_cells"
META_KEY = "hotspot_tickets_state"

# Which rows a map may draw (docs/data-model.md, geo_flag): coordinates outside every street polygon are kept
# as received but not drawn; swapped-and-fixed and district-mismatch points are drawn.
LOCATED_SQL = ("(lon IS NOT NULL AND lat IS NOT NULL "
               "AND (geo_flag IS NULL OR geo_flag IN ('swapped_fixed', 'district_mismatch')))")
# The "problem" of a ticket for repeat places: its topic, else its finest category.
PROBLEM_SQL = "coalesce(topic, category_l3, category_l2, category_l1, '未分类')"

POS_CELL_M = 20      # repeat places start from tickets counted per problem and 20 m position
CELLS_M = 500        # the Gi* cell of `hotspot_cells` (1 km cells are 2x2 of them)
POS_GRID = Grid(POS_CELL_M)
CELL_GRID = Grid(CELLS_M)

# Filter columns both tables carry (Filters.where works on them unchanged).
FILTER_COLUMNS = ("district", "street", "category_l1", "category_l2", "category_l3", "topic", "channel",
                  "appeal_type")
CELL_FILTER_COLUMNS = ("district", "street")

# A rebuild step's problems: `refresh` works through the problems a few at a time (see PART_ROWS).
IN_PART_SQL = f"list_contains($problems, {PROBLEM_SQL})"

_LOCATED_CTE = f"""located AS (
    SELECT {PROBLEM_SQL} AS problem,
           CAST(floor(lat / $p_dlat) AS BIGINT) AS pi, CAST(floor(lon / $p_dlon) AS BIGINT) AS pj,
           ticket_id, received_at, closed_at, lon, lat
    FROM tickets WHERE {LOCATED_SQL} AND {IN_PART_SQL})"""

# The located tickets back after a close (data/after_close.py: received within the rule's window after a ticket
# about the same problem was closed within its radius), over the whole store (the close may lie before the
# analysed period). Only the problems of the current part: a ticket's flag depends on the closes of its own
# problem only.
BACK_IDS_SQL = f"""
WITH {_LOCATED_CTE}
SELECT ticket_id FROM ({after_close.ids_sql("located", "located")})"""


def back_params() -> dict:
    """The parameters of the rule (`after_close.Rule.from_settings()`) every back-flag query binds."""
    return after_close.Rule.from_settings().params()


def back_ids_sql(where: str) -> str:
    """`BACK_IDS_SQL` for the located tickets matching `where` only (a WHERE clause over `tickets`): the closes
    are still looked for among every located ticket of the same problems, so the flags are the stored ones.
    Bind `back_params()` and the 20 m grid ($p_dlat, $p_dlon)."""
    located = _LOCATED_CTE.replace(f" AND {IN_PART_SQL}", "")
    return f"""
WITH {located},
r AS (SELECT {PROBLEM_SQL} AS problem, ticket_id, received_at, lon, lat
      FROM tickets WHERE ({where}) AND {LOCATED_SQL})
SELECT ticket_id FROM ({after_close.ids_sql("r", "located", closes_where="problem IN (SELECT DISTINCT problem FROM r)")})"""


# Both tables are built in parts, so a rebuild's memory and spill stay bounded at any store size (in one
# piece, five years of tickets spilled more than 28 GB to disk sorting them): `hotspot_tickets` a few problems
# at a time, in problem order (the table stays sorted by problem then time), `hotspot_cells` a year at a
# time, oldest first (its groups include the day, so the years' groups are disjoint and it stays sorted by day).
PART_ROWS = 8_000_000   # located tickets per part at most (a problem larger than that is one part)

_PROBLEMS_SQL = f"""
SELECT {PROBLEM_SQL} AS problem, count(*) AS n FROM tickets WHERE {LOCATED_SQL} GROUP BY ALL ORDER BY problem
"""

_TICKETS_PART_SQL = f"""
WITH back AS ({BACK_IDS_SQL})
SELECT {PROBLEM_SQL} AS problem,
       CAST(floor(lat / $p_dlat) AS BIGINT) AS pi, CAST(floor(lon / $p_dlon) AS BIGINT) AS pj,
       ticket_id, received_at, closed_at, lon, lat, address, {", ".join(FILTER_COLUMNS)},
       ticket_id IN (SELECT ticket_id FROM back) AS back
FROM tickets
WHERE {LOCATED_SQL} AND {IN_PART_SQL}
ORDER BY problem, received_at, ticket_id
"""
_TICKETS_SQL = f"CREATE OR REPLACE TABLE {TABLE} AS {_TICKETS_PART_SQL}"
_TICKETS_MORE_SQL = f"INSERT INTO {TABLE} {_TICKETS_PART_SQL}"

_CELLS_PART_SQL = f"""
SELECT CAST(received_at AS DATE) AS day, district, street,
       CAST(floor(lat / $g_dlat) AS BIGINT) AS gi, CAST(floor(lon / $g_dlon) AS BIGINT) AS gj,
       count(*) AS n, count(*) FILTER (WHERE hour(received_at) >= 12) AS n_pm,
       min(received_at) AS first, max(received_at) AS last, sum(lon) AS slon, sum(lat) AS slat
FROM {TABLE}
WHERE received_at >= $lo AND received_at < $hi
GROUP BY ALL
ORDER BY day, district, street, gi, gj
"""
_CELLS_SQL = f"CREATE OR REPLACE TABLE {CELLS} AS {_CELLS_PART_SQL}"
_CELLS_MORE_SQL = f"INSERT INTO {CELLS} {_CELLS_PART_SQL}"
_YEARS_SQL = f"SELECT DISTINCT year(received_at) AS y FROM {TABLE} ORDER BY y"
_EMPTY_PROBLEMS: list[str] = []


def parts(counts: list[tuple[str, int]], limit: int = PART_ROWS) -> list[list[str]]:
    """Consecutive runs of (problem, located tickets), in the given order, of at most `limit` tickets each."""
    out: list[list[str]] = []
    size = limit + 1
    for problem, n in counts:
        if size + n > limit:
            out.append([])
            size = 0
        out[-1].append(problem)
        size += n
    return out or [_EMPTY_PROBLEMS]

# A fingerprint of `tickets` answered from DuckDB's statistics (about 2 ms at 25 M rows): changes when rows
# are added or removed, or tickets are closed later than any before. The rule of the `back` flags
# (after_close.Rule.key, from the settings) and the tables' layout are stored with it, so a changed setting or
# a store written by an older version marks the tables stale.
LAYOUT = "cells-sums"   # hotspot_cells carries slon, slat (the capped view's point: the mean of its tickets)
_STATE_SQL = "SELECT concat_ws('|', count(*), max(received_at), max(closed_at), $rule, $layout) FROM tickets"
_READY_SQL = f"SELECT max(value) FROM meta WHERE key = '{META_KEY}'"


def fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """The state of `tickets` and the back-after-a-close rule, as stored in `meta` when both tables are built."""
    return con.execute(_STATE_SQL, {"rule": after_close.Rule.from_settings().key, "layout": LAYOUT}).fetchone()[0]


def _write_fingerprint(con: duckdb.DuckDBPyConnection) -> None:
    state = fingerprint(con)
    con.execute("DELETE FROM meta WHERE key = $k", {"k": META_KEY})
    con.execute("INSERT INTO meta (key, value) VALUES ($k, $v)", {"k": META_KEY, "v": state})


def refresh(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild both tables from `tickets`, in parts (see PART_ROWS); returns the number of located tickets."""
    grid = {"p_dlat": POS_GRID.dlat, "p_dlon": POS_GRID.dlon, **back_params()}
    for i, problems in enumerate(parts(con.execute(_PROBLEMS_SQL).fetchall(), PART_ROWS)):
        con.execute(_TICKETS_SQL if i == 0 else _TICKETS_MORE_SQL, {**grid, "problems": problems})
    build_by_year(con, _YEARS_SQL, _CELLS_SQL, _CELLS_MORE_SQL, CELL_GRID.sql_params())
    _write_fingerprint(con)
    sql = f"SELECT count(*) FROM {TABLE}"
    (n,) = con.execute(sql).fetchone()
    return int(n)


def ready(con: duckdb.DuckDBPyConnection) -> bool:
    """True when both tables were built from the current `tickets` with the current back-after-a-close rule."""
    con = scope.bookkeeping_cursor(con)   # whole tables, also from a district-scoped cursor
    try:
        (built,) = con.execute(_READY_SQL).fetchone()
        if built is None:
            return False
        state = fingerprint(con)
    except duckdb.CatalogException:  # a store without the meta table
        return False
    return built == state


# ------------------------------------------------------------------ incremental refresh (data/derived.py)
TICKETS_ORDER = "problem, received_at, ticket_id"       # the order of a full build (_TICKETS_PART_SQL)
CELLS_ORDER = "day, district, street, gi, gj"           # (_CELLS_PART_SQL)

# After an import, a located ticket's row changes only if the ticket changed, or if its `back` flag did, which
# depends only on the closes of its problem near it (data/after_close.py: at most `ac_reach` 20 m positions
# away, row or column): the rows to write again are those of every (problem, position) that near a position
# where a changed ticket was before the import (its row in hotspot_tickets) or is now (`_hot_keys`). Their
# flags are computed with the same SQL as the full build, against the closes of the positions that near those
# (`_hot_ring`); then only the changed tickets' rows and those whose flag changed are deleted and written again
# (at the end of the table).
_HOT_COLS = ("problem, pi, pj, ticket_id, received_at, closed_at, lon, lat, address, " + ", ".join(FILTER_COLUMNS))
_NEAR_SQL = """CREATE OR REPLACE TEMP TABLE {out} AS
    SELECT DISTINCT k.problem, k.pi + a.di AS pi, k.pj + b.dj AS pj
    FROM (SELECT DISTINCT problem, pi, pj FROM {keys}) k
    CROSS JOIN (SELECT range AS di FROM range(-{times} * $ac_reach, {times} * $ac_reach + 1)) a
    CROSS JOIN (SELECT range AS dj FROM range(-{times} * $ac_reach, {times} * $ac_reach + 1)) b"""
_INCR_SQL = (
    f"CREATE OR REPLACE TEMP TABLE _hot_old AS SELECT {_HOT_COLS} FROM {TABLE} "
    "WHERE ticket_id IN (SELECT ticket_id FROM {ids})",
    f"""CREATE OR REPLACE TEMP TABLE _hot_new AS
    SELECT {PROBLEM_SQL} AS problem, CAST(floor(lat / $p_dlat) AS BIGINT) AS pi,
           CAST(floor(lon / $p_dlon) AS BIGINT) AS pj, ticket_id, received_at, closed_at, lon, lat, address,
           {", ".join(FILTER_COLUMNS)}
    FROM tickets WHERE ticket_id IN (SELECT ticket_id FROM {{ids}}) AND {LOCATED_SQL}""",
    "CREATE OR REPLACE TEMP TABLE _hot_touched AS SELECT DISTINCT problem, pi, pj FROM "
    "(SELECT problem, pi, pj FROM _hot_old UNION ALL SELECT problem, pi, pj FROM _hot_new)",
    _NEAR_SQL.format(out="_hot_keys", keys="_hot_touched", times=1),
    _NEAR_SQL.format(out="_hot_ring", keys="_hot_touched", times=2),
    f"""CREATE OR REPLACE TEMP TABLE _hot_around AS
    SELECT h.rowid AS rid, ticket_id IN (SELECT ticket_id FROM {{ids}}) AS changed, back AS was_back, {_HOT_COLS}
    FROM {TABLE} h SEMI JOIN _hot_ring k USING (problem, pi, pj)""",
    """CREATE OR REPLACE TEMP TABLE _hot_at AS
    SELECT a.* FROM _hot_around a SEMI JOIN _hot_keys k USING (problem, pi, pj)""",
    f"""CREATE OR REPLACE TEMP TABLE _hot_rows AS
    SELECT {_HOT_COLS} FROM _hot_at WHERE NOT changed
    UNION ALL SELECT * FROM _hot_new""",
    f"""CREATE OR REPLACE TEMP TABLE _hot_closes AS
    SELECT {_HOT_COLS} FROM _hot_around WHERE NOT changed
    UNION ALL SELECT * FROM _hot_new""",
    f"CREATE OR REPLACE TEMP TABLE _hot_back AS {after_close.ids_sql('_hot_rows', '_hot_closes')}",
    """CREATE OR REPLACE TEMP TABLE _hot_write AS
    SELECT *, ticket_id IN (SELECT ticket_id FROM _hot_back) AS back FROM _hot_rows""",
    # the unchanged tickets whose flag did not change either keep their row (most of them)
    """CREATE OR REPLACE TEMP TABLE _hot_same AS
    SELECT a.rid, a.ticket_id FROM _hot_at a JOIN _hot_write w ON w.ticket_id = a.ticket_id
    WHERE NOT a.changed AND w.back = a.was_back""",
    f"DELETE FROM {TABLE} WHERE rowid IN (SELECT rid FROM _hot_at) AND rowid NOT IN (SELECT rid FROM _hot_same)",
    f"""INSERT INTO {TABLE}
    SELECT * FROM _hot_write WHERE ticket_id NOT IN (SELECT ticket_id FROM _hot_same)
    ORDER BY problem, received_at, ticket_id""",
    # the day x cell groups where a changed ticket was or is: counted again from hotspot_tickets
    """CREATE OR REPLACE TEMP TABLE _hot_cells AS
    SELECT DISTINCT CAST(received_at AS DATE) AS day, district, street,
           CAST(floor(lat / $g_dlat) AS BIGINT) AS gi, CAST(floor(lon / $g_dlon) AS BIGINT) AS gj
    FROM (SELECT received_at, district, street, lat, lon FROM _hot_old
          UNION ALL SELECT received_at, district, street, lat, lon FROM _hot_new)
    WHERE received_at IS NOT NULL""",
)
_CELL_ON = ("c.day = k.day AND c.district IS NOT DISTINCT FROM k.district "
            "AND c.street IS NOT DISTINCT FROM k.street AND c.gi = k.gi AND c.gj = k.gj")
_INCR_CELLS_DELETE_SQL = f"DELETE FROM {CELLS} c USING _hot_cells k WHERE c.day >= $lo AND c.day <= $hi AND {_CELL_ON}"
# The touched cells' tickets are picked before they are counted (grouping the whole period first costs a scan
# and an aggregate of every located ticket of it).
_INCR_CELLS_INSERT_SQL = f"""
INSERT INTO {CELLS}
SELECT day, district, street, gi, gj,
       count(*) AS n, count(*) FILTER (WHERE hour(received_at) >= 12) AS n_pm,
       min(received_at) AS first, max(received_at) AS last, sum(lon) AS slon, sum(lat) AS slat
FROM (SELECT CAST(received_at AS DATE) AS day, district, street,
             CAST(floor(lat / $g_dlat) AS BIGINT) AS gi, CAST(floor(lon / $g_dlon) AS BIGINT) AS gj, received_at,
             lon, lat
      FROM {TABLE} WHERE received_at >= $lo AND received_at < $hi) c
SEMI JOIN _hot_cells k ON {_CELL_ON}
GROUP BY ALL
ORDER BY day, district, street, gi, gj
"""
_LAST_DAY_SQL = f"SELECT max(day) FROM {CELLS}"
_WRITTEN_SQL = "SELECT (SELECT count(*) FROM _hot_write) - (SELECT count(*) FROM _hot_same)"
_INCR_DROP = ("_hot_old", "_hot_new", "_hot_touched", "_hot_keys", "_hot_ring", "_hot_around", "_hot_at", "_hot_rows",
              "_hot_closes", "_hot_back", "_hot_write", "_hot_same", "_hot_cells")


def refresh_for(con: duckdb.DuckDBPyConnection, ids_table: str) -> dict:
    """Bring both tables up to date after the tickets of `ids_table` (a temp table with `ticket_id`, a fixed
    name from data/derived.py) were inserted or updated, rewriting only the rows they touch (same rows as
    `refresh`; written at the end of the tables, see docs/performance.md). Returns the rows rewritten."""
    import datetime as dt

    rule = after_close.Rule.from_settings()
    params = {"p_dlat": POS_GRID.dlat, "p_dlon": POS_GRID.dlon, **CELL_GRID.sql_params(), **rule.params(),
              "ac_reach": rule.reach_cells(POS_CELL_M)}   # how many 20 m positions apart two near tickets can be
    for sql in _INCR_SQL:
        sql = sql.replace("{ids}", ids_table)
        con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})
    (n_rows,) = con.execute(_WRITTEN_SQL).fetchone()
    lo, hi = con.execute("SELECT min(day), max(day) FROM _hot_cells").fetchone()
    n_cells = n_early = 0
    if lo is not None:
        (last,) = con.execute(_LAST_DAY_SQL).fetchone()
        bounds = {"lo": dt.datetime.combine(lo, dt.time()), "hi": dt.datetime.combine(hi, dt.time()) + dt.timedelta(days=1)}
        con.execute(_INCR_CELLS_DELETE_SQL, {"lo": lo, "hi": hi})
        sql = _INCR_CELLS_INSERT_SQL
        (n_cells,) = con.execute(sql, {**CELL_GRID.sql_params(), **bounds}).fetchone()
        if last is not None:   # cells written at the end before the table's last day (tablebuild.COMPACT_SHARE)
            (n_early,) = con.execute("SELECT count(*) FROM _hot_cells WHERE day < $last", {"last": last}).fetchone()
    for t in _INCR_DROP:
        sql = f"DROP TABLE IF EXISTS {t}"
        con.execute(sql)
    _write_fingerprint(con)
    return {"hotspot_rows": int(n_rows), "hotspot_cells": int(n_cells), "hotspot_cells_early": int(n_early)}
