"""What citizens complain about most, and what is rising: the numbers of the 热点 page.

Every function takes the store and the one `Filters` value and returns a
small, SQL-aggregated DataFrame. Word counts are numbers of *tickets* that
contain a word (words are stored once per ticket by data/words.py). They are
read from the `word_daily` summary whenever the filters only touch dates,
districts, special projects and first-level categories, and from
`ticket_words` joined to `tickets` otherwise (text, street, channel, appeal
type, function or deeper category filters).

Emerging topics compare the current period with a baseline using an exact
conditional test of two Poisson rates: given the total tickets of each period
(under the same filters), a word's count in the current period X, out of its
count in both periods m, is Binomial(m, p0) under "no change in its share",
with p0 = N_now / (N_now + N_base). The one-sided p-value P(X >= x) is
controlled for the many words tested with Benjamini-Hochberg (q-values), only
words with at least `min_count` tickets now are tested, and the effect size is
the rate ratio with an exact (Clopper-Pearson) 95% interval. A word going from
1 to 3 tickets gets p ≈ 0.3: not significant, so it cannot top the list.
Repeated complaints make tickets clustered, not independent: an
overdispersion factor is estimated from all tested words and, when above 1,
the p-value is the larger of the exact and the quasi-binomial one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from analytics import privacy
from analytics.filters import Filters, Where
from analytics.overview import data_range
from analytics.query import volume_from
from data.word_tables import SUMMARY_GRAINS, has_summaries

GRAINS = {"day": "day", "week": "week", "month": "month"}
KINDS = ("word", "phrase", "category")
BASELINES = ("previous", "year")
UNCATEGORISED = "（未分类）"
CATEGORY_COLS = ("category_l1", "category_l2", "category_l3")
TEST_NAME = ("精确条件二项检验（两期泊松率之比，按各期工单总量校正；重复投诉造成过度离散时改用更保守的准二项检验），"
             "Benjamini-Hochberg 法控制错误发现率")


# --------------------------------------------------------------------------- sources
def words_from_summary(f: Filters) -> bool:
    """True when `word_daily` can answer word counts for these filters."""
    return (not f.text and not f.functions and not f.streets and not f.channels and not f.appeal_types
            and all("/" not in c.strip("/") for c in f.categories))


@dataclass(frozen=True)
class _WordSource:
    """FROM clause, WHERE clause and count expression of word counts under some filters."""

    from_sql: str
    where: Where
    count: str
    day: str


def _word_source(f: Filters, *, dates: bool = True, prefix: str = "f",
                 ranges: list[tuple[date | None, date | None]] | None = None, grain: str | None = "month",
                 con: duckdb.DuckDBPyConnection | None = None) -> _WordSource:
    """Where word counts come from for these filters: (FROM, WHERE, count expression, day expression).

    Summary path: the smallest monthly (grain "month") or weekly ("week") word table with the filters'
    columns for the whole months/weeks inside `ranges` (default: the filters' dates), plus `word_daily` for
    the days of partial periods (and for everything when `grain` is None). Monthly/weekly rows carry
    their period's first day as `day`, which lies inside any range that contains the whole period, so
    callers may still test `day` against those ranges. Other filters: ticket_words joined to tickets.
    """
    if words_from_summary(f):
        if ranges is None:
            ranges = [(f.date_from, f.date_to)] if dates else [(None, None)]
        table = _word_summary_table(f, grain) if grain and (con is None or _has_monthly(con)) else None
        months: list[tuple[date | None, date | None]] = []
        days: list[tuple[date | None, date | None]] = []
        for lo, hi in ranges:
            if table is None:
                days.append((lo, hi))
                continue
            full, edges = _period_split(lo, hi, grain)
            if full is not None:
                months.append(full)
            days.extend(edges)
        fw = f.where("s", prefix=prefix, dates=False)
        params = dict(fw.params)

        def between(col: str, spans, tag: str) -> str:
            ors = []
            for i, (lo, hi) in enumerate(spans):
                conds = []
                if lo is not None:
                    params[f"{prefix}_{tag}{i}a"] = lo
                    conds.append(f"s.{col} >= ${prefix}_{tag}{i}a")
                if hi is not None:
                    params[f"{prefix}_{tag}{i}b"] = hi
                    conds.append(f"s.{col} <= ${prefix}_{tag}{i}b")
                ors.append("(" + (" AND ".join(conds) or "TRUE") + ")")
            return "(" + " OR ".join(ors) + ")"

        parts = []
        if months:
            parts.append(f"SELECT s.{grain} AS day, s.word, s.n FROM {table} s "
                         f"WHERE {fw.sql} AND {between(grain, months, 'm')}")
        if days:
            parts.append(f"SELECT s.day, s.word, s.n FROM word_daily s WHERE {fw.sql} AND {between('day', days, 'd')}")
        return _WordSource("(" + " UNION ALL ".join(parts) + ") w", Where("TRUE", params), "sum(w.n)", "w.day")
    wh = f.where("t", prefix=prefix, dates=dates)
    sql, params = wh.sql, dict(wh.params)
    if dates:
        # Let the scan of ticket_words skip blocks by day too.
        if f.date_from:
            params[f"{prefix}_wd0"] = f.date_from
            sql += f" AND w.day >= ${prefix}_wd0"
        if f.date_to:
            params[f"{prefix}_wd1"] = f.date_to
            sql += f" AND w.day <= ${prefix}_wd1"
    return _WordSource("ticket_words w JOIN tickets t USING (ticket_id)", Where(sql, params), "count(*)", "w.day")


_FILTER_COLUMNS = (("districts", "district"), ("topics", "topic"), ("categories", "category_l1"))


def _word_summary_table(f: Filters, grain: str = "month") -> str:
    """The smallest monthly/weekly word summary with every column these (summary-eligible) filters use."""
    need = {col for attr, col in _FILTER_COLUMNS if getattr(f, attr)}
    for table, dims in SUMMARY_GRAINS[grain]:
        if need <= set(dims):
            return table
    raise AssertionError("word_monthly has every filter column")  # pragma: no cover


def _has_monthly(con: duckdb.DuckDBPyConnection) -> bool:
    """Does the store have the monthly word summaries? (stores built before them use word_daily only)"""
    return has_summaries(con)


def _period_split(lo: date | None, hi: date | None, grain: str) -> tuple[tuple[date | None, date | None] | None,
                                                                         list[tuple[date, date]]]:
    """The whole months/weeks inside [lo, hi] (as their first days; None = open end) and the days outside them.

    Weeks start on Monday (DuckDB's date_trunc('week')).
    """
    if grain == "month":
        m0 = lo if lo is None or lo.day == 1 else (lo.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = hi if hi is None or (hi + timedelta(days=1)).day == 1 else hi.replace(day=1) - timedelta(days=1)
    elif grain == "week":
        m0 = lo if lo is None else lo + timedelta(days=(7 - lo.weekday()) % 7)
        end = hi if hi is None else hi - timedelta(days=(hi.weekday() + 1) % 7)
    else:
        raise ValueError(f"grain must be month or week, got {grain!r}")
    if m0 is not None and end is not None and m0 > end:
        return None, [(lo, hi)]
    edges = []
    if lo is not None and m0 > lo:
        edges.append((lo, m0 - timedelta(days=1)))
    if hi is not None and end < hi:
        edges.append((end + timedelta(days=1), hi))
    return (m0, _period_start(end, grain) if end is not None else None), edges


def _period_start(d: date, grain: str) -> date:
    return d.replace(day=1) if grain == "month" else d - timedelta(days=d.weekday())


def _kind_sql(kind: str) -> str:
    if kind == "word":
        return "NOT contains(w.word, ' ')"
    if kind == "phrase":
        return "contains(w.word, ' ')"
    raise ValueError(f"kind must be word or phrase, got {kind!r}")


WORDS_READY_SQL = """
SELECT (SELECT count(*) FROM information_schema.tables WHERE table_name = 'word_daily')
     + (SELECT count(*) FROM information_schema.columns WHERE table_name = 'ticket_words' AND column_name = 'day')
"""


def words_problem(con: duckdb.DuckDBPyConnection) -> str | None:
    """A Chinese message when the store has no word tables yet (made before data/words.py), else None."""
    (n,) = con.execute(WORDS_READY_SQL).fetchone()
    if n < 2:
        return "该数据库尚未生成词表（由较早版本导入）。请运行 `python manage.py words` 生成后刷新页面。"
    return None


def total_tickets(con: duckdb.DuckDBPyConnection, f: Filters) -> int:
    """Tickets matching the filters."""
    src, wh, _ = volume_from(f)
    count = "count(*)" if src.startswith("tickets ") else "sum(d.n)"
    sql = f"SELECT coalesce({count}, 0) FROM {src} WHERE {wh.sql}"
    return int(con.execute(sql, wh.params).fetchone()[0])


# --------------------------------------------------------------------------- categories
CATEGORY_TREE_SQL = """
WITH base AS (
    SELECT coalesce(category_l1, '{u}') AS l1, coalesce(category_l2, '{u}') AS l2,
           coalesce(category_l3, '{u}') AS l3, {count} AS n
    FROM {src} WHERE {where}
    GROUP BY ALL
)
SELECT 1 AS level, l1 AS id, '' AS parent, l1 AS label, sum(n) AS n FROM base GROUP BY l1
UNION ALL
SELECT 2, l1 || '/' || l2, l1, l2, sum(n) FROM base GROUP BY l1, l2
UNION ALL
SELECT 3, l1 || '/' || l2 || '/' || l3, l1 || '/' || l2, l3, sum(n) FROM base GROUP BY l1, l2, l3
ORDER BY level, n DESC, id
"""


def category_tree(con: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Ticket counts at the three category levels: level, id (path), parent (path), label, n, share.

    `share` is the node's share of all matching tickets. Missing levels show as （未分类）.
    """
    src, wh, _ = volume_from(f, group_cols=CATEGORY_COLS)
    count = "count(*)" if src.startswith("tickets ") else "sum(d.n)"
    sql = CATEGORY_TREE_SQL.format(u=UNCATEGORISED, count=count, src=src, where=wh.sql)
    df = con.execute(sql, wh.params).fetchdf()
    df["n"] = df["n"].astype("int64")
    total = int(df.loc[df["level"] == 1, "n"].sum()) if len(df) else 0
    df["share"] = df["n"] / total if total else 0.0
    return df


def trim_tree(tree: pd.DataFrame, depth: int) -> pd.DataFrame:
    """`category_tree` down to `depth` levels: the data's own depth, so a one-level export shows no
    （未分类） children under every category (analytics/coverage.py)."""
    return tree.loc[tree["level"] <= max(1, depth)].reset_index(drop=True)


# --------------------------------------------------------------------------- words
def top_categories(tree: pd.DataFrame, max_level: int = 2) -> list[str]:
    """Ids ("一级/二级") of the categories of `category_tree` down to `max_level`, largest first."""
    return tree.loc[tree["level"] <= max_level].sort_values("n", ascending=False)["id"].tolist()


TOP_WORDS_SQL = """
SELECT w.word AS word, {count} AS n
FROM {src}
WHERE {where} AND {kind}
GROUP BY w.word
ORDER BY n DESC, word
LIMIT $lim
"""


def top_words(con: duckdb.DuckDBPyConnection, f: Filters, *, kind: str = "word", limit: int = 30) -> pd.DataFrame:
    """The most frequent words (or phrases): word, n (tickets containing it), share (of all matching tickets)."""
    if limit < 1:
        raise ValueError("limit must be positive")
    s = _word_source(f, con=con)
    sql = TOP_WORDS_SQL.format(count=s.count, src=s.from_sql, where=s.where.sql, kind=_kind_sql(kind))
    df = con.execute(sql, {**s.where.params, "lim": limit}).fetchdf()
    df["n"] = df["n"].astype("int64")
    total = total_tickets(con, f)
    df["share"] = df["n"] / total if total else 0.0
    df.attrs["total_tickets"] = total
    return df


# --------------------------------------------------------------------------- trends
WORD_TREND_SQL = """
WITH periods AS (
    SELECT DISTINCT date_trunc('{grain}', d)::DATE AS period
    FROM range($d0::TIMESTAMP, $d1::TIMESTAMP + INTERVAL 1 DAY, INTERVAL 1 DAY) r(d)
),
keys AS (SELECT unnest($keys::VARCHAR[]) AS key),
counts AS (
    SELECT date_trunc('{grain}', {day})::DATE AS period, w.word AS key, {count} AS n
    FROM {src}
    WHERE {where} AND w.word IN ({word_params})
    GROUP BY ALL
)
SELECT p.period, k.key, coalesce(c.n, 0) AS n
FROM periods p CROSS JOIN keys k LEFT JOIN counts c USING (period, key)
ORDER BY p.period, k.key
"""
CATEGORY_TREND_SQL = """
WITH periods AS (
    SELECT DISTINCT date_trunc('{grain}', d)::DATE AS period
    FROM range($d0::TIMESTAMP, $d1::TIMESTAMP + INTERVAL 1 DAY, INTERVAL 1 DAY) r(d)
),
keys AS (SELECT unnest($keys::VARCHAR[]) AS key),
counts AS (
    SELECT date_trunc('{grain}', {day})::DATE AS period, k.key, {count} AS n
    FROM {src} JOIN keys k ON {match}
    WHERE {where}
    GROUP BY ALL
)
SELECT p.period, k.key, coalesce(c.n, 0) AS n
FROM periods p CROSS JOIN keys k LEFT JOIN counts c USING (period, key)
ORDER BY p.period, k.key
"""


def _span(con: duckdb.DuckDBPyConnection, f: Filters) -> tuple[date, date] | None:
    """The filters' dates, with open ends taken from the data."""
    if f.date_from and f.date_to:
        return f.date_from, f.date_to
    lo, hi = data_range(con)
    if lo is None:
        return None
    return f.date_from or lo, f.date_to or hi


def word_trend(con: duckdb.DuckDBPyConnection, f: Filters, words: list[str] | tuple[str, ...], *,
               grain: str = "week") -> pd.DataFrame:
    """Tickets containing each word per week/month/day: period, key (the word), n; zero-filled."""
    grain = _grain(grain)
    keys = [w for w in dict.fromkeys(words) if w]
    span = _span(con, f)
    if not keys or span is None:
        return pd.DataFrame({"period": pd.Series(dtype="datetime64[us]"), "key": pd.Series(dtype=str),
                             "n": pd.Series(dtype="int64")})
    s = _word_source(f, con=con, grain=grain if grain in SUMMARY_GRAINS else None)
    # Words as a plain IN list of bound parameters: pushed down as a filter, unlike a semi-join.
    word_params = {f"k{i}": w for i, w in enumerate(keys)}
    sql = WORD_TREND_SQL.format(grain=grain, day=s.day, count=s.count, src=s.from_sql, where=s.where.sql,
                                word_params=", ".join(f"${k}" for k in word_params))
    df = con.execute(sql, {**s.where.params, **word_params, "d0": span[0], "d1": span[1], "keys": keys}).fetchdf()
    df["n"] = df["n"].astype("int64")
    return df


def category_trend(con: duckdb.DuckDBPyConnection, f: Filters, paths: list[str] | tuple[str, ...], *,
                   grain: str = "week") -> pd.DataFrame:
    """Tickets per week/month/day of each category path ("l1", "l1/l2" or "l1/l2/l3"): period, key, n."""
    grain = _grain(grain)
    keys = [p.strip("/") for p in dict.fromkeys(paths) if p and p.strip("/")]
    span = _span(con, f)
    if not keys or span is None:
        return pd.DataFrame({"period": pd.Series(dtype="datetime64[us]"), "key": pd.Series(dtype=str),
                             "n": pd.Series(dtype="int64")})
    src, wh, day = volume_from(f, group_cols=CATEGORY_COLS)
    a = src.split()[-1]
    count = "count(*)" if src.startswith("tickets ") else "sum(d.n)"
    # A path matches its own level: compare the row's path cut to the key's depth.
    path_at = (f"CASE len(string_split(k.key, '/')) WHEN 1 THEN {a}.category_l1 "
               f"WHEN 2 THEN {a}.category_l1 || '/' || {a}.category_l2 "
               f"ELSE {a}.category_l1 || '/' || {a}.category_l2 || '/' || {a}.category_l3 END")
    sql = CATEGORY_TREND_SQL.format(grain=grain, day=day, count=count, src=src, where=wh.sql,
                                    match=f"{path_at} = k.key")
    df = con.execute(sql, {**wh.params, "d0": span[0], "d1": span[1], "keys": keys}).fetchdf()
    df["n"] = df["n"].astype("int64")
    return df


def _grain(grain: str) -> str:
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {tuple(GRAINS)}, got {grain!r}")
    return GRAINS[grain]


# --------------------------------------------------------------------------- emerging
@dataclass(frozen=True)
class Windows:
    """The current period and its baseline (one or more date ranges, inclusive)."""

    current: tuple[date, date]
    baseline: tuple[tuple[date, date], ...]

    def describe(self) -> str:
        base = "、".join(f"{a} 至 {b}" for a, b in self.baseline)
        return f"本期 {self.current[0]} 至 {self.current[1]}；基线 {base}"


def windows(f: Filters, *, baseline: str = "previous", periods: int = 3) -> Windows:
    """The comparison windows for the filters' date range.

    baseline="previous": the `periods` windows of equal length just before
    (one contiguous range); "year": the same dates a year earlier.
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}")
    if not (f.date_from and f.date_to):
        raise ValueError("新兴热点需要明确的起止日期")
    if baseline == "previous":
        if periods < 1:
            raise ValueError("periods must be >= 1")
        n = f.span_days()
        start = f.date_from - timedelta(days=n * periods)
        return Windows((f.date_from, f.date_to), ((start, f.date_from - timedelta(days=1)),))
    ya = f.year_ago()
    return Windows((f.date_from, f.date_to), ((ya.date_from, ya.date_to),))


EMERGING_WORDS_SQL = """
SELECT w.word AS key,
       {count} FILTER (WHERE {day} BETWEEN $c0 AND $c1) AS x,
       coalesce({count} FILTER (WHERE {day} BETWEEN $b0 AND $b1), 0) AS y
FROM {src}
WHERE {where} AND {kind} AND ({day} BETWEEN $c0 AND $c1 OR {day} BETWEEN $b0 AND $b1)
GROUP BY w.word
HAVING x >= $min_count
"""
EMERGING_CATEGORIES_SQL = """
SELECT coalesce({a}.category_l1, '{u}') || '/' || coalesce({a}.category_l2, '{u}') || '/'
       || coalesce({a}.category_l3, '{u}') AS key,
       {count} FILTER (WHERE {day} BETWEEN $c0 AND $c1) AS x,
       coalesce({count} FILTER (WHERE {day} BETWEEN $b0 AND $b1), 0) AS y
FROM {src}
WHERE {where} AND ({day} BETWEEN $c0 AND $c1 OR {day} BETWEEN $b0 AND $b1)
GROUP BY ALL
HAVING x >= $min_count
"""
VOLUME_TWO_WINDOWS_SQL = """
SELECT coalesce({count} FILTER (WHERE {day} BETWEEN $c0 AND $c1), 0) AS n_now,
       coalesce({count} FILTER (WHERE {day} BETWEEN $b0 AND $b1), 0) AS n_base
FROM {src}
WHERE {where} AND ({day} BETWEEN $c0 AND $c1 OR {day} BETWEEN $b0 AND $b1)
"""

EMERGING_COLUMNS = ["key", "x", "y", "expected", "rate_now", "rate_base", "ratio", "ci_low", "ci_high", "p", "q",
                    "significant", "new"]


def emerging(con: duckdb.DuckDBPyConnection, f: Filters, *, kind: str = "word", baseline: str = "previous",
             periods: int = 3, min_count: int = 5, alpha: float = 0.05,
             overdispersion: bool = True) -> pd.DataFrame:
    """Words, phrases or level-3 categories whose share of tickets rose significantly against a baseline.

    Columns: key, x (tickets now), y (tickets in the baseline), expected (tickets
    expected now from the baseline share and this period's volume), rate_now and
    rate_base (per 10,000 tickets of each period), ratio (rate ratio), ci_low
    and ci_high (95% exact interval of the ratio), p (one-sided), q
    (Benjamini-Hochberg), significant (q < alpha and ratio > 1), new (y == 0).
    Sorted: significant first, then by p-value (strongest evidence first). `attrs`
    holds n_now, n_base, windows, tested (how many keys were tested),
    test (the test's name), message (why nothing can be tested, or ""),
    baseline_partial (the baseline starts before the first day with data),
    first_day and dispersion (phi used; 1 = none, see dispersion()).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if min_count < 1:
        raise ValueError("min_count must be >= 1")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    win = windows(f, baseline=baseline, periods=periods)
    (b0, b1), = win.baseline
    (c0, c1) = win.current
    bounds = {"c0": c0, "c1": c1, "b0": b0, "b1": b1}

    # Both windows lie inside b0..c1: filtering on that span lets every scan skip blocks by date.
    span_f = f.replace(date_from=b0, date_to=c1)
    vsrc, vwh, vday = volume_from(span_f)
    vcount = "count(*)" if vsrc.startswith("tickets ") else "sum(d.n)"
    sql = VOLUME_TWO_WINDOWS_SQL.format(count=vcount, day=vday, src=vsrc, where=vwh.sql)
    n_now, n_base = (int(v) for v in con.execute(sql, {**vwh.params, **bounds}).fetchone())

    first_day, _ = data_range(con)
    meta = {"n_now": n_now, "n_base": n_base, "windows": win, "tested": 0, "test": TEST_NAME, "message": "",
            "dispersion": 1.0,
            "baseline_partial": first_day is not None and b0 < first_day, "first_day": first_day}
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in EMERGING_COLUMNS})
    if n_now == 0:
        meta["message"] = "本期没有符合条件的工单，无法比较。"
    elif n_base == 0:
        meta["message"] = "基线期没有符合条件的工单（可能早于数据起始日期），无法比较；请缩短比较窗口或改用其他基线。"
    if meta["message"]:
        empty.attrs.update(meta)
        return empty

    if kind == "category":
        src, wh, day = volume_from(span_f, prefix="e", group_cols=CATEGORY_COLS)
        a = src.split()[-1]
        count = "count(*)" if src.startswith("tickets ") else "sum(d.n)"
        sql = EMERGING_CATEGORIES_SQL.format(a=a, u=UNCATEGORISED, count=count, day=day, src=src, where=wh.sql)
        params = wh.params
    else:
        s = _word_source(span_f, prefix="e", ranges=[(b0, b1), (c0, c1)], con=con)
        sql = EMERGING_WORDS_SQL.format(count=s.count, day=s.day, src=s.from_sql, where=s.where.sql,
                                        kind=_kind_sql(kind))
        params = s.where.params
    counts = con.execute(sql, {**params, **bounds, "min_count": min_count}).fetchdf()
    meta["tested"] = len(counts)
    if counts.empty:
        meta["message"] = f"本期没有出现次数达到 {min_count} 的{'分类' if kind == 'category' else '词语'}，无可检验项。"
        empty.attrs.update(meta)
        return empty
    phi = dispersion(counts["x"].to_numpy(), counts["y"].to_numpy(), n_now, n_base) if overdispersion else 1.0
    meta["dispersion"] = phi
    out = rate_ratio_test(counts["key"].tolist(), counts["x"].to_numpy(), counts["y"].to_numpy(),
                          n_now, n_base, alpha=alpha, phi=phi)
    out.attrs.update(meta)
    return out


def significant_count(em: pd.DataFrame) -> int:
    """How many items of `emerging` rose significantly."""
    return int(em["significant"].sum()) if len(em) else 0


def dispersion(x, y, n_now: int, n_base: int) -> float:
    """Overdispersion of word counts between the periods (>= 1), estimated robustly from all tested words.

    The exact test assumes tickets are independent; repeated complaints about
    one matter (the same caller or place several times) make counts vary more.
    phi = median of squared Pearson residuals / 0.455 (the median of chi2(1)),
    so the few truly emerging words do not inflate it; at least 10 words are
    needed, else 1.
    """
    x = np.asarray(x, dtype="float64")
    m = x + np.asarray(y, dtype="float64")
    if len(x) < 10:
        return 1.0
    p0 = n_now / (n_now + n_base)
    r2 = (x - m * p0) ** 2 / (m * p0 * (1 - p0))
    return float(max(1.0, np.median(r2) / stats.chi2.ppf(0.5, 1)))


def rate_ratio_test(keys, x, y, n_now: int, n_base: int, *, alpha: float = 0.05, phi: float = 1.0) -> pd.DataFrame:
    """The exact conditional test of emerging(), on arrays of counts (see the module docstring).

    With `phi` > 1 (overdispersion, see dispersion()) the p-value is the larger
    of the exact one and a quasi-binomial one (Pearson residual / sqrt(phi)).
    """
    x = np.asarray(x, dtype="int64")
    y = np.asarray(y, dtype="int64")
    m = x + y
    p0 = n_now / (n_now + n_base)
    p = stats.binom.sf(x - 1, m, p0)                       # P(X >= x | m)
    if phi > 1:
        z = (x - m * p0) / np.sqrt(m * p0 * (1 - p0) * phi)
        p = np.maximum(p, stats.norm.sf(z))
    q = stats.false_discovery_control(p, method="bh")
    odds = n_base / n_now
    lo_p = stats.beta.ppf(0.025, x, m - x + 1)           # Clopper-Pearson on X/m
    hi_p = np.where(y > 0, stats.beta.ppf(0.975, x + 1, np.maximum(m - x, 1)), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(y > 0, (x / n_now) / (y / n_base), np.inf)
        ci_low = lo_p / (1 - lo_p) * odds
        ci_high = np.where(hi_p < 1, hi_p / (1 - hi_p) * odds, np.inf)
    out = pd.DataFrame({
        "key": list(keys), "x": x, "y": y, "expected": m * p0,
        "rate_now": x / n_now * 10_000, "rate_base": y / n_base * 10_000,
        "ratio": ratio, "ci_low": ci_low, "ci_high": ci_high, "p": p, "q": q,
    })
    out["significant"] = (out["q"] < alpha) & (out["x"] / n_now > out["y"] / n_base)
    out["new"] = out["y"] == 0
    # Strongest evidence first (a confident rise on many tickets before a small new word).
    return out.sort_values(["significant", "p", "x", "key"], ascending=[False, True, False, True],
                           ignore_index=True)


# --------------------------------------------------------------------------- example tickets
EXAMPLES_SQL = """
WITH latest AS (
    SELECT t.ticket_id, t.received_at
    FROM tickets t
    WHERE {where}
      AND t.ticket_id IN (SELECT ticket_id FROM ticket_words w WHERE w.word = $word {wdays})
    ORDER BY t.received_at DESC, t.ticket_id
    LIMIT $lim
)
SELECT t.ticket_id, t.received_at, t.district, t.street, t.category_l1, t.category_l2, t.category_l3,
       t.topic, t.content, t.complainant_name
FROM tickets t JOIN latest l USING (ticket_id)
WHERE {where} AND t.received_at = l.received_at
ORDER BY t.received_at DESC, t.ticket_id
"""


RECENT_WINDOWS = (3, 31)  # days tried first, latest first


def _examples(con: duckdb.DuckDBPyConnection, f: Filters, word: str, limit: int) -> pd.DataFrame:
    wh = f.where("t", prefix="f")
    params = {**wh.params, "word": word, "lim": limit}
    wdays = ""
    if f.date_from:
        params["wd0"] = f.date_from
        wdays += " AND w.day >= $wd0"
    if f.date_to:
        params["wd1"] = f.date_to
        wdays += " AND w.day <= $wd1"
    sql = EXAMPLES_SQL.format(where=wh.sql, wdays=wdays)
    return con.execute(sql, params).fetchdf()


def example_tickets(con: duckdb.DuckDBPyConnection, f: Filters, word: str, *, limit: int = 10,
                    mask: bool | None = None) -> pd.DataFrame:
    """The latest tickets containing `word` under the filters, personal data masked.

    `attrs["total"]` says how many tickets contain the word in all.
    """
    df = None
    span = f.span_days()
    end = f.date_to or data_range(con)[1]
    for days in RECENT_WINDOWS:
        # The latest tickets are usually in the last days: try those first (far less to join). When the
        # window holds `limit` of them, they are the latest of the whole range.
        if end is None or (span is not None and span <= days):
            break
        start = end - timedelta(days=days - 1)
        recent = f.replace(date_from=max(start, f.date_from) if f.date_from else start, date_to=end)
        df = _examples(con, recent, word, limit)
        if len(df) >= limit:
            break
        df = None
    if df is None:
        df = _examples(con, f, word, limit)
    s = _word_source(f, con=con)
    count_sql = f"SELECT coalesce({s.count}, 0) FROM {s.from_sql} WHERE {s.where.sql} AND w.word = $word"
    total = int(con.execute(count_sql, {**s.where.params, "word": word}).fetchone()[0])
    out = privacy.mask_frame(df, force=mask)
    out.attrs["total"] = total
    return out
