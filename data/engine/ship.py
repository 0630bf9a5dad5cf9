"""Load an embedded store's tables into the engine: whole (a new store) or by month (after an import).

The embedded DuckDB store is where a file is imported: cleaned, checked, placed, segmented into words, and
where the derived tables (daily summaries and cubes, word tables, hotspot and funnel tables) are built
(data/ingest, data/derived.py). None of that needs rows of another city: every derived row belongs to one
district and one period. So a city's store builds its own partitions, and `ship` moves them into the engine:

- `ship(store, con)` — every table, whole: each goes into a new table `<name>__new`, which then takes the
  place of the old one in one atomic `EXCHANGE TABLES`; readers see the old table or the new, never a part.
- `ship(store, con, months=[...])` — only the months an import touched: each month-partitioned table gets
  those partitions replaced (`REPLACE PARTITION`, atomic per partition); the small tables are reloaded whole.

Rows travel as Arrow batches (chdb reads them from an Arrow stream file; a server gets them over HTTP), a month
at a time for the large tables, so memory stays flat at any size. Afterwards `meta.engine_generation` names the load: dashboard
sessions move to it on their next run (ui/db.py).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

import duckdb

from data.engine import layout
from data.engine.layout import Column, q

BATCH_ROWS = 500_000
# Tables not shipped. `screening_tickets` (data/screen_tickets.py) is the screening rules' located copy of the
# tickets, sorted by problem so that DuckDB's zonemaps skip the other problems; on the engine every table is sorted
# by (city, district, time, id) (layout.keys), so it would be a second `tickets` without that use: there the rules
# read `tickets` (screen_tickets.ready is False without the table), with the same answers.
NOT_SHIPPED = frozenset({"screening_tickets"})
Progress = Callable[[str], None]


def store_tables(duck: duckdb.DuckDBPyConnection) -> dict[str, list[Column]]:
    """The base tables of the embedded store and their columns, in order."""
    rows = duck.execute(
        "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema "
        "WHERE c.table_schema = 'main' AND t.table_type = 'BASE TABLE' "
        "AND c.table_catalog = current_database() AND t.table_catalog = current_database() "
        "ORDER BY c.table_name, c.ordinal_position").fetchall()
    out: dict[str, list[Column]] = {}
    for t, c, ty, _nullable in rows:
        out.setdefault(t, []).append(Column(c, ty, True))
    return out


def _months_of(duck, table: str, tcol: str) -> list[int]:
    sql = (f"SELECT DISTINCT CAST(strftime({_dq(tcol)}, '%Y%m') AS INTEGER) AS m "
           f"FROM {_dq(table)} WHERE {_dq(tcol)} IS NOT NULL ORDER BY m")
    return [r[0] for r in duck.execute(sql).fetchall()]


def _dq(name: str) -> str:
    q(name)   # validates
    return f'"{name}"'


def _select_month(table: str, tcol: str | None, month: int | None, cols: list[Column]) -> str:
    names = ", ".join(_dq(c.name) for c in cols)
    if month is None or tcol is None:
        return f"SELECT {names} FROM {_dq(table)}"
    return (f"SELECT {names} FROM {_dq(table)} WHERE {_dq(tcol)} >= make_date({month // 100}, {month % 100}, 1) "
            f"AND {_dq(tcol)} < make_date({month // 100}, {month % 100}, 1) + INTERVAL 1 MONTH")


# the city column is MATERIALIZED (hidden from SELECT *): an insert names it explicitly
WITH_CITY = {"insert_allow_materialized_columns": 1}


def _send(duck, con, target_table: str, select_sql: str, cols: list[Column], work: Path, city: str) -> int:
    """Rows of `select_sql` (on the embedded store; columns `cols`) into `target_table` (qualified) on the
    engine, with `city` in the city column; returns the rows sent.

    The rows leave DuckDB as Arrow batches. chdb reads them from an Arrow stream file, which costs neither side
    an encoding: the Parquet file this replaced cost ~25 % more CPU (Parquet encoding in DuckDB, decoding in
    ClickHouse; docs/scale-out.md, "Shipping"). A server gets the batches over HTTP."""
    backend = con._backend
    cur = duck.cursor()   # its own result: a reader does not wait for the connection's last statement to drain
    try:
        return _send_rows(cur.sql(select_sql).to_arrow_reader(BATCH_ROWS), backend, con.target.kind,
                          target_table, cols, work, city)
    finally:
        cur.close()


def _send_rows(reader, backend, kind: str, target_table: str, cols: list[Column], work: Path, city: str) -> int:
    import pyarrow as pa

    n = 0
    if kind == "chdb":
        names = ", ".join(q(c.name) for c in cols)
        f = work / f"{uuid.uuid4().hex}.arrows"
        try:
            with pa.OSFile(str(f), "wb") as sink, pa.ipc.new_stream(sink, reader.schema) as out:
                for batch in reader:
                    out.write_batch(batch)
                    n += batch.num_rows
            backend.command(f"INSERT INTO {target_table} ({names}, {q(layout.CITY)}) "
                            f"SELECT {names}, {{city:String}} FROM file({{path:String}}, 'ArrowStream') "
                            "SETTINGS insert_allow_materialized_columns = 1", {"path": str(f), "city": city})
        finally:
            f.unlink(missing_ok=True)
        return n
    for batch in reader:
        data = pa.Table.from_batches([batch])
        data = data.append_column(layout.CITY, pa.array([city] * data.num_rows, pa.string()))
        backend.insert_arrow(target_table, data, settings=WITH_CITY)
        n += batch.num_rows
    return n


def _keep_other_cities(con, table: str, new: str, cols: list[Column], city: str, where: str = "") -> None:
    """Copy the rows of other cities (a national database) from `table` into `new`, so that replacing the table
    (or a month of it) by `new` replaces only `city`'s rows. `where`: a further condition (our own SQL)."""
    db, backend = con.database, con._backend
    names = ", ".join(q(c.name) for c in [*cols, Column(layout.CITY, "VARCHAR")])
    backend.command(f"INSERT INTO {q(db)}.{q(new)} ({names}) SELECT {names} FROM {q(db)}.{q(table)} "
                    f"WHERE {q(layout.CITY)} != {{city:String}}{where} SETTINGS insert_allow_materialized_columns = 1",
                    {"city": city})


def ship(store_path: str | Path, con, *, months: Iterable[date | int] | None = None,
         tables: Iterable[str] | None = None, progress: Progress | None = None, city: str | None = None) -> dict:
    """Load the embedded store at `store_path` into the engine store of `con` (see the module docstring).

    `city`: the value of the rows' city column (default: the store's region, geo/regions.py); the rows of other
    cities in the engine's tables (a national database) are kept.
    Returns {"tables": n, "rows": {table: rows now on the engine}, "seconds": s, "generation": id, "city": city,
    "ledger_version": the app's ledger version laid over the clue tables (None: no records store)}.
    """
    from geo import regions

    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    db = con.database
    backend = con._backend
    backend.command(f"CREATE DATABASE IF NOT EXISTS {q(db)}")
    duck = duckdb.connect(str(store_path), read_only=True)
    want_months = None if months is None else sorted({_month_key(m) for m in months})
    rows: dict[str, int] = {}
    city = city or regions.of_store(duck)
    try:
        spec = {t: c for t, c in store_tables(duck).items() if t not in NOT_SHIPPED}
        names = [t for t in spec if tables is None or t in set(tables)]
        existing = _engine_tables(con)
        with tempfile.TemporaryDirectory(prefix="hotline-ship-") as tmp:
            work = Path(tmp)
            for table in names:
                cols = spec[table]
                tcol = layout.time_column(cols)
                partitioned = layout.keys(table, cols)[0] is not None
                if want_months is not None and partitioned and table in existing:
                    _replace_months(duck, con, table, cols, tcol, want_months, work, city)
                else:
                    _replace_whole(duck, con, table, cols, tcol, partitioned, work, existing, city)
                say(f"{table}")
            if tables is None:
                _overlay_tables(con, spec, city)
            gen = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
            backend.command(f"ALTER TABLE {q(db)}.`meta` DELETE WHERE key = 'engine_generation' "
                            f"AND {q(layout.CITY)} = {{city:String}} SETTINGS mutations_sync = 2", {"city": city})
            backend.command(f"INSERT INTO {q(db)}.`meta` (key, value, {q(layout.CITY)}) SETTINGS "
                            "insert_allow_materialized_columns = 1 VALUES ('engine_generation', {g:String}, "
                            "{city:String})", {"g": gen, "city": city})
            for table in names:
                res = backend.query(f"SELECT count() FROM {q(db)}.{q(table)} WHERE {q(layout.CITY)} = {{city:String}}",
                                    {"city": city})
                rows[table] = int(res.column(0)[0].as_py())
    finally:
        duck.close()
    _forget_catalog(con)
    laid = lay_ledger(store_path, con, city)
    return {"tables": len(rows), "rows": rows, "seconds": round(time.perf_counter() - t0, 1), "generation": gen,
            "city": city, "ledger_version": laid}


def _month_key(m) -> int:
    if isinstance(m, int):
        return m
    return m.year * 100 + m.month


def _engine_tables(con) -> set[str]:
    res = con._backend.query("SELECT name FROM system.tables WHERE database = {db:String}", {"db": con.database})
    return set(res.column(0).to_pylist()) if res.num_columns else set()


def _replace_whole(duck, con, table, cols, tcol, partitioned, work, existing, city) -> None:
    db, backend = con.database, con._backend
    new = f"{table}__new"
    backend.command(f"DROP TABLE IF EXISTS {q(db)}.{q(new)}")
    backend.command(layout.table_ddl(db, new, cols))
    target = f"{q(db)}.{q(new)}"
    if table in existing and _has_city(con, table):
        _keep_other_cities(con, table, new, cols, city)
    if partitioned:
        for month in _months_of(duck, table, tcol):
            _send(duck, con, target, _select_month(table, tcol, month, cols), cols, work, city)
        # rows without a time (none in the product's tables; kept all the same)
        names = ", ".join(_dq(c.name) for c in cols)
        if duck.execute(f"SELECT count(*) FROM {_dq(table)} WHERE {_dq(tcol)} IS NULL").fetchone()[0]:
            _send(duck, con, target, f"SELECT {names} FROM {_dq(table)} WHERE {_dq(tcol)} IS NULL", cols, work, city)
    else:
        _send(duck, con, target, _select_month(table, None, None, cols), cols, work, city)
    if table in existing:
        backend.command(f"EXCHANGE TABLES {q(db)}.{q(new)} AND {q(db)}.{q(table)}")
        backend.command(f"DROP TABLE {q(db)}.{q(new)}")
    else:
        backend.command(f"RENAME TABLE {q(db)}.{q(new)} TO {q(db)}.{q(table)}")


def _replace_months(duck, con, table, cols, tcol, months, work, city) -> None:
    db, backend = con.database, con._backend
    new = f"{table}__new"
    backend.command(f"DROP TABLE IF EXISTS {q(db)}.{q(new)}")
    backend.command(layout.table_ddl(db, new, cols))
    others = _has_city(con, table)
    for month in months:
        month = int(month)   # a number we computed: the partition id (YYYYMM)
        in_month = f" AND toYYYYMM({q(tcol)}) = {month}"
        if others:   # a national database: the month of the other cities stays as it is
            _keep_other_cities(con, table, new, cols, city, in_month)
        sql = _select_month(table, tcol, month, cols)
        if duck.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]:
            _send(duck, con, f"{q(db)}.{q(new)}", sql, cols, work, city)
        res = backend.query(f"SELECT count() FROM {q(db)}.{q(new)} WHERE 1{in_month}", {})
        if int(res.column(0)[0].as_py()) == 0:
            backend.command(f"ALTER TABLE {q(db)}.{q(table)} DROP PARTITION {month}")
            continue
        # the month's partition of the new table takes the place of the old one, atomically
        backend.command(f"ALTER TABLE {q(db)}.{q(table)} REPLACE PARTITION {month} FROM {q(db)}.{q(new)}")
    backend.command(f"DROP TABLE {q(db)}.{q(new)}")


def _has_city(con, table: str) -> bool:
    """The engine's `table` has the city column (a table shipped before it existed has not: shipped whole once,
    it gets it)."""
    res = con._backend.query("SELECT count() FROM system.columns WHERE database = {db:String} AND "
                             "table = {t:String} AND name = {c:String}",
                             {"db": con.database, "t": table, "c": layout.CITY})
    return bool(int(res.column(0)[0].as_py()))


def _forget_catalog(con) -> None:
    from data.engine import clickhouse

    if hasattr(con, "_catalog"):
        con._catalog = None
    clickhouse.forget_translations()


def _overlay_tables(con, spec: dict[str, list[Column]], city: str) -> None:
    """The clue ledger overlay's tables (data/engine/ledger.py) without rows of `city` until its ledger is laid."""
    from data.engine import ledger

    ledger.create(con, spec, city)


def _city_connection(con, city: str):
    """`con` as the dashboard of `city` reads it: itself when it reads that city already (limited to it, or a
    database of that city alone), else limited to the city (the same backend)."""
    from dataclasses import replace

    from data.engine import clickhouse, ledger

    if con.target.city == city:
        return con
    if not con.target.city:
        try:
            if ledger.city_of(con) == city:
                return con
        except ledger.LedgerCityUnknown:
            pass
    return clickhouse.Connection(replace(con.target, city=city), con._backend)


def lay_ledger(store_path: str | Path, con, city: str | None = None) -> int | None:
    """Lay the app's ledger (the records store beside the embedded store) over the engine's clue tables as `city`'s
    (default: the store's region), built from the embedded store; returns the ledger version laid, or None when
    there is no records store."""
    from data import engine, records
    from data.engine import ledger
    from geo import regions

    if not records.path_for(store_path).exists():
        return None
    duck = duckdb.connect(str(store_path), read_only=True)
    try:
        city = city or regions.of_store(duck)
        limited = _city_connection(con, city)
        with records.session(store_path) as rc:
            return ledger.lay_over(limited, rc, engine.load_key(limited), store=duck, city=city)
    finally:
        duck.close()
