"""Deadlines of the ledger and of 12309 letters: how days count, when a step is due, and its state.

How days count (docs/data-model.md, "Deadlines"): a period of N days starts the day after the step that
opens it (the day of the step itself does not count) and ends at the end of its Nth calendar day; a period
whose last day falls on a Saturday or Sunday ends on the following Monday instead (the Chinese rule for
statutory periods that end on a rest day, applied to weekends; public holidays and their make-up working
days are not known to the product and are not moved). A step done on or before the due day is on time.

The same rule runs in SQL for the funnel's deadline figures (`due_sql`), so the ledger and the funnel give
the same due days. Everything here is pure: dates in, dates out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from data import settings
from data.ledger.model import NOTIFY_SOURCES, Due

# rule -> (label, setting with its days)
RULES: dict[str, tuple[str, str]] = {
    "clue_review": ("线索审查决定", "HOTLINE_CLUE_REVIEW_DAYS"),
    "notify": ("书面告知", "HOTLINE_NOTIFY_DAYS"),
    "suggestion_reply": ("检察建议回复", "HOTLINE_SUGGESTION_REPLY_DAYS"),
    "urgent_reply": ("紧急检察建议回复", "HOTLINE_URGENT_REPLY_DAYS"),
    "follow_up": ("回头看", "HOTLINE_LOOKBACK_DAYS"),
    "letter_reply": ("12309程序性回复", "HOTLINE_LETTER_REPLY_DAYS"),
    "letter_result": ("12309办理结果答复", "HOTLINE_LETTER_RESULT_DAYS"),
}
STATES = {"on_time": "按期", "late": "超期办结", "overdue": "逾期未办", "due_soon": "即将到期", "pending": "未到期"}


def days_of(rule: str) -> int:
    return int(settings.get(RULES[rule][1]))


def due_date(start: date | datetime, days: int) -> date:
    """The last day of a period of `days` days opened on `start` (see the module docstring)."""
    d = (start.date() if isinstance(start, datetime) else start) + timedelta(days=int(days))
    wd = d.isoweekday()          # 6 Saturday, 7 Sunday
    return d + timedelta(days=(8 - wd) if wd >= 6 else 0)


def due_sql(start: str, days: str) -> str:
    """SQL (DuckDB) for `due_date(start, days)`: `start` a TIMESTAMP or DATE expression, `days` an INTEGER one."""
    d = f"(CAST({start} AS DATE) + CAST({days} AS INTEGER))"
    return f"({d} + CAST(CASE isodow({d}) WHEN 6 THEN 2 WHEN 7 THEN 1 ELSE 0 END AS INTEGER))"


def judge(due: date, done: date | datetime | None, today: date) -> str:
    """on_time / late (done) or overdue / due_soon / pending (not done) as of `today`."""
    if done is not None:
        d = done.date() if isinstance(done, datetime) else done
        return "on_time" if d <= due else "late"
    if today > due:
        return "overdue"
    if (due - today).days <= int(settings.get("HOTLINE_DUE_SOON_DAYS")):
        return "due_soon"
    return "pending"


@dataclass(frozen=True)
class Item:
    """One deadline of one clue or letter: its rule, start, due day, when it was done, and its state."""

    rule: str
    start: date
    due: date
    done: date | None
    state: str

    @property
    def label(self) -> str:
        return RULES[self.rule][0]


def clue_items(stages: dict, source: str | None, today: date) -> list[Item]:
    """Every deadline a clue's stages open, done or not (stages: key -> model.Stage)."""
    out = []

    def add(rule: str, start_key: str, done_key: str) -> None:
        start = stages[start_key].at.date()
        done = stages[done_key].at.date() if done_key in stages else None
        if done is None and "close" in stages:
            return       # closed without this step: nothing is due any more
        due = due_date(start, days_of(rule))
        out.append(Item(rule, start, due, done, judge(due, done, today)))

    if "register" in stages:
        add("clue_review", "register", "decide")
    if "decide" in stages and source in NOTIFY_SOURCES:
        add("notify", "decide", "notify")
    if "suggest" in stages:
        add("urgent_reply" if stages["suggest"].details.get("urgent") else "suggestion_reply", "suggest", "reply")
    if "rectify" in stages:
        add("follow_up", "rectify", "follow_up")
    return out


def next_due(stages: dict, source: str | None, today: date) -> Due | None:
    """The clue's earliest open deadline (None when nothing is due, or the clue is closed)."""
    if "close" in stages:
        return None
    open_items = [i for i in clue_items(stages, source, today) if i.done is None]
    if not open_items:
        return None
    i = min(open_items, key=lambda x: (x.due, x.rule))
    return Due(i.rule, i.label, i.start, i.due, i.state)


def compliance(items: list[Item]) -> float | None:
    """on time / (on time + late + overdue); items not yet due are left out. None when none is due."""
    due = [i for i in items if i.state in ("on_time", "late", "overdue")]
    return sum(i.state == "on_time" for i in due) / len(due) if due else None


def month_bounds(month: str) -> tuple[date, date]:
    """(first day, last day) of 'YYYY-MM'; ValueError with a Chinese message otherwise."""
    try:
        first = datetime.strptime(month.strip(), "%Y-%m").date()
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"月份格式应为 YYYY-MM，例如 2026-03：{month!r}") from exc
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)
