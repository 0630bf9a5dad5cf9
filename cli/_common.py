"""Helpers shared by the commands."""

from __future__ import annotations

import argparse

from data import settings


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None,
                        help=f"DuckDB file (default: $HOTLINE_DB, now {settings.db_path()})")
