"""The ticket store on ClickHouse, behind the part of DuckDB's connection API the product uses.

`connect(url)` gives a `Connection`; its cursors take the product's DuckDB SQL (`execute(sql, params)` with
`$name` or `?` parameters), translate it (data/engine/dialect.py), run it on ClickHouse and hand the answer
back as DuckDB would (data/engine/results.py): `fetchone()`, `fetchall()`, `df()`/`fetchdf()`/`fetch_df()`,
`to_arrow_table()`, `description`. Pages, analytics and commands use it unchanged.

Two ways to reach ClickHouse (`HOTLINE_ENGINE_URL`):
- `chdb:PATH[?database=NAME]` — the ClickHouse engine inside this process (chdb), its data under PATH: tests,
  benchmarks and one-machine trials. One data directory per process (a chdb limit); several stores are
  several databases in it.
- `clickhouse://USER:PASSWORD@HOST:PORT/DATABASE` (or `clickhouses://` for TLS) — a ClickHouse server or
  cluster over HTTP (clickhouse-connect), as a province or the national platform runs it.

Every statement names its tables with the store's database (the connection's), so stores never mix; the
catalog (`information_schema.tables/columns`) is the store's own, with DuckDB's `main` schema name.
A cursor limited to a district scope rewrites its tables into filtered subqueries (data/engine/scoped.py).
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlglot import exp

from data.engine import dialect, frames
from data.engine.results import Result

# Session settings that give ClickHouse the SQL meaning the product's queries were written for.
SETTINGS = {
    "session_timezone": "UTC",                 # timestamps are naive wall-clock times (as in DuckDB): no shifts
    "join_use_nulls": 1,                       # an outer join's missing side is NULL, not 0 or ''
    "aggregate_functions_null_for_empty": 1,   # sum/min/max of no rows is NULL, as in SQL
    "prefer_column_name_to_alias": 1,          # `sum(n) AS n ... WHERE n` means the column, as in SQL
                                               # (ORDER BY an output name: dialect._order_by_outputs)
    "union_default_mode": "DISTINCT",
    "data_type_default_nullable": 1,
    "cast_keep_nullable": 1,
    "output_format_arrow_string_as_string": 1,
    "output_format_arrow_low_cardinality_as_dictionary": 0,
}
ARROW = "Arrow"

UNKNOWN_TABLE_CODES = ("Code: 60.", "Code: 81.", "UNKNOWN_TABLE", "UNKNOWN_DATABASE")


class EngineError(duckdb.Error):
    """A statement failed on the engine (the message keeps the engine's own words)."""


class CatalogError(duckdb.CatalogException):
    """A table the statement names is not in the store (as DuckDB's CatalogException)."""


@dataclass(frozen=True)
class Target:
    """Where the store lives: kind 'chdb' (path) or 'server' (host, port, user, password, secure)."""

    kind: str
    database: str
    path: str = ""
    host: str = ""
    port: int = 8123
    user: str = "default"
    password: str = ""
    secure: bool = False
    city: str = ""    # read only this city's rows of a national database (data/engine/layout.py CITY)

    def describe(self) -> str:
        tail = f"&city={urllib.parse.quote(self.city)}" if self.city else ""
        if self.kind == "chdb":
            return f"chdb:{self.path}?database={self.database}{tail}"
        return f"clickhouse://{self.user}@{self.host}:{self.port}/{self.database}" + (f"?{tail[1:]}" if tail else "")


def parse_url(url: str, default_database: str = "hotline") -> Target:
    """`chdb:PATH[?database=NAME]` or `clickhouse[s]://USER:PASSWORD@HOST:PORT/DATABASE`; `city=NAME` among the
    query parameters limits every read to that city's rows of a national database."""
    if not url:
        raise ValueError("HOTLINE_ENGINE_URL is empty: give chdb:PATH or clickhouse://USER@HOST:PORT/DATABASE")
    if url.startswith("chdb:"):
        rest = url[len("chdb:"):]
        path, _, query = rest.partition("?")
        params = urllib.parse.parse_qs(query)
        database = params.get("database", [default_database])[0]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise ValueError(f"no data directory in {url!r} (chdb:PATH)")
        return Target("chdb", _identifier(database), path=str(Path(path).expanduser().resolve()),
                      city=params.get("city", [""])[0])
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("clickhouse", "clickhouses", "http", "https"):
        raise ValueError(f"unknown engine URL {url!r}: chdb:PATH or clickhouse://USER@HOST:PORT/DATABASE")
    secure = u.scheme in ("clickhouses", "https")
    return Target("server", _identifier(u.path.strip("/") or default_database), host=u.hostname or "127.0.0.1",
                  port=u.port or (8443 if secure else 8123), user=urllib.parse.unquote(u.username or "default"),
                  password=urllib.parse.unquote(u.password or ""), secure=secure,
                  city=urllib.parse.parse_qs(u.query).get("city", [""])[0])


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad database name {name!r}")
    return name


# ------------------------------------------------------------------ backends
class _Embedded:
    """The ClickHouse engine of this process (chdb): one data directory, shared by every connection."""

    _lock = threading.Lock()
    _run_lock = threading.Lock()
    _session = None
    _path: str | None = None

    def __init__(self, path: str):
        from chdb import session

        with _Embedded._lock:
            if _Embedded._session is None:
                Path(path).mkdir(parents=True, exist_ok=True)
                _Embedded._session = session.Session(path)
                _Embedded._path = path
                for k, v in SETTINGS.items():
                    _Embedded._session.query(f"SET {k} = {v!r}" if isinstance(v, str) else f"SET {k} = {v}")
            elif _Embedded._path != path:
                raise EngineError(f"this process already runs the embedded ClickHouse on {_Embedded._path}; "
                                  f"one data directory per process (asked for {path})")
        self.session = _Embedded._session

    def query(self, sql: str, params: dict) -> pa.Table:
        formatted = {k: dialect.clickhouse_value(v) for k, v in params.items()}
        # One statement at a time: the process's one chdb session keeps a statement's parameters as its state,
        # so two threads' statements (a page's parallel query, two users) could read each other's values.
        try:
            with _Embedded._run_lock:
                res = (self.session.query(sql, ARROW, params=formatted) if formatted
                       else self.session.query(sql, ARROW))
        except Exception as exc:   # chdb raises its own error types; keep the engine's message
            raise _error(exc, sql) from exc
        data = res.bytes() if hasattr(res, "bytes") else bytes(res)
        if not data:
            return pa.table({})
        return pa.ipc.open_file(pa.BufferReader(data)).read_all()

    def command(self, sql: str, params: dict | None = None) -> None:
        self.query(sql, params or {})

    def insert_arrow(self, table: str, data: pa.Table, settings: dict | None = None) -> None:
        """Insert an Arrow table into `table` (a qualified, whitelisted name), by column name."""
        import tempfile

        cols = ", ".join(f"`{c}`" for c in data.column_names if c.replace("_", "").isalnum())
        tail = (" SETTINGS " + ", ".join(f"{k} = {int(v)}" for k, v in settings.items())) if settings else ""
        with tempfile.NamedTemporaryFile(suffix=".arrow") as f:
            with pa.ipc.new_file(f.name, data.schema) as w:
                w.write_table(data)
            self.query(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM file({{path:String}}, 'Arrow'){tail}",
                       {"path": f.name})

    def close(self) -> None:   # the process keeps its engine (a chdb limit: one per process)
        pass


class _Server:
    """A ClickHouse server or cluster over HTTP (clickhouse-connect); one HTTP session per cursor."""

    def __init__(self, t: Target):
        import clickhouse_connect

        self.client = clickhouse_connect.get_client(
            host=t.host, port=t.port, username=t.user, password=t.password, secure=t.secure,
            settings=SETTINGS, autogenerate_session_id=False)

    def query(self, sql: str, params: dict) -> pa.Table:
        try:
            return self.client.query_arrow(sql, parameters=params or None)
        except Exception as exc:
            raise _error(exc, sql) from exc

    def command(self, sql: str, params: dict | None = None) -> None:
        try:
            self.client.command(sql, parameters=params or None)
        except Exception as exc:
            raise _error(exc, sql) from exc

    def insert_arrow(self, table: str, data: pa.Table, settings: dict | None = None) -> None:
        try:
            self.client.insert_arrow(table, data, settings=settings)
        except Exception as exc:
            raise _error(exc, f"INSERT INTO {table}") from exc

    def close(self) -> None:
        self.client.close()


def _error(exc: Exception, sql: str) -> duckdb.Error:
    msg = str(exc)
    first = msg.strip().splitlines()[0] if msg.strip() else type(exc).__name__
    if any(code in msg for code in UNKNOWN_TABLE_CODES):
        return CatalogError(f"{first}\n[engine SQL] {sql[:2000]}")
    return EngineError(f"{first}\n[engine SQL] {sql[:2000]}")


def _backend(t: Target):
    return _Embedded(t.path) if t.kind == "chdb" else _Server(t)


# ------------------------------------------------------------------ the connection
class Connection:
    """A DuckDB-like connection to one store (one database) on ClickHouse. Cursors share its backend."""

    engine = "clickhouse"

    def __init__(self, target: Target, backend=None, scope=None, ledger: bool = False):
        self.target = target
        self.database = target.database
        self._backend = backend if backend is not None else _backend(target)
        self.scope = scope          # data.scope.Scope of a limited cursor, else None
        self.ledger = ledger        # its clue tables read the app's ledger laid over them (data/engine/ledger.py)
        self._result: Result | None = None
        self._frames: dict = {}     # name -> data/engine/frames.Frame registered on this connection
        self.read_only = True
        self.closed = False

    # --- DuckDB API --------------------------------------------------------
    def cursor(self) -> Connection:
        backend = _Server(self.target) if self.target.kind == "server" else self._backend
        return Connection(self.target, backend, self.scope, self.ledger)

    def execute(self, sql: str, parameters=None) -> Connection:
        if self.closed:
            raise duckdb.ConnectionException("Connection already closed!")
        statements = self._translate(sql, parameters)
        if not statements:
            raise EngineError("empty statement")
        values = dialect.named_values(parameters)
        lists = frames.params(self._frames)    # the registered frames' rows now (the translation is kept)
        for engine_sql, names, extra in statements:
            given = {**values, **extra, **lists}
            bound = {n: dialect.clickhouse_value(given[n]) for n in names}
            self._result = Result(self._backend.query(engine_sql, bound))
        return self

    def executemany(self, sql: str, rows) -> Connection:
        for row in rows:
            self.execute(sql, row)
        return self

    def sql(self, sql: str, params=None) -> Connection:
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

    def register(self, name: str, frame) -> Connection:
        """A small local frame read by this connection's statements as a table (data/engine/frames.py)."""
        self._frames[frames.check_name(name)] = frames.frame(frame)
        return self

    def unregister(self, name: str) -> Connection:
        self._frames.pop(name, None)
        return self

    def complete(self) -> None:
        pass

    def close(self) -> None:
        if not self.closed and self.target.kind == "server":
            self._backend.close()
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- translation -------------------------------------------------------
    def _translate(self, sql: str, params) -> list[tuple[str, tuple[str, ...], dict]]:
        """The engine statements of `sql`: (engine SQL, names of its bound parameters, the scope's own).

        The translation depends on the text, the parameters' names and types (not their values: they are
        bound), the store and the scope; it is kept (TRANSLATED) so a page's repeated query is parsed once.
        """
        sc = self.scope
        key = (sql, dialect.signature(params), self.database, self.target.city,
               None if sc is None else (sc.districts, sc.texts), self.ledger, frames.signature(self._frames))
        hit = TRANSLATED.get(key)
        if hit is not None:
            return hit
        out = []
        for engine_sql, bound, extra in self._statements(sql, params):
            out.append((engine_sql, tuple(bound), extra))
        with _translated_lock:
            if len(TRANSLATED) >= TRANSLATED_MAX:
                TRANSLATED.clear()
            TRANSLATED[key] = out
        return out

    def _statements(self, sql: str, params):
        from data.engine import scoped

        for tree in dialect.parse(dialect.OWN_FORMS.get(sql, sql)):
            frames.substitute(tree, self._frames)
            dialect.check(tree)
            qualify(tree, self.database)
            limited = self.scope is not None or self.ledger
            extra = scoped.limit(tree, self.scope, self, ledger=self.ledger) if limited else {}
            if self.target.city:
                extra = {**extra, **only_city(tree, self.database, self.target.city, scoped.catalog(self))}
            engine_sql, bound = dialect.to_clickhouse(tree, params, {**extra, **frames.params(self._frames)})
            yield engine_sql, bound, extra

    def engine_sql(self, sql: str, params=None) -> list[tuple[str, dict]]:
        """The statements `execute(sql, params)` would send (for tests and `EXPLAIN`-style reading)."""
        return [(engine_sql, bound) for engine_sql, bound, _extra in self._statements(sql, params)]


# Translations kept for the process: (sql, parameter types, database, scope) -> statements (see _translate).
TRANSLATED: dict = {}
TRANSLATED_MAX = 4096
_translated_lock = threading.Lock()


def forget_translations() -> None:
    """Drop the kept translations (after the store's tables changed: data/engine/ship.py)."""
    with _translated_lock:
        TRANSLATED.clear()


# ------------------------------------------------------------------ names
CATALOG = {
    # DuckDB's information_schema views as this store's own: its tables only, in schema 'main'
    "tables": "SELECT table_catalog, 'main' AS table_schema, table_name, table_type "
              "FROM information_schema.tables WHERE table_schema = {db}",
    "columns": "SELECT table_catalog, 'main' AS table_schema, table_name, column_name, ordinal_position, "
               "data_type, is_nullable FROM information_schema.columns WHERE table_schema = {db} "
               "AND column_name != 'city'",   # layout.CITY: the engine's own (hidden from SELECT *)
}


def _ctes(tree: exp.Expression) -> set[str]:
    return {c.alias_or_name for c in tree.find_all(exp.CTE)}


def qualify(tree: exp.Expression, database: str) -> None:
    """Name every table of the statement with the store's database; the catalog becomes the store's own."""
    ctes = _ctes(tree)
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            continue   # a table function
        name = table.name
        db = table.text("db").lower()
        if db == "information_schema" and name.lower() in CATALOG:
            inner = dialect.parse(CATALOG[name.lower()].format(db=f"'{database}'"))[0]
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


def connect(url: str) -> Connection:
    return Connection(parse_url(url))
