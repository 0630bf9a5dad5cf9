"""Data collision (数据碰撞): another list — traffic accidents, administrative penalties, licensed businesses,
care homes — matched against the tickets, each match with its evidence, the matches as items of the queue.

The list is read with the import's readers (CSV in any Chinese encoding, XLSX, Parquet) and a mapping in the
import's format (`columns: {field: header}`, `crs`, `encoding`, `sheet`; data/ingest/mapping.py), into a
private in-memory table: nothing of it touches the ticket store. Fields: record_id, name (a person), company,
address, lon, lat (in the mapping's crs), time, phone, district, note. Standard Chinese headers are recognised.

A record matches a ticket (`Params`) when one of these holds, each counted as evidence:
- place: the ticket lies within `distance_m` of the record and, when the record has a time, was received within
  `days` of it (a grid join in SQL, then the exact distance);
- address: the same normalised address (no spaces or punctuation), within the time window when there is one;
- company: the record's company name (4 characters or more) occurs in the ticket's text;
- phone: the same phone number, compared as SHA-256 hashes of its digits (never shown: masked);
- name: the same person's name as the caller's, together with the same district.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

from data import audit, records
from data.ingest import mapping as mapping_mod
from data.ingest import readers
from data.ingest.fields import norm_header
from data.ingest.prepare import read
from data.screening.compile import degrees, haversine_sql
from data.screening.places import normal_address
from geo import crs as crs_mod

FIELDS = {
    "record_id": ("编号", "记录编号", "案件编号", "事故编号", "处罚决定书文号", "许可证编号", "id"),
    "name": ("姓名", "当事人", "当事人姓名", "联系人", "name"),
    "company": ("单位名称", "企业名称", "机构名称", "名称", "商户名称", "company"),
    "address": ("地址", "详细地址", "事故地点", "经营地址", "发生地点", "address"),
    "lon": ("经度", "lon", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
    "time": ("时间", "日期", "发生时间", "事故时间", "处罚日期", "立案时间", "time", "date"),
    "phone": ("电话", "联系电话", "手机", "phone"),
    "district": ("区", "所属区", "区县", "district"),
    "note": ("摘要", "案由", "事故类型", "处罚事由", "说明", "note"),
}
LABELS = {"place": "地点相近", "address": "地址相同", "company": "单位名称出现在诉求中", "phone": "电话相同",
          "name": "姓名相同（同区）"}


class CollisionError(ValueError):
    """The list or its mapping cannot be used; the message is for the user."""


@dataclass(frozen=True)
class Params:
    distance_m: float = 200.0
    days: int = 30
    use: tuple[str, ...] = ("place", "address", "company", "phone", "name")


def phone_hash(v) -> str | None:
    """SHA-256 of a phone number's digits (the last 11 for mobile numbers with a country code); None if none."""
    digits = re.sub(r"\D", "", str(v or ""))
    if len(digits) < 7:
        return None
    if len(digits) > 11 and digits.startswith("86"):
        digits = digits[-11:]
    return hashlib.sha256(digits.encode()).hexdigest()


def mask_phone(v) -> str:
    digits = re.sub(r"\D", "", str(v or ""))
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "—"


FIELD_LABELS = {"record_id": "编号", "name": "姓名（当事人）", "company": "单位名称", "address": "地址", "lon": "经度",
                "lat": "纬度", "time": "时间", "phone": "电话", "district": "区", "note": "说明（摘要、案由）"}
CRS_LABELS = {"wgs84": "WGS84（GPS）", "gcj02": "GCJ-02（高德、腾讯）", "bd09": "BD-09（百度）"}


def _load(path: str | Path, mapping) -> tuple[mapping_mod.Mapping, pd.DataFrame]:
    """The mapping and the list's raw table (every column as read)."""
    p = Path(path)
    try:
        m = mapping_mod.load(mapping)
        fmt = readers.detect_format(p)
        con = duckdb.connect()
        try:
            sheet = m.sheet or (readers.xlsx_sheets(p)[0] if fmt == "xlsx" else None)
            src = read(con, p, fmt, sheet, m)
            raw = con.execute("SELECT * FROM _src").fetch_df()
        finally:
            con.close()
    except (mapping_mod.MappingError, readers.ReadError) as exc:
        raise CollisionError(str(exc)) from exc
    if not src.columns:
        raise CollisionError(f"{p.name} 没有表头和数据。")
    return m, raw


def _columns(m: mapping_mod.Mapping, headers: list[str]) -> dict[str, str]:
    """field -> the header that gives it: the mapping's, else a standard header (FIELDS)."""
    unknown = sorted(set(m.columns) - set(FIELDS))
    if unknown:
        raise CollisionError(f"映射中的字段 {'、'.join(unknown)} 不是碰撞名单的字段；可用：{'、'.join(FIELDS)}")
    by_norm = {norm_header(h): h for h in headers}
    used: dict[str, str] = {}
    for fname, aliases in FIELDS.items():
        wanted = m.columns.get(fname)
        if wanted:
            hit = by_norm.get(norm_header(wanted[0]))
            if hit is None:
                raise CollisionError(f"映射要求的列“{wanted[0]}”（字段 {fname}）在文件中不存在。文件的列：{', '.join(headers)}")
            used[fname] = hit
            continue
        for a in aliases:
            if norm_header(a) in by_norm:
                used[fname] = by_norm[norm_header(a)]
                break
    return used


def headers(path: str | Path, mapping=None) -> tuple[list[str], dict[str, str], mapping_mod.Mapping]:
    """The list's headers, the header each field would be read from (the mapping's, else a standard header),
    and the mapping — what the 碰撞 page offers to change before matching."""
    m, raw = _load(path, mapping)
    heads = [str(h) for h in raw.columns]
    return heads, _columns(m, heads), m


def mapping_spec(columns: dict[str, str], *, base: mapping_mod.Mapping | None = None, crs: str | None = None) -> dict:
    """A mapping (the import's format, a dict) naming the header of each field: what a user chose on the page,
    keeping the reading options (encoding, sheet, delimiter) of `base`. Saved as YAML it runs with
    `manage.py collide FILE --mapping M`."""
    unknown = sorted(set(columns) - set(FIELDS))
    if unknown:
        raise CollisionError(f"{'、'.join(unknown)} 不是碰撞名单的字段；可用：{'、'.join(FIELDS)}")
    spec: dict = {}
    if base is not None:
        spec |= {k: v for k, v in (("encoding", base.encoding), ("sheet", base.sheet),
                                   ("delimiter", base.delimiter)) if v and v != "auto"}
    chosen_crs = crs or (base.crs if base is not None else None)
    if chosen_crs:
        spec["crs"] = chosen_crs
    spec["columns"] = {f: h for f, h in columns.items() if h}
    return spec


def mapping_yaml(spec: dict) -> str:
    """A mapping as the YAML file `manage.py collide --mapping` reads."""
    return "# 数据碰撞名单的列映射（manage.py collide FILE --mapping 此文件）\n" + yaml.safe_dump(
        spec, allow_unicode=True, sort_keys=False)


def read_list(path: str | Path, mapping=None) -> tuple[pd.DataFrame, dict[str, str]]:
    """The list as records (row_number + FIELDS) and which header gave each field."""
    m, raw = _load(path, mapping)
    used = _columns(m, [str(h) for h in raw.columns])
    if not ({"lon", "lat"} <= set(used) or {"address", "company", "phone", "name"} & set(used)):
        raise CollisionError("名单中没有可比对的列：至少需要经纬度、地址、单位名称、电话或姓名之一。"
                             f"文件的列：{', '.join(map(str, raw.columns))}")
    out = pd.DataFrame({"row_number": np.arange(1, len(raw) + 1)})
    for fname in FIELDS:
        out[fname] = pd.Series([_text(v) for v in raw[used[fname]]] if fname in used else [None] * len(raw),
                               dtype=object)
    lon = pd.to_numeric(out["lon"], errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(out["lat"], errors="coerce").to_numpy(dtype=float, copy=True)
    ok = ~(np.isnan(lon) | np.isnan(lat))
    if ok.any():
        lon[ok], lat[ok] = crs_mod.to_wgs84(lon[ok], lat[ok], m.crs or "wgs84")
    out["lon"], out["lat"] = lon, lat
    out["time"] = pd.to_datetime(out["time"], errors="coerce", format="mixed")
    out["address_key"] = pd.Series([normal_address(a) if isinstance(a, str) else "" for a in out["address"]], dtype=object)
    out["phone_hash"] = pd.Series([phone_hash(v) if isinstance(v, str) else None for v in out["phone"]], dtype=object)
    out["company"] = pd.Series([c if isinstance(c, str) and len(c) >= 4 else None for c in out["company"]],
                               dtype=object)
    return out, used


def _text(v) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    s = str(v).strip()
    return s or None


ADDRESS_SQL = "lower(regexp_replace(coalesce(address, ''), '[[:space:],，。.、;；:：()（）—_#·-]', '', 'g'))"


DEFAULT = Params()


def match(con, recs: pd.DataFrame, params: Params = DEFAULT) -> pd.DataFrame:
    """Matches of the records against the tickets the cursor may read: row_number, ticket_id, kind, distance_m,
    days, district — one row per (record, ticket, kind)."""
    cols = ["row_number", "ticket_id", "kind", "distance_m", "days", "district"]
    if recs.empty:
        return pd.DataFrame(columns=cols)
    rel = recs[["row_number", "name", "company", "address_key", "lon", "lat", "time", "phone_hash", "district"]].copy()
    dlat, dlon = degrees(params.distance_m)
    q = {"dlat": dlat, "dlon": dlon, "dist": float(params.distance_m), "days": int(params.days)}
    window = ("(r.time IS NULL OR abs(epoch(t.received_at) - epoch(r.time)) <= $days * 86400)")
    parts = []
    if "place" in params.use:
        parts.append(f"""
SELECT r.row_number, t.ticket_id, 'place' AS kind, {haversine_sql('r.lon', 'r.lat', 't.lon', 't.lat')} AS distance_m,
       t.received_at, r.time, t.district
FROM (SELECT *, CAST(floor(lat / $dlat) AS BIGINT) AS ci, CAST(floor(lon / $dlon) AS BIGINT) AS cj
      FROM _collide_records WHERE lat IS NOT NULL AND lon IS NOT NULL AND NOT isnan(lat) AND NOT isnan(lon)) r
CROSS JOIN (VALUES (-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)) AS o(di, dj)
JOIN (SELECT ticket_id, received_at, district, lon, lat, CAST(floor(lat / $dlat) AS BIGINT) AS ci,
             CAST(floor(lon / $dlon) AS BIGINT) AS cj FROM tickets WHERE lat IS NOT NULL AND lon IS NOT NULL) t
  ON t.ci = r.ci + o.di AND t.cj = r.cj + o.dj
WHERE {haversine_sql('r.lon', 'r.lat', 't.lon', 't.lat')} <= $dist AND {window}""")
    if "address" in params.use:
        parts.append(f"""
SELECT r.row_number, t.ticket_id, 'address', NULL, t.received_at, r.time, t.district
FROM _collide_records r JOIN tickets t ON r.address_key <> '' AND length(r.address_key) >= 6
     AND {ADDRESS_SQL} = r.address_key
WHERE {window}""")
    if "company" in params.use:
        parts.append(f"""
SELECT r.row_number, t.ticket_id, 'company', NULL, t.received_at, r.time, t.district
FROM _collide_records r JOIN tickets t ON r.company IS NOT NULL AND strpos(t.content, r.company) > 0
WHERE {window}""")
    if "phone" in params.use:
        parts.append("""
SELECT r.row_number, t.ticket_id, 'phone', NULL, t.received_at, r.time, t.district
FROM _collide_records r JOIN tickets t ON r.phone_hash IS NOT NULL AND t.complainant_phone IS NOT NULL
     AND sha256(regexp_replace(t.complainant_phone, '[^0-9]', '', 'g')) = r.phone_hash""")
    if "name" in params.use:
        parts.append("""
SELECT r.row_number, t.ticket_id, 'name', NULL, t.received_at, r.time, t.district
FROM _collide_records r JOIN tickets t ON r.name IS NOT NULL AND t.complainant_name = r.name
     AND r.district IS NOT NULL AND t.district = r.district""")
    if not parts:
        return pd.DataFrame(columns=cols)
    sql = ("SELECT row_number, ticket_id, kind, distance_m, "
           "CASE WHEN time IS NULL THEN NULL ELSE round(abs(epoch(received_at) - epoch(time)) / 86400, 1) END AS days, "
           "district FROM (" + " UNION ALL ".join(parts) + ") m ORDER BY row_number, ticket_id, kind")
    con.register("_collide_records", rel)
    try:
        used = {k: v for k, v in q.items() if f"${k}" in sql}
        return con.execute(sql, used).fetch_df()
    finally:
        con.unregister("_collide_records")


def evidence(recs: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """One row per (record, ticket): the kinds of evidence, distance, days, a score (kinds count, place closer
    scores more) — what the queue shows."""
    if matches.empty:
        return pd.DataFrame(columns=["row_number", "ticket_id", "district", "kinds", "distance_m", "days", "score"])
    g = matches.groupby(["row_number", "ticket_id"], sort=True)
    out = g.agg(kinds=("kind", lambda s: sorted(set(s))), distance_m=("distance_m", "min"), days=("days", "min"),
                district=("district", "first")).reset_index()
    out["score"] = out["kinds"].map(len) + (1 - out["distance_m"].fillna(1e9).clip(upper=1e3) / 1e3).clip(lower=0)
    return out


def record(rec: sqlite3.Connection, actor, name: str, file: str, recs: pd.DataFrame, ev: pd.DataFrame,
           params: Params, mapping_used: dict) -> tuple[int, int]:
    """Store the collision, one queue item per matched record (its tickets as matches); returns
    (collision id, items)."""
    now = records.now_text()
    with records.transaction(rec):
        cid = rec.execute(
            "INSERT INTO collisions (name, file, params, rows_read, rows_matched, matches, created_at, actor) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, file, json.dumps({**asdict(params), "columns": mapping_used}, ensure_ascii=False),
             len(recs), int(ev["row_number"].nunique()) if not ev.empty else 0, len(ev), now,
             getattr(actor, "name", str(actor)))).lastrowid
        by_row = recs.set_index("row_number")
        n_items = 0
        for row_number, group in ev.groupby("row_number", sort=True):
            r = by_row.loc[row_number]
            label = next((str(r[f]) for f in ("company", "address", "name", "record_id") if pd.notna(r[f])), "")
            seen = group["district"].dropna().mode()       # tickets of a region without districts have none
            district = r["district"] if pd.notna(r["district"]) else (seen.iloc[0] if len(seen) else None)
            lon = float(r["lon"]) if not np.isnan(r["lon"]) else None
            lat = float(r["lat"]) if not np.isnan(r["lat"]) else None
            item_id = rec.execute(
                "INSERT INTO queue_items (kind, collision_id, place_key, district, label, lon, lat, created_at) "
                "VALUES ('collision', ?, ?, ?, ?, ?, ?, ?)",
                (cid, f"collision:{cid}:{int(row_number)}", district, label[:200], lon, lat, now)).lastrowid
            n_items += 1
            for m in group.itertuples(index=False):
                proof = {"kinds": [LABELS[k] for k in m.kinds], "distance_m": None if pd.isna(m.distance_m)
                         else round(float(m.distance_m), 1), "days": None if pd.isna(m.days) else float(m.days),
                         "record": {k: (mask_phone(r[k]) if k == "phone" else str(r[k])) for k in
                                    ("record_id", "company", "address", "name", "phone", "time", "note")
                                    if pd.notna(r[k])}}
                rec.execute("INSERT INTO collision_matches (collision_id, item_id, row_number, ticket_id, district, "
                            "evidence, score) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (cid, item_id, int(row_number), m.ticket_id, m.district,
                             json.dumps(proof, ensure_ascii=False), float(m.score)))
        audit.record(actor, "collision", name, {"file": file, "rows": len(recs), "matched_rows":
                                                int(ev["row_number"].nunique()) if not ev.empty else 0,
                                                "matches": len(ev), "items": n_items}, con=rec)
    return cid, n_items


def quality(ev: pd.DataFrame, expected: set[tuple[int, str]]) -> dict:
    """Precision and recall of the (record row, ticket) pairs found against the pairs known to match."""
    found = {(int(r), str(t)) for r, t in zip(ev["row_number"], ev["ticket_id"], strict=True)}
    right = found & expected
    return {"found": len(found), "expected": len(expected), "right": len(right),
            "precision": len(right) / len(found) if found else None,
            "recall": len(right) / len(expected) if expected else None}


def report_rows(recs: pd.DataFrame, ev: pd.DataFrame) -> pd.DataFrame:
    """One row per (record, ticket) for a file: the record (phone masked), the ticket, what matched."""
    cols = {"row_number": "名单行号", "record_id": "名单编号", "company": "单位名称", "address": "地址", "name": "姓名",
            "phone": "电话（脱敏）", "time": "名单时间", "note": "名单说明", "ticket_id": "工单编号", "kinds": "匹配依据",
            "distance_m": "距离（米）", "days": "相隔天数", "score": "匹配分"}
    if ev.empty:
        return pd.DataFrame(columns=list(cols.values()))
    out = ev.merge(recs[["row_number", "record_id", "company", "address", "name", "phone", "time", "note"]],
                   on="row_number")
    out["phone"] = out["phone"].map(lambda v: mask_phone(v) if isinstance(v, str) else "")
    out["kinds"] = out["kinds"].map(lambda ks: "、".join(LABELS[k] for k in ks))
    out["distance_m"] = out["distance_m"].round(1)
    out["score"] = out["score"].round(2)
    return out[list(cols)].rename(columns=cols)
