"""Time the map page's work and the hotspot analysis on a store (median of N warm runs).

Usage: .venv/bin/python scripts/bench_maps.py PATH.duckdb [--repeat 3] [--image]
Prints one line per step: seconds (first run), median warm seconds, and sizes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _time(fn, repeat: int):
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    warm = []
    for _ in range(max(repeat - 1, 0)):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return out, first, (statistics.median(warm) if warm else first)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--image", action="store_true", help="also render the visit list with its map image")
    args = ap.parse_args()

    from analytics import hotspots, maps, mapviz, visits
    from analytics.filters import Filters
    from data import store

    con = store.connect(args.db, read_only=True)
    n, end = con.execute("SELECT count(*), max(received_at)::DATE FROM tickets").fetchone()
    month = Filters(date_from=end.replace(day=1), date_to=end)
    year = maps.last_months(month, 12)
    print(f"store: {n:,} tickets, last day {end}")

    def row(label, fn, extra=lambda _o: ""):
        out, first, warm = _time(fn, args.repeat)
        print(f"{label:58s} first {first:6.2f} s  warm {warm:6.2f} s  {extra(out)}")
        return out

    row("area_values district, city, one month", lambda: maps.area_values(con, month, "district"))
    areas = row("area_values street, city, one month", lambda: maps.area_values(con, month, "street"))
    row("folium choropleth streets: build + render", lambda: mapviz.choropleth_map(areas, "street", "n")
        .get_root().render(), lambda h: f"{len(h) / 1e6:.2f} MB HTML")
    lay = row("point_layer city, one month (grid when capped)", lambda: maps.point_layer(con, month),
              lambda o: f"{o.mode} {o.shown:,} features / {o.located:,} located")
    row("folium points/grid: build + render", lambda: mapviz.points_map(lay).get_root().render(),
        lambda h: f"{len(h) / 1e6:.2f} MB HTML")
    row("folium heatmap: build + render", lambda: mapviz.heat_map(lay).get_root().render(),
        lambda h: f"{len(h) / 1e6:.2f} MB HTML")
    row("monthly_counts, city, one year", lambda: maps.monthly_counts(con, year))
    for topic in ("井盖", "污水", "假冒伪劣"):
        f = year.replace(topics=(topic,))
        lay_t = row(f"point_layer {topic}, one year", lambda f=f: maps.point_layer(con, f),
                    lambda o: f"{o.mode} {o.shown:,} features / {o.located:,} located")
        del lay_t
        h = row(f"hotspot_table {topic}, one year (Gi* 500 m + repeat places)",
                lambda f=f: hotspots.hotspot_table(con, f),
                lambda o: f"{len(o.gi.clusters)} hotspots, {int(o.places['repeat'].sum())} repeat places, "
                          f"{o.tickets_used:,} tickets")
        row(f"visit list XLSX {topic} (no image)", lambda f=f, h=h: visits.to_xlsx(visits.build(con, f, hot=h)),
            lambda b: f"{len(b) / 1e3:.0f} KB")
        if args.image:
            row(f"visit list XLSX {topic} with map image", lambda f=f, h=h: visits.visit_xlsx(con, f, hot=h)[0],
                lambda b: f"{len(b) / 1e3:.0f} KB")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
