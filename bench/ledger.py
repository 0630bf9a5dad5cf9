"""The ledger at scale (issue 19; a benchmark, never a test): does laying the app's clues over the imported
ones keep the funnel interactive?

1. A scratch records store gets --clues app clues registered from random tickets of the store's last year
   (2-5 tickets each; a third acting on imported clues instead), moved through random stages, in one go.
2. The overlay rows are built (cold: the linked tickets looked up in the store) and copied into a cursor.
3. The funnel's queries (stages, district split, stage times, deadlines and the overdue list, the overview's
   KPIs) over the 8 filter states of `manage.py bench`, p50/p95 of --repeats warm runs, on a plain cursor and
   on a cursor with the overlay; then the ledger's own tables (the due counts, a page of the ledger, the
   monthly report) on the overlay cursor.

The store is opened read-only and never changed; the records store is a temporary file. Usage:
  python -m bench.ledger DB [--clues 2000] [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path


def _p(times: list[float], cpu: list[float] | None = None) -> str:
    """'p50 / p95' wall ms, and with `cpu` the median CPU ms of the process (all threads) in brackets: on a
    shared machine the CPU time says what a query costs when the wall time says how long it waited."""
    s = sorted(times)
    out = f"{statistics.median(s) * 1000:7.0f} / {s[min(len(s) - 1, round(0.95 * (len(s) - 1)))] * 1000:7.0f}"
    return out + (f" ({statistics.median(cpu) * 1000:5.0f})" if cpu else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--clues", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=19)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    tmp = tempfile.mkdtemp(prefix="ledger-bench-")
    os.environ["HOTLINE_RECORDS_DB"] = str(Path(tmp) / "bench.records.sqlite")
    import numpy as np

    from analytics import funnel, ledger, ledger_report, overview
    from bench.states import filter_states
    from data import audit, records, scope, store
    from data import ledger as api
    from data.ledger import overlay

    con = store.connect(args.db, read_only=True)
    con.execute(f"SET threads = {int(args.threads)}")
    n, n_clues, hi = con.execute("SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM clues), "
                                 "(SELECT max(received_at) FROM tickets)").fetchone()
    print(f"store {args.db}: {n:,} tickets, {n_clues:,} imported clues; threads {args.threads}; "
          f"load {os.getloadavg()[0]:.1f}")

    # 1. the app's clues
    rng = np.random.default_rng(args.seed)
    sample = [r[0] for r in con.execute(
        "SELECT ticket_id FROM (SELECT ticket_id FROM tickets WHERE received_at >= $since) "
        f"USING SAMPLE reservoir({int(args.clues) * 4} ROWS) REPEATABLE (7)",
        {"since": hi - timedelta(days=365)}).fetchall()]
    imported = [r[0] for r in con.execute("SELECT clue_id FROM clues WHERE status = '待审查' OR reviewed_at IS NULL "
                                          "LIMIT $k", {"k": args.clues // 3}).fetchall()]
    who = audit.Actor("bench", "prosecutor")
    t0 = time.perf_counter()
    base = con.cursor()
    with records.session() as rc:
        for i in range(args.clues):
            k = int(rng.integers(2, 6))
            ids = sample[(i * 4) % len(sample):(i * 4) % len(sample) + k]
            if i % 3 == 2 and imported:
                c = api.attach_tickets(rc, who, imported[i // 3 % len(imported)], ids, "bench", store=base)
            else:
                c = api.register_clue(rc, who, source="rule", source_ref={"rule_id": i % 10}, district="朝阳区",
                                      function="公益诉讼", summary=f"bench clue {i}", ticket_ids=ids,
                                      registered_at=datetime.now() - timedelta(days=int(rng.integers(20, 300))))
            depth = int(rng.integers(0, 4))
            if depth >= 1 and "decide" not in c.stages:
                c = api.record_stage(rc, who, c.clue_no, "decide", details={"outcome": "file"}, store=base)
            if depth >= 2 and c.outcome == "file" and "suggest" in c.next_steps:
                c = api.record_stage(rc, who, c.clue_no, "suggest", store=base,
                                     details={"kind": "pre_litigation", "urgent": False, "addressee": "x"})
            if depth >= 3 and "rectify" in c.next_steps:
                api.record_stage(rc, who, c.clue_no, "rectify", details={"result": "整改到位"},
                                 outcomes=[("更换、加固井盖", 3, "个")], store=base)
        version = api.version(rc)
    print(f"1. {args.clues:,} clues written ({version:,} events) in {time.perf_counter() - t0:.1f} s")

    # 2. the overlay
    with records.session() as rc:
        t0 = time.perf_counter()
        fr = overlay.frames(base, rc, generation="bench")
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        overlay.frames(base, rc, generation="bench")
        t_hit = time.perf_counter() - t0
    cur = scope.scoped_cursor(con, scope.CITY, ledger=True)
    t0 = time.perf_counter()
    overlay.sync(cur, fr)
    t_sync = time.perf_counter() - t0
    t0 = time.perf_counter()
    plain_cur = scope.scoped_cursor(con, scope.CITY, ledger=True)
    t_views = time.perf_counter() - t0
    print(f"2. overlay rows built in {t_build:.2f} s (cached: {t_hit * 1000:.1f} ms; "
          f"{fr.rows('clues'):,} clues, {fr.rows('funnel_tickets'):,} linked tickets), "
          f"copied into a cursor in {t_sync * 1000:.0f} ms; a cursor's views created in {t_views * 1000:.0f} ms")
    del plain_cur
    plain = scope.scoped_cursor(con, scope.CITY)

    # 3. the funnel, plain and with the overlay
    queries = {
        "stages": lambda c, f: funnel.stages(c, f),
        "split": lambda c, f: funnel.split(c, f, "district"),
        "durations": lambda c, f: funnel.durations(c, f),
        "deadlines": lambda c, f: funnel.deadline_report(c, f, datetime.now()),
        "kpis": lambda c, f: overview.kpis(c, f),
    }
    states = filter_states(con)
    print("3. the funnel page and the overview's KPIs, ms p50 / p95 over 8 filter states:")
    print(f"   {'query':10s} {'plain: p50 / p95 (cpu)':>25s} {'with the ledger':>25s}")
    for name, q in queries.items():
        out = {}
        for label, c in (("plain", plain), ("ledger", cur)):
            times, cpu = [], []
            for _sname, f in states:
                q(c, f)     # warm
                for _ in range(args.repeats):
                    t0, c0 = time.perf_counter(), time.process_time()
                    q(c, f)
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
            out[label] = _p(times, cpu)
        print(f"   {name:10s} {out['plain']:>25s} {out['ledger']:>25s}")
    today = datetime.now().date()
    for name, q in (("due_counts", lambda: ledger.due_counts(cur, today)),
                    ("ledger page", lambda: (ledger.count(cur, ledger.LedgerFilters(), today),
                                             ledger.clue_list(cur, ledger.LedgerFilters(), today))),
                    ("due list", lambda: ledger.due_list(cur, today)),
                    ("report", lambda: ledger_report.build(cur, (today.replace(day=1) - timedelta(days=1))
                                                           .strftime("%Y-%m"), today=today))):
        q()
        times, cpu = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            q()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        print(f"   {name:12s} {_p(times, cpu):>25s}")
    print(f"load at the end {os.getloadavg()[0]:.1f}")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
