"""Create the store (schema and Beijing geography) if it does not exist; upgrade an older one (its derived tables).

The dashboard opens the store read-only and never writes: a store written by an older version, or changed by an
import without a refresh, is upgraded by this command (data/store.py says so when it refuses to open it). Like
every write, it works on a copy that replaces the store at the end (data/generations.py), so the dashboard may
stay up.
"""

from __future__ import annotations

from cli._common import add_db_argument

NAME = "init"
HELP = "create an empty store with its schema and geography, or upgrade an older store's derived tables"


def add_arguments(parser) -> None:
    add_db_argument(parser)


def run(args) -> int:
    from data import generations, store

    try:
        with generations.write(args.db, purpose="初始化/升级数据库", on_wait=print) as gen:
            counts = store.table_counts(gen.con)
    except store.StoreError as exc:
        print(exc)
        return 1
    print("store ready:", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return 0
