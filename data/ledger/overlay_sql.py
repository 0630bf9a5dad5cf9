"""The SQL side of the ledger overlay (data/ledger/overlay.py): the temporary tables a cursor gets and the
views' union of the store's rows with them. Apart from the overlay's row building so that data/scope.py, which
creates the views, imports nothing that reads the records store."""

from __future__ import annotations

import weakref

LOADED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # cursor -> ledger version synced into it

TABLES = ("clues", "clue_tickets", "cases", "rectifications", "funnel_clues", "funnel_tickets")
# How each table's rows belong to a clue (rectifications through their case).
_KEY = {"clues": "clue_id", "clue_tickets": "clue_id", "cases": "clue_id", "rectifications": "case_id",
        "funnel_clues": "clue_id", "funnel_tickets": "clue_id"}
PREFIX = "ledger_ov_"
REPLACED = f"temp.main.{PREFIX}replaced"              # clue_id of imported clues the overlay reproduces
REPLACED_CASES = f"temp.main.{PREFIX}replaced_cases"  # their case ids in the store
EXTRA = f"temp.main.{PREFIX}extra"
EXTRA_COLUMNS = {
    "clue_id": "VARCHAR", "origin": "VARCHAR", "serial": "BIGINT", "source_key": "VARCHAR", "handler": "VARCHAR",
    "subject": "VARCHAR", "place": "VARCHAR", "lon": "DOUBLE", "lat": "DOUBLE", "assessed_at": "TIMESTAMP",
    "notified_at": "TIMESTAMP", "closed_at": "TIMESTAMP", "transfer_to": "VARCHAR", "addressee": "VARCHAR",
    "registered_by": "VARCHAR", "conflict": "BOOLEAN", "updated_at": "TIMESTAMP", "source_ref": "VARCHAR",
}


def table(name: str) -> str:
    return f"temp.main.{PREFIX}{name}"


def union_sql(name: str, base_ref: str) -> str:
    """The rows of store table `name` (at `base_ref`) with the overlay laid over them (a derived table)."""
    key = _KEY[name]
    replaced = REPLACED_CASES if name == "rectifications" else REPLACED
    col = "case_id" if name == "rectifications" else "clue_id"
    return (f"(SELECT * FROM {base_ref} b WHERE NOT EXISTS "
            f"(SELECT 1 FROM {replaced} r WHERE r.{col} = b.{key}) "
            f"UNION ALL BY NAME SELECT * FROM {table(name)})")


def install(cur, catalog: str, names) -> list[str]:
    """Create the overlay's empty temporary tables on `cur` (shaped like the store's tables); returns the names
    of the store tables it can overlay (those of TABLES the store has)."""
    names = [n for n in TABLES if n in set(names)]
    for n in names:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {PREFIX}{n} AS SELECT * FROM {_q(catalog)}.main.{_q(n)} LIMIT 0")
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {PREFIX}replaced (clue_id VARCHAR)")
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {PREFIX}replaced_cases (case_id VARCHAR)")
    cols = ", ".join(f"{c} {t}" for c, t in EXTRA_COLUMNS.items())
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {PREFIX}extra ({cols})")
    LOADED[cur] = None
    return names


def _q(ident: str) -> str:
    return '"' + str(ident).replace('"', '""') + '"'
