"""Screening speed on a large store (issue 18's targets; a benchmark, never a test).

1. One rule with repeat conditions over a year of tickets: `find` of a starter rule (keywords + "at least N
   tickets within R m in D days") over the last 365 days of the store, warm, p50 over --repeats (the hits as a
   DataFrame, as the CLI and the queue get them); 1b. the same rule's `count` (the rule form's live count and
   the back-test's shape: counted in SQL, no rows handed to Python).
2. The daily screening: the whole starter library over one day of new tickets (the store's last day; a Beijing
   day is about 65k tickets), recorded in a scratch records store as after an import (`run.screen`): hits
   found, grouped into items and written.

Both are measured twice: rules reading `tickets` (the baseline, as before the screening copy) and reading
`screening_tickets` (data/screen_tickets.py) where the rule allows, which the product does when the copy is
current. `--compare` first checks that every starter rule finds exactly the same hits both ways over the year
and over the day. The store is opened read-only and never changed. Usage:
  python -m bench.screening DB [--rule manhole-covers] [--repeats 5] [--threads 2] [--modes tickets,copy] [--compare]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--rule", default="manhole-covers", help="starter rule key for measure 1")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default="tickets,copy", help="tickets (baseline), copy (screening_tickets), or both")
    ap.add_argument("--compare", action="store_true", help="check every starter rule gives the same hits both ways")
    ap.add_argument("--new-tickets", type=int, default=65_000,
                    help="measure 2 screens the last days of the store holding at least this many tickets (a Beijing day)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from data import store
    from data.screening import library, run
    from data.screening.compile import Target

    con = store.connect(args.db, read_only=True)
    con.execute(f"SET threads = {int(args.threads)}")
    n, lo, hi = con.execute("SELECT count(*), min(received_at)::DATE, max(received_at)::DATE FROM tickets").fetchone()
    print(f"store {args.db}: {n:,} tickets, {lo} to {hi}; threads {args.threads}; load {os.getloadavg()[0]:.1f}")
    rules = {r.key: r for r in library.read_files(library.starter_dir("beijing"))}

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    print(f"screening copy current: {run.located_copy(con)}")
    rule = rules[args.rule]
    year = Target(hi - timedelta(days=364), hi)
    start = con.execute("""SELECT day FROM (SELECT day, sum(n) OVER (ORDER BY day DESC) AS upto
                                            FROM (SELECT received_at::DATE AS day, count(*) AS n FROM tickets GROUP BY 1))
                           WHERE upto >= $n ORDER BY day DESC LIMIT 1""",
                        {"n": int(args.new_tickets)}).fetchone()
    day = Target(start[0] if start else lo, hi)
    if args.compare:
        for r in rules.values():
            for target in (year, day):
                t0 = time.perf_counter()
                a = run.find(con, r, target, use_copy=False).sort_values("ticket_id").reset_index(drop=True)
                b = run.find(con, r, target, use_copy=True).sort_values("ticket_id").reset_index(drop=True)
                same = a.equals(b)
                print(f"   compare {r.key} over {target.describe()}: {len(a):,} hits from tickets, {len(b):,} from the "
                      f"copy, {'same' if same else 'DIFFERENT'} ({time.perf_counter() - t0:.1f} s)", flush=True)
                if not same:
                    return 1
    for mode in modes:
        _measure(con, args, rules, rule, year, day, use_copy=(mode == "copy"))
    con.close()
    return 0


def _measure(con, args, rules, rule, year, day, *, use_copy: bool) -> None:
    from data import audit
    from data.screening import library, run

    label = "copy" if use_copy else "tickets"
    times, cpu, hits = [], [], 0
    for _ in range(args.repeats + 1):           # the first run warms the cache and is not counted
        t0, c0 = time.perf_counter(), time.process_time()
        hits = len(run.find(con, rule, year, use_copy=use_copy))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    times, cpu = times[1:], cpu[1:]
    print(f"[{label}] 1. rule {rule.key} over {year.describe()}: {hits:,} hits; wall p50 {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s; CPU p50 {statistics.median(cpu):.3f} s, max {max(cpu):.3f} s ({len(times)} warm runs; "
          f"load {os.getloadavg()[0]:.1f})", flush=True)
    times, cpu, counted = [], [], (0, 0)
    for _ in range(args.repeats + 1):           # the rule form's live count: the same query, counted in SQL
        t0, c0 = time.perf_counter(), time.process_time()
        counted = run.count(con, rule, year, use_copy=use_copy)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    times, cpu = times[1:], cpu[1:]
    print(f"[{label}] 1b. its live count (run.count): {counted[0]:,} hits at {counted[1]:,} places; wall p50 "
          f"{statistics.median(times):.3f} s; CPU p50 {statistics.median(cpu):.3f} s, max {max(cpu):.3f} s", flush=True)

    (day_n,) = con.execute("SELECT count(*) FROM tickets WHERE received_at >= $d::TIMESTAMP",
                           {"d": day.date_from}).fetchone()
    with tempfile.TemporaryDirectory() as tmp:
        with _records(Path(tmp)) as rec:
            stored = [library.save(rec, audit.Actor("bench"), r) for r in rules.values()]
            t0, c0 = time.perf_counter(), time.process_time()
            res = run.screen(con, rec, audit.Actor("bench"), day, rules=stored, trigger="bench", use_copy=use_copy)
            secs, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    print(f"[{label}] 2. daily screening of {day.describe()} ({day_n:,} tickets) with {len(stored)} starter rules: {secs:.2f} s wall, {cpu_s:.2f} s CPU; "
          f"{res.hits:,} hits, {res.new_items:,} items; per rule: "
          + ", ".join(f"{p['key']} {p['seconds']:.2f}s" for p in res.per_rule) + f" (load {os.getloadavg()[0]:.1f})",
          flush=True)


def _records(tmp: Path):
    """A scratch records store (the benchmark never writes beside the measured store)."""
    from data import records

    os.environ["HOTLINE_RECORDS_DB"] = str(tmp / "bench.records.sqlite")
    return records.session()


if __name__ == "__main__":
    sys.exit(main())
