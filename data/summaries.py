"""The daily summary `ticket_daily` and its smaller cubes (`SUMMARY_TABLES`), built from the tickets.

`ticket_daily` counts tickets by day x street x category x topic x channel x appeal type,
which answers most dashboard queries without touching `tickets` (see `Filters.uses_summary`).
At Beijing scale it has almost as many rows as a month of tickets, so smaller "cubes" of the
same counts over fewer columns are built from it; `Filters.summary_table()` picks the smallest
one holding every column a query filters or groups on. An incremental refresh adds signed
deltas of the changed tickets (`delta_sql`, `apply_delta`; run by data/derived.py).
"""

from __future__ import annotations

import duckdb

from data.tablebuild import add_deltas, build_by_year

# One year of tickets at a time (`build_daily`): the groups include the day, so the years' groups are disjoint,
# and appending them oldest first keeps the table sorted by day. In one piece, the aggregate and sort of five
# years (125 M tickets) spilled more than 21 GB to disk.
DAILY_PART_SQL = """
SELECT CAST(received_at AS DATE) AS day,
       district, street, category_l1, category_l2, category_l3, topic, channel, appeal_type,
       count(*)                                              AS n,
       count(lon) FILTER (WHERE geo_flag IS DISTINCT FROM 'outside_region') AS n_located,
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
ALL_DIMS = ("district", "street", "category_l1", "category_l2", "category_l3", "topic", "channel", "appeal_type")
# Daily summaries, smallest first: (table, its columns besides `day` and the measures).
SUMMARY_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ticket_daily_core", ("district", "category_l1", "category_l2", "category_l3", "topic")),
    ("ticket_daily_street", ("district", "street", "topic")),
    ("ticket_daily", ALL_DIMS),
)


def _cube_sql(table: str, dims: tuple[str, ...]) -> str:
    # Identifiers come from SUMMARY_TABLES only.
    cols = ", ".join(dims)
    sums = ", ".join(f"CAST(sum({m}) AS BIGINT) AS {m}" for m in MEASURES)
    return (f"CREATE OR REPLACE TABLE {table} AS SELECT day, {cols}, {sums} "
            f"FROM ticket_daily GROUP BY ALL ORDER BY day, {cols}")


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


# One row per changed ticket, before (-1) and after (+1) the import, with ticket_daily's group and measures.
_SIGNED_ROWS = """
SELECT CAST(received_at AS DATE) AS day, district, street, category_l1, category_l2, category_l3, topic, channel,
       appeal_type, {sign} AS n, {sign} * CAST(lon IS NOT NULL AND geo_flag IS DISTINCT FROM 'outside_region' AS BIGINT) AS n_located,
       {sign} * CAST(responded_at IS NOT NULL AS BIGINT) AS n_responded,
       {sign} * CAST(closed_at IS NOT NULL AS BIGINT) AS n_closed,
       {sign} * CAST(coalesce(resolved, false) AS BIGINT) AS n_resolved,
       {sign} * CAST(satisfaction IS NOT NULL AS BIGINT) AS n_rated,
       {sign} * CAST(coalesce(satisfaction IN ('满意', '基本满意'), false) AS BIGINT) AS n_satisfied
FROM {source} WHERE received_at IS NOT NULL
"""


def delta_sql(ids: str, old: str) -> str:
    """The statement creating `_daily_delta`: ticket_daily's groups and measures of the tickets of `ids` (a temp
    table with `ticket_id`) as they are now, minus those of `old` (their rows before the import); fixed names
    from data/derived.py."""
    now = f"(SELECT * FROM tickets WHERE ticket_id IN (SELECT ticket_id FROM {ids}))"
    return ("CREATE OR REPLACE TEMP TABLE _daily_delta AS SELECT day, " + ", ".join(ALL_DIMS) + ", "
            + ", ".join(f"CAST(sum({m}) AS BIGINT) AS {m}" for m in MEASURES) + " FROM ("
            + _SIGNED_ROWS.format(sign="1", source=now)
            + " UNION ALL " + _SIGNED_ROWS.format(sign="-1", source=old)
            + ") GROUP BY ALL HAVING " + " OR ".join(f"sum({m}) <> 0" for m in MEASURES))


def apply_delta(con: duckdb.DuckDBPyConnection, table: str, dims: tuple[str, ...], compacted: list) -> int:
    """Add `_daily_delta` to the summary `table` (identifiers from SUMMARY_TABLES, see `add_deltas`); appends
    `table` to `compacted` if it was sorted again. Returns the rows written."""
    written, sorted_again = add_deltas(con, table, delta="_daily_delta", col="day", keys=dims, measures=MEASURES,
                                       order="day, " + ", ".join(dims))
    if sorted_again:
        compacted.append(table)
    return written
