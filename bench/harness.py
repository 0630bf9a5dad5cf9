"""Timing and memory measurement shared by the benchmark sides."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100.0 * len(s)) - 1))
    return s[k]


def summarise(ms: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(ms), "p95": percentile(ms, 95), "max": max(ms), "n": len(ms)}


def build_side(src: str, out: str) -> tuple[int, float, float]:
    """Build the linked-ticket tables (`links.refresh`: funnel_tickets, funnel_clues) of the read-only store
    `src` into the side file `out`; returns (links, wall s, CPU s). Lets the same store be measured with
    and without them (`open_with_side`)."""
    import duckdb

    from data import links

    con = duckdb.connect(out)
    try:
        con.execute("ATTACH $p AS src (READ_ONLY)", {"p": src})
        con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR, value VARCHAR)")
        con.execute("SET search_path = 'main,src.main'")
        t, c = time.perf_counter(), time.process_time()
        n = links.refresh(con)
        return n, time.perf_counter() - t, time.process_time() - c
    finally:
        con.close()


def open_with_side(db: str, side: str = "", threads: int = 0):
    """The store `db` read-only (no upgrade), with the side file of `build_side` attached in front of it."""
    import duckdb

    con = duckdb.connect(db, read_only=True)
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    if side:
        (name,) = con.execute("SELECT current_database()").fetchone()
        con.execute("ATTACH $p AS lk (READ_ONLY)", {"p": side})
        sql = f"SET search_path = 'lk.main,{name}.main'"   # name: the store's own catalog name
        con.execute(sql)
    if threads:
        sql = f"SET threads = {int(threads)}"
        con.execute(sql)
    return con
