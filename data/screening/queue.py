"""The queue to assess (待研判): items by rule and place, their tickets, and the decisions people make.

An item's state is its latest decision: none (or `returned`) = waiting; `dismiss`, `attach` (to an existing
clue) or `register` (a new clue). Decisions are appended, never changed; who and when are on each. Every read
takes the user's scope: an item of another district reads as not found, like an unknown id.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd

from data import audit, ledger, records
from data.scope import CITY, Scope, records_filter

DECISIONS = {"dismiss": "排除", "attach": "并入已有线索", "register": "登记为新线索", "returned": "有新工单，重回队列"}
STATES = {"waiting": "待研判", "dismiss": "已排除", "attach": "已并入线索", "register": "已登记线索"}

_ITEMS_SQL = """
WITH last AS (
    SELECT d.item_id, d.decision, d.at, d.actor, d.reason, d.clue_id
    FROM queue_decisions d
    WHERE d.decision_id = (SELECT max(decision_id) FROM queue_decisions x WHERE x.item_id = d.item_id)
),
hit_stats AS (
    SELECT item_id, count(*) AS n, min(received_at) AS first, max(received_at) AS last_ticket,
           max(created_at) AS last_hit, max(version) AS version
    FROM screening_hits GROUP BY item_id
),
match_stats AS (
    SELECT item_id, count(*) AS n, NULL AS first, NULL AS last_ticket, max(m.created_at) AS last_hit
    FROM collision_matches cm JOIN collisions m USING (collision_id) GROUP BY item_id
)
SELECT i.item_id, i.kind, i.rule_id, i.collision_id, i.place_key, i.district, i.street, i.label, i.lon, i.lat,
       i.created_at,
       coalesce(h.n, m.n, 0) AS n, h.first, h.last_ticket, coalesce(h.last_hit, m.last_hit) AS last_hit,
       h.version,
       CASE WHEN l.decision IS NULL OR l.decision = 'returned' THEN 'waiting' ELSE l.decision END AS state,
       CASE WHEN l.decision = 'returned' THEN l.at ELSE i.created_at END AS waiting_since,
       l.at AS decided_at, l.actor AS decided_by, l.reason AS decision_reason, l.clue_id,
       EXISTS (SELECT 1 FROM queue_decisions x WHERE x.item_id = i.item_id AND x.decision = 'returned')
           AS seen_before,
       r.key AS rule_key,
       coalesce(v.name, c.name) AS source_name, v.project
FROM queue_items i
LEFT JOIN last l ON l.item_id = i.item_id
LEFT JOIN hit_stats h ON h.item_id = i.item_id
LEFT JOIN match_stats m ON m.item_id = i.item_id
LEFT JOIN screening_rules r ON r.rule_id = i.rule_id
LEFT JOIN screening_rule_versions v ON v.rule_id = i.rule_id
     AND v.version = (SELECT max(version) FROM screening_rule_versions x WHERE x.rule_id = i.rule_id)
LEFT JOIN collisions c ON c.collision_id = i.collision_id
"""


def items(rec: sqlite3.Connection, scope: Scope = CITY, *, state: str | None = "waiting", rule_key: str | None = None,
          district: str | None = None, limit: int = 1000) -> tuple[pd.DataFrame, int]:
    """Items in the scope (newest activity first), with their counts and state; returns (rows ≤ limit, total)."""
    where, params = _where(scope, state, rule_key, district)
    total = rec.execute(f"SELECT count(*) FROM ({_ITEMS_SQL}) q WHERE {where}", params).fetchone()[0]
    rows = rec.execute(f"SELECT * FROM ({_ITEMS_SQL}) q WHERE {where} ORDER BY last_hit DESC, n DESC, item_id DESC "
                       f"LIMIT ?", (*params, int(limit))).fetchall()
    df = pd.DataFrame([dict(r) for r in rows])
    if df.empty:
        df = pd.DataFrame(columns=["item_id", "kind", "rule_key", "source_name", "district", "street", "label", "n",
                                   "first", "last_ticket", "last_hit", "state", "seen_before", "version"])
    else:
        df["seen_before"] = df["seen_before"].astype(bool)
    return df, int(total)


def _where(scope: Scope, state, rule_key, district) -> tuple[str, list]:
    sql, params = records_filter(scope, "district")
    parts, args = [sql], list(params)
    if state:
        parts.append("state = ?")
        args.append(state)
    if rule_key:
        parts.append("rule_key = ?")
        args.append(rule_key)
    if district:
        parts.append("district = ?")
        args.append(district)
    return " AND ".join(parts), args


def item(rec: sqlite3.Connection, item_id: int, scope: Scope = CITY) -> dict | None:
    """One item (as `items` gives it) or None when unknown or outside the scope."""
    sql, params = records_filter(scope, "district")
    row = rec.execute(f"SELECT * FROM ({_ITEMS_SQL}) q WHERE item_id = ? AND {sql}", (int(item_id), *params)).fetchone()
    return None if row is None else dict(row)


def item_hits(rec: sqlite3.Connection, item_id: int) -> pd.DataFrame:
    """The item's tickets: ticket id, received, version that found it, trigger, run (rule items)."""
    rows = rec.execute("SELECT ticket_id, received_at, version, trigger, run_id, created_at FROM screening_hits "
                       "WHERE item_id = ? ORDER BY received_at, ticket_id", (int(item_id),)).fetchall()
    return pd.DataFrame([tuple(r) for r in rows],
                        columns=["ticket_id", "received_at", "version", "trigger", "run_id", "created_at"])


def item_matches(rec: sqlite3.Connection, item_id: int) -> pd.DataFrame:
    rows = rec.execute("SELECT row_number, ticket_id, score, evidence FROM collision_matches WHERE item_id = ? "
                       "ORDER BY score DESC, row_number", (int(item_id),)).fetchall()
    df = pd.DataFrame([tuple(r) for r in rows], columns=["row_number", "ticket_id", "score", "evidence"])
    df["evidence"] = df["evidence"].map(json.loads)
    return df


def evidence_table(matches: pd.DataFrame) -> pd.DataFrame:
    """A collision item's matches for display: ticket, what matched, distance, days, the record (phones masked)."""
    ev = matches["evidence"]
    return pd.DataFrame({
        "工单编号": matches["ticket_id"], "匹配依据": ev.map(lambda e: "、".join(e.get("kinds", []))),
        "距离（米）": ev.map(lambda e: e.get("distance_m")), "相隔天数": ev.map(lambda e: e.get("days")),
        "名单记录": ev.map(lambda e: "；".join(f"{v}" for v in e.get("record", {}).values())),
        "匹配分": matches["score"].round(2)})


def decisions(rec: sqlite3.Connection, item_id: int) -> pd.DataFrame:
    rows = rec.execute("SELECT at, actor, decision, reason, clue_id FROM queue_decisions WHERE item_id = ? "
                       "ORDER BY decision_id", (int(item_id),)).fetchall()
    df = pd.DataFrame([tuple(r) for r in rows], columns=["at", "actor", "decision", "reason", "clue_id"])
    df["decision"] = df["decision"].map(DECISIONS).fillna(df["decision"])
    return df


class DecisionError(ValueError):
    """A decision that cannot be recorded; the message is for the user."""


def decide(rec: sqlite3.Connection, actor, item_ids: list[int], decision: str, *, reason: str = "",
           clue_id: str | None = None, scope: Scope = CITY) -> int:
    """Record `decision` on each item (all in scope and waiting, or none is recorded); returns how many."""
    if decision not in ("dismiss", "attach", "register"):
        raise DecisionError(f"未知的研判决定 {decision!r}")
    reason = (reason or "").strip()
    if decision == "dismiss" and not reason:
        raise DecisionError("排除时请写明理由。")
    if decision in ("attach", "register") and not clue_id:
        raise DecisionError("请指明线索编号。")
    if not item_ids:
        raise DecisionError("请先选择待研判事项。")
    with _tx(rec):
        _waiting(rec, item_ids, scope)
        for i in item_ids:
            rec.execute("INSERT INTO queue_decisions (item_id, decision, reason, clue_id, at, actor, role) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (int(i), decision, reason, clue_id, records.now_text(), getattr(actor, "name", str(actor)),
                         getattr(actor, "role", "") or ""))
        audit.record(actor, "queue_decision", ",".join(map(str, item_ids)),
                     {"decision": decision, "reason": reason, "clue_id": clue_id}, con=rec)
    return len(item_ids)


@contextmanager
def _tx(rec: sqlite3.Connection):
    """A write transaction, or the caller's (a clue registered and the decision on its items commit together)."""
    if rec.in_transaction:
        yield rec
    else:
        with records.transaction(rec):
            yield rec


def _waiting(rec, item_ids: list[int], scope: Scope) -> list[dict]:
    out = []
    for i in item_ids:
        it = item(rec, i, scope)
        if it is None:
            raise DecisionError(f"待研判事项 {i} 不存在。")
        if it["state"] != "waiting":
            raise DecisionError(f"事项 {i} {STATES[it['state']]}（{it['decided_by']}，{it['decided_at']}），"
                                "不能重复研判。")
        out.append(it)
    return out


def register(rec: sqlite3.Connection, actor, item_ids: list[int], *, function: str, summary: str,
             department: str | None = None, district: str | None = None, scope: Scope = CITY,
             store=None) -> ledger.Clue:
    """Register one new clue in the ledger from one or a batch of waiting items (their tickets linked) and
    record the decision on each: one transaction, so the clue and the decisions exist together or not at all."""
    if not item_ids:
        raise DecisionError("请先选择待研判事项。")
    if not function:
        raise DecisionError("请选择检察职能。")
    with _tx(rec):
        its = _waiting(rec, item_ids, scope)
        rule_ids = list(dict.fromkeys(it["rule_id"] for it in its if it["rule_id"] is not None))
        first = its[0]
        ref = {"queue_items": [int(i) for i in item_ids]}
        if rule_ids:
            ref |= {"rule_id": rule_ids[0], "rule_version": first.get("version"), "rule_key": first["rule_key"]}
            if len(rule_ids) > 1:
                ref["rule_ids"] = rule_ids
        collisions = [it["collision_id"] for it in its if it["collision_id"] is not None]
        if collisions:
            ref["collisions"] = collisions
        districts = Counter(it["district"] for it in its if it["district"])
        where = district or (districts.most_common(1)[0][0] if districts else None)
        if not where:
            raise DecisionError("无法确定线索所属区：请指定。")
        places = list(dict.fromkeys(it["label"] for it in its if it["label"]))
        located = [it for it in its if it["lon"] is not None]
        try:
            clue = ledger.register_clue(
                rec, actor, source="rule" if rule_ids else "other", source_ref=ref, district=where,
                function=function, department=department, topic=first.get("project") or None,
                place="、".join(places)[:300] or None, lon=located[0]["lon"] if located else None,
                lat=located[0]["lat"] if located else None, summary=summary, ticket_ids=ticket_ids(rec, item_ids))
        except ledger.LedgerError as exc:
            raise DecisionError(str(exc)) from exc
        decide(rec, actor, item_ids, "register", reason=summary, clue_id=clue.clue_no, scope=scope)
    return clue


def attach(rec: sqlite3.Connection, actor, item_ids: list[int], clue_no: str, *, reason: str = "",
           scope: Scope = CITY, store=None) -> ledger.Clue:
    """Link the items' tickets to an existing clue and record the decision on each (one transaction)."""
    if not item_ids:
        raise DecisionError("请先选择待研判事项。")
    with _tx(rec):
        _waiting(rec, item_ids, scope)
        if ledger.get_clue(rec, clue_no, scope, store=store) is None:
            raise DecisionError(f"线索 {clue_no} 不存在。")
        why = (reason or "").strip() or f"研判并入（待研判事项 {', '.join(map(str, item_ids))}）"
        try:
            clue = ledger.attach_tickets(rec, actor, clue_no, ticket_ids(rec, item_ids), why, store=store)
        except ledger.LedgerError as exc:
            raise DecisionError(str(exc)) from exc
        decide(rec, actor, item_ids, "attach", reason=why, clue_id=clue.clue_no, scope=scope)
    return clue


def ticket_ids(rec: sqlite3.Connection, item_ids: list[int]) -> list[str]:
    """The tickets of the items (hits and collision matches), each once, in item order."""
    out: dict[str, None] = {}
    for i in item_ids:
        for r in rec.execute("SELECT ticket_id FROM screening_hits WHERE item_id = ? UNION ALL "
                             "SELECT ticket_id FROM collision_matches WHERE item_id = ?", (int(i), int(i))):
            out[r[0]] = None
    return list(out)


def clues_at(rec: sqlite3.Connection, item_id: int) -> pd.DataFrame:
    """Earlier decisions that made or joined clues at the same place (same place key), by any rule."""
    rows = rec.execute("""
        SELECT d.at, d.actor, d.decision, d.clue_id, i.item_id
        FROM queue_items i JOIN queue_decisions d ON d.item_id = i.item_id
        WHERE i.place_key = (SELECT place_key FROM queue_items WHERE item_id = ?)
          AND d.decision IN ('attach', 'register') ORDER BY d.decision_id""", (int(item_id),)).fetchall()
    return pd.DataFrame([tuple(r) for r in rows], columns=["at", "actor", "decision", "clue_id", "item_id"])


def rule_outcomes(rec: sqlite3.Connection, rule_id: int, scope: Scope = CITY) -> dict:
    """What became of a rule's items: total, waiting, registered, attached, dismissed (the rule's record)."""
    sql, params = records_filter(scope, "district")
    rows = rec.execute(f"SELECT state, count(*) FROM ({_ITEMS_SQL}) q WHERE rule_id = ? AND {sql} GROUP BY state",
                       (int(rule_id), *params)).fetchall()
    got = {r[0]: int(r[1]) for r in rows}
    return {"items": sum(got.values()), **{k: got.get(k, 0) for k in ("waiting", "register", "attach", "dismiss")}}


@dataclass(frozen=True)
class Summary:
    waiting: int
    oldest: str | None          # since when the oldest waiting item waits (created, or back with new tickets)
    oldest_days: int | None
    returned: int               # waiting items seen before


def queue_summary(rec: sqlite3.Connection, scope: Scope = CITY) -> Summary:
    """How many items wait in the scope and how old the oldest is (the overview, the wall screen)."""
    sql, params = records_filter(scope, "district")
    row = rec.execute(f"SELECT count(*), min(waiting_since), sum(seen_before) FROM ({_ITEMS_SQL}) q "
                      f"WHERE state = 'waiting' AND {sql}", params).fetchone()
    oldest = row[1]
    days = None
    if oldest:
        days = (records.now() - records.from_text(oldest)).days
    return Summary(int(row[0] or 0), oldest, days, int(row[2] or 0))
