"""Imported clues as the case system's files give them: rows from the ticket store, as ledger stages.

The case system's exports (`clues`, `clue_tickets`, `cases`, `rectifications`, loaded by `manage.py
ingest`) are the external source of the ledger. This module reads one clue's rows from the store's own
tables (never the app's overlay on a session cursor: `base_table` names the file's tables, not the views),
turns them into stages (`Imported.stages`) and fingerprints them, so a later import that changes a clue the
app edited is noticed (data/ledger/state.has_conflict).

Mapping (data/schema.sql columns -> stages): 登记 `clues.created_at`; 审查决定 `clues.reviewed_at` with the
status (已立案 -> file, 不立案 -> not_file, 移送 -> transfer; 待审查: none yet; a filed clue without a review
time takes its case's filing time); the clue's first case (by filing time) is its case: 检察建议 its
`measure_at` when the measure is a 检察建议 (urgent from `urgent`), 回复 `replied_at`; its first
rectification with a date: 整改 `rectified_at`, `result` and the counted figure (`outcome`, `outcome_value`,
`outcome_unit`), 回头看 `followed_up_at`. Imports know no 评估, 书面告知 or 结案.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from datetime import datetime

from data.ledger.model import KIND_OF_MEASURE, OUTCOME_OF_STATUS, Stage
from data.ledger.state import Imported
from data.scope import Scope

_CATALOG: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Columns left out of the fingerprint: bookkeeping an unchanged re-import may rewrite.
_NOT_CONTENT = {"import_id", "updated_at", "row_hash"}


def base_table(store, name: str) -> str:
    """The store file's own table `name` (a whitelisted identifier), bypassing a cursor's temporary views."""
    if name not in ("clues", "clue_tickets", "cases", "rectifications", "tickets", "funnel_clues", "funnel_tickets"):
        raise ValueError(f"not a ledger table: {name!r}")
    try:
        catalog = _CATALOG.get(store)
    except TypeError:
        catalog = None
    if catalog is None:
        catalog = store.execute("SELECT current_database()").fetchone()[0]
        try:
            _CATALOG[store] = catalog
        except TypeError:
            pass
    return '"' + catalog.replace('"', '""') + f'".main.{name}'


def _rows(store, sql: str, params: dict) -> list[dict]:
    cur = store.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def load(store, clue_ids, scope: Scope | None = None) -> dict[str, Imported]:
    """The imported clues among `clue_ids` (within `scope`'s districts when given), by clue id."""
    ids = sorted({str(c) for c in clue_ids})
    if not ids:
        return {}
    p = {"ids": ids}
    clues = _rows(store, f"SELECT * FROM {base_table(store, 'clues')} WHERE clue_id IN (SELECT unnest($ids::VARCHAR[])) "
                         "ORDER BY clue_id, import_id DESC NULLS LAST", p)
    by_id: dict[str, dict] = {}
    for r in clues:
        by_id.setdefault(r["clue_id"], r)
    if scope is not None and scope.districts is not None:
        by_id = {k: r for k, r in by_id.items() if r.get("district") in scope.districts}
    if not by_id:
        return {}
    p = {"ids": sorted(by_id)}
    cases = _rows(store, f"SELECT * FROM {base_table(store, 'cases')} WHERE clue_id IN (SELECT unnest($ids::VARCHAR[])) "
                         "ORDER BY clue_id, filed_at NULLS LAST, case_id", p)
    case_ids = sorted({c["case_id"] for c in cases})
    rects = _rows(store, f"SELECT * FROM {base_table(store, 'rectifications')} "
                         "WHERE case_id IN (SELECT unnest($ids::VARCHAR[])) "
                         "ORDER BY case_id, rectified_at NULLS LAST, result, outcome", {"ids": case_ids}) if case_ids else []
    links = store.execute(f"SELECT DISTINCT clue_id, ticket_id FROM {base_table(store, 'clue_tickets')} "
                          "WHERE clue_id IN (SELECT unnest($ids::VARCHAR[])) ORDER BY clue_id, ticket_id", p).fetchall()
    out = {}
    for cid, row in by_id.items():
        cs = [c for c in cases if c["clue_id"] == cid]
        mine = {c["case_id"] for c in cs}
        rs = [r for r in rects if r["case_id"] in mine]
        tickets = tuple(t for c, t in links if c == cid)
        out[cid] = _imported(row, cs, rs, tickets)
    return out


def _imported(row: dict, cases: list[dict], rects: list[dict], tickets: tuple[str, ...]) -> Imported:
    attrs = {"district": row.get("district"), "source": row.get("source"), "function": row.get("function"),
             "department": row.get("department"), "topic": row.get("topic"), "summary": row.get("summary"),
             "subject": None, "place": None, "lon": None, "lat": None, "handler": None}
    return Imported(clue_id=row["clue_id"], attrs=attrs, created_at=row.get("created_at"),
                    stages=stages(row, cases, rects), ticket_ids=tickets,
                    fingerprint=fingerprint(row, cases, rects, tickets),
                    cases=tuple(cases), rectifications=tuple(rects), clue_row=row)


def stages(row: dict, cases: list[dict], rects: list[dict]) -> dict[str, Stage]:
    """The stages the imported rows of one clue give (see the module docstring)."""
    out: dict[str, Stage] = {}
    if row.get("created_at"):
        out["register"] = Stage("register", row["created_at"], {}, None)
    outcome = OUTCOME_OF_STATUS.get(row.get("status") or "")
    case = cases[0] if cases else None
    if case is not None and outcome is None:
        outcome = "file"      # a case was filed whatever the clue's status says
    decided = row.get("reviewed_at") or (case or {}).get("filed_at")
    if outcome and decided:
        details = {"outcome": outcome}
        if case is not None:
            details["case_id"] = case["case_id"]
        out["decide"] = Stage("decide", decided, details, None)
    if case is None:
        return out
    measure = case.get("measure") or ""
    if case.get("measure_at") and "检察建议" in measure:
        kind = KIND_OF_MEASURE.get(measure, "pre_litigation" if "诉前" in measure else "social_governance")
        out["suggest"] = Stage("suggest", case["measure_at"],
                               {"kind": kind, "measure": measure, "urgent": bool(case.get("urgent"))}, None)
    if case.get("replied_at"):
        out["reply"] = Stage("reply", case["replied_at"], {}, None)
    mine = [r for r in rects if r["case_id"] == case["case_id"] and r.get("rectified_at")]
    if mine:
        r = mine[0]
        figures = ((r["outcome"], float(r["outcome_value"]), r.get("outcome_unit") or ""),) \
            if r.get("outcome") and r.get("outcome_value") is not None else ()
        out["rectify"] = Stage("rectify", r["rectified_at"], {"result": r.get("result")}, None, outcomes=figures)
        if r.get("followed_up_at"):
            out["follow_up"] = Stage("follow_up", r["followed_up_at"], {}, None)
    return out


def fingerprint(row: dict, cases: list[dict], rects: list[dict], tickets: tuple[str, ...]) -> str:
    """A hash of everything the files say about one clue (its row, cases, rectifications and links)."""
    def clean(r: dict) -> dict:
        return {k: _plain(v) for k, v in sorted(r.items()) if k not in _NOT_CONTENT}
    doc = [clean(row), [clean(c) for c in cases], [clean(r) for r in rects], list(tickets)]
    text = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _plain(v):
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, float) and v == int(v):
        return int(v)
    return v if v is None or isinstance(v, (int, float, str, bool)) else str(v)


def exists(store, clue_id: str) -> bool:
    sql = f"SELECT count(*) FROM {base_table(store, 'clues')} WHERE clue_id = $id"
    return bool(store.execute(sql, {"id": clue_id}).fetchone()[0])
