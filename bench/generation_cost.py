"""What a copy-on-write generation costs: copy, checkpoint, sync and swap of a store (data/generations.py).

Every write to the store (an import, `manage.py words`, `init`) first copies it
beside itself and swaps the copy in at the end, so readers never wait. This
times that overhead on a real store with an empty write (nothing imported), and
optionally one small import, so the cost can be weighed against the import
itself. The store given is copied to a scratch file first; it is never changed.

Usage: python -m bench.generation_cost DB [--repeats 3] [--scratch DIR] [--cold] [--import FILE]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def measure(db: Path, repeats: int, scratch: Path, import_file: Path | None, cold: bool = False) -> list[str]:
    from data import generations

    work = scratch / "generation-cost.duckdb"
    shutil.copyfile(db, work)
    size = work.stat().st_size
    lines = [f"store {db} ({size / 2**20:,.0f} MB), scratch {scratch}" + (", read from disk (cold)" if cold else "")]
    copies, commits, totals = [], [], []
    for _ in range(repeats):
        if cold:
            _evict(work)
        t0 = time.perf_counter()
        with generations.write(work, purpose="bench") as gen:
            pass
        totals.append(time.perf_counter() - t0)
        copies.append(gen.copy_seconds)
        commits.append(gen.commit_seconds)
    method = gen.copy_method
    rate = size / 2**20 / statistics.median(copies)
    lines.append(f"empty write ×{repeats} ({method}): copy {_ms(copies)}, checkpoint+sync+swap {_ms(commits)}, "
                 f"whole {_ms(totals)}; copy rate {rate:,.0f} MB/s")
    if import_file is not None:
        from data.ingest import ingest_files

        t0 = time.perf_counter()
        with generations.write(work, purpose="bench import") as gen:
            t1 = time.perf_counter()
            (rep,) = ingest_files(gen.con, [import_file])
            t2 = time.perf_counter()
        t3 = time.perf_counter()
        lines.append(f"import {import_file.name} ({rep.rows_read:,} rows): copy {gen.copy_seconds:.2f} s, "
                     f"import {t2 - t1:.2f} s, commit {gen.commit_seconds:.2f} s, whole {t3 - t0:.2f} s")
    work.unlink()
    return lines


def _evict(p: Path) -> None:
    """Drop the file's pages from the page cache (as after a reboot, or on a store larger than memory)."""
    import os

    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scratch", type=Path, default=None, help="folder for the scratch copy (default: beside DB)")
    ap.add_argument("--cold", action="store_true", help="evict the store from the page cache before each copy")
    ap.add_argument("--import", dest="import_file", type=Path, default=None, help="also time one import of FILE")
    args = ap.parse_args(argv)
    scratch = args.scratch or args.db.parent
    with tempfile.TemporaryDirectory(dir=scratch, prefix="generation-cost-") as d:
        for line in measure(args.db, args.repeats, Path(d), args.import_file, args.cold):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
