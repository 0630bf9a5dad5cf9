"""The procuratorate's funnel: appeal → clue → case → rectification, stage times and deadlines.

Period rule (docs/dashboard.md): the filters select tickets by `received_at`
(and district, category, topic, … of the ticket); the clues are those linked
through `clue_tickets` to at least one selected ticket, restricted to the
chosen procuratorial functions if any; cases are filed from those clues;
rectified cases have a rectification with a date and a result other than
未整改. One rule everywhere, so the overview's KPIs and this page agree.

Where the rows come from: the selected links from `funnel_tickets`, then the
clues, cases and rectifications behind them from `funnel_clues` (one row per
clue and case, data/links.py) when it is current, else from the ledgers
joined by id (same answers; tests/test_funnel_clues.py checks all paths).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from analytics import query, theme
from analytics.filters import NO_TOPIC, Filters
from analytics.overview import function_clause
from data import settings
from data.ledger import deadlines as due_rules

# The stages, group-by dimensions, stage durations, deadline rules and deadline states (keys), with their labels
# from analytics/theme.py.
STAGES = theme.FUNNEL_STAGES
SPLITS = theme.FUNNEL_SPLITS
DURATIONS = theme.FUNNEL_DURATIONS
RULES = {key: (theme.DEADLINE_RULES[key], setting) for key, setting in (
    ("clue_review", "HOTLINE_CLUE_REVIEW_DAYS"),
    ("suggestion_reply", "HOTLINE_SUGGESTION_REPLY_DAYS"),
    ("urgent_reply", "HOTLINE_URGENT_REPLY_DAYS"),
)}
STATES = theme.DEADLINE_STATES

# The selection: the links (clue, ticket) whose ticket matches the filters, read from the linked
# tickets (`funnel_tickets`, data/links.py: ~1% of the tickets, with the ticket's filter columns), then
# the clues and cases behind them. Ticket counts come from the daily summary (query.volume) or, with a
# function filter, from the linked tickets (a function filter only selects linked tickets).
_SELECTION = """
sel AS (SELECT t.clue_id, t.ticket_id, t.first_at FROM {links} t WHERE {where}),
cl AS (SELECT c.* FROM clues c WHERE c.clue_id IN (SELECT clue_id FROM sel) AND {fn}),
cs AS (SELECT k.* FROM cases k WHERE k.clue_id IN (SELECT clue_id FROM cl)),
rc AS (
    SELECT r.case_id, min(r.rectified_at) AS rectified_at FROM rectifications r
    WHERE r.case_id IN (SELECT case_id FROM cs)
      AND r.rectified_at IS NOT NULL AND coalesce(r.result, '') <> '未整改'
    GROUP BY 1
)
"""


# The same selection from the per-clue table (`funnel_clues`, data/links.py) when it is current: the
# selected links give clue numbers, and `fc` holds one row per selected clue and case of it, with the
# case's first valid rectification (clue_row marks one row per clue). No join of the ledgers by string id.
_SELECTION_CLUES = f"""
sel AS (SELECT t.clue_no, t.ticket_id FROM {query.LINKS_TABLE} t WHERE {{where}}),
fc AS (
    SELECT c.* FROM {query.CLUES_TABLE} c JOIN (SELECT DISTINCT clue_no FROM sel) s USING (clue_no)
    WHERE {{fn}}
)
"""


def _with(con, f: Filters, linked: str | None = None) -> tuple[str, dict]:
    w = f.where("t")
    fn = function_clause(f)
    sql = "WITH " + _SELECTION.format(links=linked or query.linked(con), where=w.sql, fn=fn.sql)
    return sql, {**w.params, **fn.params}


def _with_clues(f: Filters) -> tuple[str, dict]:
    """The selection as `sel` (links) and `fc` (clues × cases), for a store whose funnel_clues is current."""
    w = f.where("t")
    fn = function_clause(f)
    return "WITH " + _SELECTION_CLUES.format(where=w.sql, fn=fn.sql), {**w.params, **fn.params}


def _ticket_counts(con, f: Filters, by: str | None = None, *, missing: str = "", prefix: str = "s") -> tuple[str, dict]:
    """SQL (key, tickets) or (tickets) counting the selected tickets, grouped by a ticket column or not.

    The daily summary when the filters allow it; with a function filter the
    linked tickets (every ticket it selects is linked to a clue); with only a
    text filter the tickets table (contains() over the period).
    """
    key = f"coalesce({by}, $missing) AS key, " if by else ""
    group = " GROUP BY 1" if by else ""
    params = {"missing": missing} if by else {}
    if f.uses_summary or not f.functions:
        s = query.volume(f, prefix=prefix, needs=(by,) if by else ())
        return f"SELECT {key}{s.m('n')} AS tickets FROM {s.table} WHERE {s.where.sql}{group}", {**params, **s.where.params}
    w = f.where("t", prefix=prefix)
    sql = f"SELECT {key}count(DISTINCT t.ticket_id) AS tickets FROM {query.linked(con)} t WHERE {w.sql}{group}"
    return sql, {**params, **w.params}


def _ticket_count(con, f: Filters) -> int:
    sql, params = _ticket_counts(con, f)
    return int(con.execute(sql, params).fetchone()[0] or 0)


def has_records(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the store holds any clue (a store with tickets only has no funnel)."""
    sql = "SELECT count(*) FROM clues"
    return con.execute(sql).fetchone()[0] > 0


def stages(con: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Counts at each step with conversion from the step before and from the tickets.

    Columns: key, stage (Chinese), n, rate_prev, rate_total (NA when the base is 0).
    """
    if query.per_clue(con):
        head, params = _with_clues(f)
        sql = head + "SELECT count(*) FILTER (WHERE clue_row), count(case_id), count(rectified_at) FROM fc"
    else:
        head, params = _with(con, f)
        sql = head + """
            SELECT (SELECT count(*) FROM cl), (SELECT count(*) FROM cs), (SELECT count(*) FROM rc)
        """
    values = [_ticket_count(con, f), *(int(x) for x in con.execute(sql, params).fetchone())]
    rows, prev = [], None
    for (key, lab), n in zip(STAGES.items(), values, strict=True):
        rows.append({"key": key, "stage": lab, "n": n,
                     "rate_prev": (n / prev if prev else None) if prev is not None else None,
                     "rate_total": (n / values[0]) if values[0] and key != "tickets" else None})
        prev = n
    df = pd.DataFrame(rows)
    for c in ("rate_prev", "rate_total"):
        df[c] = df[c].astype("Float64")
    return df


def split(con: duckdb.DuckDBPyConnection, f: Filters, by: str = "district") -> pd.DataFrame:
    """The funnel per district, special project or procuratorial function.

    Tickets count by the ticket's district/topic; clues, cases and rectified
    cases by the clue's district/topic/function. For the function split,
    `tickets` counts the selected tickets linked to a clue of that function.
    Columns: key, tickets, clues, cases, rectified, clue_rate, case_rate.
    """
    if by not in SPLITS:
        raise ValueError(f"by must be one of {tuple(SPLITS)}")
    fast = query.per_clue(con)
    head, params = _with_clues(f) if fast else _with(con, f)
    missing = NO_TOPIC if by == "topic" else "（未填）"
    extra: dict = {}
    if by == "function":
        pairs = ("SELECT DISTINCT sel.ticket_id, c.function AS key FROM sel JOIN fc c USING (clue_no)" if fast else
                 "SELECT DISTINCT sel.ticket_id, c.function AS key FROM sel JOIN cl c ON c.clue_id = sel.clue_id")
        a = f"a AS (SELECT coalesce(key, $missing) AS key, count(*) AS tickets FROM ({pairs}) GROUP BY 1)"
    else:
        counts, extra = _ticket_counts(con, f, by, missing=missing)
        a = f"a AS ({counts})"
    final = """
        SELECT key, coalesce(tickets, 0) AS tickets, coalesce(clues, 0) AS clues,
               coalesce(cases, 0) AS cases, coalesce(rectified, 0) AS rectified
    """
    if fast:  # clues, cases and rectified cases of each key in one pass over the selected clues
        sql = head + f""",
            {a},
            b AS (SELECT coalesce({by}, $missing) AS key, count(*) FILTER (WHERE clue_row) AS clues,
                         count(case_id) AS cases, count(rectified_at) AS rectified
                  FROM fc GROUP BY 1)
            {final}
            FROM a FULL JOIN b USING (key)
            ORDER BY clues DESC, tickets DESC, key
        """
    else:
        sql = head + f""",
            {a},
            b AS (SELECT coalesce({by}, $missing) AS key, count(*) AS clues FROM cl GROUP BY 1),
            c AS (SELECT coalesce(cl.{by}, $missing) AS key, count(*) AS cases
                  FROM cs JOIN cl USING (clue_id) GROUP BY 1),
            d AS (SELECT coalesce(cl.{by}, $missing) AS key, count(*) AS rectified
                  FROM rc JOIN cs USING (case_id) JOIN cl USING (clue_id) GROUP BY 1)
            {final}
            FROM a FULL JOIN b USING (key) FULL JOIN c USING (key) FULL JOIN d USING (key)
            ORDER BY clues DESC, tickets DESC, key
        """
    df = con.execute(sql, {**params, **extra, "missing": missing}).fetchdf()
    for c in ("tickets", "clues", "cases", "rectified"):
        df[c] = df[c].astype("int64")
    df["clue_rate"] = (df["clues"] / df["tickets"].where(df["tickets"] > 0)).astype("Float64")
    df["case_rate"] = (df["cases"] / df["clues"].where(df["clues"] > 0)).astype("Float64")
    return df


def durations(con: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Days spent in each stage: n, median and 90th percentile (NA when no item passed the stage).

    工单→线索 runs from the clue's earliest linked ticket (any period: the first
    signal) to its registration.
    """
    if query.per_clue(con):
        return _durations_clues(con, f)
    linked = query.linked(con)
    head, params = _with(con, f, linked)
    first = ("SELECT clue_id, min(first_at) AS first_at FROM sel WHERE clue_id IN (SELECT clue_id FROM cl) GROUP BY 1"
             if linked == query.LINKS_TABLE else query.FIRST_INLINE)
    sql = head + f""",
        first_ticket AS (  -- the clue's earliest linked ticket in any period (data/links.py)
            {first}
        ),
        d AS (
            SELECT 'ticket_clue' AS stage, date_diff('second', ft.first_at, cl.created_at) / 86400.0 AS days
              FROM cl JOIN first_ticket ft USING (clue_id)
            UNION ALL SELECT 'clue_review', date_diff('second', created_at, reviewed_at) / 86400.0 FROM cl
            UNION ALL SELECT 'clue_case', date_diff('second', cl.created_at, cs.filed_at) / 86400.0
              FROM cs JOIN cl USING (clue_id)
            UNION ALL SELECT 'case_measure', date_diff('second', filed_at, measure_at) / 86400.0 FROM cs
            UNION ALL SELECT 'measure_reply', date_diff('second', measure_at, replied_at) / 86400.0 FROM cs
            UNION ALL SELECT 'case_rectified', date_diff('second', cs.filed_at, rc.rectified_at) / 86400.0
              FROM rc JOIN cs USING (case_id)
        )
        SELECT stage, count(days) AS n, median(days) AS median_days, quantile_cont(days, 0.9) AS p90_days
        FROM d WHERE days IS NOT NULL GROUP BY stage
    """
    got = con.execute(sql, params).fetchdf().set_index("stage")
    out = pd.DataFrame({"key": list(DURATIONS), "stage": list(DURATIONS.values())})
    out["n"] = [int(got["n"].get(k, 0)) for k in DURATIONS]
    for c in ("median_days", "p90_days"):
        out[c] = pd.array([got[c].get(k) if k in got.index else None for k in DURATIONS], dtype="Float64")
    return out


# Days spent in each stage, one column per stage (NULL where an item did not pass it), over `fc`: the
# clue stages on one row per clue, the case stages on every case row (a clue without a case has NULLs).
_DAYS_CLUES = {
    "ticket_clue": "CASE WHEN clue_row THEN date_diff('second', first_at, created_at) / 86400.0 END",
    "clue_review": "CASE WHEN clue_row THEN date_diff('second', created_at, reviewed_at) / 86400.0 END",
    "clue_case": "date_diff('second', created_at, filed_at) / 86400.0",
    "case_measure": "date_diff('second', filed_at, measure_at) / 86400.0",
    "measure_reply": "date_diff('second', measure_at, replied_at) / 86400.0",
    "case_rectified": "date_diff('second', filed_at, rectified_at) / 86400.0",
}


def _durations_clues(con, f: Filters) -> pd.DataFrame:
    head, params = _with_clues(f)
    days = ", ".join(f"{expr} AS {key}" for key, expr in _DAYS_CLUES.items())
    # quantile_cont(x, 0.5) is median(x) (one sort per stage for both quantiles)
    stats = ", ".join(f"count({k}), quantile_cont({k}, [0.5, 0.9])" for k in DURATIONS)
    sql = head + f"SELECT {stats} FROM (SELECT {days} FROM fc)"
    row = con.execute(sql, params).fetchone()
    n = [int(row[2 * i]) for i in range(len(DURATIONS))]
    q = [row[2 * i + 1] or [None, None] for i in range(len(DURATIONS))]
    out = pd.DataFrame({"key": list(DURATIONS), "stage": list(DURATIONS.values())})
    out["n"] = n
    out["median_days"] = pd.array([x[0] for x in q], dtype="Float64")
    out["p90_days"] = pd.array([x[1] for x in q], dtype="Float64")
    return out


# The deadline items of the selection, as a CTE `items` (fixed SQL): from the joined ledgers or from fc. The due
# day counts calendar days and moves off a weekend (data/ledger/deadlines.py: the ledger's own rule).
_REVIEW_DUE = due_rules.due_sql("created_at", "$review")
_REPLY_DUE = due_rules.due_sql("{m}", "CASE WHEN coalesce({u}, false) THEN $urgent ELSE $suggestion END")
_ITEMS = f"""
        items AS (
            SELECT 'clue_review' AS rule, clue_id AS item_id, district, created_at AS start_at,
                   {_REVIEW_DUE} AS due_day, reviewed_at AS done_at
            FROM cl WHERE created_at IS NOT NULL
            UNION ALL
            SELECT CASE WHEN coalesce(cs.urgent, false) THEN 'urgent_reply' ELSE 'suggestion_reply' END,
                   cs.case_id, cl.district, cs.measure_at, {_REPLY_DUE.format(m="cs.measure_at", u="cs.urgent")},
                   cs.replied_at
            FROM cs JOIN cl USING (clue_id)
            WHERE cs.measure LIKE '%检察建议%' AND cs.measure_at IS NOT NULL
        )"""
_ITEMS_CLUES = f"""
        items AS (
            SELECT 'clue_review' AS rule, clue_id AS item_id, district, created_at AS start_at,
                   {_REVIEW_DUE} AS due_day, reviewed_at AS done_at
            FROM fc WHERE clue_row AND created_at IS NOT NULL
            UNION ALL
            SELECT CASE WHEN coalesce(urgent, false) THEN 'urgent_reply' ELSE 'suggestion_reply' END,
                   case_id, district, measure_at, {_REPLY_DUE.format(m="measure_at", u="urgent")}, replied_at
            FROM fc WHERE suggestion
        )"""


def _deadline_items(con, f: Filters, as_of: datetime) -> pd.DataFrame:
    if query.per_clue(con):
        head, params = _with_clues(f)
        items = _ITEMS_CLUES
    else:
        head, params = _with(con, f)
        items = _ITEMS
    # An item is past its due day (`late` when done, `overdue` when not) when the day it was done, or the day
    # of `as_of` if not done, is after the due day; otherwise it is `on_time` (done) or `pending` (not yet due).
    sql = head + "," + items + """,
        judged AS (SELECT *, CAST(coalesce(done_at, $as_of) AS DATE) AS end_day,
                          CAST(coalesce(done_at, $as_of) AS DATE) > due_day AS past FROM items)
        -- the late and overdue items one by one (the list), the others only counted (tens of thousands at 25 M)
        SELECT rule, item_id, district, start_at, due_day AS due_at, done_at,
               CASE WHEN done_at IS NULL THEN 'overdue' ELSE 'late' END AS state,
               CAST(date_diff('day', due_day, end_day) AS DOUBLE) AS days_over, 1 AS n
        FROM judged WHERE past
        UNION ALL
        SELECT rule, NULL, NULL, NULL, NULL, NULL, CASE WHEN done_at IS NULL THEN 'pending' ELSE 'on_time' END,
               NULL, count(*)
        FROM judged WHERE NOT past GROUP BY ALL
        ORDER BY days_over DESC NULLS LAST, item_id, rule, state
    """
    params.update({
        "review": settings.get("HOTLINE_CLUE_REVIEW_DAYS"),
        "suggestion": settings.get("HOTLINE_SUGGESTION_REPLY_DAYS"),
        "urgent": settings.get("HOTLINE_URGENT_REPLY_DAYS"),
        "as_of": as_of,
    })
    return con.execute(sql, params).fetchdf()


def deadline_report(con: duckdb.DuckDBPyConnection, f: Filters,
                    as_of: datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(deadlines(), overdue()) from one query, for the page."""
    items = _deadline_items(con, f, as_of or datetime.now())
    return _deadline_summary(items), _overdue_list(items)


def deadlines(con: duckdb.DuckDBPyConnection, f: Filters, as_of: datetime | None = None) -> pd.DataFrame:
    """Compliance with each deadline (days from settings) as of `as_of` (default: now).

    compliance = on_time / (on_time + late + overdue); items not yet due are
    `pending` and left out. Columns: key, rule, days, total, on_time, late,
    overdue, pending, compliance.
    """
    return _deadline_summary(_deadline_items(con, f, as_of or datetime.now()))


def _deadline_summary(items: pd.DataFrame) -> pd.DataFrame:
    n = items.groupby(["rule", "state"])["n"].sum()
    rows = []
    for key, (lab, setting) in RULES.items():
        counts = {s: int(n.get((key, s), 0)) for s in STATES}
        due = counts["on_time"] + counts["late"] + counts["overdue"]
        rows.append({"key": key, "rule": lab, "days": settings.get(setting), "total": sum(counts.values()), **counts,
                     "compliance": counts["on_time"] / due if due else None})
    df = pd.DataFrame(rows)
    df["compliance"] = df["compliance"].astype("Float64")
    return df


def overdue(con: duckdb.DuckDBPyConnection, f: Filters, as_of: datetime | None = None) -> pd.DataFrame:
    """Items past due and not done (逾期未办) and items done late (超期办结), most overdue first.

    Columns: rule, item_id, district, start_at, due_at, done_at, state, days_over.
    """
    return _overdue_list(_deadline_items(con, f, as_of or datetime.now()))


_RULE_LABELS = {k: lab for k, (lab, _setting) in RULES.items()}


def _overdue_list(items: pd.DataFrame) -> pd.DataFrame:
    # The query already orders the items most overdue first, then by id (the list's order).
    out = items[items["state"].isin(["overdue", "late"])].drop(columns=["n"]).reset_index(drop=True)
    out["rule"] = out["rule"].map(_RULE_LABELS) if len(out) else out["rule"].astype(object)  # as before when empty
    out["state"] = out["state"].map(STATES)
    return out
