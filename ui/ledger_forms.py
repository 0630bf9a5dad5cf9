"""The ledger's forms: register a clue, record a step, correct or withdraw one, edit, link tickets, decide an
import conflict; the monthly report and the ledger export buttons.

Layout and form handling only: every write goes through data.ledger (one transaction with its audit row),
and a refused write shows the ledger's own Chinese message. After a write the page reruns, so every figure
(the funnel too) reads the ledger's new version.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

import streamlit as st

from data import ledger, records
from data.ledger.model import (
    EDIT_LABELS,
    FUNCTIONS,
    OUTCOME_ITEMS,
    OUTCOMES,
    RECTIFY_RESULTS,
    SOURCES,
    STAGES,
    SUGGESTION_KINDS,
    Clue,
)
from ui.plain import md

_SPLIT = re.compile(r"[\s,，;；、]+")
_REF_LABELS = {"rule": "规则编号", "12309": "信访件编号", "liaison": "联络点名称", "department": "移送部门",
               "letter": "来信编号", "other": "来源说明"}
_REF_KEYS = {"rule": "rule_id", "12309": "letter_id", "liaison": "liaison", "department": "department",
             "letter": "letter_id", "other": "note"}


def ticket_ids(text: str) -> list[str]:
    """Ticket numbers typed or pasted: separated by spaces, commas, semicolons or new lines."""
    return [t for t in _SPLIT.split(text or "") if t]


def register_form(me, districts: list[str], topics: list[str], *, prefill: dict | None = None,
                  key: str = "lg_new") -> Clue | None:
    """The registration form; returns the new clue after a successful submit, else None."""
    pre = prefill or {}
    with st.form(key, clear_on_submit=False, border=True):
        c = st.columns(3)
        src_keys = list(SOURCES)
        source = c[0].selectbox("线索来源", src_keys, format_func=SOURCES.get, key=f"{key}_source",
                                index=src_keys.index(pre.get("source", "other")))
        ref = c[1].text_input("来源详情（规则编号、信访件编号、联络点名称、移送部门等）", value=pre.get("ref", ""),
                              key=f"{key}_ref")
        district = c[2].selectbox("所属区", districts, key=f"{key}_district",
                                  index=districts.index(pre["district"]) if pre.get("district") in districts else 0)
        c = st.columns(3)
        function = c[0].selectbox("检察职能", FUNCTIONS, key=f"{key}_function",
                                  index=FUNCTIONS.index(pre.get("function", "公益诉讼")))
        department = c[1].text_input("承办部门", value=pre.get("department", ""), key=f"{key}_department",
                                     placeholder="如 第八检察部")
        topic = c[2].selectbox("专项", ["", *topics], key=f"{key}_topic",
                               format_func=lambda t: t or "（无）",
                               index=(["", *topics]).index(pre["topic"]) if pre.get("topic") in topics else 0)
        c = st.columns(4)
        subject = c[0].text_input("被监督对象（行政机关或企业）", value=pre.get("subject", ""), key=f"{key}_subject")
        place = c[1].text_input("地点", value=pre.get("place", ""), key=f"{key}_place")
        handler = c[2].text_input("承办人", value=pre.get("handler", me.name), key=f"{key}_handler")
        today = records.now().date()
        on = c[3].date_input("登记日期（补录纸质登记时填写当时日期）", value=today, max_value=today, key=f"{key}_on")
        summary = st.text_area("线索摘要", value=pre.get("summary", ""), key=f"{key}_summary", height=80)
        tickets = st.text_area("关联工单编号（可粘贴多个，用逗号、空格或换行分隔）", value=pre.get("tickets", ""),
                               key=f"{key}_tickets", height=68)
        ok = st.form_submit_button("登记线索", type="primary")
    if not ok:
        return None
    source_ref = dict(pre.get("source_ref") or {})
    if ref.strip():
        source_ref[_REF_KEYS[source]] = ref.strip()
    try:
        with records.session() as con:
            return ledger.register_clue(
                con, me, source=source, source_ref=source_ref, district=district, function=function,
                department=department, topic=topic or None, subject=subject, place=place, summary=summary,
                ticket_ids=ticket_ids(tickets), handler=handler,
                registered_at=None if on is None or on >= today else datetime.combine(on, time(9, 0)))
    except ledger.LedgerError as exc:
        st.error(md(str(exc)))
        return None


def reset_form(key: str, keep: tuple[str, ...] = ()) -> None:
    """Empty the form `key` (its widgets' values, keys `key_...`, but not `keep`) for the next run."""
    for k in [k for k in st.session_state if str(k).startswith(f"{key}_") and k not in keep]:
        del st.session_state[k]


def _when(label: str, key: str, default: date, floor: date | None) -> date:
    return st.date_input(label, value=default, min_value=floor, max_value=records.now().date(), key=key)


def step_form(me, clue: Clue, store) -> None:
    """Record the next step of a clue (the steps its stages allow)."""
    steps = clue.next_steps
    if not steps:
        st.caption("该线索已结案，没有可记录的下一环节（如需修改请使用“更正”）。")
        return
    step = st.segmented_control("记录下一环节", steps, format_func=STAGES.get, key="cl_step",
                                default=steps[0]) or steps[0]
    latest = max((s.at for s in clue.stages.values() if s.at), default=None)
    today = records.now().date()
    with st.form(f"cl_step_{step}", border=True):
        on = _when(f"{STAGES[step]}日期", f"cl_on_{step}", today, latest.date() if latest else None)
        details, outcomes = _stage_fields(step, "cl", {})
        note = st.text_input("备注", key=f"cl_note_{step}")
        ok = st.form_submit_button(f"记录“{STAGES[step]}”", type="primary")
    if ok:
        _write(lambda con: ledger.record_stage(con, me, clue.clue_no, step, on=on, details=details,
                                               outcomes=outcomes, note=note, store=store),
               f"已记录“{STAGES[step]}”。")


def _stage_fields(step: str, key: str, old: dict, old_outcomes=()) -> tuple[dict, list]:
    """The fields a stage asks for (its details), with `old` values for a correction."""
    d: dict = {}
    outcomes: list = []
    if step == "decide":
        keys = list(OUTCOMES)
        d["outcome"] = st.radio("审查决定", keys, format_func=OUTCOMES.get, horizontal=True, key=f"{key}_outcome",
                                index=keys.index(old.get("outcome", "file")))
        d["transfer_to"] = st.text_input("移送单位（移送时填写）", value=old.get("transfer_to", ""), key=f"{key}_to")
        d["case_no"] = st.text_input("案件编号（立案时可填，留空则自动编号）", value=old.get("case_no", ""),
                                     key=f"{key}_case")
        d = {k: v for k, v in d.items() if v}
    elif step == "assess":
        d["opinion"] = st.text_area("评估/初查意见", value=old.get("opinion", ""), key=f"{key}_opinion", height=68)
    elif step == "notify":
        d["to"] = st.text_input("告知对象", value=old.get("to", ""), key=f"{key}_notify_to")
    elif step == "suggest":
        keys = list(SUGGESTION_KINDS)
        d["kind"] = st.radio("建议类型", keys, format_func=SUGGESTION_KINDS.get, horizontal=True, key=f"{key}_kind",
                             index=keys.index(old.get("kind", "pre_litigation")))
        d["urgent"] = st.checkbox("紧急（十五日回复期）", value=bool(old.get("urgent")), key=f"{key}_urgent")
        d["addressee"] = st.text_input("建议对象（被建议单位）", value=old.get("addressee", ""), key=f"{key}_addr")
    elif step == "reply":
        d["summary"] = st.text_area("回复内容摘要", value=old.get("summary", ""), key=f"{key}_reply", height=68)
    elif step == "rectify":
        d["result"] = st.radio("整改结果", RECTIFY_RESULTS, horizontal=True, key=f"{key}_result",
                               index=RECTIFY_RESULTS.index(old.get("result", "整改到位")))
        st.caption("整改成效（按件数、吨数、金额等计数；可填多项）")
        items = [i for i, _u in OUTCOME_ITEMS]
        units = dict(OUTCOME_ITEMS)
        rows = list(old_outcomes) + [("", None, "")] * max(1, 3 - len(old_outcomes))
        for i, (item, value, unit) in enumerate(rows[:4]):
            c = st.columns([3, 1, 1])
            pick = c[0].selectbox("成效项目", [""] + items + ([item] if item and item not in items else []),
                                  index=([""] + items + ([item] if item and item not in items else [])).index(item or ""),
                                  key=f"{key}_item{i}", format_func=lambda v: v or "（不填）")
            val = c[1].number_input("数量", min_value=0.0, value=float(value or 0), key=f"{key}_value{i}")
            u = c[2].text_input("单位", value=unit or units.get(pick, ""), key=f"{key}_unit{i}")
            if pick:
                outcomes.append((pick, val, u or units.get(pick, "")))
    elif step in ("follow_up", "close"):
        d["finding" if step == "follow_up" else "note"] = st.text_area(
            "回头看情况" if step == "follow_up" else "结案说明", value=old.get("finding", old.get("note", "")),
            key=f"{key}_text_{step}", height=68)
    return {k: v for k, v in d.items() if v not in ("", None) or k == "urgent"}, outcomes


def correct_form(me, clue: Clue, store) -> None:
    """Correct or withdraw a recorded stage, with a reason."""
    stages = [k for k in clue.stages if k != "register"]
    if not stages:
        st.caption("还没有可更正的环节。")
        return
    stage = st.selectbox("要更正的环节", stages, format_func=STAGES.get, key="cl_fix_stage",
                         index=len(stages) - 1)
    old = clue.stages[stage]
    with st.form(f"cl_fix_{stage}", border=True):
        on = st.date_input("正确的日期", value=old.at.date(), max_value=records.now().date(), key=f"cl_fix_on_{stage}")
        details, outcomes = _stage_fields(stage, f"cl_fix_{stage}", old.details, old.outcomes)
        reason = st.text_input("更正理由（必填）", key=f"cl_fix_reason_{stage}")
        c = st.columns(2)
        fix = c[0].form_submit_button("保存更正", type="primary")
        void = c[1].form_submit_button("撤销该环节")
    on_at = None if on == old.at.date() else datetime.combine(on, time())
    if fix:
        _write(lambda con: ledger.correct_stage(con, me, clue.clue_no, stage, reason=reason, on=on_at,
                                                details=details, outcomes=outcomes if stage == "rectify" else None,
                                                store=store), "已保存更正（原记录保留在办理记录中）。")
    if void:
        _write(lambda con: ledger.void_stage(con, me, clue.clue_no, stage, reason=reason, store=store),
               "已撤销（原记录保留在办理记录中）。")


def edit_form(me, clue: Clue, store) -> None:
    with st.form("cl_edit", border=True):
        values = {}
        c = st.columns(3)
        for i, k in enumerate(("handler", "department", "subject", "place", "topic")):
            values[k] = c[i % 3].text_input(EDIT_LABELS[k], value=getattr(clue, k) or "", key=f"cl_edit_{k}")
        values["function"] = c[2].selectbox(EDIT_LABELS["function"], FUNCTIONS, key="cl_edit_function",
                                            index=FUNCTIONS.index(clue.function) if clue.function in FUNCTIONS else 3)
        values["summary"] = st.text_area(EDIT_LABELS["summary"], value=clue.summary or "", key="cl_edit_summary")
        reason = st.text_input("修改理由（必填）", key="cl_edit_reason")
        ok = st.form_submit_button("保存修改")
    if ok:
        changes = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in values.items()}
        changes = {k: v for k, v in changes.items() if v != getattr(clue, k)}
        _write(lambda con: ledger.edit_clue(con, me, clue.clue_no, changes, reason=reason, store=store),
               "已保存修改。")


def link_form(me, clue: Clue, store) -> None:
    with st.form("cl_link", border=True):
        ids = st.text_area("工单编号（可粘贴多个）", key="cl_link_ids", height=68)
        reason = st.text_input("理由（必填）", key="cl_link_reason")
        c = st.columns(2)
        add = c[0].form_submit_button("关联到本线索")
        remove = c[1].form_submit_button("取消关联")
    if add:
        _write(lambda con: ledger.attach_tickets(con, me, clue.clue_no, ticket_ids(ids), reason, store=store),
               "已关联工单。")
    if remove:
        _write(lambda con: ledger.detach_tickets(con, me, clue.clue_no, ticket_ids(ids), reason, store=store),
               "已取消关联（记录保留）。")


def conflict_form(me, clue: Clue, store) -> None:
    with st.form("cl_conflict", border=True):
        choice = st.radio("处理方式", ["keep_app", "take_import"], horizontal=True, key="cl_conflict_choice",
                          format_func={"keep_app": "保留台账记录", "take_import": "采用导入数据"}.get)
        reason = st.text_input("处理理由（必填）", key="cl_conflict_reason")
        ok = st.form_submit_button("确认")
    if ok:
        _write(lambda con: ledger.decide_conflict(con, me, clue.clue_no, choice, reason=reason, store=store),
               "已处理导入冲突。")


def _write(do, done: str) -> None:
    try:
        with records.session() as con:
            do(con)
    except ledger.LedgerError as exc:
        st.error(md(str(exc)))
        return
    st.session_state["cl_notice"] = done
    # The clue page's forms start empty again (a second click must not record the step or correction twice).
    reset_form("cl", keep=("cl_no", "cl_notice"))
    st.rerun()


def report_and_export(me, today: date) -> None:
    """Month and district for the monthly report (XLSX / PDF), and the whole ledger as XLSX."""
    from ui import ledger_downloads

    ledger_downloads.report_and_export(me, today)
