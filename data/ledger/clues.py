"""Writing the ledger: register a clue, link tickets, move it through its stages, correct, edit, decide.

Every write is one transaction of the records store with its audit row (`ledger_change`), and appends rows
only: a stage is an event, a correction is a new event naming the stage it replaces, with a reason. When the
caller already holds a transaction on `con` (the screening queue deciding an item and registering its clue
together), the write joins it instead of opening its own.

Who may write: a Principal needs `ledger_edit` (or `queue_decide` to register from the screening queue) and
the clue's district in its scope; a command-line operator (data.audit.Actor) may write anywhere.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import date, datetime, time

from data import audit, records
from data.ledger import imported as imp
from data.ledger.model import (
    EDITABLE,
    FUNCTIONS,
    OUTCOMES,
    RANK,
    RECTIFY_RESULTS,
    REQUIRES,
    SOURCES,
    STAGES,
    SUGGESTION_KINDS,
    Clue,
    LedgerError,
)
from data.ledger.read import get_clue, load_rows
from data.ledger.state import derive
from data.scope import Scope

NUMBER_FORMAT = "X-{year}-{seq:06d}"
MAX_TICKETS = 5000


@contextlib.contextmanager
def _tx(con: sqlite3.Connection):
    if con.in_transaction:
        yield con
    else:
        with records.transaction(con):
            yield con


def _may(actor, district: str | None, *perms: str) -> None:
    can = getattr(actor, "can", None)
    if can is None:
        return      # a command-line operator
    if not any(can(p) for p in perms):
        raise LedgerError("无权修改线索台账：需要“登记线索、推进办理环节”权限。")
    if district is not None and not actor.scope.allows_district(district):
        raise LedgerError("不能登记或修改其他辖区的线索。")


def _who(actor) -> tuple[str, str]:
    """(name, role) of an Actor, a Principal or an account name, as the audit trail names them."""
    if isinstance(actor, str):
        return actor, ""
    return str(actor.name), str(getattr(actor, "role", "") or "")


def _scope_of(actor) -> Scope:
    return getattr(actor, "scope", None) or Scope()


def _text(v, what: str, *, required: bool = False, max_len: int = 2000) -> str | None:
    s = "" if v is None else str(v).strip()
    if not s:
        if required:
            raise LedgerError(f"请填写{what}。")
        return None
    if len(s) > max_len:
        raise LedgerError(f"{what}过长（最多 {max_len} 个字符）。")
    return s


def _ticket_ids(ticket_ids) -> list[str]:
    if ticket_ids is None:
        return []
    if isinstance(ticket_ids, str):
        raise LedgerError("工单编号应为列表。")
    ids = list(dict.fromkeys(str(t).strip() for t in ticket_ids if str(t).strip()))
    if len(ids) > MAX_TICKETS:
        raise LedgerError(f"一次最多关联 {MAX_TICKETS:,} 件工单。")
    return ids


def _district(v) -> str:
    from geo.names import canonical_district, clean_text

    s = clean_text(str(v or ""))
    if not s:
        raise LedgerError("请填写线索所属辖区（区）。")
    return canonical_district(s) or s


def _event(con, clue_no: str, kind: str, actor, *, stage_at: datetime | None = None, details: dict | None = None,
           reason: str = "", replaces: int | None = None) -> int:
    name, role = _who(actor)
    cur = con.execute(
        "INSERT INTO ledger_events (clue_no, kind, stage_at, details, reason, replaces, recorded_at, recorded_by, "
        "recorded_role) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (clue_no, kind, records.to_text(stage_at), json.dumps(details or {}, ensure_ascii=False, sort_keys=True),
         reason or "", replaces, records.now_text(), name, role))
    return int(cur.lastrowid)


def _link(con, clue_no: str, event_id: int, ticket_ids: list[str]) -> None:
    con.executemany("INSERT INTO ledger_links (clue_no, ticket_id, event_id) VALUES (?, ?, ?)",
                    [(clue_no, t, event_id) for t in ticket_ids])


# ------------------------------------------------------------------------------------------- register
def register_clue(con: sqlite3.Connection, actor, *, source: str, source_ref: dict | None = None, district: str,
                  function: str, department: str | None = None, topic: str | None = None,
                  subject: str | None = None, place: str | None = None, lon: float | None = None,
                  lat: float | None = None, summary: str, ticket_ids: list[str] | None = None,
                  handler: str | None = None, registered_at: datetime | None = None) -> Clue:
    """Register a new clue (登记) and return it with its number (X-YYYY-NNNNNN, numbered per year).

    source: a SOURCES key (`rule` with source_ref {"rule_id", "rule_version", "queue_items"}, `12309` with
    {"letter_id"}, `liaison`, `department`, `letter`, `other`). One transaction with its audit row.
    registered_at: when it was registered, for a clue registered earlier on paper (补录; not in the future;
    default now). The number's year is the registration's; the entry itself is recorded now, by `actor`.
    """
    if source not in SOURCES:
        raise LedgerError(f"线索来源应为：{'、'.join(f'{k}（{v}）' for k, v in SOURCES.items())}。")
    if function not in FUNCTIONS:
        raise LedgerError(f"检察职能应为：{'、'.join(FUNCTIONS)}。")
    district = _district(district)
    _may(actor, district, "ledger_edit", "queue_decide")
    if source_ref is not None and not isinstance(source_ref, dict):
        raise LedgerError("线索来源详情应为字典。")
    ref = json.dumps(source_ref or {}, ensure_ascii=False, sort_keys=True, default=str)
    summary = _text(summary, "线索摘要", required=True)
    values = {"department": _text(department, "承办部门", max_len=100), "topic": _text(topic, "专项", max_len=100),
              "subject": _text(subject, "被监督对象", max_len=200), "place": _text(place, "地点", max_len=300),
              "handler": _text(handler, "承办人", max_len=100)}
    lon, lat = _coords(lon, lat)
    ids = _ticket_ids(ticket_ids)
    now = records.now()
    if registered_at is not None:
        if registered_at.replace(microsecond=0) > now:
            raise LedgerError("登记时间不能晚于现在。")
        now = registered_at.replace(microsecond=0)
    name, _role = _who(actor)
    with _tx(con):
        year = now.year
        seq = int(con.execute("SELECT coalesce(max(seq), 0) + 1 FROM ledger_clues WHERE year = ?", (year,)).fetchone()[0])
        serial = int(con.execute("SELECT coalesce(max(serial), 0) + 1 FROM ledger_clues").fetchone()[0])
        clue_no = NUMBER_FORMAT.format(year=year, seq=seq)
        con.execute(
            "INSERT INTO ledger_clues (clue_no, serial, origin, year, seq, district, source, source_ref, function, "
            "department, topic, subject, place, lon, lat, summary, handler, created_at, created_by) "
            "VALUES (?, ?, 'app', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (clue_no, serial, year, seq, district, source, ref, function, values["department"], values["topic"],
             values["subject"], values["place"], lon, lat, summary, values["handler"], records.to_text(now), name))
        eid = _event(con, clue_no, "register", actor, stage_at=now, details={"tickets": len(ids)})
        _link(con, clue_no, eid, ids)
        audit.record(actor, "ledger_change", clue_no,
                     {"action": "register", "source": source, "source_ref": source_ref or {}, "district": district,
                      "tickets": len(ids)}, con=con)
        return _current(con, clue_no)


def _coords(lon, lat) -> tuple[float | None, float | None]:
    if lon in (None, "") and lat in (None, ""):
        return None, None
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError) as exc:
        raise LedgerError("经纬度应为数字。") from exc
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise LedgerError("经纬度超出范围。")
    return lon, lat


def _current(con, clue_no: str, store=None) -> Clue:
    rows, events, links = load_rows(con, [clue_no])
    row = rows[clue_no]
    base = imp.load(store, [clue_no]).get(clue_no) if (row["origin"] == "import" and store is not None) else None
    return derive(row, events.get(clue_no, []), links, base)


# ------------------------------------------------------------------------------------------- the clue acted on
def _open(con, actor, clue_no: str, store=None, perms=("ledger_edit",)) -> Clue:
    """The clue to act on (in the open transaction): an app clue, or an imported clue (with `store`), which
    then gets its ledger row and a baseline (its imported rows' fingerprint) on the first act."""
    clue_no = str(clue_no or "").strip()
    row = con.execute("SELECT origin FROM ledger_clues WHERE clue_no = ?", (clue_no,)).fetchone()
    if row is not None and row["origin"] == "import" and store is None:
        raise LedgerError("该线索来自导入数据，修改时需要工单库（store）。")
    clue = get_clue(con, clue_no, _scope_of(actor), store=store)
    if clue is None:
        raise LedgerError(f"未找到线索 {clue_no}（编号不存在或不在您的辖区）。")
    _may(actor, clue.district, *perms)
    if row is None:     # an imported clue acted on for the first time
        base = imp.load(store, [clue_no])[clue_no]
        name, _role = _who(actor)
        serial = int(con.execute("SELECT coalesce(max(serial), 0) + 1 FROM ledger_clues").fetchone()[0])
        con.execute("INSERT INTO ledger_clues (clue_no, serial, origin, district, source, function, department, "
                    "topic, summary, created_at, created_by) VALUES (?, ?, 'import', ?, ?, ?, ?, ?, ?, ?, ?)",
                    (clue_no, serial, clue.district, clue.source, clue.function, clue.department, clue.topic,
                     clue.summary, records.now_text(), name))
        _event(con, clue_no, "baseline", actor, details={"fingerprint": base.fingerprint, "decision": "first"})
    return clue


def attach_tickets(con: sqlite3.Connection, actor, clue_no: str, ticket_ids: list[str], reason: str, *,
                   store=None) -> Clue:
    """Link more tickets to a clue (关联工单), with a reason; tickets already linked are skipped."""
    ids = _ticket_ids(ticket_ids)
    if not ids:
        raise LedgerError("请至少选择一件工单。")
    reason = _text(reason, "关联理由", required=True, max_len=500)
    with _tx(con):
        clue = _open(con, actor, clue_no, store, perms=("ledger_edit", "queue_decide"))
        new = [t for t in ids if t not in set(clue.ticket_ids)]
        if new:
            eid = _event(con, clue.clue_no, "link", actor, details={"ticket_ids": new}, reason=reason)
            _link(con, clue.clue_no, eid, new)
            audit.record(actor, "ledger_change", clue.clue_no,
                         {"action": "link", "tickets": new, "reason": reason}, con=con)
        return _current(con, clue.clue_no, store)


def detach_tickets(con: sqlite3.Connection, actor, clue_no: str, ticket_ids: list[str], reason: str, *,
                   store=None) -> Clue:
    """Remove linked tickets from a clue (kept in the history), with a reason."""
    ids = _ticket_ids(ticket_ids)
    reason = _text(reason, "取消关联的理由", required=True, max_len=500)
    with _tx(con):
        clue = _open(con, actor, clue_no, store)
        gone = [t for t in ids if t in set(clue.ticket_ids)]
        if not gone:
            raise LedgerError("所选工单未关联到该线索。")
        _event(con, clue.clue_no, "unlink", actor, details={"ticket_ids": gone}, reason=reason)
        audit.record(actor, "ledger_change", clue.clue_no, {"action": "unlink", "tickets": gone, "reason": reason},
                     con=con)
        return _current(con, clue.clue_no, store)


def _moment(on, floor: datetime | None) -> datetime:
    """The time of a step: now (None), a datetime, or a date (that day, not before `floor` on the same day)."""
    now = records.now()
    if on is None:
        at = now
    elif isinstance(on, datetime):
        at = on.replace(microsecond=0)
    elif isinstance(on, date):
        at = now if on == now.date() else datetime.combine(on, time())
        if floor is not None and floor.date() == on and at < floor:
            at = floor
    else:
        raise LedgerError("日期格式不正确。")
    if at > now:
        raise LedgerError("办理日期不能晚于今天。")
    return at


def _check_stage_values(stage: str, details: dict, outcomes) -> tuple[dict, list[tuple[str, float, str]]]:
    d = dict(details or {})
    figs: list[tuple[str, float, str]] = []
    if stage == "decide":
        if d.get("outcome") not in OUTCOMES:
            raise LedgerError("请选择审查决定：立案、不立案或移送。")
        if d["outcome"] == "transfer" and not _text(d.get("transfer_to"), "移送单位"):
            raise LedgerError("移送时请填写移送单位。")
    if stage == "suggest":
        if d.get("kind") not in SUGGESTION_KINDS:
            raise LedgerError("请选择检察建议类型：诉前检察建议或社会治理检察建议。")
        d["urgent"] = bool(d.get("urgent"))
        _text(d.get("addressee"), "建议对象（被建议单位）", required=True, max_len=200)
    if stage == "rectify":
        if d.get("result") not in RECTIFY_RESULTS:
            raise LedgerError(f"请选择整改结果：{'、'.join(RECTIFY_RESULTS)}。")
        for f in outcomes or ():
            item, value, unit = ([*list(f), "", None, ""])[:3] if not isinstance(f, dict) else \
                (f.get("item"), f.get("value"), f.get("unit", ""))
            item = _text(item, "整改成效项目", required=True, max_len=100)
            try:
                v = float(value)
            except (TypeError, ValueError) as exc:
                raise LedgerError(f"整改成效“{item}”的数量应为数字。") from exc
            if v < 0:
                raise LedgerError(f"整改成效“{item}”的数量不能为负数。")
            figs.append((item, v, str(unit or "").strip()))
    for _k, v in d.items():
        if isinstance(v, str) and len(v) > 2000:
            raise LedgerError("填写内容过长（最多 2,000 个字符）。")
    return d, figs


def _floor(clue: Clue, stage: str) -> datetime | None:
    """The latest time among the stages `stage` follows (a step cannot be dated before them)."""
    before = [s.at for k, s in clue.stages.items() if RANK[k] < RANK[stage] and k != "notify" and s.at]
    if stage == "close":
        before = [s.at for k, s in clue.stages.items() if k != "close" and s.at]
    return max(before) if before else None


def record_stage(con: sqlite3.Connection, actor, clue_no: str, stage: str, *, on=None, details: dict | None = None,
                 outcomes=None, note: str = "", store=None) -> Clue:
    """Record the next step of a clue (评估, 审查决定, 书面告知, 检察建议, 回复, 整改, 回头看, 结案).

    details by stage: decide {"outcome": file|not_file|transfer, "transfer_to"}; suggest {"kind":
    pre_litigation|social_governance, "urgent": bool, "addressee"}; rectify {"result"} with `outcomes`
    [(item, value, unit), ...] (counted results); others free text ("note"). `on`: when it happened (a date or
    datetime, not in the future, not before the steps it follows; default now).
    """
    if stage not in STAGES or stage == "register":
        raise LedgerError("未知的办理环节。")
    with _tx(con):
        clue = _open(con, actor, clue_no, store)
        if stage not in clue.next_steps:
            have = "、".join(STAGES[k] for k in clue.stages) or "无"
            if stage in clue.stages:
                raise LedgerError(f"该线索已有“{STAGES[stage]}”记录；如需修改请使用“更正”。")
            raise LedgerError(f"当前不能记录“{STAGES[stage]}”：该线索已有环节为 {have}，"
                              f"需先完成“{'或'.join(STAGES[k] for k in REQUIRES[stage])}”。")
        d, figs = _check_stage_values(stage, details, outcomes)
        if note:
            d["note"] = _text(note, "备注")
        floor = _floor(clue, stage)
        at = _moment(on, floor)
        if floor is not None and at < floor:
            raise LedgerError(f"“{STAGES[stage]}”的日期不能早于上一环节（{floor:%Y-%m-%d}）。")
        eid = _event(con, clue.clue_no, stage, actor, stage_at=at, details=d)
        con.executemany("INSERT INTO ledger_outcomes (event_id, item, value, unit) VALUES (?, ?, ?, ?)",
                        [(eid, *f) for f in figs])
        audit.record(actor, "ledger_change", clue.clue_no,
                     {"action": stage, "at": at, **d, "outcomes": figs}, con=con)
        return _current(con, clue.clue_no, store)


def correct_stage(con: sqlite3.Connection, actor, clue_no: str, stage: str, *, reason: str, on=None,
                  details: dict | None = None, outcomes=None, store=None) -> Clue:
    """Correct a recorded stage (更正): a new entry with the right date and values and a reason; the old one
    stays in the history, marked superseded. Works on imported stages too."""
    reason = _text(reason, "更正理由", required=True, max_len=500)
    with _tx(con):
        clue = _open(con, actor, clue_no, store)
        old = clue.stages.get(stage)
        if old is None or stage == "register":
            raise LedgerError(f"该线索没有可更正的“{STAGES.get(stage, stage)}”记录。")
        d, figs = _check_stage_values(stage, {**old.details, **(details or {})}, outcomes if outcomes is not None
                                      else old.outcomes)
        floor = _floor(clue, stage)
        at = _moment(on, floor) if on is not None else old.at
        if floor is not None and at < floor:
            raise LedgerError(f"“{STAGES[stage]}”的日期不能早于上一环节（{floor:%Y-%m-%d}）。")
        later = [s for k, s in clue.stages.items() if RANK[k] > RANK[stage] and k not in ("notify",) and s.at < at]
        if later and stage != "notify":
            raise LedgerError(f"更正后的日期晚于后续环节“{later[0].label}”（{later[0].at:%Y-%m-%d}），请先更正后续环节。")
        eid = _event(con, clue.clue_no, "correct", actor, stage_at=at, details={**d, "stage": stage}, reason=reason,
                     replaces=old.event_id)
        con.executemany("INSERT INTO ledger_outcomes (event_id, item, value, unit) VALUES (?, ?, ?, ?)",
                        [(eid, *f) for f in figs])
        audit.record(actor, "ledger_change", clue.clue_no,
                     {"action": "correct", "stage": stage, "at": at, **d, "outcomes": figs, "reason": reason,
                      "replaces": old.event_id}, con=con)
        return _current(con, clue.clue_no, store)


def void_stage(con: sqlite3.Connection, actor, clue_no: str, stage: str, *, reason: str, store=None) -> Clue:
    """Withdraw the latest stage recorded by mistake (撤销), with a reason; it stays in the history."""
    reason = _text(reason, "撤销理由", required=True, max_len=500)
    with _tx(con):
        clue = _open(con, actor, clue_no, store)
        old = clue.stages.get(stage)
        if old is None or stage == "register":
            raise LedgerError(f"该线索没有可撤销的“{STAGES.get(stage, stage)}”记录。")
        later = [k for k in clue.stages if RANK[k] > RANK[stage] and k != "notify"]
        if later and stage != "notify":
            raise LedgerError(f"请先撤销后续环节“{STAGES[later[0]]}”。")
        _event(con, clue.clue_no, "void", actor, details={"stage": stage}, reason=reason, replaces=old.event_id)
        audit.record(actor, "ledger_change", clue.clue_no,
                     {"action": "void", "stage": stage, "reason": reason, "replaces": old.event_id}, con=con)
        return _current(con, clue.clue_no, store)


def edit_clue(con: sqlite3.Connection, actor, clue_no: str, changes: dict, *, reason: str, store=None) -> Clue:
    """Change a clue's attributes (handler, summary, subject, ...) with a reason; earlier values stay in the
    history."""
    reason = _text(reason, "修改理由", required=True, max_len=500)
    bad = set(changes) - set(EDITABLE)
    if bad:
        raise LedgerError(f"不能修改：{'、'.join(sorted(bad))}。")
    vals = dict(changes)
    if "function" in vals and vals["function"] not in FUNCTIONS:
        raise LedgerError(f"检察职能应为：{'、'.join(FUNCTIONS)}。")
    if "lon" in vals or "lat" in vals:
        vals["lon"], vals["lat"] = _coords(vals.get("lon"), vals.get("lat"))
    for k in ("department", "topic", "subject", "place", "summary", "handler"):
        if k in vals:
            vals[k] = _text(vals[k], k, required=(k == "summary"))
    with _tx(con):
        clue = _open(con, actor, clue_no, store)
        vals = {k: v for k, v in vals.items() if getattr(clue, k) != v}
        if not vals:
            raise LedgerError("没有需要修改的内容。")
        _event(con, clue.clue_no, "edit", actor, details=vals, reason=reason)
        audit.record(actor, "ledger_change", clue.clue_no, {"action": "edit", **vals, "reason": reason}, con=con)
        return _current(con, clue.clue_no, store)


def decide_conflict(con: sqlite3.Connection, actor, clue_no: str, decision: str, *, reason: str, store) -> Clue:
    """Decide a re-import conflict: `keep_app` (the ledger's entries stand) or `take_import` (the imported
    values replace the app's entries made so far, which stay in the history)."""
    if decision not in ("keep_app", "take_import"):
        raise LedgerError("请选择：保留台账记录，或采用导入数据。")
    reason = _text(reason, "处理理由", required=True, max_len=500)
    with _tx(con):
        clue = _open(con, actor, clue_no, store)
        if not clue.conflict:
            raise LedgerError("该线索没有待处理的导入冲突。")
        base = imp.load(store, [clue.clue_no])[clue.clue_no]
        _event(con, clue.clue_no, "baseline", actor, details={"fingerprint": base.fingerprint, "decision": decision},
               reason=reason)
        audit.record(actor, "ledger_change", clue.clue_no, {"action": "conflict", "decision": decision,
                                                            "reason": reason}, con=con)
        return _current(con, clue.clue_no, store)
