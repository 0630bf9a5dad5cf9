"""The engine kept current after every write of the embedded store (issue 21: "one switch").

With `HOTLINE_ENGINE=clickhouse` the dashboard reads the engine, but imports still clean into the embedded store
and build its derived tables there (data/ingest, data/derived.py). Every writer of the store — `manage.py
ingest`, the 导入 page, `init`, `words`, the demo build — goes through `generations.write`, which calls
`after_write` once the new store is swapped in: the months whose tickets the write imported (new or changed
tickets carry their import's id) are shipped (`ship --months`: those partitions of the month-partitioned tables,
the other tables whole), or the whole store when the write imported no tickets (a rebuild of derived tables) or
the engine has no store yet. Without this the dashboard on the engine would not show an import until someone ran
`engine ship`. A failure never undoes the write: it is reported with the command to run.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

WHOLE_PAST_MONTHS = 12   # an import touching more months than this ships the whole store


@dataclass
class Synced:
    """What the sync after a write did (`ran` False: the embedded store answers, nothing to do)."""

    ran: bool = False
    months: tuple[int, ...] = ()        # yyyymm shipped; () with `ran`: the whole store
    seconds: float = 0.0
    rows: dict = field(default_factory=dict)
    error: str = ""

    def describe(self) -> str:
        if not self.ran:
            return ""
        if self.error:
            return (f"导入已完成，但未能同步到分布式引擎：{self.error}（仪表盘仍显示引擎上的旧数据；请运行 "
                    "`python manage.py engine ship`）")
        names = [f"{m // 100}年{m % 100}月" for m in self.months]
        what = ("全部数据" if not names else "、".join(names) if len(names) <= 3
                else f"{names[0]} 至 {names[-1]} 间的 {len(names)} 个月")
        return f"已同步到分布式引擎：{what}，{len(self.rows)} 个表，用时 {self.seconds:.1f} 秒。"


def ship_store(store_path, con, **kw) -> dict:
    """Load the embedded store at `store_path` into the engine of `con` (data/engine/ship.py for ClickHouse,
    data/engine/spark_ship.py for Spark's warehouse); keywords as theirs (months, tables, progress, city)."""
    if getattr(con, "engine", None) == "spark":
        from data.engine import spark_ship

        return spark_ship.ship(store_path, con.target, **kw)
    from data.engine import ship as clickhouse_ship

    return clickhouse_ship.ship(store_path, con, **kw)


def months_of_imports(con: duckdb.DuckDBPyConnection, import_ids: tuple[int, ...]) -> tuple[int, ...]:
    """The months (yyyymm) of the tickets these imports stored (new or changed)."""
    if not import_ids:
        return ()
    rows = con.execute("SELECT DISTINCT CAST(year(received_at) * 100 + month(received_at) AS INTEGER) AS m "
                       "FROM tickets WHERE import_id IN (SELECT unnest($ids)) AND received_at IS NOT NULL ORDER BY m",
                       {"ids": list(import_ids)}).fetchall()
    return tuple(int(r[0]) for r in rows)


def after_write(store_path: str | Path, since: int) -> Synced:
    """Ship what the write after import `since` changed to the engine (see the module docstring)."""
    from data import engine, store
    from data.screening import hook

    if engine.embedded():
        return Synced()
    out = Synced(ran=True)
    t0 = time.perf_counter()
    try:
        con = store.connect(store_path, read_only=True)
        try:
            imports = hook.ticket_imports(con, since)
            out.months = months_of_imports(con, imports)
        finally:
            con.close()
        target = engine.connect(engine.url(store_path))
        try:
            fresh = "tickets" not in target.table_columns()
            if fresh or not imports or len(out.months) > WHOLE_PAST_MONTHS:
                # the engine's first load, a write that rebuilt derived tables, or an import spread over many
                # months (one swap per table beats a swap per month and table): the whole store
                out.months = ()
            res = ship_store(store_path, target, months=out.months or None)
            out.rows = res["rows"]
        finally:
            target.close()
    except Exception as exc:   # the write is done and kept; say why the engine is behind
        text = str(exc).strip()
        if "Cannot lock file" in text or "Error initializing EmbeddedServer" in text:
            # chdb is ClickHouse inside one process: its data directory belongs to the process that opened it
            out.error = ("无法打开进程内引擎（chdb）的数据目录，通常因为它正被另一个进程使用（chdb 只属于一个进程，"
                         "多半是仪表盘）：请在仪表盘的“导入”页面导入，或停止该进程后再同步")
        else:
            out.error = f"{type(exc).__name__}：{text.splitlines()[0][:300] if text else ''}"
        print(out.describe(), file=sys.stderr)
    out.seconds = time.perf_counter() - t0
    return out
