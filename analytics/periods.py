"""The period a page opens on, and whether a comparison period holds enough data to compare with.

Why: a real export ends on the day it was taken, so its last calendar month is an incomplete tail. Opening
on it gave headlines like "−78.9% 环比 on 4 tickets", and a full year against a nearly empty one read
"+141300.0%". The default is the last complete calendar month the data covers (today's behaviour on data
that ends with a month), else the last 30 days; a month too thin to read (fewer tickets than
HOTLINE_DEFAULT_PERIOD_MIN_TICKETS: 6 messages) is widened to the last 3 or 12 complete months, else all the
data. A comparison
period with fewer tickets than HOTLINE_MIN_COMPARE_BASE is not compared ("—" with the reason).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from data import settings

LAST_DAYS = 30
WIDER_MONTHS = (3, 12)   # a thin last month widens to these many complete months


@dataclass(frozen=True)
class Period:
    """A default period and why it was chosen (shown under the page title)."""

    date_from: date
    date_to: date
    kind: str          # "month" (last complete month), "months" (the last 3 or 12), "days" (last 30), "all"
    reason: str


def _month_end(d: date) -> date:
    nxt = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


def choose(min_day: date | None, max_day: date | None, month_tickets: int | None = None, *,
           window_tickets: Callable[[date, date], int] | None = None, floor: int = 0) -> Period | None:
    """The default period for data from `min_day` to `max_day` (None when there is no data).

    The last complete calendar month (the data reaches its last day and starts on or before its first) when
    it holds tickets (`month_tickets`, None = unknown, taken as yes); else the last 30 days up to the last
    day with data (starting no earlier than the first). A month holding fewer than `floor` tickets (sparse
    data: 6 messages in a month) is widened to the last 3, then 12 complete months ending with it, the first
    that holds `floor` tickets (`window_tickets(first, last)` counts them), else to all the data.
    """
    if min_day is None or max_day is None:
        return None
    month = last_complete_month(min_day, max_day)
    if month is not None and (month_tickets is None or month_tickets > 0):
        lo, hi = month
        tail = "" if hi == max_day else f"（{hi + timedelta(days=1)} 起的数据不足一个整月，不作为默认期间）"
        if month_tickets is None or month_tickets >= floor or window_tickets is None:
            return Period(lo, hi, "month", f"默认显示最近一个完整月{tail}")
        thin = f"最近一个完整月仅 {month_tickets:,} 件工单，少于 {floor:,} 件"
        for n in WIDER_MONTHS:
            start = _months_back(lo, n - 1)
            if start < min_day:
                break
            if window_tickets(start, hi) >= floor:
                return Period(start, hi, "months", f"默认显示最近 {n} 个完整月（{thin}）")
        return Period(min_day, max_day, "all", f"默认显示全部数据（{thin}，数据较少）")
    lo = max(min_day, max_day - timedelta(days=LAST_DAYS - 1))
    why = "数据不足一个完整自然月" if month is None else "最近一个完整月没有工单"
    return Period(lo, max_day, "days", f"默认显示最近 {LAST_DAYS} 天（{why}）")


def _months_back(first_of_month: date, n: int) -> date:
    """The first day of the month `n` months before `first_of_month`'s."""
    k = first_of_month.year * 12 + first_of_month.month - 1 - n
    return date(k // 12, k % 12 + 1, 1)


def last_complete_month(min_day: date, max_day: date) -> tuple[date, date] | None:
    """(first, last day) of the latest calendar month the data covers entirely, or None."""
    end = max_day if max_day == _month_end(max_day) else max_day.replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    return (start, end) if start >= min_day else None


_RANGE_SQL = "SELECT min(day), max(day) FROM ticket_daily_core"
_COUNT_SQL = "SELECT coalesce(sum(n), 0) FROM ticket_daily_core WHERE day BETWEEN $a AND $b"


_STORE_DAYS_SQL = "SELECT max(value) FROM meta WHERE key = 'ticket_days'"


def default_period(con: duckdb.DuckDBPyConnection) -> Period | None:
    """The period the dashboard opens on for the store behind `con` (None when it holds no tickets).

    Whether a month is complete is judged on the export's span (meta `ticket_days`, written at import:
    the whole store, whatever the reader's district scope), the tickets on what `con` may read.
    """
    lo, hi = con.execute(_RANGE_SQL).fetchone()
    if lo is None:
        return None
    (days,) = con.execute(_STORE_DAYS_SQL).fetchone()
    if days and "|" in days:
        store_lo, store_hi = (date.fromisoformat(x) for x in days.split("|"))
        lo, hi = min(lo, store_lo), max(hi, store_hi)
    month = last_complete_month(lo, hi)

    def count(a: date, b: date) -> int:
        return int(con.execute(_COUNT_SQL, {"a": a, "b": b}).fetchone()[0])

    n = count(*month) if month is not None else None
    return choose(lo, hi, n, window_tickets=count, floor=min_period_tickets())


def min_period_tickets() -> int:
    """Fewest tickets the default month must hold before it widens (HOTLINE_DEFAULT_PERIOD_MIN_TICKETS)."""
    return max(0, int(settings.get("HOTLINE_DEFAULT_PERIOD_MIN_TICKETS")))


def min_compare_base() -> int:
    """Fewest tickets a comparison period must hold (HOTLINE_MIN_COMPARE_BASE)."""
    return max(0, int(settings.get("HOTLINE_MIN_COMPARE_BASE")))


def thin_note(base_tickets: int | None, which: str = "上期") -> str | None:
    """"上期仅 4 件工单（少于 30 件），不作比较" when the comparison base is too thin, else None."""
    if base_tickets is None:
        return None
    floor = min_compare_base()
    if base_tickets < floor:
        return f"{which}仅 {base_tickets:,} 件工单（少于 {floor:,} 件），不作比较"
    return None
