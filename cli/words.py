"""Recompute the words of every ticket, e.g. after editing the domain dictionary or the stopwords."""

from __future__ import annotations

import time

from cli._common import add_db_argument

NAME = "words"
HELP = ("recompute ticket_words, word_daily and the monthly word summaries for every ticket (after changing "
        "data/dict/); --summaries rebuilds only the monthly summaries from word_daily")


def add_arguments(parser) -> None:
    add_db_argument(parser)
    parser.add_argument("--summaries", action="store_true",
                        help="only rebuild word_monthly / word_monthly_topic / word_monthly_all from word_daily "
                             "(seconds; for stores built before these tables existed)")
    parser.add_argument("--daily", action="store_true",
                        help="with --summaries: first recount word_daily from ticket_words and tickets, month by "
                             "month (minutes at 25 M tickets; no segmentation)")


def run(args) -> int:
    from data import generations, store

    try:
        with generations.write(args.db, purpose="重算词语", on_wait=print) as gen:
            return _recompute(gen.con, args)
    except store.StoreError as exc:
        print(exc)
        return 1


def _recompute(con, args) -> int:
    from data import segment, word_tables, words

    if args.summaries:
        t0 = time.perf_counter()
        if args.daily:
            word_tables.rebuild_daily(con)
        word_tables.refresh_summaries(con)
        counts = []
        for t, _ in word_tables.WORD_SUMMARIES:   # table names from the module's fixed list
            sql = f"SELECT count(*) FROM {t}"
            counts.append(f"{t} {con.execute(sql).fetchone()[0]:,} rows")
        sizes = ", ".join(counts)
        print(f"monthly word summaries rebuilt in {time.perf_counter() - t0:.1f} s: {sizes}")
        return 0
    segment.tokenizer()  # load the dictionaries first, so the timing below is segmentation only
    stats = words.refresh(con)
    print(f"{stats['tickets']:,} tickets, {stats['word_rows']:,} word rows; segmentation "
          f"{stats['segment_seconds']} s ({stats['tickets_per_second'] or 0:,} tickets/s), "
          f"summaries {stats['summary_seconds']} s ({segment.backend()})")
    return 0
