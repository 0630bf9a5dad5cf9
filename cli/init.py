"""Create the store (schema and Beijing geography) if it does not exist."""

from __future__ import annotations

from cli._common import add_db_argument

NAME = "init"
HELP = "create an empty store with its schema and geography"


def add_arguments(parser) -> None:
    add_db_argument(parser)


def run(args) -> int:
    from data import store

    con = store.connect(args.db)
    counts = store.table_counts(con)
    con.close()
    print("store ready:", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0
