"""Repeated complaints with no record nearby (可能不作为): the reverse of a collision.

A collision finds the tickets near each record of a list. Here the list is what an agency did — administrative
penalties, inspections, enforcement cases — and the question is where citizens kept complaining and nothing of
the list appears: places (cells of `HOTLINE_SCREEN_PLACE_M`) with at least `min_tickets` located tickets of a
project (or of a category) in the period, none of which has a record of the list within `distance_m` and within
`days` of the place's first to last ticket. A record without coordinates cannot show presence at a place and
is not counted (the page and the command say how many there are). Each such place becomes a candidate item of
the queue (kind collision), its tickets as the matches, the evidence saying what was looked for and not found.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import pandas as pd

from data import audit, records, settings
from data.screening.collide import DEFAULT, Params
from data.screening.compile import degrees, haversine_sql

EVIDENCE = "反复投诉，附近无名单记录"


@dataclass(frozen=True)
class Ask:
    """Which tickets make a place of repeated complaints."""

    topic: str | None = None             # a special project (tickets.topic)
    category: str | None = None          # or a first-level category (tickets.category_l1)
    min_tickets: int = 3
    date_from: date | None = None
    date_to: date | None = None

    def describe(self) -> str:
        what = f"专项“{self.topic}”" if self.topic else (f"分类“{self.category}”" if self.category else "全部工单")
        span = (f"{self.date_from or '最早'} 至 {self.date_to or '最近'}，" if self.date_from or self.date_to else "")
        return f"{span}{what}同一地点至少 {self.min_tickets} 件"


_SQL = """
WITH t AS (
    SELECT ticket_id, received_at, district, street, address, lon, lat,
           CAST(floor(lat / $cell_lat) AS BIGINT) AS ci, CAST(floor(lon / $cell_lon) AS BIGINT) AS cj
    FROM tickets
    WHERE lat IS NOT NULL AND lon IS NOT NULL {where}
),
places AS (
    SELECT ci, cj, count(*) AS n, min(received_at) AS first, max(received_at) AS last,
           avg(lon) AS lon, avg(lat) AS lat, max(district) AS district, max(street) AS street,
           max(address) AS address
    FROM t GROUP BY ci, cj HAVING count(*) >= $min_tickets
),
seen AS (
    SELECT DISTINCT p.ci, p.cj
    FROM places p
    JOIN t ON t.ci = p.ci AND t.cj = p.cj
    JOIN _inaction_records r
      ON r.lat BETWEEN t.lat - $dlat AND t.lat + $dlat AND r.lon BETWEEN t.lon - $dlon AND t.lon + $dlon
     AND {distance} <= $dist
     AND (r.time IS NULL OR (epoch(r.time) >= epoch(p.first) - $days * 86400
                             AND epoch(r.time) <= epoch(p.last) + $days * 86400))
)
SELECT p.ci, p.cj, p.n, p.first, p.last, p.lon, p.lat, p.district, p.street, p.address,
       string_agg(t.ticket_id, ' ' ORDER BY t.received_at, t.ticket_id) AS ticket_ids
FROM places p JOIN t ON t.ci = p.ci AND t.cj = p.cj
WHERE NOT EXISTS (SELECT 1 FROM seen s WHERE s.ci = p.ci AND s.cj = p.cj)
GROUP BY p.ci, p.cj, p.n, p.first, p.last, p.lon, p.lat, p.district, p.street, p.address
ORDER BY p.n DESC, p.first, p.ci, p.cj
"""


def places_without_records(con, recs: pd.DataFrame, ask: Ask, params: Params = DEFAULT) -> pd.DataFrame:
    """Places of repeated complaints with no record of `recs` (collide.read_list) nearby in time, in the tickets
    the cursor may read: ci, cj, n, first, last, lon, lat, district, street, address, ticket_ids (space-separated)."""
    conds, q = [], {}
    if ask.topic:
        conds.append("topic = $topic")
        q["topic"] = ask.topic
    if ask.category:
        conds.append("category_l1 = $category")
        q["category"] = ask.category
    if ask.date_from:
        conds.append("received_at >= $date_from")
        q["date_from"] = pd.Timestamp(ask.date_from)
    if ask.date_to:
        conds.append("received_at < $date_to_next")
        q["date_to_next"] = pd.Timestamp(ask.date_to + timedelta(days=1))
    cell = float(settings.get("HOTLINE_SCREEN_PLACE_M"))
    cell_lat, cell_lon = degrees(cell)
    dlat, dlon = degrees(params.distance_m)
    q |= {"cell_lat": cell_lat, "cell_lon": cell_lon, "min_tickets": max(1, int(ask.min_tickets)), "dlat": dlat,
          "dlon": dlon, "dist": float(params.distance_m), "days": int(params.days)}
    sql = _SQL.format(where="".join(f" AND {c}" for c in conds),
                      distance=haversine_sql("r.lon", "r.lat", "t.lon", "t.lat"))
    located = recs[recs["lon"].notna() & recs["lat"].notna()][["row_number", "lon", "lat", "time"]]
    con.register("_inaction_records", located.astype({"lon": float, "lat": float}))
    try:
        return con.execute(sql, q).fetch_df()
    finally:
        con.unregister("_inaction_records")


def record(rec: sqlite3.Connection, actor, name: str, file: str, recs: pd.DataFrame, places: pd.DataFrame,
           ask: Ask, params: Params, mapping_used: dict) -> tuple[int, int]:
    """Store the search as a collision and each place as one queue item (its tickets as the matches, list row 0:
    no record of the list); returns (collision id, items)."""
    now = records.now_text()
    located = int((recs["lon"].notna() & recs["lat"].notna()).sum())
    looked = (f"{params.distance_m:g} 米内、首末工单前后 {params.days} 天内没有名单记录"
              f"（名单 {len(recs):,} 行，有坐标 {located:,} 行）")
    with records.transaction(rec):
        cid = rec.execute(
            "INSERT INTO collisions (name, file, params, rows_read, rows_matched, matches, created_at, actor) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, file, json.dumps({"mode": "inaction", **asdict(params), **asdict(ask), "columns": mapping_used},
                                    ensure_ascii=False, default=str),
             len(recs), 0, int(places["n"].sum()) if len(places) else 0, now, getattr(actor, "name", str(actor)))
        ).lastrowid
        for p in places.itertuples(index=False):
            item_id = rec.execute(
                "INSERT INTO queue_items (kind, collision_id, place_key, ci, cj, district, street, label, lon, lat, "
                "created_at) VALUES ('collision', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, f"inaction:{cid}:{int(p.ci)}:{int(p.cj)}", int(p.ci), int(p.cj), p.district, p.street,
                 str(p.address or p.street or "")[:200], float(p.lon), float(p.lat), now)).lastrowid
            proof = json.dumps({"kinds": [EVIDENCE], "distance_m": None, "days": None,
                                "record": {"note": f"{ask.describe()}（{int(p.n)} 件）；{looked}"}}, ensure_ascii=False)
            for ticket_id in str(p.ticket_ids).split():
                rec.execute("INSERT INTO collision_matches (collision_id, item_id, row_number, ticket_id, district, "
                            "evidence, score) VALUES (?, ?, 0, ?, ?, ?, ?)",
                            (cid, item_id, ticket_id, p.district, proof, float(p.n)))
        audit.record(actor, "collision", name, {"mode": "inaction", "file": file, "rows": len(recs),
                                                "places": len(places), "ask": ask.describe()}, con=rec)
    return cid, len(places)


def report_rows(places: pd.DataFrame) -> pd.DataFrame:
    """One row per place for a file or a table: place, district, street, tickets, first and last, ticket ids."""
    cols = {"address": "地点", "district": "区", "street": "街乡", "n": "工单数", "first": "首次受理", "last": "最近受理",
            "ticket_ids": "工单编号", "lon": "经度", "lat": "纬度"}
    if places.empty:
        return pd.DataFrame(columns=list(cols.values()))
    out = places[list(cols)].copy()
    out["first"] = pd.to_datetime(out["first"]).dt.strftime("%Y-%m-%d")
    out["last"] = pd.to_datetime(out["last"]).dt.strftime("%Y-%m-%d")
    out[["lon", "lat"]] = out[["lon", "lat"]].round(6)
    return out.rename(columns=cols)
