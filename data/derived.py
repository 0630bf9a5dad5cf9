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


def refresh(con: duckdb.DuckDBPyConnection, *, new_ticket_ids_table: str | None = None) -> None:
    """Bring every derived table up to date after tickets changed.

    `new_ticket_ids_table` names a table or view with a `ticket_id` column of
    the tickets inserted or updated; words are computed only for those.
    """
    from data import links, positions, words

    refresh_daily(con)
    links.refresh(con)
    positions.refresh(con)
    words.refresh(con, new_ticket_ids_table=new_ticket_ids_table)
