"""The refresh orchestrator of the tables derived from the tickets at import, so pages never recompute them.

It imports every module that builds one, and nothing imports it back (the shared
building blocks sit below them in data/tablebuild.py):

- `ticket_daily` and its smaller cubes (data/summaries.py);
- `funnel_tickets`: the tickets linked to a clue, and `funnel_clues`: the clues with
  their case and rectification (data/links.py);
- `hotspot_tickets`, `hotspot_cells`: the located tickets by problem and time, and
  their day x street x 500 m cell counts, for the hotspot view (data/positions.py);
- `ticket_words` (data/words.py), `word_daily` and the monthly and weekly word tables
  (data/word_tables.py);
- `screening_tickets`: the located tickets with their text sorted by problem, for the screening rules
  (data/screen_tickets.py). Readers can do without it (a rule then reads `tickets`), so it is not in
  `outdated` (a read-only open is never refused for it) but in `behind`, which a read-write open builds too.

`refresh` runs after every ticket import (incrementally where it can), `outdated` and
`upgrade` bring a store written by an older version up to date (a read-write open does,
data/store.py).
"""

from __future__ import annotations

import time

import duckdb

from data import links, positions, screen_tickets, summaries, word_tables, words
from data.summaries import SUMMARY_TABLES, build_daily, refresh_cubes
from data.tablebuild import UNSORTED_KEY, compact_if_needed, get_meta, set_meta, table_name


def outdated(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Derived tables a store written by an older version lacks (or holds stale): what `upgrade` would build.

    Every one of them can be rebuilt from the stored tables in seconds to
    minutes (no text segmentation), so a read-write open builds them once
    (`python manage.py init`) instead of readers falling back to slow scans on
    every page view; a read-only open refuses such a store (data/store.py).
    """
    out = list(summaries.cubes_missing(con))
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'word_daily'"
    if con.execute(sql).fetchone()[0] and not word_tables.has_summaries(con):
        out.append("word_monthly")
    if not links.ready(con):
        out.append(links.TABLE)
    elif not links.clues_ready(con):
        out.append(links.CLUES_TABLE)
    if not positions.ready(con):
        out.append(positions.TABLE)
    return out


def behind(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Derived tables readers can do without (they read `tickets` instead) that are missing or stale: built by
    `upgrade` with those of `outdated`, but no reason to refuse a read-only open."""
    return [] if screen_tickets.ready(con) else [screen_tickets.TABLE]


def upgrade(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Build what `outdated` and `behind` name; returns it."""
    todo = outdated(con) + behind(con)
    if any(t in dict(SUMMARY_TABLES) for t in todo):
        refresh_cubes(con)
    if "word_monthly" in todo:
        word_tables.refresh_summaries(con)
    if links.TABLE in todo or links.CLUES_TABLE in todo:
        links.refresh(con)   # both: funnel_clues numbers the clues of funnel_tickets
    if positions.TABLE in todo:
        positions.refresh(con)
    if screen_tickets.TABLE in todo:
        screen_tickets.refresh(con)
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
    out: dict = {"mode": "full", "seconds": {}}
    t0 = time.perf_counter()
    if new_ticket_ids_table is not None and old_tickets_table is not None and before is not None:
        why = can_increment(con, new_ticket_ids_table, before)
        if why is None:
            out = refresh_incremental(con, new_ticket_ids_table, old_tickets_table)
            _timed(out, "words", lambda: words.refresh(con, new_ticket_ids_table=new_ticket_ids_table,
                                                       old_tickets_table=old_tickets_table))
            # the screening copy: the changed tickets' rows only, if it was current before the import
            if before.get("screening"):
                _timed(out, "screening", lambda: out.update(screen_tickets.refresh_for(con, new_ticket_ids_table)))
            else:
                _timed(out, "screening", lambda: screen_tickets.refresh(con))
            out["seconds"]["total"] = round(time.perf_counter() - t0, 3)
            return out
        out["why_full"] = why
    _timed(out, "ticket_daily", lambda: build_daily(con))
    _timed(out, "cubes", lambda: refresh_cubes(con))
    _timed(out, "links", lambda: links.refresh(con))
    _timed(out, "hotspot", lambda: positions.refresh(con))
    _timed(out, "screening", lambda: screen_tickets.refresh(con))
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
    return {"tickets": con.execute(TICKETS_STATE_SQL).fetchone()[0],
            "hotspot": positions.fingerprint(con),
            "screening": screen_tickets.ready(con)}



DAYS_KEY = "ticket_days"   # meta: "first|last" day with tickets in the whole store (analytics/periods.py)


def _write_state(con: duckdb.DuckDBPyConnection, *, rebuilt: bool = False) -> None:
    set_meta(con, STATE_KEY, con.execute(TICKETS_STATE_SQL).fetchone()[0])
    # The export's own span, readable by every scope (meta is open): a district whose last ticket came a few
    # days before the export's end still has a complete last month.
    lo, hi = con.execute("SELECT min(day), max(day) FROM ticket_daily").fetchone()
    set_meta(con, DAYS_KEY, f"{lo}|{hi}" if lo is not None else "")
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
    sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    have = {r[0] for r in con.execute(sql).fetchall()}
    missing = [t for t in (*dict(SUMMARY_TABLES), positions.TABLE, positions.CELLS) if t not in have]
    if missing:
        return "missing " + ", ".join(missing)
    stored = get_meta(con, STATE_KEY)
    if stored is not None:
        if stored != before["tickets"]:
            return "derived tables not current before the import"
    elif get_meta(con, positions.META_KEY) != before["hotspot"]:
        return "derived tables not known to be current before the import"
    sql = f"SELECT count(DISTINCT ticket_id) FROM {table_name(ids_table)}"
    (n_changed,) = con.execute(sql).fetchone()
    (n_all,) = con.execute("SELECT count(*) FROM tickets").fetchone()
    if n_changed > INCREMENTAL_MAX_SHARE * max(n_all, 1):
        return f"{n_changed} of {n_all} tickets changed"
    return None


def refresh_incremental(con: duckdb.DuckDBPyConnection, ids_table: str, old_table: str) -> dict:
    """Update ticket_daily, the cubes, the hotspot tables and (if needed) the funnel tables for the tickets of
    `ids_table` only; `old_table` holds the rows of the updated ones as they were before the import. The words
    are left to `words.refresh` (it works on the same ids)."""
    out: dict = {"mode": "incremental", "seconds": {}, "compacted": []}
    sql = f"CREATE OR REPLACE TEMP TABLE {_IDS} AS SELECT DISTINCT ticket_id FROM {table_name(ids_table)}"
    con.execute(sql)
    old = table_name(old_table)

    def daily() -> None:
        con.execute(summaries.delta_sql(_IDS, old))
        out["daily_rows"] = summaries.apply_delta(con, "ticket_daily", summaries.ALL_DIMS, out["compacted"])

    def cubes() -> None:
        for table, dims in SUMMARY_TABLES:
            if table != "ticket_daily":
                summaries.apply_delta(con, table, dims, out["compacted"])
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
    con.execute(f"DROP TABLE IF EXISTS {_IDS}")
    return out
