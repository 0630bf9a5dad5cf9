"""The one query layer: which table answers a selection, for every read of the ticket store.

Every analytics function reads the store through a source chosen here, so there is one place that knows the
store's tables and when each may answer:

- `volume(f, needs=...)`: ticket counts and rates, per day or grouped by columns: the smallest daily summary
  holding the filtered and grouped columns (`Filters.summary_table`, data/summaries.py), else `tickets`.
  `summary_table(f, *cols)` is the table name alone, `volume_from(f, alias)` the FROM text for joins.
- `located(con, f)`: the located tickets of a selection (maps, hotspots, visit list): `hotspot_tickets`
  (data/positions.py) when it is current, else `tickets` with the located condition.
- `linked(con)`: the tickets linked to clues with their clue, case and rectification (data/links.py):
  `funnel_tickets` when current, else the join of the ledgers.

Each gives exactly the answer `tickets` would (tests compare the paths). The district scope is not applied here
but below every source, by the cursor (data/scope.py): a scoped cursor's tables, summaries included, are views
of the user's districts, so whatever a source picks is already limited. Table names are fixed identifiers; values
are bound as parameters by the callers.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.filters import Filters, Where
from data import links
from data import positions as hpos

# Measures, as SQL over each source. Names are the ticket_daily columns.
MEASURES_DAILY = {m: f"CAST(coalesce(sum({m}), 0) AS BIGINT)" for m in (
    "n", "n_located", "n_responded", "n_closed", "n_resolved", "n_rated", "n_satisfied")}
MEASURES_TICKETS = {
    "n": "count(*)",
    "n_located": "count(lon) FILTER (WHERE geo_flag IS DISTINCT FROM 'outside_region')",
    "n_responded": "count(responded_at)",
    "n_closed": "count(closed_at)",
    "n_resolved": "count(*) FILTER (WHERE resolved)",
    "n_rated": "count(satisfaction)",
    "n_satisfied": "count(*) FILTER (WHERE satisfaction IN ('满意', '基本满意'))",
}

@dataclass(frozen=True)
class Volume:
    """Where the volume numbers of a selection come from: the smallest daily summary that holds its columns, or
    the tickets table."""

    table: str          # fixed identifiers only
    day: str
    measures: dict
    where: Where

    def m(self, name: str) -> str:
        return self.measures[name]

    @property
    def summary(self) -> bool:
        """True when the table is one of the daily summaries (column `day`, counts in `n` ...)."""
        return self.table != "tickets"

    def in_period(self, a: str, b: str) -> str:
        """Condition: the row falls between the dates bound as parameters $a and $b (inclusive)."""
        col = "day" if self.summary else "received_at"
        return f"({col} >= ${a}::TIMESTAMP AND {col} < (${b}::DATE + INTERVAL 1 DAY))"

    def count_if(self, cond: str, measure: str = "n") -> str:
        """Aggregate of `measure` over the rows meeting `cond` (0 when none)."""
        if self.summary:
            return f"CAST(coalesce(sum({measure}) FILTER (WHERE {cond}), 0) AS BIGINT)"
        agg, sep, own = MEASURES_TICKETS[measure].partition(" FILTER (WHERE ")
        if sep:   # a measure with its own filter (n_located): one FILTER holding both conditions
            return f"{agg} FILTER (WHERE ({own[:-1]}) AND ({cond}))"
        return f"{agg} FILTER (WHERE {cond})"


def volume(f: Filters, *, prefix: str = "f", dates: bool = True, summary: bool | None = None,
           needs: tuple[str, ...] = ()) -> Volume:
    """The source answering volume queries for `f` that group by the columns `needs` (a `Volume`).

    `summary=None` uses the smallest daily summary holding the filtered and
    grouped columns whenever the filters allow it; False forces the tickets
    table (tests compare both paths).
    """
    table = f.summary_table(*needs) if summary is not False else None
    if table:
        return Volume(table, "day", MEASURES_DAILY, f.daily_where(prefix=prefix, dates=dates))
    return Volume("tickets", "CAST(received_at AS DATE)", MEASURES_TICKETS, f.where(prefix=prefix, dates=dates))


def summary_table(f: Filters, *group_cols: str) -> str | None:
    """The smallest daily summary answering `f` grouped by `group_cols` (None: only `tickets` can)."""
    return f.summary_table(*group_cols)


def volume_from(f: Filters, *, dates: bool = True, prefix: str = "v",
                group_cols: tuple[str, ...] = ()) -> tuple[str, Where, str]:
    """`volume` for queries that join: (FROM text, its WHERE, the day expression). The table is aliased `d` when
    it is a daily summary (counts in `d.n`) and `t` when it is `tickets` (one row per ticket)."""
    table = summary_table(f, *group_cols)
    if table is not None:
        return f"{table} d", f.daily_where("d", prefix=prefix, dates=dates), "d.day"
    return "tickets t", f.where("t", prefix=prefix, dates=dates), "CAST(t.received_at AS DATE)"


@dataclass(frozen=True)
class Located:
    """Where the located tickets of a selection are read: `hotspot_tickets` (data/positions.py) when it is
    current and the filters are columns it has, else `tickets` (same rows, slower at scale)."""

    table: str        # fixed identifiers only: hpos.TABLE or "tickets"
    located: str      # the located condition on that table ("TRUE" for hotspot_tickets)
    cells: bool       # hpos.CELLS can answer Gi* counts for filters on dates/district/street only

    @property
    def fast(self) -> bool:
        return self.table == hpos.TABLE


TICKETS_LOCATED = Located("tickets", hpos.LOCATED_SQL, False)


def located(con, f: Filters) -> Located:
    """The quickest source that gives exactly the answer `tickets` would."""
    if not f.uses_summary or not hpos.ready(con):
        return TICKETS_LOCATED
    cells = f.filter_columns() <= set(hpos.CELL_FILTER_COLUMNS) and bool(f.date_from and f.date_to)
    return Located(hpos.TABLE, "TRUE", cells)


LINKS_TABLE = links.TABLE            # one row per clue-ticket link, with the ticket's filter columns
CLUES_TABLE = links.CLUES_TABLE      # one row per clue, with its stages' dates
FIRST_INLINE = links.FIRST_INLINE    # each clue's earliest linked ticket, when the per-clue table is not current


def links_ready(con) -> bool:
    """`LINKS_TABLE` is current (built from the ledgers the store holds now)."""
    return links.ready(con)


def per_clue(con) -> bool:
    """`CLUES_TABLE` is current: per-clue queries may read it instead of joining the ledgers."""
    return links.clues_ready(con)


def linked(con) -> str:
    """FROM text of the tickets linked to clues (`funnel_tickets` when current, else the ledgers' join)."""
    return links.source(con)
