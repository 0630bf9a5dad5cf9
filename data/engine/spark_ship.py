"""Load an embedded store into the Spark warehouse: Parquet partitioned by city and month (issue 21's layout).

The embedded DuckDB store stays where a file is imported, cleaned and where the derived tables are built (as for
ClickHouse: data/engine/ship.py); `ship` writes its tables into the warehouse that the cluster's executors read:

    WAREHOUSE/DATABASE/<table>/city=<city>/ym=<YYYYMM>/part-*.parquet     (tables with a time column)
    WAREHOUSE/DATABASE/<table>/city=<city>/part-*.parquet                 (reference tables: districts, meta ...)
    WAREHOUSE/DATABASE/hotline_catalog.parquet                                 (DuckDB's information_schema.columns)
    WAREHOUSE/DATABASE/_generation                                        (the load; written last)

DuckDB writes the files itself (`COPY ... PARTITION_BY`), a table at a time, into a staging directory beside the
store; each city directory (whole ship) or month directory (`months=`) then takes the place of the old one by
renames, so a reader sees the old directory or the new one. Other cities' directories are never touched: a
national warehouse holds every city side by side. Readers (data/engine/spark.py) register the views again
when `_generation` changes, which is how the dashboard's sessions move to a new load.

The derived tables (daily summaries, cubes, word tables, funnel tables) are shipped as the embedded store built
them, not rebuilt on Spark: every derived row belongs to one district and one period, so a city's store builds its
own partitions where its import ran, and the cluster reads them (docs/scale-out.md).
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb

from data.engine import layout
from data.engine import ship as ch_ship
from data.engine.spark import CATALOG_TABLE, GENERATION_FILE, Target

STAGING = ".staging"


def _city_dir(city: str) -> str:
    """The directory name of a city's partition (`city=NAME`); the name is the store's region, checked here."""
    if not city or any(ch in city for ch in "/\\=%\x00") or city in (".", ".."):
        raise ValueError(f"bad city name {city!r} for a warehouse partition")
    return f"city={city}"


def _copy(duck, select_sql: str, params: list, dest: Path, partition: str | None) -> None:
    """Rows of `select_sql` (our own SQL over the store, values in `params`) into Parquet under `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    duck.execute(f"CREATE OR REPLACE TEMP TABLE _ship_rows AS {select_sql}", params)
    n = duck.execute("SELECT count(*) FROM _ship_rows").fetchone()[0]
    if partition and n:
        duck.execute(f"COPY _ship_rows TO '{dest}' (FORMAT parquet, PARTITION_BY ({partition}), "
                     "FILENAME_PATTERN 'part-{uuid}', ROW_GROUP_SIZE 100000)")
    else:
        # no rows, or an unpartitioned table: one file (an empty table keeps its schema; `ym=0` keeps the depth)
        where = dest / f"{partition}=0" if partition else dest
        where.mkdir(parents=True, exist_ok=True)
        cols = "*" if not partition else f"* EXCLUDE ({partition})"
        duck.execute(f"COPY (SELECT {cols} FROM _ship_rows) TO '{where / 'part-0.parquet'}' (FORMAT parquet)")
    duck.execute("DROP TABLE _ship_rows")


def _select(table: str, cols: list[layout.Column], tcol: str | None, months: list[int] | None,
            source: str = "store") -> str:
    names = ", ".join(ch_ship._dq(c.name) for c in cols)
    if tcol is None:
        return f"SELECT {names} FROM {source}.{ch_ship._dq(table)}"
    ym = f"coalesce(CAST(strftime({ch_ship._dq(tcol)}, '%Y%m') AS INTEGER), 0) AS ym"
    where = ""
    if months is not None:
        where = (f" WHERE CAST(strftime({ch_ship._dq(tcol)}, '%Y%m') AS INTEGER) IN "
                 f"({', '.join(str(int(m)) for m in months)})")
    return f"SELECT {names}, {ym} FROM {source}.{ch_ship._dq(table)}{where}"


def _overlay_tables(duck, spec) -> list[str]:
    """The clue ledger overlay's tables (data/engine/ledger.shapes), empty, made in the in-memory database: the
    ledger cursors' SQL names them (the app's own ledger is not laid over Spark's clue tables yet)."""
    from data.engine import ledger

    out = []
    for name, cols in ledger.shapes(spec).items():
        duck.execute(f"CREATE OR REPLACE TABLE memory.main.{ch_ship._dq(name)} ("
                     + ", ".join(f"{ch_ship._dq(c.name)} {_duck_type(c.duck_type)}" for c in cols) + ")")
        out.append(name)
    return out


def _duck_type(t: str) -> str:
    """A column type from the store's catalog, checked before it is written into DDL."""
    if not all(ch.isalnum() or ch in "[](), " for ch in t):
        raise ValueError(f"unexpected column type {t!r}")
    return t


def _memory_columns(duck, table: str) -> list[layout.Column]:
    rows = duck.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = "
                        "'memory' AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
    return [layout.Column(c, t) for c, t in rows]


def _swap(new: Path, old: Path, trash: Path) -> None:
    """`new` takes the place of `old` (renames: a reader lists the old directory or the new one)."""
    old.parent.mkdir(parents=True, exist_ok=True)
    if old.exists():
        trash.mkdir(parents=True, exist_ok=True)
        old.rename(trash / f"{old.parent.name}-{old.name}-{uuid.uuid4().hex[:6]}")
    if new.exists():
        new.rename(old)


def ship(store_path: str | Path, target: Target, *, months: Iterable[date | int] | None = None,
         tables: Iterable[str] | None = None, progress=None, city: str | None = None) -> dict:
    """Write the embedded store at `store_path` into the warehouse of `target` (see the module docstring).

    Returns {"tables": n, "rows": {table: rows of this city}, "seconds": s, "generation": id, "city": city,
    "ledger_version": None (the app's ledger is not laid over Spark's clue tables yet: docs/scale-out.md)}."""
    from geo import regions

    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    root = target.root
    root.mkdir(parents=True, exist_ok=True)
    gen = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    stage = root / STAGING / gen
    trash = root / STAGING / f"{gen}-old"
    want_months = None if months is None else sorted({ch_ship._month_key(m) for m in months})
    duck = duckdb.connect()
    rows: dict[str, int] = {}
    try:
        duck.execute(f"ATTACH '{Path(store_path).resolve()}' AS store (READ_ONLY)")
        duck.execute("USE store")
        city = city or regions.of_store(duck)
        cdir = _city_dir(city)
        spec = ch_ship.store_tables(duck)
        duck.execute("USE memory")
        names = [t for t in spec if tables is None or t in set(tables)]
        if tables is None:
            names += _overlay_tables(duck, spec)
        for table in names:
            cols = spec.get(table) or _memory_columns(duck, table)
            tcol = (layout.time_column(cols) if table not in layout.REFERENCE_TABLES and table in spec else None)
            by_month = want_months is not None and tcol is not None and (root / table / cdir).exists()
            new = stage / table / cdir
            extra = []
            source = "memory" if table not in spec else "store"
            cols = cols if table in spec else _memory_columns(duck, table)
            select = _select(table, cols, tcol, want_months if by_month else None, source)
            if table == "meta":   # the load's name, read by the dashboard (data/engine/__init__.generation)
                select += " UNION ALL SELECT 'engine_generation', $1"
                extra = [gen]
            _copy(duck, select, extra, new, "ym" if tcol else None)
            if by_month:
                for m in want_months:
                    _swap(new / f"ym={m}", root / table / cdir / f"ym={m}", trash)
            else:
                _swap(new, root / table / cdir, trash)
            rows[table] = duck.execute(f"SELECT count(*) FROM {source}.{ch_ship._dq(table)}").fetchone()[0]
            say(table)
        # the catalog: DuckDB's own description of the store's columns (types by DuckDB's names)
        catalog = root / f"{CATALOG_TABLE}.parquet"
        tmp = stage / f"{CATALOG_TABLE}.parquet"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        duck.execute(
            "COPY (SELECT c.table_name, c.column_name, CAST(c.ordinal_position AS INTEGER) AS ordinal_position, "
            "c.data_type, c.is_nullable FROM information_schema.columns c JOIN information_schema.tables t "
            "ON t.table_name = c.table_name AND t.table_schema = c.table_schema AND t.table_catalog = c.table_catalog "
            "WHERE c.table_catalog IN ('store', 'memory') AND c.table_schema = 'main' AND t.table_type = 'BASE TABLE' "
            f"ORDER BY 1, 3) TO '{tmp}' (FORMAT parquet)")
        tmp.replace(catalog)
        (root / f"{GENERATION_FILE}.tmp").write_text(gen, encoding="utf-8")
        (root / f"{GENERATION_FILE}.tmp").replace(root / GENERATION_FILE)
    finally:
        duck.close()
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(trash, ignore_errors=True)
    return {"tables": len(rows), "rows": rows, "seconds": round(time.perf_counter() - t0, 1), "generation": gen,
            "city": city, "ledger_version": None}
