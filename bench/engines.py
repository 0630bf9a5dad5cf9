"""DuckDB beside ClickHouse (chdb, in process) and Spark (a cluster) on the dashboard's own queries, in one run (issue 21).

`python -m bench.engines DB [--repeats N] [--work DIR] [--out FILE.json] [--engine-url chdb:PATH?database=NAME]
[--engines duckdb,clickhouse,spark] [--spark spark://HOST:PORT] [--states N]`

1. ships the store DB into an in-process ClickHouse under --work (data/engine/ship.py; timed), or, with
   --engine-url, reads an engine store DB was already shipped to (a 25 M ship is run once, apart: its time is its
   own figure, `manage.py engine ship`); for `spark`, into a Parquet warehouse under --work that the cluster at
   --spark reads (data/engine/spark_ship.py; timed; without --spark a local cluster of two one-core workers is
   started under --work and stopped at the end);
2. replays the pages' queries (bench/duck_side.py: every page but the hotspot page, whose many per-key queries
   are timed apart, docs/scale-out.md) over the eight filter states of bench/states.py, on DuckDB then on the
   engine, the same process and the same states, warm (one pass first), N timed passes each;
3. measures raw throughput on both: a full scan of `tickets` with a keyword and a grouping (rows/s, per core);
4. prints one JSON object (and writes it to --out): per page p50/p95, per engine, the load average before
   and after each side (the machine is shared: read the figures with it).

Timing belongs here and in docs/scale-out.md, never in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

from bench import harness
from bench.states import filter_states

# a keyword rule over the raw tickets, the kind screening runs (one full scan; no summary helps)
SCAN_SQL = """
SELECT district, count(*) AS n, count(DISTINCT address) AS addresses
FROM tickets
WHERE content LIKE $kw AND received_at >= $d0
GROUP BY ALL ORDER BY n DESC, district
"""


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _replay(con, pages, states, repeats: int) -> dict:
    for _name, f in states:   # warm-up pass
        for fn in pages.values():
            fn(con, f)
    timings: dict[str, list[float]] = {p: [] for p in pages}
    for _ in range(repeats):
        for _name, f in states:
            for page, fn in pages.items():
                timings[page].append(harness.timed(lambda fn=fn, f=f: fn(con, f)))
    return {"pages": {p: harness.summarise(ms) for p, ms in timings.items()},
            "all_pages": harness.summarise([sum(x) for x in zip(*timings.values(), strict=True)])}


def _scan(con, d0) -> dict:
    (rows,) = con.execute("SELECT count(*) FROM tickets").fetchone()
    params = {"kw": "%井盖%", "d0": d0}
    con.execute(SCAN_SQL, params).fetchall()   # warm
    ms = [harness.timed(lambda: con.execute(SCAN_SQL, params).fetchall()) for _ in range(5)]
    p50 = harness.summarise(ms)["p50"]
    cores = os.cpu_count() or 1
    return {"rows": rows, "p50_ms": p50, "rows_per_s": rows / (p50 / 1000), "cores": cores,
            "rows_per_s_per_core": rows / (p50 / 1000) / cores,
            "answer": con.execute(SCAN_SQL, params).fetchall()}


ENGINES = ("duckdb", "clickhouse", "spark")


def _shipped(res: dict) -> dict:
    return {"seconds": res["seconds"], "tickets": res["rows"].get("tickets"), "tables": res["tables"]}


def _spark(db: str, pages, states, repeats: int, work: Path, master: str | None, d0) -> dict:
    """The Spark side: ship to a warehouse under `work`, replay on the cluster at `master` (or a local one)."""
    from data import engine
    from data.engine import spark, spark_cluster, sync

    cluster = None
    if not master:
        cluster = spark_cluster.start(work / "spark-cluster", workers=2, cores=1, memory="1g")
        master = cluster.master_url
    out: dict = {"master": master}
    try:
        con = engine.connect(f"{master}?warehouse={work / 'spark-warehouse'}&database=bench")
        _say(f"spark: shipping {db} (load {_load()})")
        shipped = sync.ship_store(db, con)
        out["ship"] = _shipped(shipped)
        t0 = time.perf_counter()
        con.execute("SELECT 1").fetchall()    # the driver starts, the executors register, the views are made
        out["session_start_s"] = round(time.perf_counter() - t0, 1)
        out["load_before"] = _load()
        _say(f"spark: replaying (shipped in {shipped['seconds']} s; load {out['load_before']})")
        out.update(_replay(con, pages, states, repeats))
        out["scan"] = _scan(con, d0)
        out["load_after"] = _load()
        out["floor_ms"] = harness.summarise([harness.timed(lambda: con.execute("SELECT 1").fetchall())
                                             for _ in range(10)])
    finally:
        spark.stop_session()
        if cluster is not None:
            cluster.stop()
    return out


def run(db: str, repeats: int, work: Path, engine_url: str | None = None, engines=ENGINES[:2],
        spark_master: str | None = None, n_states: int | None = None) -> dict:
    from bench.duck_side import PAGES
    from data import store
    from data.engine import clickhouse, ship

    pages = {p: fn for p, fn in PAGES.items() if p != "hotspots"}
    duck = store.connect(db, read_only=True)
    states = filter_states(duck)[:n_states]
    out: dict = {"db": db, "repeats": repeats, "states": [n for n, _ in states], "pages": list(pages),
                 "cores": os.cpu_count()}
    d0 = states[0][1].date_from

    out["load_before_duckdb"] = _load()
    _say(f"duckdb: replaying (load {out['load_before_duckdb']})")
    out["duckdb"] = _replay(duck, pages, states, repeats)
    out["duckdb"]["scan"] = _scan(duck, d0)
    out["load_after_duckdb"] = _load()

    work.mkdir(parents=True, exist_ok=True)
    if "spark" in engines:
        out["spark"] = _spark(db, pages, states, repeats, work, spark_master, d0)
        out["same_scan_answer_spark"] = out["duckdb"]["scan"]["answer"] == out["spark"]["scan"]["answer"]
    if "clickhouse" not in engines:
        out["peak_rss_mb"] = harness.peak_rss_mb()
        return out
    if engine_url:
        engine = clickhouse.connect(engine_url)
        out["ship"] = {"skipped": f"already shipped: {engine_url}", "generation": _generation(engine)}
    else:
        engine = clickhouse.connect(f"chdb:{work}?database=bench")
        _say(f"engine: shipping {db} (load {_load()})")
        out["ship"] = _shipped(ship.ship(db, engine))
    out["load_before_engine"] = _load()
    _say(f"engine: replaying ({out['ship']}; load {out['load_before_engine']})")
    out["clickhouse"] = _replay(engine, pages, states, repeats)
    out["clickhouse"]["scan"] = _scan(engine, d0)
    out["load_after_engine"] = _load()
    out["same_scan_answer"] = out["duckdb"]["scan"]["answer"] == out["clickhouse"]["scan"]["answer"]
    out["peak_rss_mb"] = harness.peak_rss_mb()
    return out


def _generation(engine) -> str:
    from data import engine as eng

    return eng.generation(engine)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("var/bench-engine"))
    ap.add_argument("--out", type=Path)
    ap.add_argument("--engine-url", help="read this engine store (DB already shipped to it) instead of shipping DB")
    ap.add_argument("--engines", default="duckdb,clickhouse",
                    help="engines beside DuckDB, comma-separated: clickhouse, spark (DuckDB always runs)")
    ap.add_argument("--states", type=int, default=None,
                    help="replay only the first N filter states of bench/states.py (Spark's seconds per query)")
    ap.add_argument("--spark", default=None, help="the Spark master URL (default: a local cluster under --work)")
    a = ap.parse_args(argv)
    engines = tuple(e.strip() for e in a.engines.split(",") if e.strip())
    if set(engines) - set(ENGINES):
        ap.error(f"--engines: one of {', '.join(ENGINES)}")
    warnings.filterwarnings("ignore")
    res = run(a.db, a.repeats, a.work.resolve(), a.engine_url, engines, a.spark, a.states)
    text = json.dumps(res, ensure_ascii=False, default=str, indent=1)
    if a.out:
        a.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
