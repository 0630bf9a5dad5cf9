"""The app's own clue ledger laid over the engine's clue tables (the engine side of data/ledger/overlay.py).

On DuckDB each dashboard cursor gets the overlay rows (the app's clues in the store's own shape, and the
imported clues the app acted on) in temporary tables of its own, and its clue tables become views: the store's
rows less the replaced clues, UNION ALL the overlay rows (data/ledger/overlay_sql.union_sql). The engine has
no tables private to one cursor, so here the overlay rows are tables of the store's database, shared by every
reader: `ledger_ov_clues`, `ledger_ov_clue_tickets`, ... with the same columns in the same order as the store's
tables (made by `create`, from the same column list), plus `ledger_ov_state` (which ledger version and store
load they hold). An engine cursor made with the ledger (data/scope.scoped_cursor(..., ledger=True)) reads its
clue tables through the same union (data/engine/scoped.py), so every count includes the app's clues.

`lay_over` brings the engine's overlay to the ledger's current version: it builds the overlay rows as DuckDB does
(data/ledger/overlay.frames, reading the engine store) and swaps each table in atomically (a new table, then
EXCHANGE TABLES). It writes only these tables, through the engine's own command channel (the read connection
refuses writes): the dashboard's engine account needs CREATE/INSERT/DROP on `ledger_ov_*` only. `ship` calls it
after a load with the records store beside the embedded store; the dashboard on every run (ui/db.py), which
costs one look at the ledger's change counter while nothing changed.
"""

from __future__ import annotations

import threading
import time
import uuid

import duckdb

from data.engine import layout
from data.engine.layout import Column, q
from data.ledger import overlay_sql

STATE = f"{overlay_sql.PREFIX}state"
NAMES = (*overlay_sql.TABLES, "replaced", "replaced_cases", "extra")   # the overlay's tables, without the prefix
_CLICKHOUSE_TO_DUCK = {v: k for k, v in layout.TYPES.items()}

_lock = threading.Lock()
_push_lock = threading.Lock()   # one push at a time in this process (sessions' runs may ask at once)
_LAID: dict[tuple[str, str], tuple[str, int]] = {}   # (engine, database) -> (store load, ledger version) laid


def shapes(spec: dict[str, list[Column]]) -> dict[str, list[Column]]:
    """The overlay's tables (full names) and their columns, from the store's tables `spec` (ship's)."""
    out = {f"{overlay_sql.PREFIX}{n}": spec[n] for n in overlay_sql.TABLES if n in spec}
    out[f"{overlay_sql.PREFIX}replaced"] = [Column("clue_id", "VARCHAR")]
    out[f"{overlay_sql.PREFIX}replaced_cases"] = [Column("case_id", "VARCHAR")]
    out[f"{overlay_sql.PREFIX}extra"] = [Column(c, t) for c, t in overlay_sql.EXTRA_COLUMNS.items()]
    return out


def create(con, spec: dict[str, list[Column]]) -> None:
    """The overlay's tables, empty, and its state (no ledger laid yet): ship makes them with every whole load."""
    db, backend = con.database, con._backend
    for name, cols in shapes(spec).items():
        backend.command(f"DROP TABLE IF EXISTS {q(db)}.{q(name)}")
        backend.command(_ddl(db, name, cols))
    backend.command(f"DROP TABLE IF EXISTS {q(db)}.{q(STATE)}")
    backend.command(_state_ddl(db))
    with _lock:
        _LAID.pop(_key(con), None)


def _state_ddl(db: str) -> str:
    return (f"CREATE TABLE IF NOT EXISTS {q(db)}.{q(STATE)} (`generation` String, `version` Int64, "
            "`laid_at` String) ENGINE = MergeTree ORDER BY tuple()")


def _ddl(db: str, name: str, cols: list[Column]) -> str:
    return f"CREATE TABLE {q(db)}.{q(name)} ({layout.columns_sql(cols)}) ENGINE = MergeTree ORDER BY tuple()"


def _key(con) -> tuple[str, str]:
    return (con.target.describe(), con.database)


def state(con) -> tuple[str, int] | None:
    """(store load, ledger version) the engine's overlay holds, or None (no overlay tables, or none laid)."""
    try:
        res = con._backend.query(f"SELECT generation, version FROM {q(con.database)}.{q(STATE)} LIMIT 1", {})
    except duckdb.Error:
        return None
    rows = res.to_pylist() if res.num_rows else []
    return (rows[0]["generation"], int(rows[0]["version"])) if rows else None


def _columns(con, name: str) -> list[tuple[str, str]]:
    res = con._backend.query("SELECT name, type FROM system.columns WHERE database = {db:String} AND "
                             "table = {t:String} ORDER BY position", {"db": con.database, "t": name})
    return list(zip(res.column(0).to_pylist(), res.column(1).to_pylist(), strict=True)) if res.num_rows else []


def _duck_type(clickhouse_type: str) -> str:
    t = clickhouse_type
    if t.startswith("Nullable(") and t.endswith(")"):
        t = t[len("Nullable("):-1]
    if t.startswith("Array("):
        return _duck_type(t[len("Array("):-1]) + "[]"
    if t.startswith("DateTime64"):
        return "TIMESTAMP"
    return _CLICKHOUSE_TO_DUCK.get(t, "VARCHAR")


def push(con, fr, generation: str) -> None:
    """Replace the engine's overlay rows with the ledger version of `fr` (data/ledger/overlay.Frames), table by
    table (each swap is atomic: a reader sees the old rows or the new), then its state."""
    db, backend = con.database, con._backend
    shaper = duckdb.connect()    # the rows in each table's column order and types (missing columns: NULL)
    try:
        for n in NAMES:
            name = f"{overlay_sql.PREFIX}{n}"
            cols = _columns(con, name)
            if not cols:
                continue    # the store has no such table (an old store): nothing is laid over it
            new = f"{name}__new"
            backend.command(f"DROP TABLE IF EXISTS {q(db)}.{q(new)}")
            backend.command(f"CREATE TABLE {q(db)}.{q(new)} AS {q(db)}.{q(name)}")
            df = fr.frames.get(n)
            if df is not None and len(df):
                shaper.register("frame", df)
                have = set(df.columns)
                select = ", ".join(
                    f"CAST({_dq(c) if c in have else 'NULL'} AS {_duck_type(t)}) AS {_dq(c)}" for c, t in cols)
                sql = f"SELECT {select} FROM frame"
                backend.insert_arrow(f"{q(db)}.{q(new)}", shaper.sql(sql).to_arrow_table())
                shaper.unregister("frame")
            backend.command(f"EXCHANGE TABLES {q(db)}.{q(new)} AND {q(db)}.{q(name)}")
            backend.command(f"DROP TABLE {q(db)}.{q(new)}")
        backend.command(_state_ddl(db))    # a store shipped before the state existed (session 2) has none
        backend.command(f"TRUNCATE TABLE {q(db)}.{q(STATE)}")
        backend.command(f"INSERT INTO {q(db)}.{q(STATE)} (generation, version, laid_at) VALUES "
                        "({g:String}, {v:Int64}, {at:String})",
                        {"g": generation, "v": int(fr.version), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    finally:
        shaper.close()


def _dq(name: str) -> str:
    q(name)   # validates
    return f'"{name}"'


def lay_over(con, rc, generation: str, *, store=None) -> int:
    """Bring the engine's overlay to the ledger's current version (records connection `rc`) for the store load
    `generation`; returns that version. `store`: a cursor reading the store's whole tables, to build the rows
    from (default: an unscoped cursor of `con`, the engine store itself)."""
    from data.ledger import overlay, read

    v = read.version(rc)
    if getattr(con, "engine", None) == "spark":
        # Spark's warehouse has the overlay's tables empty (data/engine/spark_ship.py): right while the app's ledger
        # holds nothing; laying a ledger over them is not built yet (docs/scale-out.md)
        if v == 0:
            return v
        from data.engine.cursor import EngineError

        raise EngineError("the app's own clue ledger is not laid over Spark's clue tables yet")
    key = _key(con)
    with _lock:
        if _LAID.get(key) == (generation, v):
            return v
    with _push_lock:
        if state(con) != (generation, v):
            base = store if store is not None else con.cursor()
            cache = f"{generation}:{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join(key))}"
            fr = overlay.frames(base, rc, generation=cache)
            push(con, fr, generation)
            v = fr.version
        with _lock:
            _LAID[key] = (generation, v)
    return v
