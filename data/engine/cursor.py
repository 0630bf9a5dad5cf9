"""The part of DuckDB's connection API the product uses, shared by every engine connection.

An engine connection (data/engine/clickhouse.py, data/engine/spark.py) says how to turn one of the product's
DuckDB statements into the engine's statements (`_statements`) and how to run one (`_run`, an Arrow answer);
everything a caller touches — `execute(sql, params)` with `$name` or `?` parameters, `fetchone/fetchall/
fetchmany`, `df()/fetchdf()/fetch_df()`, `to_arrow_table()`, `description`, `cursor()` — is here, once, with
the answers made DuckDB-shaped by data/engine/results.py, and translations kept per (SQL, parameter types,
store, scope) so a page's repeated query is parsed once.
"""

from __future__ import annotations

import threading

import duckdb
import pyarrow as pa
from sqlglot import exp

from data.engine import dialect, frames
from data.engine.results import Result


class EngineError(duckdb.Error):
    """A statement failed on the engine (the message keeps the engine's own words)."""


class CatalogError(duckdb.CatalogException):
    """A table the statement names is not in the store (as DuckDB's CatalogException)."""


# Translations kept for the process: (engine, sql, parameter types, database, scope) -> statements (_translate).
TRANSLATED: dict = {}
TRANSLATED_MAX = 4096
_translated_lock = threading.Lock()


def forget_translations() -> None:
    """Drop the kept translations (after the store's tables changed: a ship)."""
    with _translated_lock:
        TRANSLATED.clear()


class EngineCursor:
    """DuckDB's connection/cursor API over an engine. Subclasses set `engine`, `target` (with `city` and
    `describe()`), `database`, `scope`, `ledger`, and define `cursor()`, `_statements()` and `_run()`."""

    engine = "?"
    scope = None
    ledger = False
    _result: Result | None = None
    _frames: dict    # name -> data/engine/frames.Frame registered on this connection (each sets its own)
    closed = False
    read_only = True
    city_by_rewrite = True   # `city=` read by rewriting each table (ClickHouse); else the engine's own views do it

    # --- what an engine defines -------------------------------------------------
    def _statements(self, sql: str, params):
        """(engine SQL, names of its bound parameters, the connection's own parameters) per statement."""
        raise NotImplementedError

    def _run(self, engine_sql: str, values: dict) -> pa.Table:
        """Run one engine statement with its parameters bound (`values`: name -> Python value)."""
        raise NotImplementedError

    # --- DuckDB API --------------------------------------------------------------
    def execute(self, sql: str, parameters=None):
        if self.closed:
            raise duckdb.ConnectionException("Connection already closed!")
        statements = self._translate(sql, parameters)
        if not statements:
            raise EngineError("empty statement")
        values = dialect.named_values(parameters)
        lists = frames.params(self._frames)    # the registered frames' rows now (the translation is kept)
        for engine_sql, names, extra in statements:
            given = {**values, **extra, **lists}
            self._result = Result(self._run(engine_sql, {n: given[n] for n in names}))
        return self

    def executemany(self, sql: str, rows):
        for row in rows:
            self.execute(sql, row)
        return self

    def sql(self, sql: str, params=None):
        return self.execute(sql, params)

    def _need(self) -> Result:
        if self._result is None:
            raise duckdb.InvalidInputException("No open result set")
        return self._result

    def fetchone(self):
        return self._need().fetchone()

    def fetchall(self):
        return self._need().fetchall()

    def fetchmany(self, size: int = 1):
        return self._need().fetchmany(size)

    def df(self, **_kw):
        return self._need().df()

    fetchdf = df
    fetch_df = df

    def to_arrow_table(self) -> pa.Table:
        return self._need().arrow()

    def fetch_arrow_table(self) -> pa.Table:
        return self._need().arrow()

    @property
    def description(self):
        return self._result.description if self._result is not None else None

    def register(self, name: str, frame):
        """A small local frame read by this connection's statements as a table (data/engine/frames.py)."""
        self._frames = {**self._frames, frames.check_name(name): frames.frame(frame)}
        return self

    def unregister(self, name: str):
        self._frames = {k: v for k, v in self._frames.items() if k != name}
        return self

    def complete(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.closed = True

    # --- translation -------------------------------------------------------------
    def _translate(self, sql: str, params) -> list[tuple[str, tuple[str, ...], dict]]:
        """The engine statements of `sql`, kept: the translation depends on the text, the parameters' names and
        types (not their values: they are bound), the store and the scope."""
        sc = self.scope
        key = (self.engine, sql, dialect.signature(params), self.database, self.target.city,
               None if sc is None else (sc.districts, sc.texts), self.ledger, frames.signature(self._frames))
        hit = TRANSLATED.get(key)
        if hit is not None:
            return hit
        out = [(engine_sql, tuple(bound), extra) for engine_sql, bound, extra in self._statements(sql, params)]
        with _translated_lock:
            if len(TRANSLATED) >= TRANSLATED_MAX:
                TRANSLATED.clear()
            TRANSLATED[key] = out
        return out

    def _prepared(self, sql: str, catalog: dict[str, str]):
        """The statements of `sql` (DuckDB), checked, their tables named with the store's database, the scope and
        the city applied: trees ready for the engine's dialect, with the parameters the connection binds."""
        from data.engine import scoped

        for tree in dialect.parse(dialect.OWN_FORMS.get((self.engine, sql), sql)):
            frames.substitute(tree, self._frames)
            dialect.check(tree)
            qualify(tree, self.database, catalog)
            limited = self.scope is not None or self.ledger
            extra = scoped.limit(tree, self.scope, self, ledger=self.ledger) if limited else {}
            if self.target.city and self.city_by_rewrite:
                extra = {**extra, **only_city(tree, self.database, self.target.city, scoped.catalog(self))}
            yield tree, {**extra, **frames.params(self._frames)}


# ------------------------------------------------------------------ names
def _ctes(tree: exp.Expression) -> set[str]:
    return {c.alias_or_name for c in tree.find_all(exp.CTE)}


def qualify(tree: exp.Expression, database: str, catalog: dict[str, str]) -> None:
    """Name every table of the statement with the store's database; DuckDB's catalog views
    (`information_schema.tables/columns`) become the store's own (`catalog`: view name -> DuckDB SQL over the
    engine's catalog, `{db}` the quoted database name)."""
    ctes = _ctes(tree)
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            continue   # a table function
        name = table.name
        db = table.text("db").lower()
        if db == "information_schema" and name.lower() in catalog:
            inner = dialect.parse(catalog[name.lower()].format(db=f"'{database}'"))[0]
            table.replace(exp.Subquery(this=inner, alias=exp.TableAlias(
                this=exp.to_identifier(table.alias_or_name))))
            continue
        if db in ("", "main", "store", "temp") and name not in ctes:
            table.set("db", exp.to_identifier(database))
            table.set("catalog", None)


CITY_PARAM = "__city"


def only_city(tree: exp.Expression, database: str, city: str, columns: dict[str, set[str]] | None = None) -> dict:
    """Every table of the store in `tree` (qualified) becomes its rows of `city` (a national database,
    data/engine/layout.py), the ledger overlay's rows too (data/engine/ledger.py keeps them per city; an overlay
    table laid before that has no city column and is read whole); the parameter it binds."""
    from data.engine import layout
    from data.ledger import overlay_sql

    for table in list(tree.find_all(exp.Table)):
        if table.text("db") != database:
            continue
        if table.name.startswith(overlay_sql.PREFIX) and layout.CITY not in (columns or {}).get(table.name, set()):
            continue
        inner = exp.select("*").from_(exp.Table(this=exp.to_identifier(table.name), db=exp.to_identifier(database)))
        inner = inner.where(exp.EQ(this=exp.column(layout.CITY), expression=exp.Placeholder(this=CITY_PARAM)))
        table.replace(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(table.alias_or_name))))
    return {CITY_PARAM: city}
