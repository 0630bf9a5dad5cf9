"""One side of the benchmark in its own process, so its peak memory is its own.

`python -m bench.worker duck|pandas|pandas-slim|pandas-lite DB REPEATS [PAGE,PAGE...]` prints one JSON object
(with a page list, only those pages are replayed: e.g. `hotspots` to time one page at 25 M without the others'
quarter of an hour on the pandas side; the peak memory is then that of the load and those pages).
The pandas sides (bench/pandas_side.py): `pandas` loads every column as is; `pandas-slim` loads every column a
page filters or groups on, compactly (no ticket text: the ticket list reads it for its 50 rows from the store;
the address as a categorical), what fits at 25 M; `pandas-lite` (older fallback) is the compact load without
word statistics. Every side's hotspot page computes the product's ranked table (bench/pandas_hotspots.py).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

from bench import harness
from bench.states import filter_states

PANDAS_SIDES = ("pandas", "pandas-slim", "pandas-lite")


def run(side: str, db: str, repeats: int, only: list[str] | None = None) -> dict:
    from bench.duck_side import PAGES as DUCK_PAGES  # the pandas side has the same pages
    from data import store

    unknown = sorted(set(only or ()) - set(DUCK_PAGES))
    if unknown:
        raise SystemExit(f"unknown page(s) {unknown}; use some of {list(DUCK_PAGES)}")
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
        if side not in PANDAS_SIDES:
            raise SystemExit(f"unknown side {side!r}; use duck or one of {PANDAS_SIDES}")
        lite = side == "pandas-lite"
        ctx = load(con, words=not lite, compact=lite, slim=side == "pandas-slim")
        pages = PAGES
    if only:
        pages = {p: fn for p, fn in pages.items() if p in only}
    out["load_s"] = time.perf_counter() - t0
    out["rss_after_load_mb"] = harness.rss_mb()
    _say(f"{side}: loaded in {out['load_s']:.1f} s, RSS {out['rss_after_load_mb']:,.0f} MB")
    timings: dict[str, list[float]] = {p: [] for p in pages}
    per_state: dict[str, list[float]] = {name: [] for name, _ in states}
    for _name, f in states:  # warm-up pass
        for fn in pages.values():
            fn(ctx, f)
    _say(f"{side}: warm-up pass done")
    for i in range(repeats):
        for name, f in states:
            total = 0.0
            for page, fn in pages.items():
                ms = harness.timed(lambda fn=fn, f=f: fn(ctx, f))
                timings[page].append(ms)
                total += ms
            per_state[name].append(total)
        _say(f"{side}: timed pass {i + 1}/{repeats} done, peak RSS {harness.peak_rss_mb():,.0f} MB")
    out["pages"] = {p: harness.summarise(ms) for p, ms in timings.items()}
    out["all_pages"] = harness.summarise([sum(x) for x in zip(*timings.values(), strict=True)])
    out["per_state"] = {k: harness.summarise(v) for k, v in per_state.items()}
    out["peak_rss_mb"] = harness.peak_rss_mb()
    if side == "duck":
        from analytics import maps

        out["map_features_max"] = max(maps.point_layer(con, f).shown for _, f in states)
    return out


def _say(msg: str) -> None:
    """Progress on stderr (stdout carries the one JSON result)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    side, db, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    only = sys.argv[4].split(",") if len(sys.argv) > 4 else None
    print(json.dumps(run(side, db, repeats, only), ensure_ascii=False, default=str))
