"""CPU and wall ms of the map page's queries and the hotspot table per benchmark state, and per preset year.

Usage: .venv/bin/python scripts/bench_map_states.py PATH.duckdb THREADS [map,hot,presets]
With THREADS=1 the CPU figures are what one core spends (stable on a shared machine). The store is opened
read-only with duckdb directly (no upgrade). See docs/performance.md, "Map and hotspots at 25 M".
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(fn, reps: int = 2):
    """(result, median CPU ms, median wall ms) of `reps` runs after one warm-up run."""
    fn()
    cpu, wall = [], []
    out = None
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return out, statistics.median(cpu), statistics.median(wall)


def main() -> int:
    import duckdb

    from analytics import hotspots as hs
    from analytics import maps
    from analytics.filters import Filters
    from bench.states import filter_states

    warnings.filterwarnings("ignore")
    db, threads = sys.argv[1], int(sys.argv[2])
    what = sys.argv[3] if len(sys.argv) > 3 else "map,hot,presets"
    con = duckdb.connect(db, read_only=True, config={"threads": threads})
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    for name, f in filter_states(con):
        parts = []
        if "map" in what:
            _, c, w = timed(lambda f=f: (maps.quick_counts(con, f), maps.area_values(con, f, "district"),
                                         maps.area_values(con, f, "street"), maps.unplaced_count(con, f)))
            parts.append(f"default view {c:.0f} CPU/{w:.0f} wall")
            lay, c, w = timed(lambda f=f: maps.point_layer(con, f))
            parts.append(f"points/grid {c:.0f}/{w:.0f} [{lay.mode} {lay.shown}]")
        if "hot" in what:
            h, c, w = timed(lambda f=f: hs.hotspot_table(con, f), reps=1)
            light = ", light" if any("只计算统计热点" in n for n in h.notes) else ""
            parts.append(f"hotspots {c:.0f}/{w:.0f} [{len(h.gi.clusters)} hot, {len(h.places)} places, "
                         f"{h.tickets_used:,} located{light}]")
        print(f"{name:22s} " + "  ".join(parts), flush=True)
    if "presets" in what:
        (end,) = con.execute("SELECT max(day) FROM ticket_daily").fetchall()[0]
        year = maps.last_months(Filters(date_from=end.replace(day=1), date_to=end), 12)
        for p in maps.PRESETS:
            f = maps.preset_filters(year, p, ())
            h, c, w = timed(lambda f=f: hs.hotspot_table(con, f), reps=1)
            flagged = int(h.places["repeat"].sum()) if len(h.places) else 0
            print(f"preset {p} 12 months: hotspots {c:.0f} CPU/{w:.0f} wall ms; {len(h.gi.clusters)} hotspots, "
                  f"{len(h.places)} places ({flagged} flagged), {h.tickets_used:,} located; notes {h.notes}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
