"""Import and generation speed for the benchmark: rows per second through the one way into the store.

Generates demo export files (Parquet and CSV) once, then times
`data.ingest.ingest_files` loading them into a fresh store: the import itself
(read, clean, assign streets, quarantine, merge; `refresh=False`), then the
derived tables that an import refreshes (daily summary and cubes, linked
tickets, words). Wall and CPU time (this process and its word workers) are
both reported: on a shared machine the CPU figure is the stable one.
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Speed:
    fmt: str
    rows: int
    generate_s: float
    import_wall_s: float
    import_cpu_s: float
    refresh_wall_s: float
    refresh_cpu_s: float

    @property
    def import_rows_per_s(self) -> float:
        return self.rows / self.import_wall_s if self.import_wall_s else float("nan")

    def line(self) -> str:
        return (f"| {self.fmt} | {self.rows:,} | {self.rows / self.generate_s:,.0f} | "
                f"{self.import_rows_per_s:,.0f} | {self.rows / self.import_cpu_s:,.0f} | "
                f"{self.rows / self.refresh_wall_s:,.0f} | {self.rows / self.refresh_cpu_s:,.0f} |")


HEADER = ("| format | tickets | generated rows/s | import rows/s (wall) | import rows/CPU-s | "
          "derived tables rows/s (wall) | derived rows/CPU-s |\n|---|---:|---:|---:|---:|---:|---:|")


def measure(fmt: str, rows: int, seed: int = 12345) -> Speed:
    from data import derived, store
    from data.ingest.pipeline import ingest_files
    from data.synth.build import generate

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = generate(Path(tmp) / "files", tickets=rows, years=1, seed=seed, fmt=fmt)
        gen_s = time.perf_counter() - t0
        con = store.connect(Path(tmp) / "speed.duckdb")
        try:
            c0, t0 = _cpu(), time.perf_counter()
            reports = ingest_files(con, res.ticket_files, kind="tickets", refresh=False)
            imp_wall, imp_cpu = time.perf_counter() - t0, _cpu() - c0
            n = sum(r.rows_read for r in reports)
            c0, t0 = _cpu(), time.perf_counter()
            derived.refresh(con)
            ref_wall, ref_cpu = time.perf_counter() - t0, _cpu() - c0
        finally:
            con.close()
    return Speed(fmt, n, gen_s, imp_wall, imp_cpu, ref_wall, ref_cpu)
