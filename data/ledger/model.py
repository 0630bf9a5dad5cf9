"""The words of the ledger: sources, functions, stages and what may follow what, and the Clue value.

Kept apart from the code that reads and writes the records store so that pages, reports and the screening
queue can name sources and stages (and their Chinese labels) without touching a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


class LedgerError(ValueError):
    """A refused ledger operation; the message is for the user (Chinese)."""


# Where a clue came from (key -> label). `rule`: a screening rule (source_ref: rule id, version, queue item
# ids); `12309`: the 12309 centre (source_ref: letter id); the rest name who handed it over.
SOURCES: dict[str, str] = {
    "rule": "筛查规则",
    "12309": "12309检察服务中心",
    "liaison": "联络点",
    "department": "其他部门移送",
    "letter": "来信",
    "other": "其他",
}
# Sources a clue found by the procuratorate itself comes from (案源结构比: the share of cases it found itself).
# Imported clues carry the case system's own source text; "12345热线" there means screened from the hotline.
SELF_FOUND = frozenset({"rule", "12345热线"})
# Sources with someone to notify in writing of the filing decision (HOTLINE_NOTIFY_DAYS) and give feedback.
NOTIFY_SOURCES = frozenset({"12309", "liaison", "department", "letter"})

FUNCTIONS = ("刑事", "民事", "行政", "公益诉讼")

# The stages in the order a clue passes them, with their labels.
STAGES: dict[str, str] = {
    "register": "登记",
    "assess": "评估/初查",
    "decide": "审查决定",
    "notify": "书面告知",
    "suggest": "检察建议",
    "reply": "回复",
    "rectify": "整改",
    "follow_up": "回头看",
    "close": "结案",
}
RANK = {k: i for i, k in enumerate(STAGES)}

# The filing decision (the decide stage's outcome) and its label as a status.
OUTCOMES: dict[str, str] = {"file": "立案", "not_file": "不立案", "transfer": "移送"}
# The import schema's clue status for each outcome (data/schema.sql `clues.status`).
STATUS_OF_OUTCOME = {None: "待审查", "file": "已立案", "not_file": "不立案", "transfer": "移送"}
OUTCOME_OF_STATUS = {"已立案": "file", "立案": "file", "不立案": "not_file", "移送": "transfer"}

SUGGESTION_KINDS: dict[str, str] = {"pre_litigation": "诉前检察建议", "social_governance": "社会治理检察建议"}
KIND_OF_MEASURE = {v: k for k, v in SUGGESTION_KINDS.items()}
RECTIFY_RESULTS = ("整改到位", "部分整改", "未整改")

# Counted rectification results offered in forms (item, unit); any other item may be typed.
OUTCOME_ITEMS: tuple[tuple[str, str], ...] = (
    ("更换、加固井盖", "个"), ("截断污水直排", "吨"), ("查扣假冒伪劣商品", "件"), ("追回拖欠工资", "元"),
    ("清理占用消防通道", "处"), ("整改养老机构消防隐患", "处"), ("清理涉诈电话卡、银行卡", "张"),
    ("整改交通安全隐患点位", "处"), ("清理倾倒垃圾", "吨"), ("督促整改公益损害问题", "处"),
)

# Event kinds that are not stages.
OTHER_KINDS = ("edit", "link", "unlink", "correct", "void", "baseline")
EDITABLE = ("function", "department", "topic", "subject", "place", "lon", "lat", "summary", "handler")
EDIT_LABELS = {"function": "检察职能", "department": "承办部门", "topic": "专项", "subject": "被监督对象",
               "place": "地点", "lon": "经度", "lat": "纬度", "summary": "线索摘要", "handler": "承办人"}
KIND_LABELS = {**STAGES, "edit": "修改信息", "link": "关联工单", "unlink": "取消关联工单", "correct": "更正",
               "void": "撤销", "baseline": "导入数据核对"}


def stage_label(stages: dict) -> str:
    """The clue's current stage as a label: 已结案, 回头看, 整改, ..., 已立案 / 不立案 / 已移送, 待审查."""
    for key in ("close", "follow_up", "rectify", "reply", "suggest"):
        if key in stages:
            return "已结案" if key == "close" else STAGES[key]
    if "decide" in stages:
        return {"file": "已立案", "not_file": "不立案", "transfer": "已移送"}[stages["decide"].details["outcome"]]
    if "assess" in stages:
        return "评估中"
    return "待审查"


def current_stage(stages: dict) -> str:
    """The key of the furthest stage reached (notify does not move a clue on)."""
    reached = [k for k in stages if k != "notify"]
    return max(reached, key=RANK.__getitem__) if reached else "register"


def allowed_next(stages: dict, source: str | None = None) -> list[str]:
    """The stages that may be recorded next, given the stages a clue has (keys of `stages`) and its source
    (书面告知 is offered for sources with someone to notify)."""
    if "close" in stages:
        return []
    have = set(stages)
    out = []
    decided = stages.get("decide")
    filed = decided is not None and decided.details.get("outcome") == "file"
    if "assess" not in have and "decide" not in have:
        out.append("assess")
    if "decide" not in have:
        out.append("decide")
    if decided is not None and "notify" not in have and source in NOTIFY_SOURCES:
        out.append("notify")
    if filed and "suggest" not in have and "rectify" not in have:
        out.append("suggest")
    if "suggest" in have and "reply" not in have:
        out.append("reply")
    if filed and "rectify" not in have:
        out.append("rectify")
    if "rectify" in have and "follow_up" not in have:
        out.append("follow_up")
    if decided is not None:
        out.append("close")
    return out


# What a stage needs before it (any one of the listed stages, or the filing decision).
REQUIRES = {
    "assess": ("register",),
    "decide": ("register",),
    "notify": ("decide",),
    "suggest": ("decide",),
    "reply": ("suggest",),
    "rectify": ("decide",),
    "follow_up": ("rectify",),
    "close": ("decide",),
}


@dataclass(frozen=True)
class Stage:
    """One stage as it stands now: when it happened and its values, and the event that says so."""

    key: str
    at: datetime
    details: dict
    event_id: int | None          # None: from the imported files
    recorded_by: str = ""
    recorded_at: datetime | None = None
    outcomes: tuple[tuple[str, float, str], ...] = ()   # rectify: (item, value, unit)

    @property
    def label(self) -> str:
        return STAGES[self.key]


@dataclass(frozen=True)
class Event:
    """One row of a clue's history, as recorded."""

    event_id: int
    kind: str
    stage_at: datetime | None
    details: dict
    reason: str
    replaces: int | None
    recorded_at: datetime
    recorded_by: str
    recorded_role: str
    outcomes: tuple[tuple[str, float, str], ...] = ()
    superseded: bool = False       # a later correction or withdrawal, or an import taken over, replaced it

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class Due:
    """A clue's next deadline: which step, from when, due on which day (see data/ledger/deadlines.py)."""

    rule: str                # clue_review / notify / suggestion_reply / urgent_reply / follow_up
    label: str
    start: date
    due: date
    state: str               # pending / due_soon / overdue

    @property
    def state_label(self) -> str:
        return {"pending": "未到期", "due_soon": "即将到期", "overdue": "已逾期"}[self.state]


@dataclass(frozen=True)
class Clue:
    """A clue as the ledger holds it now: its attributes, linked tickets, stages and history."""

    clue_no: str
    origin: str                       # app / import
    district: str
    source: str | None                # a SOURCES key (app) or the case system's source text (import)
    source_ref: dict
    function: str | None
    department: str | None
    topic: str | None
    subject: str | None
    place: str | None
    lon: float | None
    lat: float | None
    summary: str | None
    handler: str | None
    created_at: datetime | None
    created_by: str
    ticket_ids: tuple[str, ...]
    stages: dict[str, Stage] = field(default_factory=dict)
    history: tuple[Event, ...] = ()
    next_due: Due | None = None
    conflict: bool = False            # an imported clue the app edited, changed by a later import: to decide

    @property
    def stage(self) -> str:
        return current_stage(self.stages)

    @property
    def stage_label(self) -> str:
        return stage_label(self.stages)

    @property
    def source_label(self) -> str:
        return SOURCES.get(self.source or "", self.source or "—")

    @property
    def next_steps(self) -> list[str]:
        return allowed_next(self.stages, self.source)

    @property
    def outcome(self) -> str | None:
        d = self.stages.get("decide")
        return d.details.get("outcome") if d else None
