"""The district scope on the engine: every table of a statement becomes the scoped view of data/scope.py.

On DuckDB a scoped cursor shadows each table with a temporary view (data/scope.py). An engine has no views
private to one cursor, so a scoped engine cursor rewrites each statement instead: every table it names is
replaced by a subquery that is the same view — the same rules, taken from data/scope.py's `_view_sql`, so
there is one definition of what a scope may read — with the scope's districts bound as a parameter.
Views that read other scoped tables (a ticket's words through the scoped tickets, cases through the scoped
clues) are expanded the same way. `tests/test_scope.py` runs its property test on the engine too.
"""

from __future__ import annotations

from sqlglot import exp

from data import scope as scope_rules
from data.engine import dialect
from data.ledger import overlay_sql

PARAM = "__scope_districts"
_MARK = "_hotline_scoped"


def catalog(con) -> dict[str, set[str]]:
    """The store's tables and their columns (asked once per connection and its cursors)."""
    cache = getattr(con, "_catalog", None)
    if cache is None:
        rows = con._backend.query(
            "SELECT table, name FROM system.columns WHERE database = {db:String}", {"db": con.database})
        cache = {}
        for t, c in zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True):
            cache.setdefault(t, set()).add(c)
        con._catalog = cache
    return cache


def overlaid(columns: dict[str, set[str]]) -> set[str]:
    """The store's tables the ledger overlay lies over (those whose overlay table the engine store has)."""
    return {n for n in overlay_sql.TABLES if n in columns and f"{overlay_sql.PREFIX}{n}" in columns}


def view(name: str, columns: dict[str, set[str]], sc, database: str, depth: int = 0,
         ledger: bool = False) -> exp.Expression:
    """The scoped view of table `name` as a query tree over the store's own tables (`ledger`: with the app's
    ledger laid over the clue tables, data/ledger/overlay_sql.union_sql)."""
    if depth > 5:
        raise RecursionError(f"scoped views nest too deep at {name}")
    over = ledger and name in overlaid(columns)
    sql = scope_rules._view_sql(name, columns.get(name, set()), "__base__", sc, overlaid=over)
    tree = dialect.parse(sql)[0]
    for table in list(tree.find_all(exp.Table)):
        if table.text("catalog") == "__base__":
            table.set("catalog", None)
            table.set("db", exp.to_identifier(database))
            table.meta[_MARK] = True
        elif table.name.startswith(overlay_sql.PREFIX):
            # the overlay's rows: tables of the engine store (data/engine/ledger.py)
            table.set("catalog", None)
            table.set("db", exp.to_identifier(database))
            table.meta[_MARK] = True
        elif table.text("db").lower() == "main" and table.text("catalog").lower() == "temp":
            # the scope's districts: a bound list instead of the cursor's temporary table
            select = table.find_ancestor(exp.Select)
            select.replace(exp.select(exp.Unnest(expressions=[exp.Placeholder(this=PARAM)]).as_("district")))
        elif not table.text("db"):
            inner = view(table.name, columns, sc, database, depth + 1, ledger)
            table.replace(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(table.alias_or_name))))
    return tree


def limit(tree: exp.Expression, sc, con, *, ledger: bool = False) -> dict:
    """Replace every store table in `tree` (already qualified) by its scoped view (`sc` None: the whole city, only
    the clue tables are replaced, by the ledger's union); the parameters it binds."""
    database = con.database
    columns = catalog(con)
    over = overlaid(columns) if ledger else set()
    for table in list(tree.find_all(exp.Table)):
        if table.meta.get(_MARK) or table.text("db") != database:
            continue
        if table.name.startswith(overlay_sql.PREFIX) or (sc is None and table.name not in over):
            continue   # the overlay's own rows are read as they are (on DuckDB: the cursor's temporary tables)
        alias = exp.TableAlias(this=exp.to_identifier(table.alias_or_name))
        table.replace(exp.Subquery(this=view(table.name, columns, sc or scope_rules.CITY, database, ledger=ledger),
                                   alias=alias))
    return {PARAM: list(sc.districts or ())} if sc is not None and sc.districts is not None else {}
