"""Time the 热点 page's queries (warm) and the word segmentation at import, on a given store.

    .venv/bin/python scripts/bench_topics.py --db var/hotline.duckdb [--segment 20000]

For each filter state it runs every query the page runs for a first view
(total, category tree, top words, example tickets of the top word, word and
category trends, emerging words) once to warm up, then `--repeats` times, and
prints the median per query and the page total. `--segment N` also times
data.words on N ticket texts (tickets/s, one process, cold text cache).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics import topics
from analytics.filters import Filters
from data import segment, store


def page_queries(con, f: Filters) -> dict[str, callable]:
    top = topics.top_words(con, f, limit=20)
    word = top["word"].iloc[0] if len(top) else "井盖"
    tree = topics.category_tree(con, f)
    cats = tree.loc[tree["level"] <= 2].sort_values("n", ascending=False)["id"].head(3).tolist()
    top3 = top["word"].head(3).tolist()
    return {
        "total": lambda: topics.total_tickets(con, f),
        "category_tree": lambda: topics.category_tree(con, f),
        "top_words": lambda: topics.top_words(con, f, limit=20),
        "examples": lambda: topics.example_tickets(con, f, word, limit=10),
        "word_trend": lambda: topics.word_trend(con, f, top3, grain="week"),
        "category_trend": lambda: topics.category_trend(con, f, cats, grain="week"),
        "emerging_words": lambda: topics.emerging(con, f, kind="word", baseline="previous", periods=3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--segment", type=int, default=0, help="also time segmentation of this many ticket texts")
    args = ap.parse_args()
    con = store.connect(args.db, read_only=True)
    (n,) = con.execute("SELECT count(*) FROM tickets").fetchone()
    (nw,) = con.execute("SELECT count(*) FROM ticket_words").fetchone()
    (nd,) = con.execute("SELECT count(*) FROM word_daily").fetchone()
    lo, hi = con.execute("SELECT min(day), max(day) FROM ticket_daily").fetchone()
    print(f"store: {args.db}: {n:,} tickets, {nw:,} ticket_words rows, {nd:,} word_daily rows, {lo} .. {hi}")
    month = Filters(date_from=hi.replace(day=1), date_to=hi)
    year = Filters(date_from=hi - timedelta(days=364), date_to=hi)
    states = {
        "latest month, city": month,
        "latest month, 朝阳区": month.replace(districts=("朝阳区",)),
        "latest month, text 井盖 (ticket_words path)": month.replace(text="井盖"),
        "latest month, one level-3 category (ticket_words path)": None,
        "last 365 days, city": year,
    }
    tree = topics.category_tree(con, month)
    l3 = tree.loc[tree["level"] == 3, "id"]
    states["latest month, one level-3 category (ticket_words path)"] = month.replace(
        categories=(l3.iloc[0],)) if len(l3) else month
    print("\nwall-clock medians in ms; the last column is the page total in CPU ms (all DuckDB threads)")
    print(f"\n| filter state | {' | '.join(page_queries(con, month))} | page total | page CPU |")
    print("|---|" + "---|" * (len(page_queries(con, month)) + 2))
    for name, f in states.items():
        qs = page_queries(con, f)
        for q in qs.values():
            q()
        med, cpu = {}, {}
        for k, q in qs.items():
            ms, cs = [], []
            for _ in range(args.repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                q()
                ms.append((time.perf_counter() - t0) * 1000)
                cs.append((time.process_time() - c0) * 1000)
            med[k] = statistics.median(ms)
            cpu[k] = statistics.median(cs)
        cells = " | ".join(f"{v:.0f}" for v in med.values())
        print(f"| {name} | {cells} | **{sum(med.values()):.0f}** | {sum(cpu.values()):.0f} |")
    if args.segment:
        sql = f"SELECT content, complainant_name FROM tickets USING SAMPLE {int(args.segment)} ROWS"
        rows = con.execute(sql).fetchall()
        segment.tokenizer()
        segment._segment.cache_clear()
        t0, c0 = time.perf_counter(), time.process_time()
        for text, name in rows:
            segment.words_of(text, name)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        print(f"\nsegmentation ({segment.backend()}, one process): {len(rows):,} texts in {dt:.2f} s wall = "
              f"{len(rows) / dt:,.0f} tickets/s; {dc:.2f} s CPU = {len(rows) / dc:,.0f} tickets per CPU-second")
    con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
