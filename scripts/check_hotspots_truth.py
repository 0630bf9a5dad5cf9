"""Check hotspot and repeat-place detection against a demo store's planted ground truth (`demo_truth`).

Usage: .venv/bin/python scripts/check_hotspots_truth.py PATH.duckdb [--cell 500]
Per topic, over the store's whole period: Gi* hotspots found, how many lie within 600 m of a planted hotspot
(precision), planted hotspots recalled, planted repeat/relapse places recalled by a flagged repeat place
within 150 m, and the time taken.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--cell", type=int, default=500)
    args = ap.parse_args()

    from analytics import hotspots as hs
    from analytics.filters import Filters
    from data import store
    from geo.crs import haversine_m

    con = store.connect(args.db, read_only=True)
    truth = con.execute("SELECT * FROM demo_truth").df()
    lo, hi = con.execute("SELECT min(received_at)::DATE, max(received_at)::DATE FROM tickets").fetchone()
    totals = {"found": 0, "tp": 0, "planted": 0, "recalled": 0, "rep_planted": 0, "rep_recalled": 0}
    for topic in sorted(truth["topic"].unique()):
        f = Filters(topics=(topic,), date_from=lo, date_to=hi)
        t0 = time.perf_counter()
        h = hs.hotspot_table(con, f, args.cell)
        secs = time.perf_counter() - t0
        planted = truth[(truth["topic"] == topic) & (truth["kind"] == "hotspot")]
        c = h.gi.clusters
        tp = rec = 0
        if len(c) and len(planted):
            d = haversine_m(c["lon"].to_numpy(float)[:, None], c["lat"].to_numpy(float)[:, None],
                            planted["lon"].to_numpy()[None, :], planted["lat"].to_numpy()[None, :])
            tp, rec = int((d.min(axis=1) <= 600).sum()), int((d.min(axis=0) <= 600).sum())
        reps = truth[(truth["topic"] == topic) & (truth["kind"] != "hotspot")]
        flagged = h.places[h.places["repeat"]]
        rrec = 0
        if len(reps) and len(flagged):
            d = haversine_m(flagged["lon"].to_numpy(float)[:, None], flagged["lat"].to_numpy(float)[:, None],
                            reps["lon"].to_numpy()[None, :], reps["lat"].to_numpy()[None, :])
            rrec = int((d.min(axis=0) <= 150).sum())
        print(f"{topic:8s} {secs:5.2f} s  hotspots {len(c):3d} (near a planted one: {tp:3d})  "
              f"planted recalled {rec}/{len(planted)}  repeat places recalled {rrec}/{len(reps)}")
        for k, v in (("found", len(c)), ("tp", tp), ("planted", len(planted)), ("recalled", rec),
                     ("rep_planted", len(reps)), ("rep_recalled", rrec)):
            totals[k] += v
    print(f"total: recall {totals['recalled']}/{totals['planted']}, precision {totals['tp']}/{totals['found']}, "
          f"repeat places {totals['rep_recalled']}/{totals['rep_planted']}")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
