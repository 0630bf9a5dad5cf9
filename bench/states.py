"""The fixed filter states the benchmark replays on every page.

whole city or the largest district × the last full year or the last month ×
all topics or one special project: 8 states, derived from the data so they
fit any demo database.
"""

from __future__ import annotations

from datetime import timedelta

from analytics.filters import Filters

BENCH_TOPIC = "井盖"


def filter_states(con) -> list[tuple[str, Filters]]:
    (max_day,) = con.execute("SELECT max(day) FROM ticket_daily").fetchone()
    if max_day is None:
        raise RuntimeError("the database has no tickets")
    (district,) = con.execute(
        "SELECT district FROM ticket_daily GROUP BY district ORDER BY sum(n) DESC LIMIT 1").fetchone()
    year = (max_day - timedelta(days=364), max_day)
    month = (max_day.replace(day=1), max_day)
    out = []
    for scope, districts in (("全市", ()), (district, (district,))):
        for span, (d0, d1) in (("一年", year), ("一月", month)):
            for topic, topics in (("全部", ()), (BENCH_TOPIC, (BENCH_TOPIC,))):
                name = f"{scope}/{span}/{topic}"
                out.append((name, Filters(date_from=d0, date_to=d1, districts=districts, topics=topics)))
    return out
