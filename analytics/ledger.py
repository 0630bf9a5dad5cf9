"""The clue ledger as tables: one row per clue with its stages and next deadline, lists, counts and sums.

Everything reads a cursor on which the app's ledger is laid over the imported clues (data/ledger/overlay.py;
the dashboard's cursors and `overlay.ledger_cursor` for commands), so both kinds of clue are in every table.
One row per clue (`SHEET`): its first case (by filing time) is its case, and that case's first dated
rectification its rectification, as data/ledger/imported.py reads an imported clue; the next deadline is
computed in SQL with the ledger's own rule (data/ledger/deadlines.due_sql), so the list, the overview's
counts and a clue's own page agree (tests/test_ledger_sheet.py checks the sheet against data/ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from analytics import privacy
from data import settings
from data.ledger import deadlines as due
from data.ledger import overlay
from data.ledger.model import NOTIFY_SOURCES, SOURCES

# The deadline rules a clue's row can be waiting for, and the states of its next one.
DUE_RULES = {k: due.RULES[k][0] for k in ("clue_review", "notify", "suggestion_reply", "urgent_reply", "follow_up")}
DUE_STATES = {"overdue": "已逾期", "due_soon": "即将到期", "pending": "未到期"}
STAGE_LABELS = ("待审查", "评估中", "已立案", "不立案", "已移送", "检察建议", "回复", "整改", "回头看", "已结案")

_NOTIFY = ", ".join("'" + s + "'" for s in sorted(NOTIFY_SOURCES))
_SOURCE_LABEL = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in SOURCES.items())   # keys -> labels, else the text


def _d(start: str, days: str) -> str:
    return due.due_sql(start, days)


# One row per clue (fixed SQL; the parameters are the deadline days, `today` and `soon`).
SHEET = f"""
pc AS (
    SELECT * FROM (SELECT k.*, row_number() OVER (PARTITION BY clue_id ORDER BY filed_at NULLS LAST, case_id) AS rn
                   FROM cases k) WHERE rn = 1
),
pr AS (
    SELECT * FROM (SELECT r.*, row_number() OVER (PARTITION BY r.case_id
                                                  ORDER BY r.rectified_at, r.result NULLS FIRST, r.outcome NULLS FIRST) AS rn
                   FROM rectifications r JOIN pc USING (case_id) WHERE r.rectified_at IS NOT NULL) WHERE rn = 1
),
nt AS (SELECT clue_id, count(DISTINCT ticket_id) AS tickets FROM clue_tickets GROUP BY 1),
base AS (
    SELECT c.clue_id, coalesce(x.origin, 'import') AS origin, c.district, c.function, c.department, c.topic,
           coalesce(x.source_key, c.source) AS source, c.summary, x.handler, x.subject, x.place,
           c.created_at AS registered_at, x.registered_by,
           CASE WHEN c.status IN ('已立案', '立案') THEN 'file' WHEN c.status = '不立案' THEN 'not_file'
                WHEN c.status = '移送' THEN 'transfer' WHEN pc.case_id IS NOT NULL THEN 'file' END AS outcome0,
           coalesce(c.reviewed_at, pc.filed_at) AS decided0,
           pc.case_id, pc.measure,
           CASE WHEN pc.measure LIKE '%检察建议%' THEN pc.measure_at END AS suggested_at,
           coalesce(pc.urgent, false) AS urgent, pc.replied_at,
           pr.rectified_at, pr.result, pr.followed_up_at,
           x.assessed_at, x.notified_at, x.closed_at, x.transfer_to, x.addressee,
           coalesce(x.conflict, false) AS conflict, coalesce(nt.tickets, 0) AS tickets,
           x.serial, x.source_ref
    FROM clues c
    LEFT JOIN pc ON pc.clue_id = c.clue_id
    LEFT JOIN pr ON pr.case_id = pc.case_id
    LEFT JOIN {overlay.EXTRA} x ON x.clue_id = c.clue_id
    LEFT JOIN nt ON nt.clue_id = c.clue_id
),
staged AS (
    SELECT * EXCLUDE (outcome0, decided0),
           CASE WHEN outcome0 IS NOT NULL AND decided0 IS NOT NULL THEN outcome0 END AS outcome,
           CASE WHEN outcome0 IS NOT NULL THEN decided0 END AS decided_at
    FROM base
),
dues AS (
    SELECT *,
        CASE WHEN closed_at IS NULL AND decided_at IS NULL AND registered_at IS NOT NULL
             THEN {_d('registered_at', '$review')} END AS review_due,
        CASE WHEN closed_at IS NULL AND decided_at IS NOT NULL AND notified_at IS NULL AND source IN ({_NOTIFY})
             THEN {_d('decided_at', '$notify')} END AS notify_due,
        CASE WHEN closed_at IS NULL AND suggested_at IS NOT NULL AND replied_at IS NULL
             THEN {_d('suggested_at', 'CASE WHEN urgent THEN $urgent ELSE $suggestion END')} END AS reply_due,
        CASE WHEN closed_at IS NULL AND rectified_at IS NOT NULL AND followed_up_at IS NULL
             THEN {_d('rectified_at', '$lookback')} END AS follow_due
    FROM staged
),
sheet AS (
    SELECT *,
        least(review_due, notify_due, reply_due, follow_due) AS next_due,
        CASE least(review_due, notify_due, reply_due, follow_due)
             WHEN review_due THEN 'clue_review' WHEN follow_due THEN 'follow_up' WHEN notify_due THEN 'notify'
             WHEN reply_due THEN CASE WHEN urgent THEN 'urgent_reply' ELSE 'suggestion_reply' END END AS next_rule,
        CASE WHEN closed_at IS NOT NULL THEN '已结案' WHEN followed_up_at IS NOT NULL THEN '回头看'
             WHEN rectified_at IS NOT NULL THEN '整改' WHEN replied_at IS NOT NULL THEN '回复'
             WHEN suggested_at IS NOT NULL THEN '检察建议' WHEN outcome = 'file' THEN '已立案'
             WHEN outcome = 'not_file' THEN '不立案' WHEN outcome = 'transfer' THEN '已移送'
             WHEN assessed_at IS NOT NULL THEN '评估中' ELSE '待审查' END AS stage_label
    FROM dues
),
judged AS (
    SELECT *,
        CASE WHEN next_due IS NULL THEN NULL WHEN CAST($today AS DATE) > next_due THEN 'overdue'
             WHEN date_diff('day', CAST($today AS DATE), next_due) <= $soon THEN 'due_soon' ELSE 'pending' END
            AS due_state,
        CASE source {_SOURCE_LABEL} ELSE source END AS source_label
    FROM sheet
)
"""


def params(as_of: date | datetime | None = None) -> dict:
    today = as_of.date() if isinstance(as_of, datetime) else (as_of or date.today())
    return {"review": due.days_of("clue_review"), "notify": due.days_of("notify"),
            "suggestion": due.days_of("suggestion_reply"), "urgent": due.days_of("urgent_reply"),
            "lookback": due.days_of("follow_up"), "today": today, "soon": int(settings.get("HOTLINE_DUE_SOON_DAYS"))}


@dataclass(frozen=True)
class LedgerFilters:
    """What the ledger list shows: registration period, districts, stage, source, function, project, deadline
    state, origin (app / import), text in the number or summary."""

    date_from: date | None = None
    date_to: date | None = None
    districts: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()        # STAGE_LABELS
    sources: tuple[str, ...] = ()       # source keys or imported source texts
    functions: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    due_states: tuple[str, ...] = ()    # DUE_STATES keys
    origin: str | None = None           # app / import
    text: str = ""
    conflict: bool = False              # only imported clues with an import conflict to decide

    def where(self) -> tuple[str, dict]:
        conds, p = ["TRUE"], {}
        if self.date_from:
            conds.append("registered_at >= $lf_from::TIMESTAMP")
            p["lf_from"] = self.date_from
        if self.date_to:
            conds.append("registered_at < ($lf_to::DATE + INTERVAL 1 DAY)")
            p["lf_to"] = self.date_to
        for col, vals, name in (("district", self.districts, "lf_d"), ("stage_label", self.stages, "lf_s"),
                                ("source", self.sources, "lf_src"), ("function", self.functions, "lf_fn"),
                                ("topic", self.topics, "lf_t"), ("due_state", self.due_states, "lf_due")):
            if vals:
                conds.append(f"{col} IN (SELECT unnest(${name}::VARCHAR[]))")
                p[name] = list(vals)
        if self.conflict:
            conds.append("conflict")
        if self.origin:
            conds.append("origin = $lf_origin")
            p["lf_origin"] = self.origin
        if self.text.strip():
            conds.append("(clue_id ILIKE $lf_text ESCAPE '\\' OR summary ILIKE $lf_text ESCAPE '\\' "
                         "OR coalesce(place, '') ILIKE $lf_text ESCAPE '\\' OR coalesce(subject, '') ILIKE $lf_text ESCAPE '\\')")
            t = self.text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            p["lf_text"] = f"%{t}%"
        return " AND ".join(conds), p


LIST_COLUMNS = ("clue_id", "origin", "district", "source_label", "function", "topic", "summary", "handler",
                "registered_at", "stage_label", "next_rule", "next_due", "due_state", "tickets", "conflict")
SORTS = {"registered_at": "registered_at", "next_due": "next_due", "clue_id": "clue_id", "district": "district"}


def count(con: duckdb.DuckDBPyConnection, lf: LedgerFilters, as_of=None) -> int:
    where, p = lf.where()
    return int(con.execute(f"WITH {SHEET} SELECT count(*) FROM judged WHERE {where}", {**params(as_of), **p}
                           ).fetchone()[0])


def clue_list(con: duckdb.DuckDBPyConnection, lf: LedgerFilters, as_of=None, *, sort: str = "registered_at",
              descending: bool = True, limit: int = 50, offset: int = 0) -> pd.DataFrame:
    """One page of the ledger: LIST_COLUMNS, sorted on the server (ties by clue number)."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {tuple(SORTS)}")
    where, p = lf.where()
    d = "DESC" if descending else "ASC"
    sql = (f"WITH {SHEET} SELECT {', '.join(LIST_COLUMNS)} FROM judged WHERE {where} "
           f"ORDER BY {SORTS[sort]} {d} NULLS LAST, clue_id {d} LIMIT $lim OFFSET $off")
    return privacy.mask_frame(con.execute(sql, {**params(as_of), **p, "lim": max(1, min(int(limit), 1000)),
                                                "off": max(0, int(offset))}).fetchdf())


def sheet(con: duckdb.DuckDBPyConnection, lf: LedgerFilters | None = None, as_of=None) -> pd.DataFrame:
    """Every column of the sheet for the selected clues (exports, reports), by registration time."""
    where, p = (lf or LedgerFilters()).where()
    sql = f"WITH {SHEET} SELECT * EXCLUDE (review_due, notify_due, reply_due, follow_due) FROM judged " \
          f"WHERE {where} ORDER BY registered_at, clue_id"
    return privacy.mask_frame(con.execute(sql, {**params(as_of), **p}).fetchdf())


def due_list(con: duckdb.DuckDBPyConnection, as_of=None, states=("overdue", "due_soon"), *,
             lf: LedgerFilters | None = None, limit: int = 500) -> pd.DataFrame:
    """Clues whose next deadline is overdue or due soon, most urgent first (at most limit + 1 rows, so the
    page can say the list was cut)."""
    where, p = (lf or LedgerFilters()).where()
    sql = (f"WITH {SHEET} SELECT clue_id, district, summary, handler, stage_label, next_rule, next_due, due_state, "
           f"date_diff('day', next_due, CAST($today AS DATE)) AS days_over, origin FROM judged "
           f"WHERE {where} AND due_state IN (SELECT unnest($states::VARCHAR[])) "
           f"ORDER BY next_due, clue_id LIMIT $lim")
    return privacy.mask_frame(con.execute(sql, {**params(as_of), **p, "states": list(states),
                                              "lim": int(limit) + 1}).fetchdf())


def due_counts(con: duckdb.DuckDBPyConnection, as_of=None, lf: LedgerFilters | None = None) -> pd.DataFrame:
    """Open clues by their next deadline's rule and state: rule, state, n (every rule x state present)."""
    where, p = (lf or LedgerFilters()).where()
    sql = (f"WITH {SHEET} SELECT next_rule AS rule, due_state AS state, count(*) AS n FROM judged "
           f"WHERE {where} AND next_due IS NOT NULL GROUP BY ALL")
    got = con.execute(sql, {**params(as_of), **p}).fetchdf()
    idx = pd.MultiIndex.from_product([list(DUE_RULES), list(DUE_STATES)], names=["rule", "state"])
    n = got.set_index(["rule", "state"])["n"].reindex(idx, fill_value=0) if len(got) else pd.Series(0, index=idx)
    return n.astype("int64").rename("n").reset_index()


def due_totals(con: duckdb.DuckDBPyConnection, as_of=None) -> dict[str, int]:
    """{overdue, due_soon}: open clues whose next deadline has passed or is near (the overview's counts)."""
    c = due_counts(con, as_of)
    return {s: int(c.loc[c["state"] == s, "n"].sum()) for s in ("overdue", "due_soon")}


def due_overview(con: duckdb.DuckDBPyConnection, as_of=None) -> dict:
    """The overview's ledger figures: {"clues" (in the ledger at all), "overdue", "due_soon",
    "overdue_by_rule": {rule label: n} (rules with overdue clues only)}."""
    c = due_counts(con, as_of)
    over = c[(c["state"] == "overdue") & (c["n"] > 0)]
    (clues,) = con.execute(f"WITH {SHEET} SELECT count(*) FROM judged", params(as_of)).fetchone()
    return {"clues": int(clues), "overdue": int(c.loc[c["state"] == "overdue", "n"].sum()),
            "due_soon": int(c.loc[c["state"] == "due_soon", "n"].sum()),
            "overdue_by_rule": {DUE_RULES[r]: int(n) for r, n in zip(over["rule"], over["n"], strict=True)}}


def has_clues(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT count(*) FROM clues").fetchone()[0] > 0


# ------------------------------------------------------------------------------------------- every deadline
ITEMS = f"""
items AS (
    SELECT 'clue_review' AS rule, clue_id, district, registered_at AS start_at,
           {_d('registered_at', '$review')} AS due_day, decided_at AS done_at, closed_at FROM judged
    WHERE registered_at IS NOT NULL
    UNION ALL
    SELECT 'notify', clue_id, district, decided_at, {_d('decided_at', '$notify')}, notified_at, closed_at FROM judged
    WHERE decided_at IS NOT NULL AND source IN ({_NOTIFY})
    UNION ALL
    SELECT CASE WHEN urgent THEN 'urgent_reply' ELSE 'suggestion_reply' END, clue_id, district, suggested_at,
           {_d('suggested_at', 'CASE WHEN urgent THEN $urgent ELSE $suggestion END')}, replied_at, closed_at
    FROM judged WHERE suggested_at IS NOT NULL
    UNION ALL
    SELECT 'follow_up', clue_id, district, rectified_at, {_d('rectified_at', '$lookback')}, followed_up_at, closed_at
    FROM judged WHERE rectified_at IS NOT NULL
),
item_states AS (
    SELECT rule, clue_id, district, start_at, due_day, done_at,
           CASE WHEN done_at IS NOT NULL THEN
                    CASE WHEN CAST(done_at AS DATE) <= due_day THEN 'on_time' ELSE 'late' END
                WHEN CAST($today AS DATE) > due_day THEN 'overdue'
                WHEN date_diff('day', CAST($today AS DATE), due_day) <= $soon THEN 'due_soon'
                ELSE 'pending' END AS state
    FROM items WHERE done_at IS NOT NULL OR closed_at IS NULL   -- a clue closed without the step owes nothing
)
"""


def deadline_items(con: duckdb.DuckDBPyConnection, lf: LedgerFilters | None = None, as_of=None, *,
                   due_from: date | None = None, due_to: date | None = None) -> pd.DataFrame:
    """Every deadline the selected clues' stages opened (due day within [due_from, due_to] when given):
    rule, clue_id, district, start_at, due_day, done_at, state (on_time / late / overdue / due_soon / pending)."""
    where, p = (lf or LedgerFilters()).where()
    cond, extra = ["TRUE"], {}
    if due_from:
        cond.append("due_day >= $due_from")
        extra["due_from"] = due_from
    if due_to:
        cond.append("due_day <= $due_to")
        extra["due_to"] = due_to
    sql = (f"WITH {SHEET}, {ITEMS} SELECT * FROM item_states WHERE {' AND '.join(cond)} "
           f"AND clue_id IN (SELECT clue_id FROM judged WHERE {where}) ORDER BY due_day, clue_id, rule")
    return con.execute(sql, {**params(as_of), **p, **extra}).fetchdf()


# ------------------------------------------------------------------------------------------- rectification results
OUTCOMES_SQL = """
SELECT r.outcome AS item, coalesce(r.outcome_unit, '') AS unit, count(DISTINCT r.case_id) AS cases,
       sum(r.outcome_value) AS value
FROM rectifications r JOIN cases k USING (case_id) JOIN clues c USING (clue_id)
WHERE r.rectified_at >= $a::TIMESTAMP AND r.rectified_at < ($b::DATE + INTERVAL 1 DAY)
  AND r.outcome IS NOT NULL AND r.outcome_value IS NOT NULL AND coalesce(r.result, '') <> '未整改'
  AND {where}
GROUP BY 1, 2 ORDER BY cases DESC, value DESC, item
"""


def rectification_results(con: duckdb.DuckDBPyConnection, date_from: date, date_to: date,
                          districts: tuple[str, ...] = ()) -> pd.DataFrame:
    """Counted rectification results recorded in the period, summed by item and unit (更换井盖 12 个 ...):
    item, unit, cases, value. Rectifications with result 未整改 are left out."""
    where, p = "TRUE", {}
    if districts:
        where, p = "c.district IN (SELECT unnest($ds::VARCHAR[]))", {"ds": list(districts)}
    return con.execute(OUTCOMES_SQL.format(where=where), {"a": date_from, "b": date_to, **p}).fetchdf()


def ledger_summary(con: duckdb.DuckDBPyConnection, month: date, as_of=None) -> dict:
    """The ledger in a few figures for the wall screen and the overview: clues registered, filed and rectified
    in the month of `month`, open clues overdue or due soon now, and the month's rectification results.

    {"month": "YYYY-MM", "registered", "filed", "rectified", "overdue", "due_soon", "results": DataFrame}.
    Within the cursor's scope (a district cursor counts its districts only).
    """
    first = month.replace(day=1)
    nxt = (first.replace(day=28) + pd.Timedelta(days=4)).replace(day=1)
    last = nxt - pd.Timedelta(days=1)
    sql = f"""WITH {SHEET}
        SELECT count(*) FILTER (WHERE registered_at >= $a AND registered_at < $n),
               count(*) FILTER (WHERE outcome = 'file' AND decided_at >= $a AND decided_at < $n),
               count(*) FILTER (WHERE rectified_at >= $a AND rectified_at < $n AND coalesce(result, '') <> '未整改')
        FROM judged"""
    a, n = datetime.combine(first, datetime.min.time()), datetime.combine(nxt, datetime.min.time())
    reg, filed, rect = con.execute(sql, {**params(as_of), "a": a, "n": n}).fetchone()
    totals = due_totals(con, as_of)
    return {"month": first.strftime("%Y-%m"), "registered": int(reg), "filed": int(filed), "rectified": int(rect),
            **totals, "results": rectification_results(con, first, last.date() if hasattr(last, "date") else last)}


# ------------------------------------------------------------------------------------------- for display
ORIGINS = {"app": "本系统登记", "import": "案件系统导入"}
OUTCOME_LABELS = {"file": "立案", "not_file": "不立案", "transfer": "移送"}


def readable(df: pd.DataFrame) -> pd.DataFrame:
    """The sheet's codes in words (origin, next deadline, its state, decision, conflict), headers in Chinese."""
    from analytics import theme

    out = df.copy()
    maps = {"origin": ORIGINS, "next_rule": DUE_RULES, "due_state": DUE_STATES, "outcome": OUTCOME_LABELS}
    for col, m in maps.items():
        if col in out.columns:
            out[col] = out[col].map(lambda v, m=m: m.get(v, v) if isinstance(v, str) else None)
    if "conflict" in out.columns:
        out["conflict"] = out["conflict"].map(lambda v: "待处理" if bool(v) else "")
    if "urgent" in out.columns:
        out["urgent"] = out["urgent"].map(lambda v: "是" if bool(v) else "否")
    for col in out.columns:
        kind = out[col].dtype.kind
        if kind == "M" or col in ("next_due",):
            fmt = "%Y-%m-%d" if col == "next_due" else "%Y-%m-%d %H:%M"
            out[col] = pd.to_datetime(out[col]).map(lambda v, fmt=fmt: "—" if pd.isna(v) else v.strftime(fmt))
        elif kind == "O" or str(out[col].dtype) in ("str", "string"):
            out[col] = out[col].map(lambda v: "—" if v is None or (isinstance(v, float) and pd.isna(v)) or v == ""
                                    else v)
    return theme.labelled(out, theme.LEDGER_HEADERS)
