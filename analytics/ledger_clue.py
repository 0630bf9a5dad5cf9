"""One clue as tables for its page and exports: its facts, its stages, its history, its linked tickets."""

from __future__ import annotations

import pandas as pd

from analytics import privacy
from data.ledger import deadlines
from data.ledger.model import (
    EDIT_LABELS,
    KIND_LABELS,
    OUTCOMES,
    SOURCES,
    STAGES,
    SUGGESTION_KINDS,
    Clue,
    Event,
    Stage,
)

_DETAIL_NAMES = {"outcome": "决定", "transfer_to": "移送单位", "case_no": "案件编号", "case_id": "案件编号",
                 "opinion": "意见", "to": "告知对象", "kind": "类型", "urgent": "紧急", "addressee": "建议对象",
                 "measure": "监督措施", "summary": "摘要", "result": "整改结果", "finding": "情况", "note": "备注",
                 "ticket_ids": "工单", "tickets": "关联工单数", "fingerprint": "导入数据指纹", "decision": "处理",
                 "stage": "环节", **EDIT_LABELS}
_DECISIONS = {"first": "首次在本系统办理（记录导入数据）", "keep_app": "保留台账记录", "take_import": "采用导入数据"}


def _value(k: str, v) -> str:
    if k == "outcome":
        return OUTCOMES.get(v, str(v))
    if k == "kind":
        return SUGGESTION_KINDS.get(v, str(v))
    if k == "urgent":
        return "是" if v else "否"
    if k == "stage":
        return STAGES.get(v, str(v))
    if k == "decision":
        return _DECISIONS.get(v, str(v))
    if k == "fingerprint":
        return str(v)[:8]
    if isinstance(v, list):
        return "、".join(map(str, v))
    return "—" if v in (None, "") else str(v)


def describe(details: dict, outcomes=()) -> str:
    """A step's values in words: 决定：立案；移送单位：…；整改成效：截断污水直排 120 吨."""
    shown = dict(details)
    if "measure" in shown and SUGGESTION_KINDS.get(shown.get("kind")) == shown["measure"]:
        shown.pop("measure")     # an imported suggestion: its measure is its kind
    parts = [f"{_DETAIL_NAMES.get(k, k)}：{_value(k, v)}" for k, v in shown.items() if v not in (None, "", [])]
    if outcomes:
        parts.append("整改成效：" + "、".join(f"{i} {v:g} {u}".strip() for i, v, u in outcomes))
    return "；".join(parts)


def facts(c: Clue) -> pd.DataFrame:
    """The clue's attributes as (项目, 内容) rows (phone and ID numbers in the summary masked)."""
    rows = [("线索编号", c.clue_no), ("登记方式", "本系统登记" if c.origin == "app" else "案件系统导入"),
            ("线索来源", SOURCES.get(c.source or "", c.source or "—")),
            ("来源详情", describe(c.source_ref) if c.source_ref else "—"),
            ("所属区", c.district), ("检察职能", c.function), ("承办部门", c.department), ("专项", c.topic),
            ("被监督对象", c.subject), ("地点", c.place),
            ("坐标（WGS84）", f"{c.lon:.6f}, {c.lat:.6f}" if c.lon is not None and c.lat is not None else None),
            ("承办人", c.handler), ("登记时间", c.created_at.strftime("%Y-%m-%d %H:%M") if c.created_at else None),
            ("登记人", c.created_by), ("线索摘要", privacy.mask_text(c.summary))]
    return pd.DataFrame([(k, "—" if v in (None, "") else str(v)) for k, v in rows], columns=["项目", "内容"])


def _who(s: Stage) -> str:
    return "案件系统导入" if s.event_id is None else s.recorded_by


def stages(c: Clue) -> pd.DataFrame:
    """The stages reached, in order: 环节, 日期, 内容, 记录人, 记录时间."""
    rows = []
    for key in STAGES:
        s = c.stages.get(key)
        if s is None:
            continue
        rows.append({"环节": s.label, "日期": s.at.strftime("%Y-%m-%d %H:%M") if s.at else "—",
                     "内容": describe(s.details, s.outcomes) or "—", "记录人": _who(s),
                     "记录时间": s.recorded_at.strftime("%Y-%m-%d %H:%M") if s.recorded_at else "—"})
    return pd.DataFrame(rows, columns=["环节", "日期", "内容", "记录人", "记录时间"])


def deadline_rows(c: Clue, today) -> pd.DataFrame:
    """Every deadline the clue's stages opened: 期限, 起算日, 到期日, 办理日, 状态."""
    items = deadlines.clue_items(c.stages, c.source, today)
    return pd.DataFrame([{"期限": i.label, "起算日": i.start.isoformat(), "到期日": i.due.isoformat(),
                          "办理日": i.done.isoformat() if i.done else "—", "状态": deadlines.STATES[i.state]}
                         for i in items], columns=["期限", "起算日", "到期日", "办理日", "状态"])


def _event_text(e: Event) -> str:
    d = dict(e.details)
    return describe(d, e.outcomes) or "—"


def history(c: Clue) -> pd.DataFrame:
    """Every entry ever recorded, oldest first, superseded ones marked: 序号, 记录时间, 记录人, 操作, 日期, 内容,
    理由, 状态."""
    rows = [{"序号": e.event_id, "记录时间": e.recorded_at.strftime("%Y-%m-%d %H:%M:%S"), "记录人": e.recorded_by,
             "操作": KIND_LABELS.get(e.kind, e.kind) + (f"（{STAGES.get(e.details.get('stage'), '')}）"
                                                    if e.kind in ("correct", "void") else ""),
             "日期": e.stage_at.strftime("%Y-%m-%d %H:%M") if e.stage_at else "—", "内容": _event_text(e),
             "理由": e.reason or "—", "状态": "已被更正/撤销" if e.superseded else "有效"} for e in c.history]
    return pd.DataFrame(rows, columns=["序号", "记录时间", "记录人", "操作", "日期", "内容", "理由", "状态"])


LINKED_SQL = """
SELECT ticket_id, received_at, district, street, category_l3, topic, status, content FROM tickets
WHERE ticket_id IN (SELECT unnest($ids::VARCHAR[])) ORDER BY received_at, ticket_id
"""


def linked_tickets(con, c: Clue, *, mask: bool | None = None) -> tuple[pd.DataFrame, int]:
    """The clue's linked tickets readable on this cursor (masked), and how many linked ones it cannot show
    (not in the store, or in a district outside the reader's scope)."""
    df = con.execute(LINKED_SQL, {"ids": list(c.ticket_ids)}).fetchdf() if c.ticket_ids else \
        con.execute(LINKED_SQL, {"ids": []}).fetchdf()
    out = privacy.mask_frame(df, force=mask)
    for col in ("district", "street", "category_l3", "topic", "status", "content"):
        out[col] = out[col].map(lambda v: "—" if v is None or v == "" or (isinstance(v, float) and pd.isna(v)) else v)
    return out, len(c.ticket_ids) - len(df)
