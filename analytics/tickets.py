"""The ticket list and one ticket's detail: paged and sorted in SQL, personal data masked.

The list never leaves the database whole: `page()` returns one page
(LIMIT/OFFSET over a whitelisted sort column) and `count()` the total, so the
screen can say 显示第 1-50 条，共 12,345 条. Everything shown passes through
analytics.privacy.mask_frame (masking is on by default).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from analytics import privacy
from analytics.filters import Filters

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
SORT_LABELS = {"received_at": "受理时间", "district": "区", "street": "街道/乡镇", "category_l3": "三级分类",
               "topic": "专项", "status": "办理状态", "ticket_id": "工单编号"}
LIST_COLUMNS = ("ticket_id", "received_at", "district", "street", "category_l3", "topic", "appeal_type",
                "status", "content", "complainant_name")
DETAIL_COLUMNS = ("ticket_id", "received_at", "channel", "appeal_type", "category_l1", "category_l2",
                  "category_l3", "topic", "content", "district", "street", "address", "lon", "lat",
                  "source_crs", "geo_flag", "handling_unit", "status", "responded_at", "closed_at",
                  "satisfaction", "resolved", "complainant_name", "complainant_phone")
# Funnel stage a ticket reached (drill-down from the funnel): fixed SQL, selected by key.
STAGE_CLAUSES = {
    "clues": "ticket_id IN (SELECT ct.ticket_id FROM clue_tickets ct)",
    "cases": ("ticket_id IN (SELECT ct.ticket_id FROM clue_tickets ct "
              "JOIN cases k ON k.clue_id = ct.clue_id)"),
    "rectified": ("ticket_id IN (SELECT ct.ticket_id FROM clue_tickets ct "
                  "JOIN cases k ON k.clue_id = ct.clue_id JOIN rectifications r ON r.case_id = k.case_id "
                  "WHERE r.rectified_at IS NOT NULL AND coalesce(r.result, '') <> '未整改')"),
}
STAGE_LABELS = {"": "全部工单", "clues": "已形成线索", "cases": "已立案", "rectified": "已整改"}
PAGE_SIZES = (20, 50, 100, 200)
MAX_PAGE_SIZE = 500


def _where(f: Filters, stage: str | None) -> tuple[str, dict]:
    w = f.where()
    if not stage:
        return w.sql, w.params
    if stage not in STAGE_CLAUSES:
        raise ValueError(f"stage must be one of {tuple(STAGE_CLAUSES)}")
    return f"{w.sql} AND {STAGE_CLAUSES[stage]}", w.params


def count(con: duckdb.DuckDBPyConnection, f: Filters, *, stage: str | None = None) -> int:
    """Tickets matching the filters (and, with `stage`, that reached that funnel stage)."""
    where, params = _where(f, stage)
    sql = "SELECT count(*) FROM tickets WHERE " + where
    return int(con.execute(sql, params).fetchone()[0])


def page(con: duckdb.DuckDBPyConnection, f: Filters, *, sort: str = "received_at", descending: bool = True,
         limit: int = 50, offset: int = 0, stage: str | None = None, mask: bool | None = None) -> pd.DataFrame:
    """One page of the ticket list, sorted on the server (ties broken by ticket id), masked."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {tuple(SORTS)}")
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    offset = max(0, int(offset))
    where, params = _where(f, stage)
    direction = "DESC" if descending else "ASC"
    cols = ", ".join(LIST_COLUMNS)
    sql = (f"SELECT {cols} FROM tickets WHERE {where} "
           f"ORDER BY {SORTS[sort]} {direction} NULLS LAST, ticket_id {direction} LIMIT $lim OFFSET $off")
    df = con.execute(sql, {**params, "lim": limit, "off": offset}).fetchdf()
    return privacy.mask_frame(df, force=mask)


EXPORT_MAX_ROWS = 100_000
EXPORT_COLUMNS = ("ticket_id", "received_at", "channel", "appeal_type", "category_l1", "category_l2", "category_l3",
                  "topic", "district", "street", "address", "handling_unit", "status", "responded_at", "closed_at",
                  "satisfaction", "content", "complainant_name", "complainant_phone")


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
    """GeoJSON of the street/township outlines around a point, for the detail map's base layer."""
    from geo import boundaries

    gdf = boundaries.streets()
    near = gdf.cx[lon - half_deg / 0.77: lon + half_deg / 0.77, lat - half_deg: lat + half_deg]
    if near.empty:
        return {"type": "FeatureCollection", "features": []}
    near = near[["street", "district", "geometry"]].copy()
    near["geometry"] = near.geometry.simplify(simplify, preserve_topology=True)
    import json

    return json.loads(near.to_json(drop_id=True))
