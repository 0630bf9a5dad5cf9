"""Tables derived from the tickets at import, so pages never recompute them.

- `ticket_daily`: counts by day x street x category x topic x channel x
  appeal type, which answers most dashboard queries without touching the
  tickets table (see `Filters.uses_summary`).
- `ticket_words`: the words of each ticket's text (see data/words.py).
"""

from __future__ import annotations

import duckdb

DAILY_SQL = """
CREATE OR REPLACE TABLE ticket_daily AS
SELECT CAST(received_at AS DATE) AS day,
       district, street, category_l1, category_l2, category_l3, topic, channel, appeal_type,
       count(*)                                              AS n,
       count(lon)                                            AS n_located,
       count(responded_at)                                   AS n_responded,
       count(closed_at)                                      AS n_closed,
       count(*) FILTER (WHERE resolved)                      AS n_resolved,
       count(satisfaction)                                   AS n_rated,
       count(*) FILTER (WHERE satisfaction IN ('满意', '基本满意')) AS n_satisfied
FROM tickets
GROUP BY ALL
ORDER BY day, district, street
"""


def refresh_daily(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the daily summary from the tickets (a few seconds at 25 M rows)."""
    con.execute(DAILY_SQL)


def refresh(con: duckdb.DuckDBPyConnection, *, new_ticket_ids_table: str | None = None) -> None:
    """Bring every derived table up to date after tickets changed.

    `new_ticket_ids_table` names a table or view with a `ticket_id` column of
    the tickets inserted or updated; words are computed only for those.
    """
    refresh_daily(con)
    try:
        from data import words
    except ImportError:  # words module not present in a minimal install
        return
    words.refresh(con, new_ticket_ids_table=new_ticket_ids_table)
