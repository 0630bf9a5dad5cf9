"""Warm database time of the funnel page (bench/duck_side.py `funnel_page`) and the overview's KPIs over the
benchmark's 8 filter states, with p50/p95 as `manage.py bench` computes them (docs/performance.md, "Funnel at
25 M: the per-clue table").

Usage:
  .venv/bin/python scripts/bench_funnel.py STORE.duckdb [--repeat 3] [--threads 1 --cpu] [--side SIDE.duckdb]
  .venv/bin/python scripts/bench_funnel.py STORE.duckdb --build-side SIDE.duckdb

The store is opened read-only with duckdb.connect (no upgrade: a store written before `funnel_clues` existed
is measured on the joined ledgers). `--build-side` builds `funnel_tickets` and `funnel_clues` (links.refresh)
from a read-only store into a side file; `--side` attaches it in front of the store, so the same store can be
measured with and without the derived tables, back to back.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from analytics import funnel, overview
from bench import harness
from bench.states import filter_states
from data import links

CALLS = {   # bench/duck_side.py funnel_page, call by call, and the overview's KPIs (with their funnel counts)
    "stages": lambda con, f: funnel.stages(con, f),
    "split": lambda con, f: funnel.split(con, f, "district"),
    "durations": lambda con, f: funnel.durations(con, f),
    "deadline_report": lambda con, f: funnel.deadline_report(con, f),
    "overview.kpis": lambda con, f: overview.kpis(con, f),
}
PAGE = ("stages", "split", "durations", "deadline_report")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cpu", action="store_true", help="process CPU time instead of wall time")
    ap.add_argument("--side", default="", help="side file with funnel_tickets/funnel_clues to attach")
    ap.add_argument("--build-side", default="", help="build the side file from DB and exit")
    a = ap.parse_args()
    if a.build_side:
        n, wall, cpu = harness.build_side(a.db, a.build_side)
        print(f"funnel_tickets ({n:,} links) and funnel_clues built in {wall:.1f} s wall, {cpu:.1f} s CPU")
        return 0
    con = harness.open_with_side(a.db, a.side, a.threads)
    clock = time.process_time if a.cpu else time.perf_counter
    print(f"{a.db}: funnel_clues {'used' if links.clues_ready(con) else 'NOT current (ledgers joined)'}; "
          f"{'CPU' if a.cpu else 'wall'} ms, threads {a.threads or 'default'}, median of {a.repeat} per state")
    states = filter_states(con)
    for _, f in states:   # warm-up pass
        for call in CALLS.values():
            call(con, f)
    page_ms: list[float] = []
    kpi_ms: list[float] = []
    print("| filter state | funnel page | " + " | ".join(CALLS) + " |\n|---|" + "---:|" * (len(CALLS) + 1))
    for name, f in states:
        per = {k: [] for k in CALLS}
        for _ in range(a.repeat):
            for k, call in CALLS.items():
                t = clock()
                call(con, f)
                per[k].append((clock() - t) * 1000)
        page = [sum(x) for x in zip(*(per[k] for k in PAGE), strict=True)]
        page_ms += page
        kpi_ms += per["overview.kpis"]
        print(f"| {name} | {statistics.median(page):,.0f} | "
              + " | ".join(f"{statistics.median(v):,.0f}" for v in per.values()) + " |", flush=True)
    p, k = harness.summarise(page_ms), harness.summarise(kpi_ms)
    print(f"funnel page: p50 {p['p50']:,.0f} ms, p95 {p['p95']:,.0f} ms; "
          f"overview.kpis: p50 {k['p50']:,.0f} ms, p95 {k['p95']:,.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
