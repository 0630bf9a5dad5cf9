"""CPU time of the 热点 page's queries for the benchmark's 8 filter states (bench/states.py), DuckDB on 1 thread.

    .venv/bin/python scripts/bench_topics_states.py PATH.duckdb [--repeats 3]

CPU time (time.process_time, DuckDB `SET threads=1`) is what an idle core would take; wall time on the
shared 2-core machine mostly measures the other jobs. Per state: category tree, top 20 words and emerging
words (the benchmark's topics page, bench/duck_side.py), then example tickets of the top word and weekly and
monthly trends of the top 3 words; warm (one run first), median of `--repeats`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics import topics
from bench.states import filter_states
from data import store

COLUMNS = ("category_tree", "top_words", "emerging", "examples", "trend_week", "trend_month")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    con = store.connect(args.db, read_only=True)
    con.execute("SET threads=1")
    print("| state | category_tree | top_words | emerging | **bench page** | examples | trend week | trend month |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, f in filter_states(con):
        top = topics.top_words(con, f, kind="word", limit=20)["word"].tolist()[:3]
        calls = {
            "category_tree": lambda f=f: topics.category_tree(con, f),
            "top_words": lambda f=f: topics.top_words(con, f, kind="word", limit=20),
            "emerging": lambda f=f: topics.emerging(con, f, kind="word"),
            "examples": lambda f=f, w=top: topics.example_tickets(con, f, w[0], limit=10) if w else None,
            "trend_week": lambda f=f, w=top: topics.word_trend(con, f, w, grain="week"),
            "trend_month": lambda f=f, w=top: topics.word_trend(con, f, w, grain="month"),
        }
        ms = {}
        for key, fn in calls.items():
            fn()
            runs = []
            for _ in range(args.repeats):
                t = time.process_time()
                fn()
                runs.append((time.process_time() - t) * 1000)
            ms[key] = statistics.median(runs)
        page = ms["category_tree"] + ms["top_words"] + ms["emerging"]
        cells = [f"{ms[c]:.0f}" for c in COLUMNS[:3]] + [f"**{page:.0f}**"] + [f"{ms[c]:.0f}" for c in COLUMNS[3:]]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
