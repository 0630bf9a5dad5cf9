"""One side of the benchmark in its own process, so its peak memory is its own.

`python -m bench.worker duck|pandas|pandas-lite DB REPEATS` prints one JSON object (pandas-lite: the
pandas dashboard without word statistics, low-cardinality columns as categoricals).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

from bench import harness
from bench.states import filter_states


def run(side: str, db: str, repeats: int) -> dict:
    from data import store

    con = store.connect(db, read_only=True)
    states = filter_states(con)
    out: dict = {"side": side, "states": [name for name, _ in states]}
    t0 = time.perf_counter()
    if side == "duck":
        from bench.duck_side import PAGES

        ctx = con
        pages = PAGES
    else:
        from bench.pandas_side import PAGES, load

        # DuckDB only streams the tables out here: keep its block cache small, so the peak is pandas' own.
        con.execute("SET memory_limit = '1GB'")
        lite = side == "pandas-lite"
        ctx = load(con, words=not lite, compact=lite)
        pages = PAGES
    out["load_s"] = time.perf_counter() - t0
    out["rss_after_load_mb"] = harness.rss_mb()
    timings: dict[str, list[float]] = {p: [] for p in pages}
    per_state: dict[str, list[float]] = {name: [] for name, _ in states}
    for _name, f in states:  # warm-up pass
        for fn in pages.values():
            fn(ctx, f)
    for _ in range(repeats):
        for name, f in states:
            total = 0.0
            for page, fn in pages.items():
                ms = harness.timed(lambda fn=fn, f=f: fn(ctx, f))
                timings[page].append(ms)
                total += ms
            per_state[name].append(total)
    out["pages"] = {p: harness.summarise(ms) for p, ms in timings.items()}
    out["all_pages"] = harness.summarise([sum(x) for x in zip(*timings.values(), strict=True)])
    out["per_state"] = {k: harness.summarise(v) for k, v in per_state.items()}
    out["peak_rss_mb"] = harness.peak_rss_mb()
    if side == "duck":
        from analytics import maps

        out["map_features_max"] = max(maps.point_layer(con, f).shown for _, f in states)
    return out


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    side, db, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(run(side, db, repeats), ensure_ascii=False, default=str))
