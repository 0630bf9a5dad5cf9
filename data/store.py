"""Opening the DuckDB store, creating its schema and loading the reference geography.

DuckDB allows one read-write process or many read-only ones, never both. The
dashboard keeps the store open read-only (`open_reader`, one handle per
generation of the file, see ui/db.py); every writer works on a copy that then
replaces the file (data/generations.py), so imports never need the file the
readers hold. `connect` opens a file directly: read-only for the command-line
readers, read-write for a file nobody else reads (a new store, a generation's
copy, a test's own file). A locked file is reported with a clear message.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from data import derived, settings
from geo import regions

SCHEMA_FILE = Path(__file__).with_name("schema.sql")


class StoreError(RuntimeError):
    """The store cannot be opened; the message is meant for the user (Chinese first)."""


class StoreBusy(StoreError):
    """Another process has the store open for writing by itself (not through data/generations.py)."""


def connect(path: str | Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store at `path` (default: the HOTLINE_DB setting).

    Read-write opens create the file and its schema, and build the derived tables an
    older store lacks. Read-only opens require an existing, current file and never
    write: an outdated store raises StoreError naming `python manage.py init`.
    """
    p = Path(path) if path is not None else settings.db_path()
    if read_only and not p.exists():
        raise StoreError(
            f"数据库文件不存在：{p}。请先运行 `make demo` 生成演示数据，或用 `python manage.py ingest` 导入数据。"
        )
    if not read_only:
        p.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(p), read_only=read_only)
    except duckdb.IOException as exc:
        raise _open_error(p, exc, read_only) from exc
    _session_defaults(con)
    if not read_only:
        init_schema(con)
        regions.activate(regions.of_store(con))
    else:
        missing = _needs_upgrade(con)
        if missing:
            # A read-only open never writes: a store written by an older version (or changed by an import
            # without a refresh) is upgraded by a read-write open, which `init` does.
            con.close()
            raise StoreError(
                f"数据库 {p} 需要升级（缺少的列或缺少、过期的汇总表：{'、'.join(missing)}）。"
                f"请先运行 `python manage.py init --db {p}`，完成后刷新页面。")
        regions.activate(regions.of_store(con))
    con.complete()   # leave no pending result: DuckDB 2.0 refuses con.sql()/register() while one is open
    return con


def _open_error(p: Path, exc: duckdb.Error, read_only: bool) -> StoreError:
    msg = str(exc)
    if "lock" in msg.lower() and read_only:
        # Only a read-write open conflicts with readers: a process writing the file itself, not through
        # data/generations.py.
        return StoreBusy(f"数据库文件 {p} 正被另一个进程以写入方式打开，请等其结束后刷新页面。")
    if "lock" in msg.lower():
        return StoreError(
            f"数据库文件 {p} 正被其他进程打开（例如仪表盘正在读取它）。导入与重算请用 `python manage.py ingest` "
            "等命令：它们写入副本后再替换数据库，无需关闭仪表盘。")
    return StoreError(f"无法打开数据库文件 {p}：{msg.splitlines()[0] if msg else exc}")


def generation_key(path: str | Path) -> str | None:
    """Identifies the file now at `path` (inode, modification time, size), or None if there is none.

    A writer replaces the store by renaming a new file over it (data/generations.py), so the key changes
    with every committed write; readers compare it to the key of the handle they hold.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return f"{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


def open_reader(path: str | Path) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A read-only handle on the store's current file and that file's generation key.

    The handle is its own DuckDB instance with the file attached read-only as the default database. Not
    `duckdb.connect(path, read_only=True)`: DuckDB keeps one instance per path and process, so after a
    write replaced the file, that call would hand back the instance still open on the old file (old data),
    or refuse a different configuration. Cursors of the handle (`con.cursor()`) see the same database.
    """
    p = Path(path)
    for _ in range(5):
        before = generation_key(p)
        if before is None:
            raise StoreError(f"数据库文件不存在：{p}。请先运行 `make demo` 生成演示数据，或导入工单数据。")
        con = duckdb.connect()
        try:
            con.execute("ATTACH $path AS store (READ_ONLY)", {"path": str(p)})
            con.execute("USE store")
            con.execute("DETACH memory")   # new cursors then default to the store too
        except duckdb.Error as exc:
            con.close()
            raise _open_error(p, exc, True) from exc
        if generation_key(p) == before:   # not replaced while it was being opened
            break
        con.close()
    else:
        raise StoreError(f"数据库文件 {p} 在打开时不断被替换，请稍后刷新页面。")
    _session_defaults(con)
    missing = _needs_upgrade(con)
    if missing:
        con.close()
        raise StoreError(
            f"数据库 {p} 需要升级（缺少的列或缺少、过期的汇总表：{'、'.join(missing)}）。"
            f"请先运行 `python manage.py init --db {p}`（仪表盘可以继续运行），完成后刷新页面。")
    regions.activate(regions.of_store(con))   # the dashboard process works on the region its store holds
    con.complete()
    return con, before


def _session_defaults(con: duckdb.DuckDBPyConnection) -> None:
    """Settings of the connection and of the cursors made from it."""
    # TIMESTAMPTZ values (ISO times with an offset) display and convert in Beijing time; GLOBAL, so that cursors
    # made later (one per dashboard session) get it too.
    con.execute("SET GLOBAL TimeZone = 'Asia/Shanghai'")
    # No terminal progress bars from long statements (an upgrade, a rebuild): they flood the dashboard's and
    # the CLI's logs; the import pipeline and the CLI report progress themselves. (Cursors start without one.)
    con.execute("SET enable_progress_bar = false")


# Columns added to tables after the first release: (table, column, type). A read-write open adds the missing
# ones (`init` upgrades an older store); a read-only open of a store that lacks one asks for `init`.
ADDED_COLUMNS = (
    ("tickets", "reply", "VARCHAR"),
    ("tickets", "due_at", "TIMESTAMP"),
    ("tickets", "extra", "VARCHAR"),
)


def missing_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """`table.column` of ADDED_COLUMNS that the store lacks."""
    sql = "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'main'"
    have = {r[0] for r in con.execute(sql).fetchall()}
    return [f"{t}.{c}" for t, c, _ in ADDED_COLUMNS if f"{t}.{c}" not in have]


def _add_columns(con: duckdb.DuckDBPyConnection) -> None:
    for table, column, kind in ADDED_COLUMNS:
        if f"{table}.{column}" in missing_columns(con):
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")   # names from ADDED_COLUMNS only


def _needs_upgrade(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The columns and derived tables a read-write open would add or build (`derived.outdated`); no derived
    table for a store without `ticket_daily` at all (never written by this product: its pages say it is
    empty)."""
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ticket_daily'"
    (has_daily,) = con.execute(sql).fetchone()
    (has_tickets,) = con.execute(sql.replace("ticket_daily", "tickets")).fetchone()
    cols = missing_columns(con) if has_tickets else []
    return cols + (derived.outdated(con) if has_daily else [])


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table that does not exist yet, and load the geography once."""
    con.execute(SCHEMA_FILE.read_text(encoding="utf-8"))
    _add_columns(con)
    (held,) = con.execute("SELECT max(value) FROM meta WHERE key = $k", {"k": regions.META_KEY}).fetchone()
    (n,) = con.execute("SELECT count(*) FROM districts").fetchone()
    if held is None:
        # A new store gets HOTLINE_REGION's geography; a store from before packs holds Beijing's (its streets
        # are loaded): record that, so it never changes region by itself.
        load_geography(con, None if n == 0 else regions.DEFAULT)
    if derived.outdated(con) or derived.behind(con):
        derived.upgrade(con)


def load_geography(con: duckdb.DuckDBPyConnection, region: str | None = None) -> None:
    """Fill `districts` and `streets` from a region pack (default HOTLINE_REGION) and record the region."""
    from data.tablebuild import set_meta
    from geo import boundaries

    r = regions.activate(region)
    streets = boundaries.street_table()
    districts = boundaries.district_table()
    con.execute("DELETE FROM streets")
    con.execute("DELETE FROM districts")
    con.register("_streets_df", streets)
    con.register("_districts_df", districts)
    con.execute(
        """
        INSERT INTO streets (street_code, street, district, area_km2, population_est, lon, lat)
        SELECT street_code, street, district, area_km2, population_est, lon, lat FROM _streets_df
        """
    )
    con.execute(
        """
        INSERT INTO districts (district, adcode, population, area_km2, lon, lat, is_core)
        SELECT district, adcode, population, area_km2, lon, lat, is_core FROM _districts_df
        """
    )
    con.unregister("_streets_df")
    con.unregister("_districts_df")
    set_meta(con, regions.META_KEY, r.name)


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the main tables, for status output."""
    tables = ("tickets", "clues", "clue_tickets", "cases", "rectifications", "quarantine", "imports")
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)  # fixed names only
    counts = dict(con.execute(sql).fetchall())    # a UNION ALL's rows come in any order on a distributed engine
    return {t: counts[t] for t in tables}
