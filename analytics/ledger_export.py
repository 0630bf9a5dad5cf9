"""The ledger export (`manage.py clues export`, the ledger page's download): three tables of the whole ledger.

- 线索: one row per clue (analytics/ledger.sheet), both kinds;
- 办理记录: every entry recorded in the app, superseded ones included and marked, and, for clues the app
  never acted on, their imported stages (记录人 案件系统导入);
- 关联工单: every clue-ticket link with the ticket's date, place and classification.
"""

from __future__ import annotations

import json

import pandas as pd

from analytics import ledger as lsheet
from analytics import ledger_clue, theme
from data.ledger import read
from data.ledger.model import STAGES
from data.scope import Scope

HISTORY_COLUMNS = ["线索编号", "序号", "记录时间", "记录人", "操作", "日期", "内容", "理由", "状态"]
# The imported stages of clues the app never touched, from the sheet's columns.
_IMPORTED_STAGES = (("register", "registered_at"), ("decide", "decided_at"), ("suggest", "suggested_at"),
                    ("reply", "replied_at"), ("rectify", "rectified_at"), ("follow_up", "followed_up_at"))

LINKS_SQL = """
SELECT ct.clue_id, ct.ticket_id, t.received_at, t.district, t.street, t.category_l3, t.topic, t.status
FROM (SELECT DISTINCT clue_id, ticket_id FROM clue_tickets) ct LEFT JOIN tickets t USING (ticket_id)
ORDER BY ct.clue_id, t.received_at NULLS LAST, ct.ticket_id
"""


# source_ref keys in words (the 来源详情 column): what registered the clue and from where.
REF_LABELS = {"rule_id": "规则编号", "rule_version": "版本", "rule_key": "规则标识", "rule_ids": "规则编号",
              "queue_items": "待研判事项", "collisions": "碰撞记录", "letter_id": "信访件编号", "liaison": "联络点",
              "department": "移送部门", "note": "说明"}


def source_detail(ref) -> str:
    """A clue's source_ref (JSON) as words: "规则编号 7；版本 3；待研判事项 41、42" ("—" when empty)."""
    try:
        d = json.loads(ref) if isinstance(ref, str) else (ref or {})
    except ValueError:
        return str(ref)
    if not isinstance(d, dict) or not d:
        return "—"
    parts = []
    for k in sorted(d, key=lambda k: (list(REF_LABELS).index(k) if k in REF_LABELS else len(REF_LABELS), k)):
        v = d[k]
        text = "、".join(map(str, v)) if isinstance(v, list) else str(v)
        parts.append(f"{REF_LABELS.get(k, k)} {text}")
    return "；".join(parts)


def clue_table(clues: pd.DataFrame) -> pd.DataFrame:
    """The 线索 sheet: the sheet's columns in words, the source once (its label) with its details beside it."""
    out = clues.drop(columns=[c for c in ("serial", "source") if c in clues.columns])
    if "source_ref" in out.columns:
        out = out.assign(source_ref=out["source_ref"].map(source_detail))
    first = [c for c in ("clue_id", "origin", "district", "source_label", "source_ref", "function", "department",
                         "topic", "summary", "handler", "subject", "place", "stage_label", "next_rule", "next_due",
                         "due_state") if c in out.columns]
    out = out[first + [c for c in out.columns if c not in first]]
    return lsheet.readable(out).rename(columns={"source_ref": "来源详情"})


def link_table(links: pd.DataFrame) -> pd.DataFrame:
    """The 关联工单 sheet with Chinese headers."""
    return theme.labelled(links)


def frames(con, rc, scope: Scope, as_of=None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(clues, history, links) of the ledger within `scope`: `con` a cursor with the ledger laid over in that
    scope, `rc` the records store."""
    clues = lsheet.sheet(con, as_of=as_of)
    app = read.all_clues(rc, store=con, scope=scope)
    parts = []
    for c in app:
        h = ledger_clue.history(c)
        h.insert(0, "线索编号", c.clue_no)
        parts.append(h)
    touched = {c.clue_no for c in app}
    rest = clues[~clues["clue_id"].isin(touched)]
    for key, col in _IMPORTED_STAGES:
        part = rest[rest[col].notna()]
        if part.empty:
            continue
        detail = part["outcome"].map(lsheet.OUTCOME_LABELS).fillna("") if key == "decide" else ""
        parts.append(pd.DataFrame({
            "线索编号": part["clue_id"], "序号": None, "记录时间": "—", "记录人": "案件系统导入", "操作": STAGES[key],
            "日期": pd.to_datetime(part[col]).dt.strftime("%Y-%m-%d %H:%M"),
            "内容": ("决定：" + detail) if key == "decide" else "—", "理由": "—", "状态": "有效"}))
    history = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=HISTORY_COLUMNS)
    history = history[HISTORY_COLUMNS].sort_values(["线索编号", "序号", "日期"], na_position="first", kind="stable")
    links = con.execute(LINKS_SQL).fetchdf()
    return clues, history.reset_index(drop=True), links
