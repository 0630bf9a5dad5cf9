"""Helpers shared by the commands."""

from __future__ import annotations

import argparse

from data import settings


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None,
                        help=f"DuckDB file (default: $HOTLINE_DB, now {settings.db_path()})")


def open_read_only(db):
    """The store opened read-only, or None after printing why it cannot be opened.

    With `HOTLINE_ENGINE=clickhouse` the commands read the distributed engine (data/engine) as the dashboard
    does: `HOTLINE_ENGINE_URL`, or the engine store beside `db`."""
    from data import engine, store

    if not engine.embedded():
        from geo import regions

        try:
            con = engine.connect(engine.url(db))
            regions.activate(regions.of_store(con))
            return con
        except Exception as exc:   # the engine's own message (unreachable, no such database, not shipped yet)
            print(f"无法读取分布式引擎 {engine.url(db)}：{str(exc).splitlines()[0][:300]}")
            return None
    try:
        return store.connect(db, read_only=True)
    except store.StoreError as exc:
        print(exc)
        return None


def ledger_cursor(con, sc=None, db=None):
    """A cursor of `con` (from `open_read_only`) reading the whole clue ledger within scope `sc` (default: the
    whole city), as the dashboard's cursors do: on DuckDB the overlay rows of the cursor's own
    (data/ledger/overlay.py); on the engine the overlay tables laid for every reader, keyed by the same load as the
    dashboard's (data/engine/ledger.py)."""
    from data import engine, records
    from data import scope as scopes
    from data.ledger import overlay

    if engine.is_engine(con):
        from data.engine import ledger

        cur = scopes.scoped_cursor(con, sc or scopes.CITY, ledger=True)
        with records.session(db) as rc:
            ledger.lay_over(con, rc, engine.load_key(con))
        return cur
    return overlay.ledger_cursor(con, sc, db_path=db)
