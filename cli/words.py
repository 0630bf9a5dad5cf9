"""Recompute the words of every ticket, e.g. after editing the domain dictionary or the stopwords."""

from __future__ import annotations

from cli._common import add_db_argument

NAME = "words"
HELP = "recompute ticket_words and word_daily for every ticket (after changing data/dict/)"


def add_arguments(parser) -> None:
    add_db_argument(parser)


def run(args) -> int:
    from data import store, words

    try:
        con = store.connect(args.db)
    except store.StoreError as exc:
        print(exc)
        return 1
    try:
        words.tokenizer()  # load the dictionaries first, so the timing below is segmentation only
        stats = words.refresh(con)
    finally:
        con.close()
    print(f"{stats['tickets']:,} tickets, {stats['word_rows']:,} word rows; segmentation "
          f"{stats['segment_seconds']} s ({stats['tickets_per_second'] or 0:,} tickets/s), "
          f"word_daily {stats['summary_seconds']} s ({words.backend()})")
    return 0
