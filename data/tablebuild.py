"""Building blocks shared by the derived tables: checked table names, year-by-year builds, the `meta`
key/value rows, and signed deltas with re-sorting for incremental refreshes.

They sit below every module that builds a derived table (data/summaries.py, data/positions.py,
data/words.py, data/links.py) and import none of them, so the refresh orchestrator
(data/derived.py) can import all of those at the top without a cycle.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb


def build_by_year(con: duckdb.DuckDBPyConnection, years_sql: str, create_sql: str, insert_sql: str,
                  params: dict | None = None) -> None:
    """Build a table a year at a time: `create_sql` for the first year `years_sql` lists, `insert_sql` for the
    others, each bound to `params` plus `lo`/`hi` (the year's first instant and the next year's). A table whose
    groups include the day gets the same rows as in one piece, sorted by day, with bounded memory and spill."""
    years = [y for (y,) in con.execute(years_sql).fetchall()] or [2000]   # no rows: an empty table
    for i, y in enumerate(years):
        bounds = {"lo": dt.datetime(y, 1, 1), "hi": dt.datetime(y + 1, 1, 1)}
        con.execute(create_sql if i == 0 else insert_sql, {**(params or {}), **bounds})


def table_name(name: str) -> str:
    """A table name given by a caller (data/ingest, data/words), used in SQL: only plain (optionally
    schema-qualified) identifiers are accepted."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
        raise ValueError(f"bad table name {name!r}")
    return name


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """The value stored in `meta` under `key`, or None."""
    return con.execute("SELECT max(value) FROM meta WHERE key = $k", {"k": key}).fetchone()[0]


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Store `value` in `meta` under `key` (replacing it)."""
    con.execute("DELETE FROM meta WHERE key = $k", {"k": key})
    con.execute("INSERT INTO meta (key, value) VALUES ($k, $v)", {"k": key, "v": value})


def add_deltas(con: duckdb.DuckDBPyConnection, table: str, *, delta: str, col: str, keys: tuple[str, ...],
               measures: tuple[str, ...], order: str, period: str = "day", all_unsorted: bool = False
               ) -> tuple[int, bool]:
    """Add the signed counts of the temp table `delta` to the count table `table` (every identifier a fixed name
    from this module or data/words.py): `table` has the columns `col`, `keys`, `measures` in that order;
    `period` is `col`'s value computed from `delta`'s columns (default its `day`). The touched groups are
    deleted and written again with their new counts (groups left with no ticket dropped), at the end of the
    table; `compact_if_needed` then counts those out of order (of periods before the table's last one, or all
    of them with `all_unsorted`, for a table not sorted by period) and sorts the table by `order` past
    COMPACT_SHARE. Returns (rows written, whether the table was sorted again)."""
    on = " AND ".join([f"t.{col} = g.{col}", *(f"t.{c} IS NOT DISTINCT FROM g.{c}" for c in keys)])
    ks = ", ".join(keys)
    sums = ", ".join(f"CAST(sum({m}) AS BIGINT) AS {m}" for m in measures)
    new = ", ".join(f"CAST(coalesce(t.{m}, 0) + g.{m} AS BIGINT) AS {m}" for m in measures)
    sql = f"CREATE OR REPLACE TEMP TABLE _delta_groups AS SELECT {period} AS {col}, {ks}, {sums} FROM {delta} GROUP BY ALL"
    con.execute(sql)
    sql = f"SELECT min({col}), max({col}) FROM _delta_groups"
    lo, hi = con.execute(sql).fetchone()
    written = 0
    if lo is not None:
        sql = f"SELECT max({col}) FROM {table}"
        (last,) = con.execute(sql).fetchone()
        # one scan of the touched periods finds the touched rows (kept with their row ids, then deleted by id)
        sql = (f"CREATE OR REPLACE TEMP TABLE _delta_old AS SELECT t.rowid AS rid, t.* FROM {table} t "
               f"SEMI JOIN _delta_groups g ON {on} WHERE t.{col} >= $lo AND t.{col} <= $hi "
               f"AND t.{col} IN (SELECT DISTINCT {col} FROM _delta_groups)")
        con.execute(sql, {"lo": lo, "hi": hi})
        sql = (f"CREATE OR REPLACE TEMP TABLE _delta_rows AS SELECT g.{col}, {', '.join(f'g.{c}' for c in keys)}, "
               f"{new} FROM _delta_groups g LEFT JOIN _delta_old t ON {on}")
        con.execute(sql)
        sql = f"DELETE FROM {table} WHERE rowid IN (SELECT rid FROM _delta_old)"
        con.execute(sql)
        sql = f"INSERT INTO {table} SELECT * FROM _delta_rows WHERE {measures[0]} > 0 ORDER BY {order}"
        (written,) = con.execute(sql).fetchone()
        sql = f"SELECT count(*) FROM _delta_rows WHERE {measures[0]} > 0" + ("" if all_unsorted else f" AND {col} < $last")
        (early,) = con.execute(sql, {} if all_unsorted else {"last": last}).fetchone() if last is not None else (0,)
    for t in ("_delta_groups", "_delta_old", "_delta_rows"):
        sql = f"DROP TABLE IF EXISTS {t}"
        con.execute(sql)
    sorted_again = bool(lo is not None and compact_if_needed(con, table, order, int(early)))
    return int(written), sorted_again


# Rows an incremental refresh writes go to the end of a table. Those of a new day keep ticket_daily, the cubes
# and hotspot_cells sorted by day; those of earlier days (updates) and every row of hotspot_tickets (sorted by
# problem) do not, so the zonemaps of the last row groups cover a wide range and a query reads them whatever
# it selects. Each table counts such rows in `meta` (`unsorted_rows:<table>`) and is rewritten in order once
# they exceed COMPACT_SHARE of it: a sort of the table's own rows, far cheaper than a rebuild from the tickets.
COMPACT_SHARE = 0.05
UNSORTED_KEY = "unsorted_rows:"


def compact_if_needed(con: duckdb.DuckDBPyConnection, table: str, order_by: str, n_unsorted: int) -> bool:
    """Add `n_unsorted` rows written out of order to `table`'s count; rewrite it sorted by `order_by` (fixed
    identifiers from this module and data/positions.py) when the count exceeds COMPACT_SHARE of its rows."""
    key = UNSORTED_KEY + table
    total = int(get_meta(con, key) or 0) + n_unsorted
    sql = f"SELECT count(*) FROM {table}"
    (n_rows,) = con.execute(sql).fetchone()
    compact = total > 0 and total > COMPACT_SHARE * n_rows
    if compact:
        sql = f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table} ORDER BY {order_by}"
        con.execute(sql)
        total = 0
    set_meta(con, key, str(total))
    return compact


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> None:
    """Execute a statement and consume its result (DuckDB 2.0 refuses new work while one is pending)."""
    con.execute(sql, params or {}).fetchall()
