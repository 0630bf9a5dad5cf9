"""Opening the DuckDB store, creating its schema and loading the reference geography.

The dashboard opens the file read-only (many readers may share it); imports
open it read-write for short transactions. DuckDB allows one writer process or
many reader processes, so a locked file is reported with a clear message.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from data import derived, settings

SCHEMA_FILE = Path(__file__).with_name("schema.sql")


class StoreError(RuntimeError):
    """The store cannot be opened; the message is meant for the user (Chinese first)."""


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
        msg = str(exc)
        if "lock" in msg.lower():
            raise StoreError(
                f"数据库文件 {p} 正被另一个进程以写入方式占用（例如正在导入）。请等待导入结束后刷新页面。"
            ) from exc
        raise StoreError(f"无法打开数据库文件 {p}：{msg}") from exc
    # TIMESTAMPTZ values (ISO times with an offset) display and convert in Beijing time.
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    # No terminal progress bars from long statements (an upgrade, a rebuild): they flood the dashboard's and
    # the CLI's logs; the import pipeline and the CLI report progress themselves.
    con.execute("SET enable_progress_bar = false")
    if not read_only:
        init_schema(con)
    else:
        missing = _needs_upgrade(con)
        if missing:
            # A read-only open never writes: a store written by an older version (or changed by an import
            # without a refresh) is upgraded by a read-write open, which `init` does.
            con.close()
            raise StoreError(
                f"数据库 {p} 需要升级（缺少或过期的汇总表：{'、'.join(missing)}）。"
                f"请先运行 `python manage.py init --db {p}`，完成后刷新页面。")
    con.complete()   # leave no pending result: DuckDB 2.0 refuses con.sql()/register() while one is open
    return con


def _needs_upgrade(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The derived tables a read-write open would build (`derived.outdated`); none for a store without
    `ticket_daily` at all (never written by this product: its pages say it is empty)."""
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ticket_daily'"
    (has_daily,) = con.execute(sql).fetchone()
    return derived.outdated(con) if has_daily else []


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table that does not exist yet, and load the geography once."""
    con.execute(SCHEMA_FILE.read_text(encoding="utf-8"))
    (n,) = con.execute("SELECT count(*) FROM streets").fetchone()
    if n == 0:
        load_geography(con)
    if derived.outdated(con):
        derived.upgrade(con)


def load_geography(con: duckdb.DuckDBPyConnection) -> None:
    """Fill `districts` and `streets` from the shipped boundary files."""
    from geo import boundaries

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


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the main tables, for status output."""
    tables = ("tickets", "clues", "clue_tickets", "cases", "rectifications", "quarantine", "imports")
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)  # fixed names only
    return dict(con.execute(sql).fetchall())
