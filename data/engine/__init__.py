"""Which engine answers the product's queries: the embedded DuckDB store (default) or a distributed engine.

One switch, `HOTLINE_ENGINE` (`duckdb` or `clickhouse`), with `HOTLINE_ENGINE_URL` saying where the engine
is. Pages, analytics and commands read through `read_connection()` (and ui/db.py, data/store.py's readers)
and get either a DuckDB connection or an engine connection with the same API (data/engine/clickhouse.py):
nothing above this package asks which engine it talks to.

The embedded store stays the place where an import is cleaned and its derived tables are built (a city's
or a district procuratorate's own store); `ship` (data/engine/ship.py) loads its tables into the engine by
partition (district × month). See docs/scale-out.md.
"""

from __future__ import annotations

from pathlib import Path

from data import settings

ENGINES = ("duckdb", "clickhouse", "spark")


def name() -> str:
    """The engine the settings choose (`HOTLINE_ENGINE`)."""
    value = str(settings.get("HOTLINE_ENGINE")).strip().lower() or "duckdb"
    if value not in ENGINES:
        raise ValueError(f"HOTLINE_ENGINE must be one of {', '.join(ENGINES)}, got {value!r}")
    return value


def embedded() -> bool:
    """True when the embedded DuckDB store answers the queries (the default)."""
    return name() == "duckdb"


def url(db=None) -> str:
    """Where the engine is: `HOTLINE_ENGINE_URL`, or an embedded ClickHouse beside the DuckDB store (`db`, default
    `HOTLINE_DB`)."""
    value = str(settings.get("HOTLINE_ENGINE_URL")).strip()
    if value:
        return value
    if name() == "spark":
        raise ValueError("HOTLINE_ENGINE=spark needs HOTLINE_ENGINE_URL=spark://HOST:PORT?warehouse=PATH&database=NAME")
    db = Path(db) if db else settings.db_path()
    return f"chdb:{db.with_suffix('.clickhouse')}"


def connect(engine_url: str | None = None):
    """A read connection to the store on the engine: data/engine/clickhouse.Connection, or
    data/engine/spark.Connection for a `spark://` (or `local[N]`) URL."""
    target = engine_url or url()
    if is_spark_url(target):
        from data.engine import spark

        return spark.connect(target)
    from data.engine import clickhouse

    return clickhouse.connect(target)


def is_spark_url(engine_url: str) -> bool:
    return engine_url.startswith(("spark://", "local[", "local?"))


def is_engine(con) -> bool:
    """True for a connection or cursor of a distributed engine (not DuckDB)."""
    return getattr(con, "engine", None) not in (None, "duckdb")


def generation(con) -> str:
    """The engine store's generation: changes with every shipped load (ui/db.py keys sessions by it)."""
    row = con.execute("SELECT max(value) FROM meta WHERE key = 'engine_generation'").fetchone()
    return f"{getattr(con, 'target', None) and con.target.describe()}#{row[0] if row else ''}"


def load_key(con) -> str:
    """The name of the engine store's current load as the dashboard keys its sessions and the ledger laid over
    it (ui/db.py, data/engine/ledger.py): a command laying the ledger names the same load."""
    return "engine:" + generation(con)
