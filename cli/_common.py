"""Helpers shared by the commands."""

from __future__ import annotations

import argparse

from data import settings


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None,
                        help=f"DuckDB file (default: $HOTLINE_DB, now {settings.db_path()})")


def open_read_only(db):
    """The store opened read-only, or None after printing why it cannot be opened."""
    from data import store

    try:
        return store.connect(db, read_only=True)
    except store.StoreError as exc:
        print(exc)
        return None
