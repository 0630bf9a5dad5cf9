"""Show what the store holds: row counts and the latest imports."""

from __future__ import annotations

from cli._common import add_db_argument, open_read_only

NAME = "status"
HELP = "row counts and the latest imports of the store"


def add_arguments(parser) -> None:
    add_db_argument(parser)


def run(args) -> int:
    from data import store

    con = open_read_only(args.db)
    if con is None:
        return 1
    for k, v in store.table_counts(con).items():
        print(f"{k:16s} {v:>12,}")
    rows = con.execute(
        "SELECT import_id, started_at, kind, file, status, rows_read, inserted, updated, unchanged, quarantined "
        "FROM imports ORDER BY import_id DESC LIMIT 10"
    ).fetchall()
    if rows:
        print("\nlatest imports:")
        for r in rows:
            print("  #{} {} {} {} {} read={} ins={} upd={} same={} quar={}".format(*r))
    con.close()
    return 0
