"""The overview's numbers for leadership: KPIs with comparisons, the three rates, trend, rankings, changes.

Every function takes the read-only connection and the one `Filters` value and
returns an aggregated DataFrame. Volume numbers come from the smallest daily
summary that can answer (`Filters.summary_table`), else from `tickets`; both paths give
the same answers (tests check it on the tiny store). Funnel counts (clues,
cases, rectified) follow the period rule of docs/dashboard.md: the period and
filters select tickets by `received_at`; clues are those linked to a selected
ticket (restricted to the chosen procuratorial functions, if any).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from analytics import periods as periods_mod
from analytics import query, theme
from analytics.filters import Filters, Where
from analytics.query import volume

GRAINS = {"day": "day", "week": "week", "month": "month"}
GRAIN_LABELS = theme.GRAIN_LABELS
CHANGE_DIMENSIONS = theme.CHANGE_DIMENSIONS   # the dimensions `changes(by=)` accepts, with their labels
# A level-3 category name is not unique across branches: key it by its full path.
# Street names repeat across districts (八里庄街道 in 朝阳 and 海淀): key a street as district/street.
_CHANGE_GROUPS = {"category_l3": ["category_l1", "category_l2", "category_l3"],
                  "category_l2": ["category_l1", "category_l2"], "street": ["district", "street"]}
KPI_LABELS = theme.KPI_LABELS
RATE_LABELS = theme.RATE_LABELS


def default_grain(f: Filters) -> str:
    """The trend's first grain for the period of `f`: days up to two months, weeks up to a year, else months
    (a default period widened to three months of sparse data is a comb of single days)."""
    n = f.span_days()
    return "day" if n is None or n <= 62 else "week" if n <= 366 else "month"


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """First and last day with tickets."""
    sql = "SELECT min(day), max(day) FROM ticket_daily_core"
    lo, hi = con.execute(sql).fetchone()
    return lo, hi


def previous_note(con: duckdb.DuckDBPyConnection, f: Filters) -> str | None:
    """Why the previous period cannot be compared with `f`'s (no data, or too few tickets), else None."""
    prev_f = f.previous_period()
    if prev_f is None:
        return "未选定起止日期，无法与上期比较"
    if not comparable(con, prev_f):
        return "无上期数据（所选时段之前没有工单）"
    return periods_mod.thin_note(_volume(con, prev_f, None)[0], "上期")


def comparable(con: duckdb.DuckDBPyConnection, other: Filters | None) -> bool:
    """True when the store holds data for (part of) a comparison period; False means 无同期数据."""
    if other is None or other.date_from is None or other.date_to is None:
        return False
    lo, _hi = data_range(con)
    return lo is not None and other.date_to >= lo


# ---------------------------------------------------------------- KPIs
FUNNEL_MATURITY_DAYS = 90   # clues, cases and rectifications of a ticket mostly follow within this many days


def funnel_still_open(f: Filters, last_day: date | None) -> bool:
    """True when the period ends within FUNNEL_MATURITY_DAYS of the store's last day.

    Clues, cases and rectifications of recent tickets are still to come (the
    counts are right-censored), so they look low against earlier periods; the
    page says so next to the KPIs instead of letting -99% read as a collapse.
    """
    end = f.date_to or last_day
    return last_day is not None and end is not None and (last_day - end).days < FUNNEL_MATURITY_DAYS
def _volume(con, f: Filters, summary: bool | None) -> tuple[int, int]:
    s = volume(f, summary=summary)
    sql = f"SELECT {s.m('n')}, {s.m('n_located')} FROM {s.table} WHERE {s.where.sql}"
    n, located = con.execute(sql, s.where.params).fetchone()
    return int(n or 0), int(located or 0)


FUNNEL_COUNTS_SQL = """
WITH sel AS (SELECT DISTINCT t.clue_id FROM {links} t WHERE {where}),
cl AS (
    SELECT c.clue_id FROM clues c JOIN sel USING (clue_id)
    WHERE {fn}
),
cs AS (SELECT k.case_id FROM cases k JOIN cl USING (clue_id))
SELECT (SELECT count(*) FROM cl),
       (SELECT count(*) FROM cs),
       (SELECT count(DISTINCT r.case_id) FROM rectifications r JOIN cs USING (case_id)
         WHERE r.rectified_at IS NOT NULL AND coalesce(r.result, '') <> '未整改')
"""


def function_clause(f: Filters, alias: str = "c", prefix: str = "fn") -> Where:
    """Restricts clues to the selected procuratorial functions (TRUE when none selected)."""
    if not f.functions:
        return Where("TRUE", {})
    params = {f"{prefix}{i}": v for i, v in enumerate(f.functions)}
    return Where(f"{alias}.function IN ({', '.join('$' + k for k in params)})", params)


# The same from the per-clue table (`funnel_clues`, data/links.py) when it is current: the selected links
# give clue numbers; one row per clue and case, with the case's first valid rectification.
FUNNEL_COUNTS_CLUES_SQL = f"""
SELECT count(*) FILTER (WHERE c.clue_row), count(c.case_id), count(c.rectified_at)
FROM {query.CLUES_TABLE} c
JOIN (SELECT DISTINCT t.clue_no FROM {query.LINKS_TABLE} t WHERE {{where}}) s USING (clue_no)
WHERE {{fn}}
"""


def funnel_totals(con, f: Filters) -> tuple[int, int, int]:
    """(clues, cases, rectified cases) behind the tickets selected by `f`."""
    w = f.where("t")
    fn = function_clause(f)
    if query.per_clue(con):
        sql = FUNNEL_COUNTS_CLUES_SQL.format(where=w.sql, fn=fn.sql)
    else:
        sql = FUNNEL_COUNTS_SQL.format(links=query.linked(con), where=w.sql, fn=fn.sql)
    clues, cases, rect = con.execute(sql, {**w.params, **fn.params}).fetchone()
    return int(clues), int(cases), int(rect)


# Funnel counts of several periods (same non-date filters) in one scan of the linked tickets
# (`funnel_tickets`, data/links.py: about 1% of the tickets, with their filter columns).
FUNNEL_PERIODS_SQL = """
WITH sel AS (
    SELECT t.clue_id, {flags} FROM {links} t
    WHERE {where} AND ({any_period})
),
link AS (
    SELECT sel.clue_id, {bool_ors}
    FROM sel JOIN clues c ON c.clue_id = sel.clue_id
    WHERE {fn} GROUP BY 1
),
cs AS (SELECT k.case_id, link.* EXCLUDE (clue_id) FROM cases k JOIN link USING (clue_id)),
done AS (
    SELECT DISTINCT case_id FROM rectifications
    WHERE rectified_at IS NOT NULL AND coalesce(result, '') <> '未整改'
)
SELECT {counts_link}, {counts_cs}, {counts_done}
FROM (SELECT 1) one,
     (SELECT {sums_link} FROM link) a,
     (SELECT {sums_cs} FROM cs) b,
     (SELECT {sums_done} FROM cs JOIN done USING (case_id)) d
"""


# The same from `funnel_clues`: each selected clue's period flags, then one pass over its rows.
FUNNEL_PERIODS_CLUES_SQL = f"""
WITH sel AS (
    SELECT t.clue_no, {{flags}} FROM {query.LINKS_TABLE} t
    WHERE {{where}} AND ({{any_period}})
),
link AS (SELECT clue_no, {{bool_ors}} FROM sel GROUP BY 1)
SELECT {{sums_link}}, {{sums_cs}}, {{sums_done}}
FROM {query.CLUES_TABLE} c JOIN link USING (clue_no)
WHERE {{fn}}
"""


def funnel_totals_periods(con, f: Filters, periods: list[Filters]) -> list[tuple[int, int, int]]:
    """(clues, cases, rectified) for each period's dates under `f`'s other filters, in one query."""
    if not periods:
        return []
    w = f.where("t", dates=False)
    fn = function_clause(f)
    params = {**w.params, **fn.params}
    conds = []
    for i, pf in enumerate(periods):
        params[f"pa{i}"], params[f"pb{i}"] = pf.date_from, pf.date_to
        conds.append(f"(t.received_at >= $pa{i}::TIMESTAMP AND t.received_at < ($pb{i}::DATE + INTERVAL 1 DAY))")
    idx = range(len(periods))
    parts = {"flags": ", ".join(f"{c} AS p{i}" for i, c in zip(idx, conds, strict=True)),
             "where": w.sql, "any_period": " OR ".join(conds), "fn": fn.sql,
             "bool_ors": ", ".join(f"bool_or(p{i}) AS p{i}" for i in idx)}
    if query.per_clue(con):
        sql = FUNNEL_PERIODS_CLUES_SQL.format(
            **parts,
            sums_link=", ".join(f"count(*) FILTER (WHERE c.clue_row AND p{i})" for i in idx),
            sums_cs=", ".join(f"count(c.case_id) FILTER (WHERE p{i})" for i in idx),
            sums_done=", ".join(f"count(c.rectified_at) FILTER (WHERE p{i})" for i in idx),
        )
    else:
        sql = FUNNEL_PERIODS_SQL.format(
            **parts, links=query.linked(con),
            sums_link=", ".join(f"count(*) FILTER (WHERE p{i}) AS l{i}" for i in idx),
            sums_cs=", ".join(f"count(*) FILTER (WHERE p{i}) AS c{i}" for i in idx),
            sums_done=", ".join(f"count(*) FILTER (WHERE p{i}) AS d{i}" for i in idx),
            counts_link=", ".join(f"l{i}" for i in idx), counts_cs=", ".join(f"c{i}" for i in idx),
            counts_done=", ".join(f"d{i}" for i in idx),
        )
    row = [int(x or 0) for x in con.execute(sql, params).fetchone()]
    n = len(periods)
    return [(row[i], row[n + i], row[2 * n + i]) for i in idx]


def _volumes(con, periods: list[Filters], summary: bool | None) -> list[tuple[int, int]]:
    """(tickets, located) of each period in ONE scan (the filters differ only in dates)."""
    f = periods[0]
    if not all(p.date_from and p.date_to for p in periods):
        out = []
        for pf in periods:
            s = volume(pf, summary=summary)
            sql = f"SELECT {s.m('n')}, {s.m('n_located')} FROM {s.table} WHERE {s.where.sql}"
            n, loc = con.execute(sql, s.where.params).fetchone()
            out.append((int(n or 0), int(loc or 0)))
        return out
    s = volume(f, dates=False, summary=summary)
    params = dict(s.where.params)
    conds, cols = [], []
    for i, pf in enumerate(periods):
        params[f"va{i}"], params[f"vb{i}"] = pf.date_from, pf.date_to
        cond = s.in_period(f"va{i}", f"vb{i}")
        conds.append(cond)
        cols += [s.count_if(cond), s.count_if(cond, "n_located")]
    sql = f"SELECT {', '.join(cols)} FROM {s.table} WHERE {s.where.sql} AND ({' OR '.join(conds)})"
    row = [int(x or 0) for x in con.execute(sql, params).fetchone()]
    return [(row[2 * i], row[2 * i + 1]) for i in range(len(periods))]


def _kpi_values_many(con, f: Filters, periods: list[Filters], summary: bool | None) -> list[dict[str, int]]:
    if all(p.date_from and p.date_to for p in periods):
        funnel = funnel_totals_periods(con, f, periods)
    else:  # an open-ended period (all dates): one plain query
        funnel = [funnel_totals(con, p) for p in periods]
    return [{"tickets": n, "located": loc, "clues": c, "cases": k, "rectified": r}
            for (n, loc), (c, k, r) in zip(_volumes(con, periods, summary), funnel, strict=True)]


def _pct(cur: int, base: int | None) -> float | None:
    if base is None or base == 0:
        return None
    return (cur - base) / base


def kpis(con: duckdb.DuckDBPyConnection, f: Filters, *, summary: bool | None = None) -> pd.DataFrame:
    """One row per KPI: value, previous period and year-ago values with % changes.

    `prev`/`yoy` are NA when the store has no data for that comparison period
    (the page says 无同期数据); the % changes are NA also when the base is 0.
    `prev_partial`/`yoy_partial` are True when the comparison period starts
    before the first day of data (only partly covered: the page says so).
    `prev_note`/`yoy_note` say why a comparison is not made when its period holds fewer tickets than
    HOTLINE_MIN_COMPARE_BASE (the % changes are then NA; analytics/periods.py).
    """
    prev_f, yoy_f = f.previous_period(), f.year_ago()
    lo, _hi = data_range(con)
    periods = [f] + [p for p in (prev_f, yoy_f) if comparable(con, p)]
    values = _kpi_values_many(con, f, periods, summary)
    cur = values[0]
    prev = values[1] if comparable(con, prev_f) else None
    yoy = values[-1] if comparable(con, yoy_f) else None
    # A comparison period with too few tickets is shown but not compared (periods.thin_note says why).
    prev_note = periods_mod.thin_note(prev["tickets"] if prev else None, "上期")
    yoy_note = periods_mod.thin_note(yoy["tickets"] if yoy else None, "去年同期")
    rows = []
    for key, lab in KPI_LABELS.items():
        p = prev[key] if prev else None
        y = yoy[key] if yoy else None
        rows.append({"key": key, "label": lab, "value": cur[key], "prev": p,
                     "prev_pct": None if prev_note else _pct(cur[key], p),
                     "yoy": y, "yoy_pct": None if yoy_note else _pct(cur[key], y),
                     "prev_partial": bool(prev and lo and prev_f.date_from < lo),
                     "yoy_partial": bool(yoy and lo and yoy_f.date_from < lo),
                     "prev_note": prev_note, "yoy_note": yoy_note})
    df = pd.DataFrame(rows)
    for col in ("prev", "yoy"):
        df[col] = df[col].astype("Int64")
    for col in ("prev_pct", "yoy_pct"):
        df[col] = df[col].astype("Float64")
    return df


# ---------------------------------------------------------------- rates
def kpi_value(kpis_df: pd.DataFrame, key: str) -> int:
    """One tile's value from `kpis` (e.g. "tickets"); 0 when the key is absent."""
    hit = kpis_df.loc[kpis_df["key"] == key, "value"]
    return int(hit.iloc[0]) if len(hit) else 0


def rates(con: duckdb.DuckDBPyConnection, f: Filters, *, summary: bool | None = None) -> pd.DataFrame:
    """The hotline's three rates (三率) with numerator and denominator.

    response = responded / all tickets; resolution = resolved (the return visit
    says solved) / closed tickets; satisfaction = (满意 + 基本满意) / rated.
    `rate` is NA when the denominator is 0.
    """
    s = volume(f, summary=summary)
    cols = ", ".join(s.m(k) for k in ("n", "n_responded", "n_closed", "n_resolved", "n_rated", "n_satisfied"))
    sql = f"SELECT {cols} FROM {s.table} WHERE {s.where.sql}"
    n, responded, closed, resolved, rated, satisfied = (
        int(x or 0) for x in con.execute(sql, s.where.params).fetchone())
    rows = [("response", responded, n), ("resolution", resolved, closed), ("satisfaction", satisfied, rated)]
    df = pd.DataFrame([{"key": k, "label": RATE_LABELS[k], "numerator": a, "denominator": b,
                        "rate": (a / b) if b else None} for k, a, b in rows])
    df["rate"] = df["rate"].astype("Float64")
    return df


# ---------------------------------------------------------------- trend
def trend(con: duckdb.DuckDBPyConnection, f: Filters, grain: str = "day", *,
          summary: bool | None = None) -> pd.DataFrame:
    """Tickets per day/week/month in the period, with the same buckets one year earlier.

    Columns: period (date of the bucket start), n, n_last_year (year-ago
    tickets shifted forward one year into this period's buckets; NA when the
    store has no year-ago data).
    """
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {tuple(GRAINS)}")
    g = GRAINS[grain]
    yoy_f = f.year_ago()
    has_last = comparable(con, yoy_f)
    if has_last:
        # One scan over both periods; last year's days are shifted forward one year into this period's buckets.
        s = volume(f, dates=False, summary=summary)
        in_cur, in_last = s.in_period("ca", "cb"), s.in_period("la", "lb")
        n_cur, n_last = s.count_if(in_cur), s.count_if(in_last)
        shifted = f"CASE WHEN {in_cur} THEN {s.day} ELSE CAST({s.day} + INTERVAL 1 YEAR AS DATE) END"
        sql = (f"SELECT CAST(date_trunc('{g}', {shifted}) AS DATE) AS period, "
               f"{n_cur} AS n, {n_last} AS n_last_year "
               f"FROM {s.table} WHERE {s.where.sql} AND ({in_cur} OR {in_last}) GROUP BY 1 ORDER BY 1")
        out = con.execute(sql, {**s.where.params, "ca": f.date_from, "cb": f.date_to,
                                "la": yoy_f.date_from, "lb": yoy_f.date_to}).fetchdf()
        out["n_last_year"] = out["n_last_year"].astype("Int64")
    else:
        s = volume(f, summary=summary)
        sql = (f"SELECT CAST(date_trunc('{g}', {s.day}) AS DATE) AS period, {s.m('n')} AS n "
               f"FROM {s.table} WHERE {s.where.sql} GROUP BY 1 ORDER BY 1")
        cur = con.execute(sql, s.where.params).fetchdf()
        out = cur.assign(n_last_year=pd.array([pd.NA] * len(cur), dtype="Int64"))
    out["period"] = pd.to_datetime(out["period"])
    out = _fill_buckets(out, f, grain, has_last)
    out["n"] = out["n"].astype("int64")
    return out[["period", "n", "n_last_year"]]


_FREQ = {"day": "D", "week": "W-MON", "month": "MS"}


def has_last_year(trend_df: pd.DataFrame) -> bool:
    """True when the trend from `trend` has any same-period-last-year value to draw."""
    return bool(trend_df["n_last_year"].notna().any())


def _fill_buckets(df: pd.DataFrame, f: Filters, grain: str, has_last: bool) -> pd.DataFrame:
    """Every bucket of the period, with 0 where nothing was received (a line must not skip quiet days)."""
    lo = pd.Timestamp(f.date_from) if f.date_from else (df["period"].min() if not df.empty else None)
    hi = pd.Timestamp(f.date_to) if f.date_to else (df["period"].max() if not df.empty else None)
    if lo is None or hi is None:
        return df
    if grain == "week":
        lo = lo - pd.Timedelta(days=lo.weekday())
    elif grain == "month":
        lo = lo.replace(day=1)
    full = pd.DataFrame({"period": pd.date_range(lo, hi, freq=_FREQ[grain])})
    out = full.merge(df, on="period", how="left")
    out["n"] = out["n"].fillna(0)
    if has_last:
        out["n_last_year"] = out["n_last_year"].fillna(0).astype("Int64")
    else:
        out["n_last_year"] = pd.array([pd.NA] * len(out), dtype="Int64")
    return out


# ---------------------------------------------------------------- rankings
def district_ranking(con: duckdb.DuckDBPyConnection, f: Filters, *, summary: bool | None = None) -> pd.DataFrame:
    """Tickets per district and per 10,000 residents (2020 census), most tickets first.

    Every district of the store's geography is listed (0 when it had none),
    unless the filters pick districts, then only those.
    """
    s = volume(f, summary=summary, needs=("district",))
    pick = "TRUE"
    params = dict(s.where.params)
    if f.districts:
        keys = [f"d{i}" for i in range(len(f.districts))]
        params.update(dict(zip(keys, f.districts, strict=True)))
        pick = f"d.district IN ({', '.join('$' + k for k in keys)})"
    sql = f"""
        WITH v AS (SELECT district, {s.m('n')} AS n FROM {s.table} WHERE {s.where.sql} GROUP BY 1)
        SELECT d.district, coalesce(v.n, 0) AS n, d.population,
               coalesce(v.n, 0) * 10000.0 / nullif(d.population, 0) AS per_10k
        FROM districts d LEFT JOIN v USING (district)
        WHERE {pick}
        ORDER BY n DESC, d.adcode
    """
    df = con.execute(sql, params).fetchdf()
    df["n"] = df["n"].astype("int64")
    return df


def top_values(con: duckdb.DuckDBPyConnection, f: Filters, by: str = "category_l3", limit: int = 10, *,
               summary: bool | None = None) -> pd.DataFrame:
    """The most frequent categories (l1/l2/l3, with their path) or special projects, with share of all tickets.

    Columns: key (the filter value: category path or topic), label, n, share.
    """
    if by not in ("category_l1", "category_l2", "category_l3", "topic"):
        raise ValueError("by must be category_l1/l2/l3 or topic")
    parts = ["topic"] if by == "topic" else [f"category_l{i}" for i in range(1, int(by[-1]) + 1)]
    s = volume(f, summary=summary, needs=tuple(parts))
    parts = ["topic"] if by == "topic" else [f"category_l{i}" for i in range(1, int(by[-1]) + 1)]
    # Group by the raw columns and build the path after aggregating (concatenating 1 M strings costs more).
    sql = f"""
        WITH v AS (SELECT {', '.join(parts)}, {s.m('n')} AS n FROM {s.table} WHERE {s.where.sql} GROUP BY ALL),
             w AS (SELECT *, sum(n) OVER () AS total FROM v)
        SELECT {" || '/' || ".join(parts)} AS key, {parts[-1]} AS label, n, n * 1.0 / nullif(total, 0) AS share
        FROM w WHERE {" AND ".join(f"{p} IS NOT NULL" for p in parts)}
        ORDER BY n DESC, key LIMIT $lim
    """
    df = con.execute(sql, {**s.where.params, "lim": int(limit)}).fetchdf()
    df["n"] = df["n"].astype("int64")
    return df


# ---------------------------------------------------------------- what changed
def changes(con: duckdb.DuckDBPyConnection, f: Filters, by: str = "category_l3", *, min_base: int = 5,
            summary: bool | None = None) -> pd.DataFrame:
    """Each value of `by` with this period's and the previous period's tickets, biggest change first.

    Only values with at least `min_base` tickets in one of the two periods are
    kept, so 1 -> 3 does not top the list. A category_l3 is keyed by its path
    "l1/l2/l3" (the filter value), a street by "district/street". `pct` is NA when the previous
    count is 0 (new). Empty when the filters have no closed period, no previous data, or a previous
    period thinner than HOTLINE_MIN_COMPARE_BASE (`previous_note` says which).
    """
    if by not in CHANGE_DIMENSIONS:
        raise ValueError(f"by must be one of {tuple(CHANGE_DIMENSIONS)}")
    prev_f = f.previous_period()
    cols = ["key", "current", "previous", "change", "pct"]
    if not comparable(con, prev_f) or previous_note(con, f):
        return pd.DataFrame(columns=cols)
    # One scan over both periods, grouped by the raw columns; the key is built after aggregating.
    group = _CHANGE_GROUPS.get(by, [by])
    s = volume(f, dates=False, summary=summary, needs=tuple(group))
    params = {**s.where.params, "ca": f.date_from, "cb": f.date_to, "pa": prev_f.date_from, "pb": prev_f.date_to,
              "min_base": int(min_base)}
    in_cur, in_prev = s.in_period("ca", "cb"), s.in_period("pa", "pb")
    cur_n, prev_n = s.count_if(in_cur), s.count_if(in_prev)
    sql = f"""
        WITH g AS (
            SELECT {', '.join(group)}, {cur_n} AS cur, {prev_n} AS prev
            FROM {s.table}
            WHERE {s.where.sql} AND ({in_cur} OR {in_prev}) AND {by} IS NOT NULL
            GROUP BY ALL
        )
        SELECT {" || '/' || ".join(group)} AS key, cur AS current, prev AS previous, cur - prev AS change,
               CASE WHEN prev > 0 THEN (cur - prev) * 1.0 / prev END AS pct
        FROM g WHERE greatest(cur, prev) >= $min_base
        ORDER BY change DESC, current DESC, key
    """
    df = con.execute(sql, params).fetchdf()
    for c in ("current", "previous", "change"):
        df[c] = df[c].astype("int64")
    df["pct"] = df["pct"].astype("Float64")
    return df[cols]


def risers_fallers(df: pd.DataFrame, k: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a `changes()` frame into the k biggest risers and the k biggest fallers."""
    up = df[df["change"] > 0].head(k).reset_index(drop=True)
    down = df[df["change"] < 0].sort_values(["change", "key"]).head(k).reset_index(drop=True)
    return up, down


# ---------------------------------------------------------------- inputs the data never had
def with_missing_inputs(df: pd.DataFrame, cov) -> pd.DataFrame:
    """`kpis` or `rates` with a `missing` note where the data never had the figure's inputs.

    Such a figure reads "—" with the note instead of 0 or 0.0% (analytics/coverage.py): a rate without its
    columns gets `rate` NA; the located-tickets KPI without coordinates and the funnel KPIs without any clue
    ledger get `value` NA.
    """
    out = df.copy()
    notes = []
    for key in out["key"]:
        note = cov.missing_note(key)
        if note is None and key in ("clues", "cases", "rectified") and cov.clues == 0 and cov.tickets:
            note = "尚未导入线索台账（线索、案件、整改），无法统计"
        notes.append(note)
    out["missing"] = pd.Series(notes, index=out.index, dtype=object)
    gone = out["missing"].notna()
    if "rate" in out:
        out["rate"] = out["rate"].astype("Float64").mask(gone)
    if "value" in out:
        out["value"] = out["value"].astype("Int64").mask(gone)
        for c in ("prev_pct", "yoy_pct"):
            out[c] = out[c].astype("Float64").mask(gone)
    return out


def unplaced(con: duckdb.DuckDBPyConnection, f: Filters) -> int:
    """Tickets of the selection without a district of the store's geography (not in the district ranking)."""
    s = volume(f, needs=("district",))
    sql = (f"SELECT {s.m('n')} FROM {s.table} WHERE {s.where.sql} "
           f"AND (district IS NULL OR district NOT IN (SELECT district FROM districts))")
    (n,) = con.execute(sql, s.where.params).fetchone()
    return int(n or 0)


def has_population(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the store's districts carry resident population (a region pack may have none)."""
    return bool(con.execute("SELECT count(population) > 0 FROM districts").fetchone()[0])
