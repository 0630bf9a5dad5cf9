"""District scope (属地管理) applied to every read of the ticket store, below the pages.

A user of a district procuratorate sees only that district's tickets, summaries, words, hotspots, clues and
filter options; press and wall-screen accounts see no ticket texts or personal columns at all. Pages and
analytics functions do not apply this: they receive a cursor from `scoped_cursor`, on which each table of
the store is shadowed by a temporary view of the same name that keeps only the rows (and columns) the scope
allows. Whatever SQL runs on that cursor — a summary, a drill-down, an export, the filter options, a URL
with another district's ticket id — reads through the views, so no query can leave the scope.

How each table is limited:
- a table with a `district` column keeps the rows of the scope's districts (tickets, daily summaries, word
  summaries, hotspot tables, funnel tables, clues, districts, streets, ...);
- tables without one are limited by what they hang on (`RULES`): a ticket's words by the scoped tickets, a
  clue's links, cases and rectifications by the scoped clues; city-wide word summaries are summed again
  from their per-district tables;
- any other table is hidden (no rows) for a limited scope: a table added later stays closed until it has a
  rule here (`tests/test_scope.py` checks that every table of the schema is covered).

The unscoped handle stays reachable through `base()` for the store's own bookkeeping (are the derived
tables current?), which must see whole tables.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import duckdb

# Columns that carry the citizen's words or identity: NULL on cursors without texts.
TEXT_COLUMNS = {
    "tickets": ("content", "complainant_name", "complainant_phone", "reply", "extra"),
    "funnel_tickets": ("content", "reply", "extra"),
    "clues": ("summary",),
    "hotspot_tickets": (),
    "screening_tickets": ("content",),
}

# Tables whose rows a limited scope sees in full (no district, nothing personal).
OPEN_TABLES = frozenset({"meta", "migrations"})

# Tables without a district column, limited by what they belong to (the views named here are the scoped ones).
RULES = {
    "ticket_words": "SELECT * FROM {base} WHERE ticket_id IN (SELECT ticket_id FROM tickets)",
    "clue_tickets": "SELECT * FROM {base} WHERE clue_id IN (SELECT clue_id FROM clues)",
    "cases": "SELECT * FROM {base} WHERE clue_id IN (SELECT clue_id FROM clues)",
    "rectifications": "SELECT * FROM {base} WHERE case_id IN (SELECT case_id FROM cases)",
    "word_monthly_topic": "SELECT month, topic, word, sum(n)::BIGINT AS n FROM word_monthly GROUP BY ALL",
    "word_monthly_all": "SELECT month, word, sum(n)::BIGINT AS n FROM word_monthly GROUP BY ALL",
    "word_weekly_topic": "SELECT week, topic, word, sum(n)::BIGINT AS n FROM word_weekly GROUP BY ALL",
    "word_weekly_all": "SELECT week, word, sum(n)::BIGINT AS n FROM word_weekly GROUP BY ALL",
}
# Views that read other scoped views must be created after them.
_ORDER = ("clues", "cases", "tickets", "word_monthly", "word_weekly")
SCOPE_TABLE = "temp.main.scope_districts"


@dataclass(frozen=True)
class Scope:
    """What a user may read. districts=None: the whole city; texts=False: no ticket texts or personal data."""

    districts: tuple[str, ...] | None = None
    texts: bool = True

    def __post_init__(self) -> None:
        if self.districts is not None:
            object.__setattr__(self, "districts", tuple(dict.fromkeys(str(d) for d in self.districts)))

    @property
    def unrestricted(self) -> bool:
        return self.districts is None and self.texts

    def allows_district(self, district: str | None) -> bool:
        return self.districts is None or district in self.districts

    def describe(self) -> str:
        where = "全市" if self.districts is None else ("、".join(self.districts) or "无辖区")
        return where + ("" if self.texts else "（仅统计，不含诉求内容）")


CITY = Scope()

_BASE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SCOPE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def scoped_cursor(con: duckdb.DuckDBPyConnection, scope: Scope, *, ledger: bool = False) -> duckdb.DuckDBPyConnection:
    """A new cursor of `con` that reads only what `scope` allows (see the module docstring).

    ledger=True: its clue tables also show the clues of the app's ledger (data/ledger/overlay.py; fill them
    with `overlay.sync`), within the same scope.
    """
    if not isinstance(scope, Scope):
        raise TypeError(f"scope must be a Scope, got {type(scope).__name__}")
    cur = con.cursor()
    _BASE[cur] = con
    _SCOPE[cur] = scope
    if scope.unrestricted and not ledger:
        return cur
    if getattr(cur, "engine", None) not in (None, "duckdb"):
        # a distributed engine (data/engine): the cursor rewrites each statement's tables into these same
        # views (data/engine/scoped.py, built from `_view_sql` below); the ledger's overlay rows are tables of
        # the engine store (data/engine/ledger.py)
        cur.scope = None if scope.unrestricted else scope
        cur.ledger = ledger
        return cur
    catalog = cur.execute("SELECT current_database()").fetchone()[0]
    tables = _tables(cur, catalog)
    overlaid: set[str] = set()
    if ledger:
        from data.ledger import overlay_sql as overlay

        overlaid = set(overlay.install(cur, catalog, tables))
    if scope.unrestricted:
        for name in sorted(overlaid, key=lambda t: (_ORDER.index(t) if t in _ORDER else len(_ORDER), t)):
            cur.execute(f"CREATE OR REPLACE TEMP VIEW {_q(name)} AS SELECT * FROM "
                        f"{overlay.union_sql(name, f'{_q(catalog)}.main.{_q(name)}')}")
        return cur
    # The districts sit in a temporary table of this cursor (views cannot take bound parameters).
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {SCOPE_TABLE} (district VARCHAR)")
    if scope.districts:
        cur.executemany(f"INSERT INTO {SCOPE_TABLE} VALUES (?)", [[d] for d in scope.districts])
    for name in sorted(tables, key=lambda t: (_ORDER.index(t) if t in _ORDER else len(_ORDER), t)):
        cur.execute(f"CREATE OR REPLACE TEMP VIEW {_q(name)} AS "
                    f"{_view_sql(name, tables[name], catalog, scope, overlaid=name in overlaid)}")
    return cur


def scope_of(con) -> Scope:
    """The scope a cursor was made with (CITY for a plain connection)."""
    try:
        return _SCOPE.get(con, CITY)
    except TypeError:
        return CITY


def base(con):
    """The unscoped connection behind a scoped cursor (itself otherwise), for the store's bookkeeping only.

    Use a cursor of it (`base(con).cursor()`) from a session thread: the connection itself may be busy.
    """
    try:
        return _BASE.get(con, con)
    except TypeError:
        return con


def bookkeeping_cursor(con):
    """A cursor that sees whole tables, for readiness checks of derived tables (never for answers)."""
    b = base(con)
    return con if b is con else b.cursor()


def _tables(cur, catalog: str) -> dict[str, set[str]]:
    rows = cur.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = $c AND table_schema = 'main'", {"c": catalog}).fetchall()
    out: dict[str, set[str]] = {}
    for t, c in rows:
        out.setdefault(t, set()).add(c)
    return out


def _view_sql(name: str, cols: set[str], catalog: str, scope: Scope, *, overlaid: bool = False) -> str:
    base_ref = f"{_q(catalog)}.main.{_q(name)}"
    if overlaid:
        from data.ledger import overlay_sql as overlay

        base_ref = overlay.union_sql(name, base_ref)
    select = "*"
    if name == "quarantine" and scope.districts is not None:   # raw rows of any district: city-wide users only
        return f"SELECT * FROM {base_ref} WHERE FALSE"
    if not scope.texts:
        hide = [c for c in TEXT_COLUMNS.get(name, ()) if c in cols]
        if hide:
            select = "* REPLACE (" + ", ".join(f"CAST(NULL AS VARCHAR) AS {_q(c)}" for c in hide) + ")"
    if scope.districts is None:
        return f"SELECT {select} FROM {base_ref}"
    if "district" in cols:
        return f"SELECT {select} FROM {base_ref} WHERE district IN (SELECT district FROM {SCOPE_TABLE})"
    if name in OPEN_TABLES:
        return f"SELECT {select} FROM {base_ref}"
    if name in RULES:
        return RULES[name].format(base=base_ref).replace("SELECT *", f"SELECT {select}", 1)
    return f"SELECT {select} FROM {base_ref} WHERE FALSE"


def _q(ident: str) -> str:
    return '"' + str(ident).replace('"', '""') + '"'



def records_filter(scope: Scope, column: str = "district") -> tuple[str, list]:
    """A WHERE condition (and its parameters) limiting a records-store table (SQLite) to the scope's districts.

    `column` must be a fixed column name of the caller's (not user text). Whole city: always true.
    """
    if not column.replace("_", "").isalnum():
        raise ValueError(f"bad column name {column!r}")
    if scope.districts is None:
        return "1 = 1", []
    if not scope.districts:
        return "1 = 0", []
    return f"{column} IN ({', '.join('?' for _ in scope.districts)})", list(scope.districts)
