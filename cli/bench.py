"""Benchmark the pages at Beijing scale against a pandas dashboard.

Builds (or reuses, under var/bench/) demo databases of 1 M and 25 M tickets
(125 M over five years with --five-years), replays each page's queries for 8
filter states (city or one district × a year or a month × all topics or 井盖)
with DuckDB and with the pandas baseline, and prints p50/p95 per page, peak
memory of each side, the map payload, and the cold start of the real app.
"""

from __future__ import annotations

import sys

NAME = "bench"
HELP = "benchmark the pages at 1 M / 25 M tickets against a pandas baseline"


def add_arguments(parser) -> None:
    parser.add_argument("--sizes", default="1m,25m", help="comma-separated sizes among 1m, 25m (default: 1m,25m)")
    parser.add_argument("--five-years", action="store_true",
                        help="also 125 M tickets over five years (the 25 M year plus four year-shifted copies)")
    parser.add_argument("--tickets", type=int, default=None,
                        help="instead of --sizes, one custom size (e.g. 20000 for a quick run)")
    parser.add_argument("--years", type=int, default=2, help="years of the custom size (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the 8 states (default 3)")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    parser.add_argument("--pandas-mode", default="auto", choices=("auto", "full", "slim", "lite"),
                        help="the pandas baseline's load: full (every column), slim (no ticket text or address "
                             "in memory), lite (no word statistics); auto (default): full where it fits, else slim")
    parser.add_argument("--no-browser", action="store_true", help="skip the cold start in Chromium")
    parser.add_argument("--db-dir", default=None, help="where benchmark databases live (default var/bench)")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--import-rows", type=int, default=300_000,
                        help="tickets for the import-speed run (Parquet; CSV gets a third); 0 skips it")
    parser.add_argument("--markdown", default=None, help="also write the results table to this file")


def run(args) -> int:
    from pathlib import Path

    from bench import run as bench_run

    if args.tickets:
        sizes = [(f"{args.tickets}", args.tickets, args.years)]
    else:
        labels = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
        if args.five_years:
            labels.append("125m")
        bad = [s for s in labels if s not in bench_run.SIZES]
        if bad:
            print(f"unknown size(s) {bad}; use {list(bench_run.SIZES)}", file=sys.stderr)
            return 2
        sizes = [(s, *bench_run.SIZES[s]) for s in labels]
    results = bench_run.run(sizes, repeats=args.repeats, pandas=not args.no_pandas, browser=not args.no_browser,
                            db_dir=Path(args.db_dir) if args.db_dir else None, seed=args.seed,
                            pandas_mode=args.pandas_mode,
                            log=lambda m: print(m, file=sys.stderr, flush=True))
    text = bench_run.report(results, "python manage.py bench " + " ".join(sys.argv[2:]))
    if args.import_rows > 0:
        speeds = bench_run.import_speeds(args.import_rows, log=lambda m: print(m, file=sys.stderr, flush=True))
        text += "\n" + bench_run.import_report(speeds)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")
    return 0
