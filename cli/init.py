"""Create the store (schema and Beijing geography) if it does not exist; upgrade an older one (its derived tables).

The dashboard opens the store read-only and never writes: a store written by an older version, or changed by an
import without a refresh, is upgraded by this command (data/store.py says so when it refuses to open it).
"""

from __future__ import annotations

from cli._common import add_db_argument

NAME = "init"
HELP = "create an empty store with its schema and geography, or upgrade an older store's derived tables"


def add_arguments(parser) -> None:
    add_db_argument(parser)


def run(args) -> int:
    from data import store

    con = store.connect(args.db)
    counts = store.table_counts(con)
    con.close()
    print("store ready:", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0
