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

from data.engine import dialect
from data.engine.cursor import (  # noqa: F401 (the engine's names, kept here too)
    CITY_PARAM,
    CatalogError,
    EngineCursor,
    EngineError,
    forget_translations,
    only_city,
    qualify,
)

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
class Connection(EngineCursor):
    """A DuckDB-like connection to one store (one database) on ClickHouse. Cursors share its backend.
    The DuckDB API itself is data/engine/cursor.EngineCursor's."""

    engine = "clickhouse"

    def __init__(self, target: Target, backend=None, scope=None, ledger: bool = False):
        self.target = target
        self.database = target.database
        self._backend = backend if backend is not None else _backend(target)
        self.scope = scope          # data.scope.Scope of a limited cursor, else None
        self.ledger = ledger        # its clue tables read the app's ledger laid over them (data/engine/ledger.py)
        self._result = None
        self._frames = {}
        self.closed = False

    def cursor(self) -> Connection:
        backend = _Server(self.target) if self.target.kind == "server" else self._backend
        return Connection(self.target, backend, self.scope, self.ledger)

    def _run(self, engine_sql: str, values: dict) -> pa.Table:
        return self._backend.query(engine_sql, {n: dialect.clickhouse_value(v) for n, v in values.items()})

    def close(self) -> None:
        if not self.closed and self.target.kind == "server":
            self._backend.close()
        self.closed = True

    def table_columns(self) -> dict[str, set[str]]:
        """The store's tables and their columns (the district scope's views need them: data/engine/scoped.py)."""
        rows = self._backend.query(
            "SELECT table, name FROM system.columns WHERE database = {db:String}", {"db": self.database})
        out: dict[str, set[str]] = {}
        for t, c in zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True):
            out.setdefault(t, set()).add(c)
        return out

    def _statements(self, sql: str, params):
        for tree, extra in self._prepared(sql, CATALOG):
            engine_sql, bound = dialect.to_clickhouse(tree, params, extra)
            yield engine_sql, bound, extra

    def engine_sql(self, sql: str, params=None) -> list[tuple[str, dict]]:
        """The statements `execute(sql, params)` would send (for tests and `EXPLAIN`-style reading)."""
        return [(engine_sql, bound) for engine_sql, bound, _extra in self._statements(sql, params)]


# ------------------------------------------------------------------ names
CATALOG = {
    # DuckDB's information_schema views as this store's own: its tables only, in schema 'main'
    "tables": "SELECT table_catalog, 'main' AS table_schema, table_name, table_type "
              "FROM information_schema.tables WHERE table_schema = {db}",
    "columns": "SELECT table_catalog, 'main' AS table_schema, table_name, column_name, ordinal_position, "
               "data_type, is_nullable FROM information_schema.columns WHERE table_schema = {db} "
               "AND column_name != 'city'",   # layout.CITY: the engine's own (hidden from SELECT *)
}


def connect(url: str) -> Connection:
    return Connection(parse_url(url))
