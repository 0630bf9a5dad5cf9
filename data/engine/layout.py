"""How the store's tables lie on ClickHouse: types, partitions (month) and sort keys (district, time).

Every table keeps the columns and names it has in the embedded store (data/schema.sql and the derived
tables), so the product's SQL reads both. On the engine each table is a MergeTree:
- partitioned by month of its time column (`received_at`, `day`, `month`, `week`, `created_at`): an import
  replaces the months it touched, a query of one month reads one partition, old years can be moved or
  dropped by partition;
- sorted by district first, then time, then its id: a district procuratorate's queries and every date
  filter read a few granules (the sparse primary index), as DuckDB's zonemaps do on the time-sorted file.

Every table also has a `city` column (CITY): the city (region, geo/regions.py) whose store shipped the row. It is
MATERIALIZED, so `SELECT *` does not return it and the product's SQL reads the same columns as on DuckDB; `ship`
fills it explicitly (`insert_allow_materialized_columns`). It leads the sort key, so one city's rows lie together,
and it is the sharding key on a cluster: a city's tickets, derived tables and screening all live on one shard.
A national database holds many cities: `ship` replaces only its own city's rows (data/engine/ship.py), and a
connection limited to one city (`HOTLINE_ENGINE_URL=...?city=NAME`) reads only that city's rows of every table
(data/engine/clickhouse.py), which is what the product, one city per store, expects.

On a cluster (`cluster_ddl`) each table is a ReplicatedMergeTree on every shard with a Distributed table of
the same name in front, sharded by city; the small reference tables (districts, streets, meta) are whole on
every shard.
"""

from __future__ import annotations

from dataclasses import dataclass

# DuckDB type -> ClickHouse type (every type the store uses; Nullable added for nullable columns).
TYPES = {
    "VARCHAR": "String", "BIGINT": "Int64", "INTEGER": "Int32", "SMALLINT": "Int16", "TINYINT": "Int8",
    "UBIGINT": "UInt64", "UINTEGER": "UInt32", "HUGEINT": "Int128", "DOUBLE": "Float64", "FLOAT": "Float32",
    "BOOLEAN": "Bool", "DATE": "Date32", "TIMESTAMP": "DateTime64(6, 'UTC')",
}
TIME_COLUMNS = ("received_at", "day", "month", "week", "created_at")
CITY = "city"   # the city whose store shipped the row (hidden from SELECT *: MATERIALIZED; filled by ship)
CITY_SQL = f"`{CITY}` LowCardinality(String) NOT NULL MATERIALIZED ''"
ID_COLUMNS = ("ticket_id", "clue_id", "case_id")
REFERENCE_TABLES = frozenset({"districts", "streets", "meta", "imports"})


@dataclass(frozen=True)
class Column:
    name: str
    duck_type: str
    nullable: bool = True

    def clickhouse(self) -> str:
        t = self.duck_type.upper()
        if t.endswith("[]"):
            inner = TYPES.get(t[:-2])
            if inner is None:
                raise ValueError(f"no ClickHouse type for {self.duck_type} ({self.name})")
            return f"Array(Nullable({inner}))"
        if t.startswith("DECIMAL"):
            base = t.replace("DECIMAL", "Decimal")
        else:
            base = TYPES.get(t)
        if base is None:
            raise ValueError(f"no ClickHouse type for {self.duck_type} ({self.name})")
        return f"Nullable({base})" if self.nullable else base


def q(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad identifier {name!r}")
    return f"`{name}`"


def time_column(columns: list[Column]) -> str | None:
    names = {c.name for c in columns}
    return next((c for c in TIME_COLUMNS if c in names), None)


def keys(table: str, columns: list[Column]) -> tuple[str | None, str]:
    """(PARTITION BY expression or None, ORDER BY expression) of a table with these columns."""
    names = {c.name for c in columns}
    t = time_column(columns)
    partition = f"toYYYYMM({q(t)})" if t and table not in REFERENCE_TABLES else None
    order = [CITY] + [c for c in ("district",) if c in names]
    order += [t] if t else []
    order += [c for c in ID_COLUMNS if c in names][:1]
    if table in ("ticket_words", "word_daily", "word_monthly", "word_weekly") and "word" in names:
        order.append("word")
    return partition, "(" + ", ".join(q(c) for c in order) + ")"


def columns_sql(columns: list[Column]) -> str:
    return ", ".join(f"{q(c.name)} {c.clickhouse()}" for c in columns)


def table_ddl(database: str, table: str, columns: list[Column]) -> str:
    """CREATE TABLE of one table on a single server (or the embedded engine)."""
    partition, order = keys(table, columns)
    return (f"CREATE TABLE {q(database)}.{q(table)} ({columns_sql(columns)}, {CITY_SQL}) ENGINE = MergeTree"
            + (f" PARTITION BY {partition}" if partition else "")
            + f" ORDER BY {order} SETTINGS allow_nullable_key = 1")


def cluster_ddl(database: str, table: str, columns: list[Column], cluster: str) -> list[str]:
    """The statements creating one table on a cluster: local replicated tables and a Distributed front."""
    partition, order = keys(table, columns)
    local = f"{table}_local"
    shard_path = "all" if table in REFERENCE_TABLES else "{shard}"
    out = [f"CREATE TABLE {q(database)}.{q(local)} ON CLUSTER {q(cluster)} ({columns_sql(columns)}, {CITY_SQL}) "
           f"ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard_path}/{database}/{table}', '{{replica}}')"
           + (f" PARTITION BY {partition}" if partition else "")
           + f" ORDER BY {order} SETTINGS allow_nullable_key = 1"]
    if table in REFERENCE_TABLES:
        # whole on every shard: the front reads the local copy
        out.append(f"CREATE VIEW {q(database)}.{q(table)} ON CLUSTER {q(cluster)} AS "
                   f"SELECT * FROM {q(database)}.{q(local)}")
    else:
        key = f"cityHash64({q(CITY)})"   # one city's rows on one shard
        out.append(f"CREATE TABLE {q(database)}.{q(table)} ON CLUSTER {q(cluster)} AS {q(database)}.{q(local)} "
                   f"ENGINE = Distributed({q(cluster)}, {q(database)}, {q(local)}, {key})")
    return out
