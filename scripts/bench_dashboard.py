"""Warm query time of the overview, funnel and tickets pages, function by function.

Usage: .venv/bin/python scripts/bench_dashboard.py PATH.duckdb [--repeat 5]
Replays the benchmark's 8 filter states (bench/states.py) plus a text search
and a function filter (which cannot use the daily summary); each page's
queries run once to warm up, then `--repeat` times; the median is reported.
The page caches (st.cache_data) are not involved: these are the database
times a cache miss costs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics import funnel, overview, tickets
from bench.states import filter_states
from data import store

AS_OF = datetime(2026, 11, 22)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def page_calls(f):
    return {
        "overview": [
            ("kpis", lambda c: overview.kpis(c, f)),
            ("rates", lambda c: overview.rates(c, f)),
            ("trend(day)", lambda c: overview.trend(c, f, "day")),
            ("district_ranking", lambda c: overview.district_ranking(c, f)),
            ("top_values(l3)", lambda c: overview.top_values(c, f, "category_l3")),
            ("top_values(topic)", lambda c: overview.top_values(c, f, "topic")),
            ("changes(l3)", lambda c: overview.changes(c, f, "category_l3")),
        ],
        "funnel": [
            ("stages", lambda c: funnel.stages(c, f)),
            ("split(district)", lambda c: funnel.split(c, f, "district")),
            ("durations", lambda c: funnel.durations(c, f)),
            ("deadline_report", lambda c: funnel.deadline_report(c, f, AS_OF)),
        ],
        "tickets": [
            ("count", lambda c: tickets.count(c, f)),
            ("page(50, newest)", lambda c: tickets.page(c, f, limit=50)),
            ("page(50, by district, p.10)", lambda c: tickets.page(c, f, sort="district", limit=50, offset=450)),
        ],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: DuckDB's default)")
    ap.add_argument("--cpu", action="store_true", help="report process CPU time instead of wall time")
    args = ap.parse_args()
    con = store.connect(args.db, read_only=True)
    if args.threads:
        con.execute("SET threads = " + str(int(args.threads)))
    clock = _cpu if args.cpu else time.perf_counter
    n = con.execute("SELECT count(*) FROM tickets").fetchone()[0]
    states = filter_states(con)
    last = states[0][1]
    states += [("全市/一年/关键词“井盖 破损”", last.replace(text="井盖 破损")),
               ("全市/一年/公益诉讼", last.replace(functions=("公益诉讼",)))]
    what = "process CPU" if args.cpu else "wall"
    print(f"{args.db}: {n:,} tickets; {what} time, median of {args.repeat} warm runs, ms; "
          f"threads={args.threads or 'default'}; load average {os.getloadavg()[0]:.1f}\n")
    print("| filter state | overview | funnel | tickets | slowest query |")
    print("|---|---:|---:|---:|---|")
    worst = {}
    for name, f in states:
        row, slow = [], ("", 0.0)
        for page, calls in page_calls(f).items():
            for _, fn in calls:
                fn(con)  # warm
            totals = []
            per = {lab: [] for lab, _ in calls}
            for _ in range(args.repeat):
                t_page = 0.0
                for lab, fn in calls:
                    t = clock()
                    fn(con)
                    dt = (clock() - t) * 1000
                    per[lab].append(dt)
                    t_page += dt
                totals.append(t_page)
            row.append(statistics.median(totals))
            worst[page] = max(worst.get(page, 0.0), statistics.median(totals))
            for lab, v in per.items():
                if statistics.median(v) > slow[1]:
                    slow = (f"{page}.{lab}", statistics.median(v))
        print(f"| {name} | {row[0]:.0f} | {row[1]:.0f} | {row[2]:.0f} | {slow[0]} {slow[1]:.0f} |")
    print("\nworst page totals (ms):", {k: round(v) for k, v in worst.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
