"""Time the refresh of the derived tables after one day's import, incremental against a full rebuild.

Why: after every ticket import the derived tables used to be rebuilt from all the tickets (30-35 min at
five years); `derived.refresh` now updates only what the import touched. This script measures both on a COPY
of a demo store (it writes to it): it exports a batch from the store itself, NEW_TICKETS new tickets on the
day after the store's last day (copies of its last days' tickets with new ids) plus UPDATES updates of
tickets spread over the whole store (moved in time, street/place, category or closing time, like
tests/test_incremental.py), imports it through the pipeline (incremental refresh, timed per table), then
times the full rebuild of the same tables on the resulting store. Wall and CPU seconds (this process, its
DuckDB threads and the word workers) are printed.

    .venv/bin/python scripts/bench_incremental.py /tmp/copy_of_demo_25m.duckdb [--memory 8GB]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.batches import MOVED_UPDATES_SQL  # noqa: E402

NEW_TICKETS = 70_000
UPDATES = 5_000

NEW_SQL = """
SELECT * REPLACE ('N' || ticket_id AS ticket_id, received_at + to_days(CAST($shift AS INTEGER)) AS received_at,
                  responded_at + to_days(CAST($shift AS INTEGER)) AS responded_at, closed_at + to_days(CAST($shift AS INTEGER)) AS closed_at,
                  'wgs84' AS source_crs)
FROM tickets WHERE received_at >= $since ORDER BY received_at, ticket_id LIMIT $n
"""
UPDATE_SQL = MOVED_UPDATES_SQL.format(sample="hash(ticket_id) % 1000 = 7")


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(name: str, fn, rows: list) -> None:
    w, c = time.perf_counter(), _cpu()
    fn()
    rows.append((name, time.perf_counter() - w, _cpu() - c))
    print(f"  {name}: {rows[-1][1]:.1f} s wall, {rows[-1][2]:.1f} CPU-s", flush=True)


def main() -> int:
    from bench.batches import export
    from data import links, positions, store, summaries, word_tables
    from data.ingest import ingest_files

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", help="a COPY of a demo store (it is written to)")
    ap.add_argument("--memory", default="8GB", help="DuckDB memory_limit")
    ap.add_argument("--new", type=int, default=NEW_TICKETS)
    ap.add_argument("--updates", type=int, default=UPDATES)
    ap.add_argument("--no-full", action="store_true", help="skip timing the full rebuild")
    args = ap.parse_args()
    con = store.connect(args.db)
    sql = f"SET memory_limit = '{args.memory}'"   # SET takes no parameters (a benchmark's own argument)
    con.execute(sql)
    (n_before, last) = con.execute("SELECT count(*), max(received_at)::DATE FROM tickets").fetchone()
    print(f"store: {n_before:,} tickets, last day {last}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-incr-", dir=Path(args.db).parent))
    files = []
    for name, select, params in (
            ("new.csv", NEW_SQL, {"since": last, "shift": 1, "n": args.new}),
            ("updates.csv", UPDATE_SQL, {"n": args.updates})):
        files.append(export(con, tmp / name, select, params))
    (n_new_day,) = con.execute("SELECT count(*) FROM read_csv($f)", {"f": str(files[0])}).fetchone()
    print(f"batch: {n_new_day:,} new tickets (one day), {args.updates:,} updates; files in {tmp}")

    print("import with the incremental refresh:")
    w, c = time.perf_counter(), _cpu()
    reps = ingest_files(con, files)
    wall, cpu = time.perf_counter() - w, _cpu() - c
    for r in reps:
        print(f"  {Path(r.file).name}: {r.status} inserted {r.inserted:,} updated {r.updated:,} "
              f"unchanged {r.unchanged:,} quarantined {r.quarantined:,}; {r.seconds:.1f} s; refresh {r.refresh}")
    print(f"  both files, import + refresh: {wall:.1f} s wall, {cpu:.1f} CPU-s")

    rows: list = []
    if args.no_full:
        con.close()
        for f in files:
            f.unlink()
        tmp.rmdir()
        return 0
    print("full rebuild of the same tables (what every import did before):")
    _timed("ticket_daily", lambda: summaries.build_daily(con), rows)
    _timed("cubes", lambda: summaries.refresh_cubes(con), rows)
    _timed("links", lambda: links.refresh(con), rows)
    _timed("hotspot tables", lambda: positions.refresh(con), rows)
    _timed("word summaries (all months)", lambda: word_tables.refresh_summaries(con), rows)
    print(f"  total: {sum(r[1] for r in rows):.1f} s wall, {sum(r[2] for r in rows):.1f} CPU-s")
    con.close()
    for f in files:
        f.unlink()
    tmp.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
