"""Build a complete demo database: generated Beijing tickets and funnel, loaded through the import pipeline.

The same seed (and --end) gives the same database. Files are written to a temporary directory and imported
chunk by chunk (bounded memory), or kept in --out. Default end: the last day of the last full month.
"""

from __future__ import annotations

import datetime as dt
import sys

from cli._common import add_db_argument
from data import settings

NAME = "demo"
HELP = "build a realistic demo database (tickets + funnel) through the import pipeline"


def add_synth_arguments(parser) -> None:
    parser.add_argument("--tickets", type=int, default=settings.get("HOTLINE_DEMO_TICKETS"),
                        help="number of tickets (default: $HOTLINE_DEMO_TICKETS)")
    parser.add_argument("--years", type=int, default=settings.get("HOTLINE_DEMO_YEARS"),
                        help="years covered, ending on --end (default: $HOTLINE_DEMO_YEARS)")
    parser.add_argument("--seed", type=int, default=settings.get("HOTLINE_DEMO_SEED"),
                        help="random seed (default: $HOTLINE_DEMO_SEED)")
    parser.add_argument("--end", type=dt.date.fromisoformat, default=None,
                        help="last day YYYY-MM-DD (default: last day of the last full month)")
    parser.add_argument("--format", choices=("auto", "csv", "xlsx", "parquet"), default="auto",
                        help="ticket file format (auto: xlsx <= 20k, csv <= 300k, parquet above)")
    parser.add_argument("--chunk-rows", type=int, default=250_000,
                        help="at most this many tickets per file/chunk (<= 1,000,000; bounds memory)")


def add_arguments(parser) -> None:
    add_db_argument(parser)
    add_synth_arguments(parser)
    parser.add_argument("--region", default=None,
                        help="region pack of the demo (default: $HOTLINE_REGION; see `manage.py region list`)")
    parser.add_argument("--out", default=None, help="keep the generated files in this directory")
    parser.add_argument("--force", action="store_true", help="replace an existing database file")
    parser.add_argument("--memory-limit", default="2GB",
                        help="DuckDB memory limit of the import (default 2GB; keeps a 25 M build bounded)")
    parser.add_argument("--no-rules", action="store_true",
                        help="do not install the starter screening rules (they screen the demo's tickets after the build)")
    parser.add_argument("--serial", action="store_true",
                        help="generate and import in one process (default: a worker generates the next chunk "
                             "while the previous one is imported)")


def run(args) -> int:
    import time
    from pathlib import Path

    from data import store
    from data.synth.build import build_database

    db = Path(args.db) if args.db else settings.db_path()
    if db.exists():
        if not args.force:
            print(f"数据库文件已存在：{db}。加 --force 覆盖，或换一个 --db 路径。 (database exists; use --force)",
                  file=sys.stderr)
            return 2
        # --force: the new store is built beside the old one and replaces it when complete (data/generations.py)
    if not args.no_rules:
        # Active rules screen the demo's tickets when the build swaps the store in (data/screening/hook.py).
        from data import audit, records
        from data.screening import library

        with records.session(db) as rec:
            library.install_starter(rec, audit.cli_actor())
    t0 = time.perf_counter()
    try:
        res = build_database(db, tickets=args.tickets, years=args.years, seed=args.seed, end=args.end,
                             fmt=args.format, chunk_rows=args.chunk_rows, out_dir=args.out,
                             keep_files=args.out is not None, parallel=not args.serial,
                             memory_limit=args.memory_limit, log=lambda m: print(m, file=sys.stderr),
                             region=args.region)
    except store.StoreError as exc:
        print(exc, file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"参数错误：{exc}", file=sys.stderr)
        return 2
    failed = [r for r in res.reports if not r.ok]
    if not failed:
        _ledger(db, args)
    total = time.perf_counter() - t0
    print(f"demo ready: {db}  tickets={res.n_tickets:,} clues={res.n_clues:,} cases={res.n_cases:,} "
          f"rectifications={res.n_rects:,}  generate {res.seconds_generate:.1f}s + import {res.seconds_import:.1f}s "
          f"= {total:.1f}s ({res.n_tickets / total:,.0f} tickets/s)")
    if not args.no_rules:
        from data import records
        from data.screening import queue

        with records.session(db) as rec:
            print(f"screening: {queue.queue_summary(rec).waiting:,} items waiting in the queue (研判)")
    quarantined = sum(r.quarantined for r in res.reports)
    if quarantined:
        print(f"warning: {quarantined} rows quarantined (see `python manage.py status`)", file=sys.stderr)
    for r in failed:
        print(f"import failed: {r.file}: {r.message}", file=sys.stderr)
    return 1 if failed else 0


def _ledger(db, args) -> None:
    """The demo's 12309 letters and clues worked in the app (data/synth/ledger_demo.py), in the records store."""
    import tempfile
    from pathlib import Path

    from data.synth import ledger_demo, timeline

    end = args.end or timeline.default_end()
    start = end.replace(year=end.year - args.years) + dt.timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="hotline-ledger-") as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        d = ledger_demo.populate(db, seed=args.seed, end=end, start=start, tickets=args.tickets, out_dir=out)
    print(f"ledger: {d.letters:,} 12309 letters, {d.clues:,} clues worked in the app ({d.steps:,} steps)",
          file=sys.stderr)
