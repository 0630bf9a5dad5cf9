"""The ticket store on Apache Spark (a standalone cluster), behind the part of DuckDB's connection API the product uses.

`HOTLINE_ENGINE=spark` with `HOTLINE_ENGINE_URL=spark://HOST:PORT?warehouse=PATH&database=NAME`: this process is
the Spark driver (pyspark, classic: the JVM beside Python through py4j), the cluster's executors run the tasks.
Classic rather than Spark Connect: no server process to run beside the cluster, and no gRPC client packages; the
connect server's jar is in the wheel if an organisation prefers it (docs/scale-out.md).

The store lies in the warehouse as Parquet, one directory per table, partitioned by city and month
(`PATH/NAME/tickets/city=beijing/ym=202503/part-*.parquet`: data/engine/spark_ship.py writes it). Each table is
a temporary view of the one Spark session of this process (`NAME__tickets`) that selects the store's own columns
(the partition columns stay hidden, as ClickHouse's city column is); a connection limited to a city
(`&city=NAME`) reads views of that city's directories only. Other Spark settings can ride in the URL
(`&spark.executor.memory=2g`).

Cursors take the product's DuckDB SQL (`execute(sql, params)` with `$name` or `?`), translate it
(data/engine/spark_dialect.py) and bind the values as Spark's named parameters (`spark.sql(sql, args=...)`);
answers come back in Arrow and are made DuckDB-shaped (data/engine/results.py) by the shared cursor
(data/engine/cursor.py). The district scope is data/engine/scoped.py's, as on ClickHouse.
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from data.engine import spark_dialect
from data.engine.cursor import CatalogError, EngineCursor, EngineError
from data.engine.spark_dialect import view_name

CATALOG_TABLE = "hotline_catalog"   # the store's catalog (DuckDB's information_schema.columns rows), one file
GENERATION_FILE = "_generation"     # written last by a ship: a new value makes readers register the views anew
PARTITIONS = ("city", "ym")         # the directory levels (hidden from the views)

# Session settings that give Spark the SQL meaning the product's queries were written for (DuckDB's).
SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",   # the store's timestamps are naive wall-clock times
    "spark.sql.ansi.enabled": "false",            # x / 0 is NULL, as in DuckDB (ANSI mode raises)
    "spark.sql.parser.quotedRegexColumnNames": "false",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",   # city=0101 stays text
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",  # list partitions on the driver
    "spark.sql.shuffle.partitions": "4",          # small answers: few shuffle tasks (AQE coalesces further)
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
    "spark.executor.memory": "512m",
    "spark.executor.cores": "1",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.legacy.allowParameterlessCount": "false",
}


@dataclass(frozen=True)
class Target:
    """A Spark master and a store (database) in its warehouse."""

    master: str                # spark://HOST:PORT (or local[N] for a one-process trial)
    warehouse: str
    database: str
    city: str = ""
    conf: tuple = field(default_factory=tuple)    # extra (key, value) Spark settings from the URL

    def describe(self) -> str:
        q = {"warehouse": self.warehouse, "database": self.database, **({"city": self.city} if self.city else {}),
             **dict(self.conf)}
        return f"{self.master}?{urllib.parse.urlencode(q)}"

    @property
    def root(self) -> Path:
        return Path(self.warehouse) / self.database


def parse_url(url: str, default_database: str = "hotline") -> Target:
    """`spark://HOST:PORT?warehouse=PATH[&database=NAME][&city=NAME][&spark.key=value...]` (or `local[N]?...`)."""
    head, _, query = url.partition("?")
    if not (head.startswith("spark://") or head.startswith("local")):
        raise ValueError(f"unknown Spark URL {url!r}: spark://HOST:PORT?warehouse=PATH&database=NAME")
    params = urllib.parse.parse_qs(query)
    warehouse = params.get("warehouse", [""])[0]
    if not warehouse:
        raise ValueError(f"no warehouse in {url!r} (…?warehouse=PATH: where the shipped Parquet lies)")
    database = params.get("database", [default_database])[0]
    if not database.replace("_", "").isalnum():
        raise ValueError(f"bad database name {database!r}")
    conf = tuple(sorted((k, v[0]) for k, v in params.items() if k.startswith("spark.")))
    return Target(head, str(Path(warehouse).expanduser().resolve()), database, params.get("city", [""])[0], conf)


# ------------------------------------------------------------------ the session (one per process)
_lock = threading.Lock()
_session = None
_master: str | None = None
_views: dict[tuple[str, str], tuple[str, dict[str, list[str]]]] = {}   # (root, city) -> (generation, columns)


def session(t: Target):
    """The process's Spark session on the target's master (started on first use: ~15-40 s)."""
    global _session, _master
    with _lock:
        if _session is not None and _master != t.master:
            raise EngineError(f"this process's Spark driver runs on {_master}; one master per process "
                              f"(asked for {t.master})")
        if _session is None:
            from pyspark.sql import SparkSession

            b = SparkSession.builder.master(t.master).appName("hotline")
            conf = {**SETTINGS, **dict(t.conf)}
            if "127.0.0.1" in t.master or "localhost" in t.master or t.master.startswith("local"):
                conf.setdefault("spark.driver.host", "127.0.0.1")          # a cluster on loopback
                conf.setdefault("spark.driver.bindAddress", "127.0.0.1")
            for k, v in conf.items():
                b = b.config(k, v)
            _session = b.getOrCreate()
            _session.sparkContext.setLogLevel("ERROR")
            _master = t.master
        return _session


def stop_session() -> None:
    """Stop this process's Spark driver (its executors on the cluster end with it)."""
    global _session, _master
    with _lock:
        if _session is not None:
            _session.stop()
        _session, _master = None, None
        _views.clear()


def _generation(root: Path) -> str:
    f = root / GENERATION_FILE
    return f.read_text(encoding="utf-8").strip() if f.exists() else ""


def ensure_views(t: Target) -> dict[str, list[str]]:
    """Register the store's tables as views of the session (again after a new ship); their columns in order."""
    from pyspark.sql import functions as F

    root = t.root
    gen = _generation(root)
    if not gen:
        raise CatalogError(f"no store {t.database!r} in the warehouse {t.warehouse} (ship one: "
                           "`python manage.py engine ship`)")
    key = (str(root), t.city)
    have = _views.get(key)
    if have is not None and have[0] == gen:
        return have[1]
    spark = session(t)
    with _lock:
        catalog = spark.read.parquet(str(root / f"{CATALOG_TABLE}.parquet"))
        catalog.createOrReplaceTempView(view_name(t.database, CATALOG_TABLE, t.city))
        rows = catalog.orderBy("table_name", "ordinal_position").select("table_name", "column_name").collect()
        columns: dict[str, list[str]] = {}
        for table, column in rows:
            columns.setdefault(table, []).append(column)
        for table, cols in columns.items():
            path = str(root / table)
            df = spark.read.option("basePath", path).parquet(path)
            if t.city:
                df = df.where(F.col("city") == F.lit(t.city))
            df.select(*[F.col(f"`{c}`") for c in cols]).createOrReplaceTempView(view_name(t.database, table, t.city))
        _views[key] = (gen, columns)
        from data.engine import cursor

        cursor.forget_translations()
    return columns


# ------------------------------------------------------------------ the connection
CATALOG = {
    # DuckDB's information_schema views as this store's own (the catalog ship wrote), in schema 'main'
    "tables": "SELECT DISTINCT {db} AS table_catalog, 'main' AS table_schema, table_name, "
              "'BASE TABLE' AS table_type FROM {view}",
    "columns": "SELECT {db} AS table_catalog, 'main' AS table_schema, table_name, column_name, ordinal_position, "
               "data_type, is_nullable FROM {view}",
}


class Connection(EngineCursor):
    """A DuckDB-like connection to one store on a Spark cluster (the DuckDB API is EngineCursor's)."""

    engine = "spark"
    city_by_rewrite = False    # a city's views read only its directories

    def __init__(self, target: Target, scope=None, ledger: bool = False):
        self.target = target
        self.database = target.database
        self.scope = scope
        self.ledger = ledger
        self._result = None
        self._frames = {}
        self.closed = False

    @property
    def spark(self):
        return session(self.target)

    @property
    def _columns(self) -> dict[str, list[str]]:
        return ensure_views(self.target)    # registered once per load (cheap after: one small file read)

    def cursor(self) -> Connection:
        return Connection(self.target, self.scope, self.ledger)

    def table_columns(self) -> dict[str, set[str]]:
        """The store's tables and their columns ({} before the first ship)."""
        if not _generation(self.target.root):
            return {}
        return {t: set(c) for t, c in self._columns.items()}

    def _statements(self, sql: str, params):
        view = view_name(self.database, CATALOG_TABLE, self.target.city)
        catalog = {k: v.replace("{view}", view) for k, v in CATALOG.items()}
        for tree, extra in self._prepared(sql, catalog):
            engine_sql, bound = spark_dialect.to_spark(tree, params, extra, self.database, self.target.city,
                                                       self._columns)
            yield engine_sql, bound, extra

    def _run(self, engine_sql: str, values: dict) -> pa.Table:
        ensure_views(self.target)    # the current load's views (registered again after a ship)
        try:
            df = self.spark.sql(engine_sql, args=spark_dialect.spark_values(values) or None)
            return df.toArrow()
        except Exception as exc:   # py4j / pyspark errors: keep Spark's own message
            msg = str(exc).strip()
            first = msg.splitlines()[0] if msg else type(exc).__name__
            kind = CatalogError if "TABLE_OR_VIEW_NOT_FOUND" in msg else EngineError
            raise kind(f"{first}\n[engine SQL] {engine_sql[:2000]}") from exc

    def engine_sql(self, sql: str, params=None) -> list[tuple[str, dict]]:
        """The statements `execute(sql, params)` would send (for tests and reading)."""
        return [(engine_sql, bound) for engine_sql, bound, _extra in self._statements(sql, params)]


def connect(url: str) -> Connection:
    return Connection(parse_url(url))
