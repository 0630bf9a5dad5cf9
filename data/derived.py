"""Tables derived from the tickets at import, so pages never recompute them.

- `ticket_daily`: counts by day x street x category x topic x channel x
  appeal type, which answers most dashboard queries without touching the
  tickets table (see `Filters.uses_summary`).
- smaller "cubes" of the same counts over fewer columns (`SUMMARY_TABLES`),
  built from `ticket_daily`. At Beijing scale the full summary has almost as
  many rows as a month of tickets (every street x leaf category x channel x
  appeal type combination occurs), so a whole-city year view would scan
  millions of rows; a cube without street/channel/appeal type has at most
  days x 16 districts x leaf categories rows. `Filters.summary_table()` picks
  the smallest one holding every column a query filters or groups on.
- `funnel_tickets`: the tickets linked to a clue, and `funnel_clues`: the clues with
  their case and rectification (see data/links.py).
- `hotspot_tickets`, `hotspot_cells`: the located tickets by problem and time, and
  their day x street x 500 m cell counts, for the hotspot view (see data/positions.py).
- `ticket_words`, `word_daily` and the monthly word tables (see data/words.py).
"""

from __future__ import annotations

import datetime as dt
import re
import time

import duckdb

# One year of tickets at a time (`build_daily`): the groups include the day, so the years' groups are disjoint,
# and appending them oldest first keeps the table sorted by day. In one piece, the aggregate and sort of five
# years (125 M tickets) spilled more than 21 GB to disk.
DAILY_PART_SQL = """
SELECT CAST(received_at AS DATE) AS day,
       district, street, category_l1, category_l2, category_l3, topic, channel, appeal_type,
       count(*)                                              AS n,
       count(lon)                                            AS n_located,
       count(responded_at)                                   AS n_responded,
       count(closed_at)                                      AS n_closed,
       count(*) FILTER (WHERE resolved)                      AS n_resolved,
       count(satisfaction)                                   AS n_rated,
       count(*) FILTER (WHERE satisfaction IN ('满意', '基本满意')) AS n_satisfied
FROM tickets
WHERE received_at >= $lo AND received_at < $hi
GROUP BY ALL
ORDER BY day, district, street
"""
_DAILY_CREATE_SQL = "CREATE OR REPLACE TABLE ticket_daily AS " + DAILY_PART_SQL
_DAILY_INSERT_SQL = "INSERT INTO ticket_daily " + DAILY_PART_SQL
_YEARS_SQL = "SELECT DISTINCT year(received_at) AS y FROM tickets ORDER BY y"


MEASURES = ("n", "n_located", "n_responded", "n_closed", "n_resolved", "n_rated", "n_satisfied")
_ALL_DIMS = ("district", "street", "category_l1", "category_l2", "category_l3", "topic", "channel", "appeal_type")
# Daily summaries, smallest first: (table, its columns besides `day` and the measures).
SUMMARY_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ticket_daily_core", ("district", "category_l1", "category_l2", "category_l3", "topic")),
    ("ticket_daily_street", ("district", "street", "topic")),
    ("ticket_daily", _ALL_DIMS),
)


def _cube_sql(table: str, dims: tuple[str, ...]) -> str:
    # Identifiers come from SUMMARY_TABLES only.
    cols = ", ".join(dims)
    sums = ", ".join(f"CAST(sum({m}) AS BIGINT) AS {m}" for m in MEASURES)
    return (f"CREATE OR REPLACE TABLE {table} AS SELECT day, {cols}, {sums} "
            f"FROM ticket_daily GROUP BY ALL ORDER BY day, {cols}")


def build_by_year(con: duckdb.DuckDBPyConnection, years_sql: str, create_sql: str, insert_sql: str,
                  params: dict | None = None) -> None:
    """Build a table a year at a time: `create_sql` for the first year `years_sql` lists, `insert_sql` for the
    others, each bound to `params` plus `lo`/`hi` (the year's first instant and the next year's). A table whose
    groups include the day gets the same rows as in one piece, sorted by day, with bounded memory and spill."""
    years = [y for (y,) in con.execute(years_sql).fetchall()] or [2000]   # no rows: an empty table
    for i, y in enumerate(years):
        bounds = {"lo": dt.datetime(y, 1, 1), "hi": dt.datetime(y + 1, 1, 1)}
        con.execute(create_sql if i == 0 else insert_sql, {**(params or {}), **bounds})


def build_daily(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild `ticket_daily` from the tickets, a year at a time (see DAILY_PART_SQL)."""
    build_by_year(con, _YEARS_SQL, _DAILY_CREATE_SQL, _DAILY_INSERT_SQL)


def refresh_daily(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the daily summary from the tickets, then its smaller cubes from it."""
    build_daily(con)
    refresh_cubes(con)


def refresh_cubes(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild every summary cube from `ticket_daily` (seconds even at 25 M tickets)."""
    for table, dims in SUMMARY_TABLES:
        if table != "ticket_daily":
            con.execute(_cube_sql(table, dims))


def cubes_missing(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Summary cubes this store lacks (a store written by an older version)."""
    sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    have = {r[0] for r in con.execute(sql).fetchall()}
    return [t for t, _ in SUMMARY_TABLES if t not in have]


def outdated(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Derived tables a store written by an older version lacks (or holds stale): what `upgrade` would build.

    Every one of them can be rebuilt from the stored tables in seconds to
    minutes (no text segmentation), so a reader opening such a store gets
    them once instead of falling back to slow scans on every page view.
    """
    from data import links, positions, words

    out = list(cubes_missing(con))
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'word_daily'"
    if con.execute(sql).fetchone()[0] and not words.has_summaries(con):
        out.append("word_monthly")
    if not links.ready(con):
        out.append(links.TABLE)
    elif not links.clues_ready(con):
        out.append(links.CLUES_TABLE)
    if not positions.ready(con):
        out.append(positions.TABLE)
    return out


def upgrade(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Build what `outdated` names; returns it."""
    from data import links, positions, words

    todo = outdated(con)
    if any(t in dict(SUMMARY_TABLES) for t in todo):
        refresh_cubes(con)
    if "word_monthly" in todo:
        words.refresh_summaries(con)
    if links.TABLE in todo or links.CLUES_TABLE in todo:
        links.refresh(con)   # both: funnel_clues numbers the clues of funnel_tickets
    if positions.TABLE in todo:
        positions.refresh(con)
    return todo


def refresh(con: duckdb.DuckDBPyConnection, *, new_ticket_ids_table: str | None = None,
            old_tickets_table: str | None = None, before: dict | None = None) -> dict:
    """Bring every derived table up to date after tickets changed; returns what was done and its timings.

    `new_ticket_ids_table` names a table or view with a `ticket_id` column of
    the tickets inserted or updated; words are computed only for those. With
    `old_tickets_table` (the rows of the updated tickets as they were before the
    import, same columns as `tickets`) and `before` (`state_before(con)` taken
    before the import changed anything), the other tables are updated only where
    those tickets were or are now (see `refresh_incremental`), when
    `can_increment` allows it; otherwise they are rebuilt from every ticket.
    """
    from data import links, positions, words

    out: dict = {"mode": "full", "seconds": {}}
    t0 = time.perf_counter()
    if new_ticket_ids_table is not None and old_tickets_table is not None and before is not None:
        why = can_increment(con, new_ticket_ids_table, before)
        if why is None:
            out = refresh_incremental(con, new_ticket_ids_table, old_tickets_table)
            _timed(out, "words", lambda: words.refresh(con, new_ticket_ids_table=new_ticket_ids_table,
                                                       old_tickets_table=old_tickets_table))
            out["seconds"]["total"] = round(time.perf_counter() - t0, 3)
            return out
        out["why_full"] = why
    _timed(out, "ticket_daily", lambda: build_daily(con))
    _timed(out, "cubes", lambda: refresh_cubes(con))
    _timed(out, "links", lambda: links.refresh(con))
    _timed(out, "hotspot", lambda: positions.refresh(con))
    _timed(out, "words", lambda: words.refresh(con, new_ticket_ids_table=new_ticket_ids_table))
    _write_state(con, rebuilt=True)
    out["seconds"]["total"] = round(time.perf_counter() - t0, 3)
    return out


def _timed(out: dict, name: str, fn) -> None:
    t = time.perf_counter()
    fn()
    out["seconds"][name] = round(time.perf_counter() - t, 3)


# ------------------------------------------------------------------ incremental refresh
# After an import, the derived tables change only where the changed tickets were before it or are now: their
# days x groups in ticket_daily and the cubes, their problems' 20 m positions in hotspot_tickets, their days x
# 500 m cells in hotspot_cells, their days and months in the word tables, and the funnel tables only when one
# of them is linked to a clue. `refresh_incremental` updates just that, and gives the same rows as a full
# rebuild (tests/test_incremental.py). Above INCREMENTAL_MAX_SHARE of the tickets a rebuild is cheaper.
INCREMENTAL_MAX_SHARE = 0.25
STATE_KEY = "derived_tickets_state"   # meta: tickets_state() when the derived tables were last brought up to date
TICKETS_STATE_SQL = "SELECT concat_ws('|', count(*), max(import_id)) FROM tickets"
_IDS = "_incr_ids"


def state_before(con: duckdb.DuckDBPyConnection) -> dict:
    """What `can_increment` compares, taken before an import changes `tickets` (two cheap queries)."""
    from data import positions

    return {"tickets": con.execute(TICKETS_STATE_SQL).fetchone()[0],
            "hotspot": con.execute(positions.STATE_SQL).fetchone()[0]}


def _meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    return con.execute("SELECT max(value) FROM meta WHERE key = $k", {"k": key}).fetchone()[0]


def _set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("DELETE FROM meta WHERE key = $k", {"k": key})
    con.execute("INSERT INTO meta (key, value) VALUES ($k, $v)", {"k": key, "v": value})


def _write_state(con: duckdb.DuckDBPyConnection, *, rebuilt: bool = False) -> None:
    _set_meta(con, STATE_KEY, con.execute(TICKETS_STATE_SQL).fetchone()[0])
    if rebuilt:   # every table written in order again
        con.execute("DELETE FROM meta WHERE starts_with(key, $k)", {"k": UNSORTED_KEY})


def can_increment(con: duckdb.DuckDBPyConnection, ids_table: str, before: dict) -> str | None:
    """None when the derived tables can be updated for the tickets of `ids_table` only, else why not.

    They must have been up to date before the import: the stored state is the
    tickets' state before it (an import without a refresh, `--no-refresh`, leaves
    them behind, and only a full rebuild catches up). A store written before the
    state was recorded is trusted when its hotspot tables were current (their own
    fingerprint, positions.ready, taken before the import).
    """
    from data import positions

    sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    have = {r[0] for r in con.execute(sql).fetchall()}
    missing = [t for t in (*dict(SUMMARY_TABLES), positions.TABLE, positions.CELLS) if t not in have]
    if missing:
        return "missing " + ", ".join(missing)
    stored = _meta(con, STATE_KEY)
    if stored is not None:
        if stored != before["tickets"]:
            return "derived tables not current before the import"
    elif _meta(con, positions.META_KEY) != before["hotspot"]:
        return "derived tables not known to be current before the import"
    sql = f"SELECT count(DISTINCT ticket_id) FROM {table_name(ids_table)}"
    (n_changed,) = con.execute(sql).fetchone()
    (n_all,) = con.execute("SELECT count(*) FROM tickets").fetchone()
    if n_changed > INCREMENTAL_MAX_SHARE * max(n_all, 1):
        return f"{n_changed} of {n_all} tickets changed"
    return None


def table_name(name: str) -> str:
    """A table name given by a caller (data/ingest, data/words), used in SQL: only plain (optionally
    schema-qualified) identifiers are accepted."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
        raise ValueError(f"bad table name {name!r}")
    return name


# One row per changed ticket, before (-1) and after (+1) the import, with ticket_daily's group and measures.
_SIGNED_ROWS = """
SELECT CAST(received_at AS DATE) AS day, district, street, category_l1, category_l2, category_l3, topic, channel,
       appeal_type, {sign} AS n, {sign} * CAST(lon IS NOT NULL AS BIGINT) AS n_located,
       {sign} * CAST(responded_at IS NOT NULL AS BIGINT) AS n_responded,
       {sign} * CAST(closed_at IS NOT NULL AS BIGINT) AS n_closed,
       {sign} * CAST(coalesce(resolved, false) AS BIGINT) AS n_resolved,
       {sign} * CAST(satisfaction IS NOT NULL AS BIGINT) AS n_rated,
       {sign} * CAST(coalesce(satisfaction IN ('满意', '基本满意'), false) AS BIGINT) AS n_satisfied
FROM {source} WHERE received_at IS NOT NULL
"""
_CHANGED_NOW = f"(SELECT * FROM tickets WHERE ticket_id IN (SELECT ticket_id FROM {_IDS}))"
_DELTA_SQL = ("CREATE OR REPLACE TEMP TABLE _daily_delta AS SELECT day, " + ", ".join(_ALL_DIMS) + ", "
              + ", ".join(f"CAST(sum({m}) AS BIGINT) AS {m}" for m in MEASURES) + " FROM ("
              + _SIGNED_ROWS.format(sign="1", source=_CHANGED_NOW)
              + " UNION ALL " + _SIGNED_ROWS.format(sign="-1", source="{old}")
              + ") GROUP BY ALL HAVING " + " OR ".join(f"sum({m}) <> 0" for m in MEASURES))
_DROP_IDS_SQL = f"DROP TABLE IF EXISTS {_IDS}"


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


def _apply_delta(con: duckdb.DuckDBPyConnection, table: str, dims: tuple[str, ...], compacted: list) -> int:
    """Add `_daily_delta` to the summary `table` (identifiers from SUMMARY_TABLES, see `add_deltas`); appends
    `table` to `compacted` if it was sorted again. Returns the rows written."""
    written, sorted_again = add_deltas(con, table, delta="_daily_delta", col="day", keys=dims, measures=MEASURES,
                                       order="day, " + ", ".join(dims))
    if sorted_again:
        compacted.append(table)
    return written


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
    total = int(_meta(con, key) or 0) + n_unsorted
    sql = f"SELECT count(*) FROM {table}"
    (n_rows,) = con.execute(sql).fetchone()
    compact = total > 0 and total > COMPACT_SHARE * n_rows
    if compact:
        sql = f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table} ORDER BY {order_by}"
        con.execute(sql)
        total = 0
    _set_meta(con, key, str(total))
    return compact


def refresh_incremental(con: duckdb.DuckDBPyConnection, ids_table: str, old_table: str) -> dict:
    """Update ticket_daily, the cubes, the hotspot tables and (if needed) the funnel tables for the tickets of
    `ids_table` only; `old_table` holds the rows of the updated ones as they were before the import. The words
    are left to `words.refresh` (it works on the same ids)."""
    from data import links, positions

    out: dict = {"mode": "incremental", "seconds": {}, "compacted": []}
    sql = f"CREATE OR REPLACE TEMP TABLE {_IDS} AS SELECT DISTINCT ticket_id FROM {table_name(ids_table)}"
    con.execute(sql)
    old = table_name(old_table)

    def daily() -> None:
        con.execute(_DELTA_SQL.format(old=old))
        out["daily_rows"] = _apply_delta(con, "ticket_daily", _ALL_DIMS, out["compacted"])

    def cubes() -> None:
        for table, dims in SUMMARY_TABLES:
            if table != "ticket_daily":
                _apply_delta(con, table, dims, out["compacted"])
        con.execute("DROP TABLE IF EXISTS _daily_delta")

    def funnel() -> None:
        sql = f"SELECT count(*) FROM clue_tickets WHERE ticket_id IN (SELECT ticket_id FROM {_IDS})"
        (linked,) = con.execute(sql).fetchone()
        out["links_rebuilt"] = bool(linked)
        if linked:   # a linked ticket's columns and its clue's first ticket may change: rebuild (cheap, ~1% rows)
            links.refresh(con)

    _timed(out, "ticket_daily", daily)
    _timed(out, "cubes", cubes)
    _timed(out, "links", funnel)

    def hotspot() -> None:
        out.update(positions.refresh_for(con, _IDS))
        out["compacted"] += [t for t, order, n in (
            (positions.TABLE, positions.TICKETS_ORDER, out["hotspot_rows"]),
            (positions.CELLS, positions.CELLS_ORDER, out.pop("hotspot_cells_early")))
            if compact_if_needed(con, t, order, n)]

    _timed(out, "hotspot", hotspot)
    _write_state(con)
    con.execute(_DROP_IDS_SQL)
    return out
