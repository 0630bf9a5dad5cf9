"""Warm database time of the funnel and ticket-list pages, per filter state (docs/performance.md,
"Funnel and tickets at 25 M").

Usage: .venv/bin/python scripts/bench_funnel_tickets.py PATH.duckdb [--repeat 3] [--threads 1 --cpu]
       [--links SIDE.duckdb]
Replays the bench's 8 filter states (bench/states.py) plus a text search, a function filter and the
ticket list of one funnel stage (立案). Each page's calls (funnel: stages, split by district, durations,
deadline report; tickets: count, first page of 50 newest) run once to warm up, then `--repeat` times;
medians are summed per page. `--links` attaches a side file holding `funnel_tickets` (and its meta key)
built by `--build-links` from a read-only store that lacks it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from analytics import funnel, tickets
from bench import harness
from bench.states import filter_states
from data import links

AS_OF = datetime(2026, 11, 22)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def calls(f, stage_view: bool):
    if stage_view:
        return {"tickets": [("count(立案)", lambda c: tickets.count(c, f, stage="cases")),
                            ("page1(立案)", lambda c: tickets.page(c, f, stage="cases", limit=50, mask=False))]}
    return {
        "funnel": [("stages", lambda c: funnel.stages(c, f)), ("split", lambda c: funnel.split(c, f, "district")),
                   ("durations", lambda c: funnel.durations(c, f)),
                   ("deadline_report", lambda c: funnel.deadline_report(c, f, AS_OF))],
        "tickets": [("count", lambda c: tickets.count(c, f)),
                    ("page1", lambda c: tickets.page(c, f, limit=50, mask=False))],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cpu", action="store_true", help="process CPU time instead of wall time")
    ap.add_argument("--links", default="", help="side file with funnel_tickets to attach")
    ap.add_argument("--build-links", default="", help="build the side file from DB and exit")
    a = ap.parse_args()
    if a.build_links:
        n, wall, _cpu_s = harness.build_side(a.db, a.build_links)
        print(f"funnel_tickets: {n:,} rows in {wall:.1f} s")
        return 0
    con = harness.open_with_side(a.db, a.links, a.threads)
    print(f"{a.db}: linked tickets table {'used' if links.ready(con) else 'MISSING (inline rows)'}; "
          f"{'CPU' if a.cpu else 'wall'} ms, median of {a.repeat}")
    clock = _cpu if a.cpu else time.perf_counter
    states = filter_states(con)
    last = states[0][1]
    states += [("全市/一年/关键词“井盖 破损”", last.replace(text="井盖 破损")),
               ("全市/一年/公益诉讼", last.replace(functions=("公益诉讼",)))]
    todo = [(n, f, False) for n, f in states] + [("全市/一年/环节=立案", last, True)]
    print("| filter state | funnel | tickets | slowest call |\n|---|---:|---:|---|")
    for name, f, stage_view in todo:
        out = {}
        for page, qs in calls(f, stage_view).items():
            per = {}
            for q, g in qs:
                g(con)
                ts = []
                for _ in range(a.repeat):
                    t = clock()
                    g(con)
                    ts.append((clock() - t) * 1000)
                per[q] = statistics.median(ts)
            out[page] = per
        total = {p: sum(v.values()) for p, v in out.items()}
        slow = max(((q, ms) for v in out.values() for q, ms in v.items()), key=lambda x: x[1])
        print(f"| {name} | " + " | ".join(f"{total[p]:.0f}" if p in total else "–" for p in ("funnel", "tickets"))
              + f" | {slow[0]} {slow[1]:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
