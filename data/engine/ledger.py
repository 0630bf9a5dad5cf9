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

In a national database (several cities' stores in the same tables, data/engine/layout.py CITY) each city has
its own ledger: the overlay tables carry the hidden city column too, a push replaces only its own city's rows
(and its own row of the state), and a connection limited to a city (`?city=`) reads only that city's overlay
rows (clickhouse.only_city). A connection without a city lays the ledger of the database's one city; in a
database of several cities it must name one (`LedgerCityUnknown`).
"""

from __future__ import annotations

import threading
import time
import uuid

import duckdb
import pyarrow as pa

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


class LedgerCityUnknown(ValueError):
    """A ledger push on a connection to a database of several cities that names none of them."""


def create(con, spec: dict[str, list[Column]], city: str) -> None:
    """The overlay's tables with no rows of `city` (other cities' rows kept), and no state for it (no ledger laid
    yet): ship makes them with every whole load of the city."""
    for name, cols in shapes(spec).items():
        _replace_city_rows(con, name, cols, city, None)
    _state(con)
    con._backend.command(f"ALTER TABLE {q(con.database)}.{q(STATE)} DELETE WHERE city = {{city:String}} "
                         "SETTINGS mutations_sync = 2", {"city": city})
    with _lock:
        for k in [k for k in _LAID if k[:2] == _key(con)[:2]]:
            _LAID.pop(k, None)


def _state(con) -> None:
    db, backend = con.database, con._backend
    backend.command(f"CREATE TABLE IF NOT EXISTS {q(db)}.{q(STATE)} (`generation` String, `version` Int64, "
                    "`laid_at` String, `city` String DEFAULT '') ENGINE = MergeTree ORDER BY tuple()")
    # a state made before the overlay was kept per city (session 3) has no city column: its row is the only city's
    backend.command(f"ALTER TABLE {q(db)}.{q(STATE)} ADD COLUMN IF NOT EXISTS `city` String DEFAULT ''")


def _ddl(db: str, name: str, cols: list[Column]) -> str:
    return (f"CREATE TABLE {q(db)}.{q(name)} ({layout.columns_sql(cols)}, {layout.CITY_SQL}) "
            "ENGINE = MergeTree ORDER BY tuple()")


def _key(con, city: str = "") -> tuple[str, str, str]:
    return (con.target.describe(), con.database, city)


def city_of(con) -> str:
    """The city whose ledger a connection lays: the one it is limited to (`?city=`), else the database's only city
    (ship names each city's load in `meta`); '' for a database shipped without a city."""
    if con.target.city:
        return con.target.city
    res = con._backend.query(f"SELECT DISTINCT {q(layout.CITY)} AS c FROM {q(con.database)}.`meta` "
                             "WHERE key = 'engine_generation' ORDER BY c", {})
    cities = res.column(0).to_pylist() if res.num_rows else []
    if len(cities) > 1:
        raise LedgerCityUnknown(
            f"引擎库 {con.database} 含多个城市（{'、'.join(cities)}），线索台账属于其中一个：请在 HOTLINE_ENGINE_URL 加 ?city=城市")
    return cities[0] if cities else ""


def state(con, city: str | None = None) -> tuple[str, int] | None:
    """(store load, ledger version) the engine's overlay holds for `city` (default: the connection's, `city_of`),
    or None (no overlay tables, or none laid)."""
    city = city_of(con) if city is None else city
    try:
        res = con._backend.query(f"SELECT generation, version FROM {q(con.database)}.{q(STATE)} "
                                 "WHERE city = {city:String} LIMIT 1", {"city": city})
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


def _replace_city_rows(con, name: str, cols: list[Column] | None, city: str, rows: pa.Table | None) -> None:
    """Table `name` (made from `cols` when missing or of another shape; `cols` None: as it is) with `rows` as
    `city`'s rows and every other city's rows kept, swapped in atomically (a reader sees the old rows or the new)."""
    db, backend = con.database, con._backend
    have = _columns(con, name)
    new = f"{name}__new"
    backend.command(f"DROP TABLE IF EXISTS {q(db)}.{q(new)}")
    same = cols is None or [c for c, _t in have if c != layout.CITY] == [c.name for c in cols]
    if have and same and any(c == layout.CITY for c, _t in have):
        backend.command(f"CREATE TABLE {q(db)}.{q(new)} AS {q(db)}.{q(name)}")
        names = ", ".join(q(c) for c, _t in have)
        backend.command(f"INSERT INTO {q(db)}.{q(new)} ({names}) SELECT {names} FROM {q(db)}.{q(name)} "
                        f"WHERE {q(layout.CITY)} != {{city:String}} SETTINGS insert_allow_materialized_columns = 1",
                        {"city": city})
    elif cols is not None:
        backend.command(_ddl(db, new, cols))   # a new or reshaped table (or one from before the city column)
    else:
        return
    if rows is not None and rows.num_rows:
        rows = rows.append_column(layout.CITY, pa.array([city] * rows.num_rows, pa.string()))
        backend.insert_arrow(f"{q(db)}.{q(new)}", rows, settings={"insert_allow_materialized_columns": 1})
    if have:
        backend.command(f"EXCHANGE TABLES {q(db)}.{q(new)} AND {q(db)}.{q(name)}")
        backend.command(f"DROP TABLE {q(db)}.{q(new)}")
    else:
        backend.command(f"RENAME TABLE {q(db)}.{q(new)} TO {q(db)}.{q(name)}")


def push(con, fr, generation: str, city: str = "") -> None:
    """Replace `city`'s overlay rows with the ledger version of `fr` (data/ledger/overlay.Frames), table by table
    (each swap is atomic), other cities' rows kept; then its row of the state."""
    db, backend = con.database, con._backend
    shaper = duckdb.connect()    # the rows in each table's column order and types (missing columns: NULL)
    try:
        for n in NAMES:
            name = f"{overlay_sql.PREFIX}{n}"
            cols = [Column(c, _duck_type(t)) for c, t in _columns(con, name) if c != layout.CITY]
            if not cols:
                continue    # the store has no such table (an old store): nothing is laid over it
            df = fr.frames.get(n)
            rows = None
            if df is not None and len(df):
                shaper.register("frame", df)
                have = set(df.columns)
                select = ", ".join(
                    f"CAST({_dq(c.name) if c.name in have else 'NULL'} AS {c.duck_type}) AS {_dq(c.name)}" for c in cols)
                rows = shaper.sql(f"SELECT {select} FROM frame").to_arrow_table()
                shaper.unregister("frame")
            _replace_city_rows(con, name, cols, city, rows)
        _state(con)    # a store shipped before the state existed (session 2) has none
        backend.command(f"ALTER TABLE {q(db)}.{q(STATE)} DELETE WHERE city = {{city:String}} "
                        "SETTINGS mutations_sync = 2", {"city": city})
        backend.command(f"INSERT INTO {q(db)}.{q(STATE)} (generation, version, laid_at, city) VALUES "
                        "({g:String}, {v:Int64}, {at:String}, {city:String})",
                        {"g": generation, "v": int(fr.version), "city": city,
                         "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    finally:
        shaper.close()


def _dq(name: str) -> str:
    q(name)   # validates
    return f'"{name}"'


def lay_over(con, rc, generation: str, *, store=None, city: str | None = None) -> int:
    """Bring `city`'s overlay (default: the connection's, `city_of`) to the ledger's current version (records
    connection `rc`) for the store load `generation`; returns that version. `store`: a cursor reading the city's
    whole tables, to build the rows from (default: an unscoped cursor of `con`, the engine store itself)."""
    from data.ledger import overlay, read

    v = read.version(rc)
    city = city_of(con) if city is None else city
    key = _key(con, city)
    with _lock:
        if _LAID.get(key) == (generation, v):
            return v
    with _push_lock:
        if state(con, city) != (generation, v):
            base = store if store is not None else con.cursor()
            cache = f"{generation}:{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join(key))}"
            fr = overlay.frames(base, rc, generation=cache)
            push(con, fr, generation, city)
            v = fr.version
        with _lock:
            _LAID[key] = (generation, v)
    return v
