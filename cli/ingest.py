"""Import 12345 exports and the procuratorate's records (tickets, clues, cases, rectifications).

Examples:
  python manage.py ingest exports/2025-03.csv
  python manage.py ingest messages.csv --mapping data/mappings/smartgov_messages.yaml
  python manage.py ingest points.xlsx --sheet 工单 --crs gcj02 --json

Each file (each sheet of a workbook) is imported in its own transaction; the
report says how many rows were inserted, updated, unchanged and quarantined.
The exit code is 1 if any file failed or stored no row at all (every row quarantined: the report then says
the likely fix, e.g. a `date_formats` line). See docs/import.md.
"""

from __future__ import annotations

import json
import os
import sys
import time

from cli._common import add_db_argument

BUSY_EN = ("The database file is open for writing by another process that does not import through this "
           "command (an older version, a DuckDB shell). Wait for it to finish, then try again. The dashboard "
           "reading the file is no obstacle: imports write a copy and swap it in.")

NAME = "ingest"
HELP = "import CSV/XLSX/Parquet files into the store (see docs/import.md)"



def add_arguments(parser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="CSV, XLSX or Parquet files")
    parser.add_argument("--mapping", help="YAML mapping file for a non-standard layout")
    parser.add_argument("--crs", choices=["wgs84", "gcj02", "bd09"], help="coordinate system of the points (default wgs84)")
    parser.add_argument("--kind", choices=["tickets", "clues", "cases", "rectifications"],
                        help="what the files hold (default: detected from the headers)")
    parser.add_argument("--sheet", help="XLSX: import only this sheet (default: every sheet)")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.add_argument("--no-refresh", action="store_true",
                        help="skip rebuilding the derived tables (run `ingest` again or a refresh later)")
    add_db_argument(parser)


class _Bar:
    """A progress bar on stderr (redrawn in place on a terminal, a line every few seconds otherwise)."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done, total, message):
        now = time.monotonic()
        final = message == "完成"
        if not self.tty and not final and now - self.last < 2:
            return
        self.last = now
        if total:
            frac = min(1.0, done / total)
            bar = "#" * int(frac * 30)
            text = f"[{bar:<30}] {frac:4.0%} {done:,}/{total:,} {message}"
        else:
            text = f"[{'.' * 30}] {message}"
        if self.tty:
            sys.stderr.write("\r" + text[:120].ljust(120))
            if final:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _waiting(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def polite() -> int:
    """Lower this process's CPU priority by HOTLINE_IMPORT_NICE (before DuckDB starts its threads, which inherit
    it), so an import on the dashboard's machine does not take the cores from the people browsing: with 20
    sessions open, page runs during a 40,000-row import were the slowest of the load benchmark. Returns the
    increment applied (0 where the setting is 0 or the system refuses)."""
    from data import settings

    n = max(0, min(19, int(settings.get("HOTLINE_IMPORT_NICE"))))
    if not n:
        return 0
    try:
        os.nice(n)
    except OSError:
        return 0
    return n


def run(args) -> int:
    from data import generations, store, uploads
    from data.ingest import IngestError, ingest_files

    polite()
    uploads.remove_stale()   # copies with personal data left by an import that was killed

    names = ", ".join(args.files)
    try:
        # A copy of the store is written and swapped in at the end: the dashboard may keep reading meanwhile.
        with generations.write(args.db, purpose=f"命令行导入 {names}", on_wait=_waiting) as gen:
            reports = ingest_files(gen.con, args.files, kind=args.kind, mapping=args.mapping, crs=args.crs,
                                   sheet=args.sheet, progress=None if args.json else _Bar(),
                                   refresh=not args.no_refresh)
    except IngestError as exc:
        print(f"导入未开始：{exc}", file=sys.stderr)
        return 2
    except store.StoreError as exc:
        print(str(exc), file=sys.stderr)
        if isinstance(exc, store.StoreBusy):
            print(BUSY_EN, file=sys.stderr)
        return 2
    if args.no_refresh and any(r.ok and (r.inserted or r.updated) for r in reports):
        print("注意：--no-refresh 未更新汇总表；仪表盘在运行 `python manage.py init` 之前继续显示导入前的数据。"
              " (derived tables not refreshed: the dashboard keeps the previous data until `manage.py init`)",
              file=sys.stderr)
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        for r in reports:
            print(r.summary())
            print()
        for done in (gen.synced, gen.after):
            if done is not None and done.describe():
                print(done.describe())
    # A file whose every row was quarantined "imported" nothing: exit 1 too (its report says the likely fix).
    return 0 if all(r.ok and not r.stored_nothing for r in reports) else 1
