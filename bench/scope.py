"""What the district scope costs (issue 17; a benchmark, never a test).

1. Cursor set-up: a new scoped cursor per rerun (`data.scope.scoped_cursor`): city-wide (no views), one
   district (a temporary view per table), one district with the ledger laid over the clue tables.
2. The overview's queries (kpis, rates, trend, ranking, top categories, changes) for the district's month and
   year, the same filters read three ways: on the plain store with the district as a sidebar filter, and on a
   district-scoped cursor (the views add the district condition the planner sees through).

The store is opened read-only; the ledger's records store is not touched (the ledger overlay reads the records
store beside the file: an empty one when there is none). Usage:
  python -m bench.scope DB [--repeats 7] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

from bench.harness import summarise, timed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    from analytics import overview
    from analytics.filters import Filters
    from data import scope, store
    from data.scope import Scope

    con = store.connect(args.db, read_only=True)
    con.execute(f"SET threads = {int(args.threads)}")
    (district,) = con.execute(
        "SELECT district FROM ticket_daily GROUP BY district ORDER BY sum(n) DESC LIMIT 1").fetchone()
    (max_day,) = con.execute("SELECT max(day) FROM ticket_daily").fetchone()
    (n,) = con.execute("SELECT count(*) FROM tickets").fetchone()
    print(f"store {args.db}: {n:,} tickets; district {district}; load {os.getloadavg()[0]:.1f}; "
          f"threads {args.threads}; {args.repeats} runs each, ms p50 / p95")

    def setup(sc: Scope, ledger: bool) -> None:
        scope.scoped_cursor(con, sc, ledger=ledger).close()

    print("\n| cursor set-up | p50 | p95 |\n|---|---:|---:|")
    for label, sc, ledger in (("city-wide", Scope(None), False), (f"{district}", Scope((district,)), False),
                              (f"{district} + ledger overlay", Scope((district,)), True)):
        setup(sc, ledger)   # first one warms the catalogue
        s = summarise([timed(lambda sc=sc, ledger=ledger: setup(sc, ledger)) for _ in range(args.repeats)])
        print(f"| {label} | {s['p50']:.1f} | {s['p95']:.1f} |")

    queries = {
        "kpis": lambda c, f: overview.kpis(c, f),
        "rates": lambda c, f: overview.rates(c, f),
        "trend": lambda c, f: overview.trend(c, f, "day"),
        "district_ranking": lambda c, f: overview.district_ranking(c, f),
        "top_values": lambda c, f: overview.top_values(c, f),
        "changes": lambda c, f: overview.changes(c, f),
    }
    plain = con.cursor()
    scoped = scope.scoped_cursor(con, Scope((district,)))
    print("\n| period | query | filter on the plain store | district-scoped cursor |\n|---|---|---:|---:|")
    for span, d0 in (("month", max_day.replace(day=1)), ("year", max_day - timedelta(days=364))):
        f_city = Filters(date_from=d0, date_to=max_day)
        f_district = f_city.replace(districts=(district,))
        for name, q in queries.items():
            q(plain, f_district)
            q(scoped, f_city)
            a = summarise([timed(lambda q=q, fd=f_district: q(plain, fd)) for _ in range(args.repeats)])
            b = summarise([timed(lambda q=q, fc=f_city: q(scoped, fc)) for _ in range(args.repeats)])
            print(f"| {span} | {name} | {a['p50']:.1f} / {a['p95']:.1f} | {b['p50']:.1f} / {b['p95']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
