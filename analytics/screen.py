"""The leadership wall screen's numbers (大屏): what one screen shows, read from across the room.

Nothing here computes a figure of its own: the headline figures are the overview's (`overview.kpis` and
`overview.rates` over the day, the month and the year to the store's last day with data), the map is the map
page's (`maps.area_values`), the hotspots are the map page's Gi* and repeat places (`hotspots.hotspot_table`),
the risers are the topics page's test (`topics.emerging`). So every number on the wall equals the number the
other pages show for the same scope and period, and a test checks it.

The screen's periods end on the store's last day with data (数据截至), not on the calendar's today: a store
imported up to yesterday shows yesterday as "当日", and says so, instead of a day with no tickets yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import pandas as pd

from analytics import coverage, hotspots, maps, overview, theme, topics
from analytics.filters import Filters
from data import scope

PERIODS = {"day": "当日", "month": "本月", "year": "本年"}
# The headline figures, in the order they are shown: counts from `overview.kpis`, rates from `overview.rates`.
COUNTS = ("tickets", "clues", "cases", "rectified")
RATES = ("response", "resolution", "satisfaction")
HEADLINE = ("tickets", "response", "resolution", "satisfaction", "clues", "cases", "rectified")
HEADLINE_LABELS = {**{k: theme.KPI_LABELS[k] for k in COUNTS}, **theme.RATE_LABELS}
HEADLINE_COLUMNS = ["period", "key", "label", "kind", "value", "last_year", "change", "numerator", "denominator",
                    "last_year_partial", "missing"]
TREND_MONTHS = 12          # the trend: this month and the 11 before it, by month, against a year earlier
HOTSPOTS_PER_FOCUS = 8     # hotspots marked on a project's map
HOTSPOTS_PER_PROJECT = 3   # ... and per project on the all-projects map
ROTATION_MAX = 8           # projects in the rotation when none are configured
RISERS = 6                 # fastest-rising words listed
HOTSPOT_COLUMNS = ["topic", "kind", "district", "street", "n", "repeat", "lon", "lat"]


# ---------------------------------------------------------------- periods
def as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    """The store's last day with tickets: the day the screen's periods end on (None: no data).

    The store's, not the scope's: an import covers the whole city up to that day, so a district with no ticket
    on it shows 当日 0 for that day instead of passing off an earlier day as today. (A date, read through the
    bookkeeping cursor; no figure of another district.)
    """
    return overview.data_range(scope.bookkeeping_cursor(con))[1]


def period_filters(day: date, base: Filters | None = None) -> dict[str, Filters]:
    """当日, 本月 (to `day`) and 本年 (to `day`) as Filters, with `base`'s other filters (e.g. a project)."""
    base = base or Filters()
    return {"day": base.replace(date_from=day, date_to=day),
            "month": base.replace(date_from=day.replace(day=1), date_to=day),
            "year": base.replace(date_from=day.replace(month=1, day=1), date_to=day)}


def trend_filters(day: date, base: Filters | None = None) -> Filters:
    """The trend's window: the first day of the month TREND_MONTHS - 1 months before `day`'s, to `day`."""
    first = (pd.Timestamp(day).to_period("M") - (TREND_MONTHS - 1)).to_timestamp().date()
    return (base or Filters()).replace(date_from=first, date_to=day)


def _end(con, f: Filters) -> date | None:
    return f.date_to or as_of(con)


# ---------------------------------------------------------------- headline figures
def headline(con: duckdb.DuckDBPyConnection, f: Filters, cov: coverage.Coverage | None = None) -> pd.DataFrame:
    """The headline figures for the day, month and year ending on `f.date_to` (else the last day with data),
    each against the same dates a year earlier, under `f`'s other filters.

    One row per period × figure (HEADLINE order): `value` and `last_year` (NA when the store has no data for
    the year-ago dates), `change` (counts: relative change, NA when last year is 0 or absent; rates: the
    difference in rate, percentage points as a fraction), `numerator`/`denominator` of rates,
    `last_year_partial` (the year-ago dates start before the first day of data), `missing` (why a figure
    reads "—": the data never had its inputs, `overview.with_missing_inputs` over `cov`, the store's
    `coverage.coverage`; None otherwise). Counts are the overview's `kpis`, rates its `rates`, both through
    `with_missing_inputs` as on the overview, for the same Filters: the figures equal the overview's.
    """
    day = _end(con, f)
    if day is None:
        return pd.DataFrame(columns=HEADLINE_COLUMNS)
    cov = cov if cov is not None else coverage.coverage(con)
    lo = overview.data_range(con)[0]
    rows = []
    for period, pf in period_filters(day, f).items():
        got = {}
        k = overview.with_missing_inputs(overview.kpis(con, pf), cov).set_index("key")
        for key in COUNTS:
            r = k.loc[key]
            got[key] = {"kind": "count", "value": r["value"], "last_year": r["yoy"], "change": r["yoy_pct"],
                        "numerator": None, "denominator": None, "last_year_partial": bool(r["yoy_partial"]),
                        "missing": _note(r["missing"])}
        now = overview.with_missing_inputs(overview.rates(con, pf), cov).set_index("key")
        ya = pf.year_ago()
        before = overview.rates(con, ya).set_index("key") if overview.comparable(con, ya) else None
        for key in RATES:
            v = _num(now.loc[key, "rate"])
            b = None if before is None else _num(before.loc[key, "rate"])
            got[key] = {"kind": "rate", "value": v, "last_year": b,
                        "change": None if v is None or b is None else v - b,
                        "numerator": int(now.loc[key, "numerator"]), "denominator": int(now.loc[key, "denominator"]),
                        "last_year_partial": bool(before is not None and lo and ya.date_from < lo),
                        "missing": _note(now.loc[key, "missing"])}
        rows += [{"period": period, "key": key, "label": HEADLINE_LABELS[key], **got[key]} for key in HEADLINE]
    df = pd.DataFrame(rows)
    for col in ("value", "last_year", "change"):
        df[col] = pd.array([_num(v) for v in df[col]], dtype="Float64")
    for col in ("numerator", "denominator"):
        df[col] = df[col].astype("Int64")
    df["missing"] = pd.Series([_note(v) for v in df["missing"]], index=df.index, dtype=object)
    return df[HEADLINE_COLUMNS]


def _note(v) -> str | None:
    return v if isinstance(v, str) and v else None


def _num(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def headline_value(df: pd.DataFrame, period: str, key: str) -> float | None:
    """One figure of `headline` (None when absent or NA)."""
    hit = df.loc[(df["period"] == period) & (df["key"] == key), "value"]
    return None if hit.empty or pd.isna(hit.iloc[0]) else float(hit.iloc[0])


# ---------------------------------------------------------------- the rotation
def projects(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = ROTATION_MAX) -> pd.DataFrame:
    """The special projects of `f`'s period, most tickets first, with the same dates a year earlier.

    Columns: topic, n, share (of all the period's tickets), last_year (NA: no year-ago data), change
    (relative, NA when last year is 0 or absent), bar (n ÷ the largest n, for drawing). From
    `overview.top_values(by="topic")`, so the counts equal the overview's 专项工单量.
    """
    cur = overview.top_values(con, f, by="topic", limit=limit)
    out = pd.DataFrame({"topic": cur["key"].astype(object), "n": cur["n"].astype("int64"),
                        "share": cur["share"].astype("Float64")})
    ya = f.year_ago()
    if ya is not None and overview.comparable(con, ya):
        before = overview.top_values(con, ya, by="topic", limit=1000)
        ly = out["topic"].map(dict(zip(before["key"], before["n"], strict=True))).fillna(0)
        out["last_year"] = ly.astype("Float64")
        out["change"] = ((out["n"] - ly) / ly.where(ly > 0)).astype("Float64")
    else:
        out["last_year"] = pd.array([pd.NA] * len(out), dtype="Float64")
        out["change"] = pd.array([pd.NA] * len(out), dtype="Float64")
    top = float(out["n"].max()) if len(out) else 0.0
    out["bar"] = (out["n"] / top) if top > 0 else 0.0
    return out


def rotation(con: duckdb.DuckDBPyConnection, f: Filters, configured: tuple[str, ...] = (),
             limit: int = ROTATION_MAX) -> list[str | None]:
    """What the screen rotates through: None (all tickets) first, then each project.

    The configured projects in their order when given (a project without tickets this period stays in: its
    frame says so), else the period's projects with tickets, most first, at most `limit`.
    """
    if configured:
        return [None, *dict.fromkeys(p for p in configured if p)]
    df = projects(con, f, limit=limit)
    return [None, *df.loc[df["n"] > 0, "topic"].tolist()]


# ---------------------------------------------------------------- one frame of the rotation
STREET_LEVEL_MAX_DISTRICTS = 2   # a scope of this many districts or fewer is mapped and ranked by street


@dataclass(frozen=True)
class Focus:
    """What the map, the trend and the ranking show for one frame: all tickets or one project."""

    topic: str | None
    level: str                  # "district", or "street" for a scope of one or two districts
    month: Filters              # the month to the last day, with the project
    areas: pd.DataFrame         # maps.area_values at `level` (n, per_10k, change ...)
    ranking: pd.DataFrame       # name, n, per_10k (NA for streets: their populations are estimates)
    trend: pd.DataFrame         # overview.trend by month over the last TREND_MONTHS months, with last year
    trend_window: Filters
    kpis: pd.DataFrame          # overview.kpis of the month (the project's own figures)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.topic or "全部工单"


def focus(con: duckdb.DuckDBPyConnection, f: Filters, topic: str | None = None,
          cov: coverage.Coverage | None = None) -> Focus:
    """The month of `f.date_to` (else the last day with data) for all tickets or one project: the map's areas
    (districts, or the streets of a one- or two-district scope), their ranking (`overview.district_ranking`
    for districts), the monthly trend with last year and the month's KPIs (`overview.kpis` through
    `with_missing_inputs`: clues, cases and rectified read "—" when the store has no clue ledger)."""
    day = _end(con, f)
    base = f.replace(topics=(topic,)) if topic else f
    if day is None:
        empty = pd.DataFrame()
        return Focus(topic, "district", base, empty, pd.DataFrame(columns=["name", "n", "per_10k"]), empty, base,
                     empty, ["数据库中还没有工单。"])
    month = period_filters(day, base)["month"]
    window = trend_filters(day, base)
    areas = maps.area_values(con, month, "district")
    if len(areas) <= STREET_LEVEL_MAX_DISTRICTS:
        level = "street"
        areas = maps.area_values(con, month, "street")
        ranking = pd.DataFrame({"name": areas["street"].astype(object), "n": areas["n"].astype("int64"),
                                "per_10k": pd.array([pd.NA] * len(areas), dtype="Float64")})
    else:
        level = "district"
        rk = overview.district_ranking(con, month)
        ranking = pd.DataFrame({"name": rk["district"].astype(object), "n": rk["n"].astype("int64"),
                                "per_10k": rk["per_10k"].astype("Float64")})
    ranking = ranking.sort_values(["n", "name"], ascending=[False, True]).reset_index(drop=True)
    return Focus(topic=topic, level=level, month=month, areas=areas, ranking=ranking,
                 trend=overview.trend(con, window, "month"), trend_window=window,
                 kpis=overview.with_missing_inputs(overview.kpis(con, month),
                                                   cov if cov is not None else coverage.coverage(con)))


def month_hotspots(con: duckdb.DuckDBPyConnection, f: Filters, topic: str | None = None,
                   top: int = HOTSPOTS_PER_FOCUS) -> pd.DataFrame:
    """The month's hotspots of one project (`f.date_to`'s month): the first `top` rows of the map page's
    ranked Gi* hotspots and repeat places (`hotspots.hotspot_table`). HOTSPOT_COLUMNS; `attrs["total"]`
    says how many rows the table had (the screen says when it shows fewer)."""
    day = _end(con, f)
    if day is None or not topic:
        out = pd.DataFrame(columns=HOTSPOT_COLUMNS)
        out.attrs["total"] = 0
        return out
    month = period_filters(day, f.replace(topics=(topic,)))["month"]
    table = hotspots.hotspot_table(con, month).table
    out = table.head(top).assign(topic=topic)[HOTSPOT_COLUMNS].reset_index(drop=True)
    out["n"] = out["n"].astype("int64")
    out["repeat"] = out["repeat"].astype(bool)
    out.attrs["total"] = len(table)
    return out


def combine_hotspots(frames: dict[str, pd.DataFrame], per_project: int = HOTSPOTS_PER_PROJECT) -> pd.DataFrame:
    """The all-projects map's marks: the first `per_project` hotspots of each project's `month_hotspots`."""
    parts = [df.head(per_project) for df in frames.values() if len(df)]
    if not parts:
        return pd.DataFrame(columns=HOTSPOT_COLUMNS)
    return pd.concat(parts, ignore_index=True)[HOTSPOT_COLUMNS]


# ---------------------------------------------------------------- what is rising
def risers(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = RISERS) -> pd.DataFrame:
    """The month's fastest-rising words with the topics page's significance test (`topics.emerging` with its
    defaults: the same-length periods before as the baseline, FDR q < 0.05), significant ones first.

    Columns: key, x (tickets this month), ratio, q, significant, new; `attrs` carries emerging's
    (message when nothing can be tested, n_now, n_base, windows, tested) plus `significant` (how many rose).
    """
    day = _end(con, f)
    if day is None:
        out = pd.DataFrame(columns=["key", "x", "ratio", "q", "significant", "new"])
        out.attrs.update(message="数据库中还没有工单。", significant=0)
        return out
    month = period_filters(day, f)["month"]
    em = topics.emerging(con, month)
    out = em.head(limit)[["key", "x", "ratio", "q", "significant", "new"]].reset_index(drop=True)
    out.attrs.update(em.attrs)
    out.attrs["significant"] = topics.significant_count(em)
    return out


# ---------------------------------------------------------------- the clue ledger
RESULTS_SHOWN = 2   # rectification results listed (the month's largest by cases; the screen says how many more)


def ledger_figures(con: duckdb.DuckDBPyConnection, day: date, today: date) -> dict | None:
    """The clue ledger on the wall: `analytics.ledger.ledger_summary` for `day`'s month (registered, filed,
    rectified, the month's rectification results summed by item) with the open clues overdue or due soon on
    `today` (the calendar's day, as on the overview's 线索已逾期), within the cursor's scope.

    None when the scope has no clue at all (neither imported nor registered in the app): then "0 overdue"
    would read as good news the data cannot give, and the screen says the ledger is not there instead.
    """
    from analytics import ledger

    if not ledger.has_clues(con):
        return None
    return ledger.ledger_summary(con, day, today)


# ---------------------------------------------------------------- freshness
def last_import(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the last successful import finished (None: none recorded, or not visible in this scope)."""
    (t,) = con.execute("SELECT max(finished_at) FROM imports WHERE status = 'ok'").fetchone()
    return t


# ---------------------------------------------------------------- map labels
_CJK = re.compile(r"[^\u3400-\u9fff]")


def map_label(district: str) -> str:
    """A district's short name for a map label, Chinese characters only (朝阳区 -> 朝阳).

    The offline map draws Chinese characters with the browser's own font; any other character would make
    the map library fetch a glyph file from its default server, which a closed network does not have.
    """
    name = _CJK.sub("", str(district or ""))
    return name[:-1] if len(name) > 2 and name.endswith(("区", "县")) else name
