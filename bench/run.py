"""Run the benchmark: build or reuse demo databases, replay the pages both ways, print a table.

See docs/performance.md for the results and the exact command that produced them.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from data import settings

ROOT = settings.PROJECT_ROOT
SIZES = {"1m": (1_000_000, 2), "25m": (25_000_000, 1), "125m": (125_000_000, 5)}

# The pandas baseline's loads (bench/pandas_side.py, bench/worker.py): "full" loads every column as is;
# "slim" loads every column a page filters or groups on, compactly (the address as a categorical), and leaves
# the ticket text and string ids in the store (the ticket list reads them for its 50 rows); "lite" (older) is
# the compact load
# without word statistics. "auto" picks full where it fits and slim where it would not.
PANDAS_MODES = ("auto", "full", "slim", "lite")
PANDAS_SIDE = {"full": "pandas", "slim": "pandas-slim", "lite": "pandas-lite"}
PANDAS_MODE_TEXT = {
    "full": "full load (every ticket column, text included)",
    "slim": "slim load (no ticket text in memory, the address as a categorical: the ticket list reads the text "
            "for its 50 shown rows)",
    "lite": "lite load (no word statistics: its topics page has no top or emerging words)",
}
# The full load's peak at 1 M tickets was 2.1 GB (docs/performance.md), growing with the tickets.
FULL_LOAD_GB_PER_MILLION = 2.2


@dataclass
class SizeResult:
    label: str
    tickets: int
    db: Path
    db_mb: float = 0.0
    build_s: float | None = None
    duck: dict = field(default_factory=dict)
    pandas: dict | None = None
    pandas_error: str | None = None
    pandas_mode: str | None = None     # which load the pandas figures are of: full, slim or lite
    cold_start_s: float | None = None
    dashboard_rss_mb: float | None = None


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GB RAM, Python {platform.python_version()}"


def ensure_db(label: str, tickets: int, years: int, db_dir: Path, seed: int, log) -> tuple[Path, float | None]:
    """Reuse var/bench/demo_<label>.duckdb or build it with the demo generator (timed)."""
    db = db_dir / f"demo_{label}.duckdb"
    if db.exists():
        return db, None
    db_dir.mkdir(parents=True, exist_ok=True)
    if label == "125m":
        # Five years from the one-year store plus four year-shifted copies (bench/extend.py says why).
        one_year, _ = ensure_db("25m", *SIZES["25m"], db_dir, seed, log)
        log(f"building the five-year database from {one_year} at {db} ...")
        from bench.extend import five_years

        return db, five_years(one_year, db, log=log)
    log(f"building {label} demo database ({tickets:,} tickets, {years} years) at {db} ...")
    t0 = time.perf_counter()
    cmd = [sys.executable, str(ROOT / "manage.py"), "demo", "--tickets", str(tickets), "--years", str(years),
           "--seed", str(seed), "--db", str(db), "--no-rules"]   # the benchmark times the import alone
    r = subprocess.run(cmd, cwd=ROOT, text=True)
    if r.returncode != 0:
        db.unlink(missing_ok=True)
        raise RuntimeError(f"demo build failed for {label}")
    return db, time.perf_counter() - t0


def memory_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def choose_pandas_mode(tickets: int, mem_gb: float | None = None) -> str:
    """"full" when the full load's expected peak fits in half the machine's memory, else "slim"."""
    mem_gb = memory_gb() if mem_gb is None else mem_gb
    return "full" if tickets / 1e6 * FULL_LOAD_GB_PER_MILLION <= mem_gb / 2 else "slim"


def run_side(side: str, db: Path, repeats: int, timeout: int = 7200) -> dict:
    cmd = [sys.executable, "-m", "bench.worker", side, str(db), str(repeats)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if r.returncode == -9:
        raise RuntimeError("killed by the system (out of memory)")
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run(sizes: list[tuple[str, int, int]], *, repeats: int = 3, pandas: bool = True, browser: bool = True,
        db_dir: Path | None = None, seed: int = 12345, pandas_mode: str = "auto", log=print) -> list[SizeResult]:
    if pandas_mode not in PANDAS_MODES:
        raise ValueError(f"pandas_mode must be one of {PANDAS_MODES}")
    db_dir = db_dir or ROOT / "var" / "bench"
    results = []
    for label, tickets, years in sizes:
        db, build_s = ensure_db(label, tickets, years, db_dir, seed, log)
        res = SizeResult(label, tickets, db, db_mb=db.stat().st_size / 2**20, build_s=build_s)
        log(f"[{label}] DuckDB pages ...")
        res.duck = run_side("duck", db, repeats)
        if pandas:
            mode = choose_pandas_mode(tickets) if pandas_mode == "auto" else pandas_mode
            log(f"[{label}] pandas baseline, {PANDAS_MODE_TEXT[mode]} ...")
            try:
                res.pandas, res.pandas_mode = run_side(PANDAS_SIDE[mode], db, repeats), mode
            except Exception as exc:  # out of memory is a result too
                res.pandas_error = f"{mode} load: {exc}"
                if mode == "full":
                    log(f"[{label}] pandas baseline failed ({exc}); the slim load ...")
                    try:
                        res.pandas, res.pandas_mode = run_side(PANDAS_SIDE["slim"], db, repeats), "slim"
                    except Exception as exc2:
                        res.pandas_error += f"; slim load: {exc2}"
        if browser:
            log(f"[{label}] cold start in Chromium ...")
            from bench.coldstart import cold_start

            try:
                res.cold_start_s, res.dashboard_rss_mb = cold_start(db)
            except Exception as exc:
                log(f"  cold start not measured: {exc}")
        results.append(res)
    return results


def import_speeds(rows: int, log=print) -> list:
    """Generation and import speed on fresh stores: Parquet with `rows` tickets, CSV with a third of them."""
    from bench.importspeed import measure

    out = []
    for fmt, n in (("parquet", rows), ("csv", max(rows // 3, 1))):
        log(f"import speed: {n:,} tickets as {fmt} ...")
        out.append(measure(fmt, n))
    return out


def import_report(speeds: list) -> str:
    from bench.importspeed import HEADER

    lines = ["### Generation and import speed", "", HEADER, *[s.line() for s in speeds], "",
             "- import = read, clean, assign streets, quarantine, merge (`ingest_files(refresh=False)`); derived "
             "tables = daily summary and cubes, linked tickets, jieba words (`derived.refresh`).", ""]
    return "\n".join(lines)


def _fmt(ms: float | None) -> str:
    return "–" if ms is None else (f"{ms:,.0f}" if ms >= 10 else f"{ms:.1f}")


def report(results: list[SizeResult], command: str) -> str:
    """The results as markdown: machine, date, command, one table per size."""
    lines = [f"Measured {datetime.now():%Y-%m-%d %H:%M} on {machine()}.", "", f"Command: `{command}`", ""]
    for r in results:
        d = r.duck
        lines.append(f"### {r.label}: {r.tickets:,} tickets (DB {r.db_mb:,.0f} MB"
                     + (f", built in {r.build_s:,.0f} s" if r.build_s else ", reused") + ")")
        lines.append("")
        pd_name = f"pandas ({r.pandas_mode})" if r.pandas_mode else "pandas"
        lines.append(f"| page | DuckDB p50 ms | DuckDB p95 ms | {pd_name} p50 ms | {pd_name} p95 ms | speed-up (p50) |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        rows = [*d["pages"].keys(), "all_pages"]
        for page in rows:
            ds = d["all_pages"] if page == "all_pages" else d["pages"][page]
            ps = None
            if r.pandas:
                ps = r.pandas["all_pages"] if page == "all_pages" else r.pandas["pages"][page]
            ratio = f"{ps['p50'] / ds['p50']:.1f}×" if ps and ds["p50"] > 0 else "–"
            name = "**all pages together**" if page == "all_pages" else page
            lines.append(f"| {name} | {_fmt(ds['p50'])} | {_fmt(ds['p95'])} | {_fmt(ps and ps['p50'])} | "
                         f"{_fmt(ps and ps['p95'])} | {ratio} |")
        lines.append("")
        if r.pandas_mode:
            lines.append(f"- pandas baseline: **{PANDAS_MODE_TEXT[r.pandas_mode]}**.")
        mem = f"DuckDB side peak RSS {d['peak_rss_mb']:,.0f} MB"
        if r.pandas_error:
            mem += f"; pandas baseline failed: {r.pandas_error}"
        if r.pandas:
            p = r.pandas
            mem += (f"; pandas side peak RSS {p['peak_rss_mb']:,.0f} MB ({r.pandas_mode} load in {p['load_s']:.1f} s), "
                    f"{p['peak_rss_mb'] / d['peak_rss_mb']:.1f}× more")
        lines.append(f"- Memory: {mem}.")
        lines.append(f"- Largest map payload over the states: {d.get('map_features_max', '–'):,} features.")
        if r.cold_start_s is not None:
            lines.append(f"- Cold start to first page in Chromium: {r.cold_start_s:.1f} s; dashboard process peak "
                         f"RSS after visiting every page: {r.dashboard_rss_mb:,.0f} MB.")
        lines.append("")
    return "\n".join(lines)
