"""The ticket list and one ticket's detail: paged and sorted in SQL, personal data masked.

The list never leaves the database whole: `page()` returns one page
(LIMIT/OFFSET over a whitelisted sort column) and `count()` the total, so the
screen can say 显示第 1-50 条，共 12,345 条. Everything shown passes through
analytics.privacy.mask_frame (masking is on by default).

At Beijing scale (25 M tickets a year) neither may read the whole period when
it need not (docs/performance.md, "Funnel and tickets at 25 M"):
- the count comes from the daily summary when the filters allow it;
- a funnel stage or a procuratorial function selects only tickets linked to a
  clue: count and page read the linked tickets (`funnel_tickets`,
  data/links.py), then fetch the page's rows from `tickets` by id within
  their time span;
- sorted by time, the page first finds from the summary the day from which
  the newest (oldest) tickets cover offset + limit rows and reads only those
  days (tickets are stored in time order, so zonemaps skip the rest); with a
  text search, which the summary cannot answer, it tries the last 7, 31 and
  92 days before the whole period.
Every shortcut returns exactly the rows of the plain ORDER BY … LIMIT/OFFSET.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from analytics import privacy, query, theme
from analytics.filters import Filters
from analytics.overview import data_range
from geo import regions

# Sort keys offered to the user -> SQL column (whitelist; never user text in SQL).
SORTS = {
    "received_at": "received_at",
    "district": "district",
    "street": "street",
    "category_l3": "category_l3",
    "topic": "topic",
    "status": "status",
    "ticket_id": "ticket_id",
}
SORT_LABELS = theme.TICKET_SORTS
LIST_COLUMNS = ("ticket_id", "received_at", "district", "street", "category_l3", "topic", "appeal_type",
                "status", "content", "complainant_name")
DETAIL_COLUMNS = ("ticket_id", "received_at", "channel", "appeal_type", "category_l1", "category_l2",
                  "category_l3", "topic", "content", "district", "street", "address", "lon", "lat",
                  "source_crs", "geo_flag", "handling_unit", "status", "responded_at", "closed_at",
                  "satisfaction", "resolved", "complainant_name", "complainant_phone", "reply", "due_at", "extra")
OVERDUE_SQL = ("(due_at IS NOT NULL AND coalesce(closed_at, (SELECT max(received_at) FROM tickets)) > due_at)")
# Funnel stage a ticket reached (drill-down from the funnel), or overdue: fixed SQL, selected by key.
STAGE_CLAUSES = {
    "clues": "ticket_id IN (SELECT ct.ticket_id FROM clue_tickets ct)",
    "cases": ("ticket_id IN (SELECT ct.ticket_id FROM clue_tickets ct "
              "JOIN cases k ON k.clue_id = ct.clue_id)"),
    "rectified": ("ticket_id IN (SELECT ct.ticket_id FROM clue_tickets ct "
                  "JOIN cases k ON k.clue_id = ct.clue_id JOIN rectifications r ON r.case_id = k.case_id "
                  "WHERE r.rectified_at IS NOT NULL AND coalesce(r.result, '') <> '未整改')"),
    # Hotline tickets past their due date (办理时限): closed after it, or still open at the export's last
    # ticket (the data's "now": an old export is judged as of its own end, not as of today).
    "overdue": OVERDUE_SQL,
}
# The stages that only tickets linked to a clue can reach (read from funnel_tickets).
LINKED_STAGES = ("clues", "cases", "rectified")
STAGE_LABELS = theme.TICKET_STAGES
PAGE_SIZES = (20, 50, 100, 200)
MAX_PAGE_SIZE = 500


def _where(f: Filters, stage: str | None) -> tuple[str, dict]:
    w = f.where()
    if not stage:
        return w.sql, w.params
    if stage not in STAGE_CLAUSES:
        raise ValueError(f"stage must be one of {tuple(STAGE_CLAUSES)}")
    return f"{w.sql} AND {STAGE_CLAUSES[stage]}", w.params


def _linked_only(f: Filters, stage: str | None) -> bool:
    """True when only tickets linked to a clue can match (a funnel stage or a function filter) and the stage's
    clause reads columns the linked tickets carry (the overdue clause reads `due_at`, a column of tickets)."""
    return stage in LINKED_STAGES or (bool(f.functions) and stage != "overdue")


def count(con: duckdb.DuckDBPyConnection, f: Filters, *, stage: str | None = None) -> int:
    """Tickets matching the filters (and, with `stage`, that reached that funnel stage)."""
    where, params = _where(f, stage)
    if _linked_only(f, stage):
        sql = f"SELECT count(DISTINCT ticket_id) FROM {query.linked(con)} t WHERE {where}"
    elif f.uses_summary and not stage:
        s = query.volume(f)
        sql, params = f"SELECT {s.m('n')} FROM {s.table} WHERE {s.where.sql}", s.where.params
    else:
        sql = "SELECT count(*) FROM tickets WHERE " + where
    return int(con.execute(sql, params).fetchone()[0] or 0)


# Days read first when a text search sorts by time (then the whole period).
TEXT_WINDOWS_DAYS = (7, 31, 92)


def page(con: duckdb.DuckDBPyConnection, f: Filters, *, sort: str = "received_at", descending: bool = True,
         limit: int = 50, offset: int = 0, stage: str | None = None, mask: bool | None = None) -> pd.DataFrame:
    """One page of the ticket list, sorted on the server (ties broken by ticket id), masked."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {tuple(SORTS)}")
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    offset = max(0, int(offset))
    where, params = _where(f, stage)
    direction = "DESC" if descending else "ASC"
    order = f"ORDER BY {SORTS[sort]} {direction} NULLS LAST, ticket_id {direction}"
    if _linked_only(f, stage):
        df = _page_linked(con, where, params, sort, order, limit, offset)
    else:
        df = None
        if sort == "received_at":
            for extra, extra_params in _time_bounds(con, f, descending, limit + offset):
                df = _page_sql(con, f"{where} AND {extra}", {**params, **extra_params}, order, limit, offset)
                if len(df) == limit:  # the bounded days hold the whole page: it is the same page
                    break
                df = None
        if df is None:
            df = _page_sql(con, where, params, order, limit, offset)
    return privacy.mask_frame(df, force=mask)


def _page_sql(con, where: str, params: dict, order: str, limit: int, offset: int) -> pd.DataFrame:
    sql = f"SELECT {', '.join(LIST_COLUMNS)} FROM tickets WHERE {where} {order} LIMIT $lim OFFSET $off"
    return con.execute(sql, {**params, "lim": limit, "off": offset}).fetchdf()


def _time_bounds(con, f: Filters, descending: bool, need: int):
    """Extra WHERE clauses on received_at, narrowest first, each holding the page if it is big enough.

    From the summary: the first day (walking from the newest, or the oldest)
    at which the tickets counted so far reach `need`. Without a usable summary
    (text search): the last (first) 7, 31 and 92 days of the period.
    """
    s = query.volume(f)
    if s.summary:
        pick = "max" if descending else "min"
        order = "DESC" if descending else "ASC"
        sql = (f"SELECT {pick}(d) FROM (SELECT d, sum(n) OVER (ORDER BY d {order}) AS cum FROM "
               f"(SELECT {s.day} AS d, {s.m('n')} AS n FROM {s.table} WHERE {s.where.sql} GROUP BY 1)) "
               f"WHERE cum >= $need")
        (day,) = con.execute(sql, {**s.where.params, "need": need}).fetchone()
        if day is not None:
            yield _day_bound(day, descending)
        return
    lo, hi = f.date_from, f.date_to
    if (hi if descending else lo) is None:
        first, last = data_range(con)
        lo, hi = lo or first, hi or last
    if lo is None or hi is None:
        return
    span = (hi - lo).days + 1
    for days in TEXT_WINDOWS_DAYS:
        if days >= span:
            return
        yield _day_bound(hi - timedelta(days=days - 1) if descending else lo + timedelta(days=days - 1), descending)


def _day_bound(day: date, descending: bool) -> tuple[str, dict]:
    if descending:
        return "received_at >= $tb_day::TIMESTAMP", {"tb_day": day}
    return "received_at < ($tb_day::DATE + INTERVAL 1 DAY)", {"tb_day": day}


def _page_linked(con, where: str, params: dict, sort: str, order: str, limit: int, offset: int) -> pd.DataFrame:
    """A page of linked tickets: ids from funnel_tickets, rows from tickets within the page's time span."""
    keys = list(dict.fromkeys(("ticket_id", "received_at", SORTS[sort])))
    sql = (f"SELECT DISTINCT {', '.join(keys)} FROM {query.linked(con)} t WHERE {where} "
           f"{order} LIMIT $lim OFFSET $off")
    ids = con.execute(sql, {**params, "lim": limit, "off": offset}).fetchdf()
    if ids.empty:
        return _page_sql(con, "FALSE", {}, order, limit, 0)
    # One branch per cluster of nearby times, so each reads only the row groups holding its tickets
    # (a single range would span the year when the page is sorted by district, say).
    spans = _time_spans(sorted(ids["received_at"].dt.to_pydatetime()))
    params: dict = {"ids": ids["ticket_id"].tolist()}
    branches = []
    for i, (lo, hi) in enumerate(spans):
        params[f"lo{i}"], params[f"hi{i}"] = lo, hi
        branches.append(f"SELECT {', '.join(LIST_COLUMNS)} FROM tickets WHERE received_at BETWEEN $lo{i} AND $hi{i} "
                        "AND ticket_id IN (SELECT unnest($ids::VARCHAR[]))")
    sql = "SELECT * FROM (" + " UNION ALL ".join(branches) + f") {order}"
    return con.execute(sql, params).fetchdf()


MAX_SPANS = 16


def _time_spans(times: list, gap: timedelta = timedelta(days=1)) -> list[tuple]:
    """Disjoint [lo, hi] ranges covering sorted `times`: neighbours closer than `gap` share one,
    then the closest ranges are merged until at most MAX_SPANS remain."""
    spans = []
    for t in times:
        if spans and t - spans[-1][1] <= gap:
            spans[-1][1] = t
        else:
            spans.append([t, t])
    while len(spans) > MAX_SPANS:
        i = min(range(len(spans) - 1), key=lambda k: spans[k + 1][0] - spans[k][1])
        spans[i:i + 2] = [[spans[i][0], spans[i + 1][1]]]
    return [tuple(s) for s in spans]


EXPORT_MAX_ROWS = 100_000
EXPORT_COLUMNS = ("ticket_id", "received_at", "channel", "appeal_type", "category_l1", "category_l2", "category_l3",
                  "topic", "district", "street", "address", "handling_unit", "status", "responded_at", "closed_at",
                  "due_at", "satisfaction", "content", "reply", "complainant_name", "complainant_phone")


def export_rows(con: duckdb.DuckDBPyConnection, f: Filters, *, sort: str = "received_at", descending: bool = True,
                stage: str | None = None, limit: int = EXPORT_MAX_ROWS, mask: bool | None = None) -> pd.DataFrame:
    """The whole list (up to `limit` rows, in the screen's order) for a download, masked."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {tuple(SORTS)}")
    where, params = _where(f, stage)
    direction = "DESC" if descending else "ASC"
    sql = (f"SELECT {', '.join(EXPORT_COLUMNS)} FROM tickets WHERE {where} "
           f"ORDER BY {SORTS[sort]} {direction} NULLS LAST, ticket_id {direction} LIMIT $lim")
    df = con.execute(sql, {**params, "lim": int(limit)}).fetchdf()
    return privacy.mask_frame(df, force=mask)


def has_due_dates(con: duckdb.DuckDBPyConnection) -> bool:
    """True when some ticket has a due date (办理时限): the overdue view is offered only then."""
    return bool(con.execute("SELECT count(*) > 0 FROM (SELECT 1 FROM tickets WHERE due_at IS NOT NULL LIMIT 1)")
                .fetchone()[0])


def page_label(total: int, offset: int, n_rows: int) -> str:
    """显示第 1-50 条，共 12,345 条."""
    if total == 0 or n_rows == 0:
        return f"共 {total:,} 条"
    return f"显示第 {offset + 1:,}-{offset + n_rows:,} 条，共 {total:,} 条"


def detail(con: duckdb.DuckDBPyConnection, ticket_id: str, *, mask: bool | None = None) -> dict | None:
    """Every field of one ticket (masked), or None when the id is unknown."""
    sql = f"SELECT {', '.join(DETAIL_COLUMNS)} FROM tickets WHERE ticket_id = $id LIMIT 1"
    df = con.execute(sql, {"id": str(ticket_id)}).fetchdf()
    if df.empty:
        return None
    rec = privacy.mask_frame(df, force=mask).iloc[0].to_dict()
    return {k: (None if _isna(v) else v) for k, v in rec.items()}


def location_note(d: dict) -> str | None:
    """Why a ticket's detail (from `detail`) shows no map of its place, or None when its point is drawn.

    A point outside the region is kept in the store but drawn nowhere: a dot in an empty frame would read as
    a place in the region."""
    flag = d.get("geo_flag")
    if d.get("lon") is None or d.get("lat") is None:
        why = theme.GEO_FLAG_LABELS.get(flag, "无坐标")
        return f"该工单没有坐标，无法在地图上显示位置（{why}）。"
    if flag == "outside_region":
        return (f"坐标（WGS84）：{d['lon']:.6f}, {d['lat']:.6f}，不在{regions.active().label}范围内："
                "已保留，不在地图上显示。")
    return None


def detail_fields(d: dict) -> pd.DataFrame:
    """The fields of a ticket's detail (from `detail`) as a two-column table: 字段, 内容 ("—" when missing)."""
    category = " / ".join(x for x in (d.get("category_l1"), d.get("category_l2"), d.get("category_l3")) if x) or None
    values = {
        "received_at": d.get("received_at"), "channel": d.get("channel"), "appeal_type": d.get("appeal_type"),
        "category": category, "topic": d.get("topic") or "（无）", "district": d.get("district"),
        "street": d.get("street"), "address": d.get("address"), "handling_unit": d.get("handling_unit"),
        "status": d.get("status"), "responded_at": d.get("responded_at"), "closed_at": d.get("closed_at"),
        "satisfaction": d.get("satisfaction"), "resolved": theme.YES_NO.get(d.get("resolved"), "—"),
        "complainant_name": d.get("complainant_name"), "complainant_phone": d.get("complainant_phone"),
    }
    values["due_at"] = d.get("due_at")
    values.update(extra_fields(d.get("extra")))
    own = {"category": "问题分类", "due_at": "办理时限"}
    names = [own.get(k) or theme.label(k) for k in values]
    return pd.DataFrame({"字段": names, "内容": ["—" if v is None else str(v) for v in values.values()]})


def extra_fields(raw) -> dict[str, str]:
    """The export's other columns kept with a ticket (`extra`, a JSON object), as header -> value."""
    import json

    if not raw:
        return {}
    try:
        d = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return {str(k): str(v) for k, v in d.items() if v is not None} if isinstance(d, dict) else {}


def formed_clue(path_df: pd.DataFrame) -> bool:
    """True when a ticket's way (from `path`) reached a registered clue."""
    return bool(len(path_df)) and bool((path_df["step"] == "线索登记").any())


def page_count(total: int, size: int) -> int:
    """Pages of `size` rows needed for `total` rows (at least one)."""
    return max(1, -(-int(total) // int(size)))


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


PATH_SQL = """
WITH cl AS (SELECT c.* FROM clues c JOIN clue_tickets ct USING (clue_id) WHERE ct.ticket_id = $id),
     cs AS (SELECT k.* FROM cases k WHERE k.clue_id IN (SELECT clue_id FROM cl)),
     rc AS (SELECT r.* FROM rectifications r WHERE r.case_id IN (SELECT case_id FROM cs)),
     ev AS (
        SELECT received_at AS ts, '工单受理' AS step, ticket_id AS ref, channel AS detail, 1 AS o
          FROM tickets WHERE ticket_id = $id
        UNION ALL SELECT responded_at, '响应', ticket_id, handling_unit, 2 FROM tickets WHERE ticket_id = $id
        UNION ALL SELECT closed_at, '办结', ticket_id, status, 3 FROM tickets WHERE ticket_id = $id
        UNION ALL SELECT created_at, '线索登记', clue_id, concat_ws(' · ', function, department, summary), 4 FROM cl
        UNION ALL SELECT reviewed_at, '线索审查', clue_id, status, 5 FROM cl
        UNION ALL SELECT filed_at, '立案', case_id, case_type, 6 FROM cs
        UNION ALL SELECT measure_at, '监督措施', case_id, measure, 7 FROM cs
        UNION ALL SELECT replied_at, '回复', case_id,
                         '期限 ' || coalesce(strftime(reply_due_at, '%Y-%m-%d'), '—'), 8 FROM cs
        UNION ALL SELECT rectified_at, '整改', case_id, concat_ws(' · ', result, outcome), 9 FROM rc
        UNION ALL SELECT followed_up_at, '回头看', case_id, NULL, 10 FROM rc
     )
SELECT ts AS "at", step, ref, detail FROM ev WHERE ts IS NOT NULL ORDER BY ts, o, ref
"""


def path(con: duckdb.DuckDBPyConnection, ticket_id: str, *, mask: bool | None = None) -> pd.DataFrame:
    """The ticket's way through handling, clue, case and rectification, dated, oldest first.

    Columns: at, step, ref (ticket/clue/case id), detail.
    """
    df = con.execute(PATH_SQL, {"id": str(ticket_id)}).fetchdf()
    if not df.empty and (privacy.enabled() if mask is None else mask):
        df["detail"] = df["detail"].map(privacy.mask_text)
    return df


NEARBY_SQL = """
WITH me AS (SELECT lon, lat FROM tickets WHERE ticket_id = $id AND lon IS NOT NULL AND lat IS NOT NULL LIMIT 1),
near AS (
    SELECT t.ticket_id, t.received_at, t.category_l3, t.status, t.address, t.content, t.complainant_name,
           t.lon, t.lat,
           2 * 6371008.8 * asin(sqrt(
               pow(sin(radians(t.lat - me.lat) / 2), 2)
               + cos(radians(me.lat)) * cos(radians(t.lat)) * pow(sin(radians(t.lon - me.lon) / 2), 2)
           )) AS distance_m
    FROM tickets t, me
    WHERE t.ticket_id <> $id
      -- a box first (cheap, uses zonemaps), then the exact distance
      AND t.lat BETWEEN me.lat - $dlat AND me.lat + $dlat
      AND t.lon BETWEEN me.lon - $dlon AND me.lon + $dlon
)
SELECT * FROM near WHERE distance_m <= $radius ORDER BY received_at DESC, ticket_id LIMIT $lim
"""


def nearby(con: duckdb.DuckDBPyConnection, ticket_id: str, *, radius_m: float = 100, limit: int = 50,
           mask: bool | None = None) -> pd.DataFrame:
    """Other tickets (any date, any filter) within `radius_m` metres of this one, newest first.

    Repeat complaints at one place are a signal (DOMAIN.md). Empty when the
    ticket has no coordinates.
    """
    dlat = radius_m / 111_000.0 * 1.01
    dlon = dlat / 0.6  # cos(53°): wider than needed anywhere in Beijing (lat 39.4-41.1)
    df = con.execute(NEARBY_SQL, {"id": str(ticket_id), "radius": float(radius_m), "dlat": dlat, "dlon": dlon,
                                  "lim": int(limit)}).fetchdf()
    return privacy.mask_frame(df, force=mask)


def locate(con: duckdb.DuckDBPyConnection, ticket_id: str) -> tuple[float, float] | None:
    """(lon, lat) of a ticket or None."""
    sql = "SELECT lon, lat FROM tickets WHERE ticket_id = $id AND lon IS NOT NULL AND lat IS NOT NULL LIMIT 1"
    row = con.execute(sql, {"id": str(ticket_id)}).fetchone()
    return (float(row[0]), float(row[1])) if row else None


def outlines_near(lon: float, lat: float, half_deg: float = 0.03, simplify: float = 0.0001) -> dict:
    """GeoJSON of the street/township outlines around a point, for the detail map's base layer: lines only, no
    names (a district account's map must not carry the names of districts outside its scope; docs/security.md)."""
    from geo import boundaries

    gdf = boundaries.streets()
    near = gdf.cx[lon - half_deg / 0.77: lon + half_deg / 0.77, lat - half_deg: lat + half_deg]
    if near.empty:
        return {"type": "FeatureCollection", "features": []}
    near = near[["geometry"]].copy()
    near["geometry"] = near.geometry.simplify(simplify, preserve_topology=True)
    import json

    return json.loads(near.to_json(drop_id=True))
