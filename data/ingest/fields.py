"""What each kind of record looks like: its columns, their types and the headers real files use.

One table per kind (tickets, clues, cases, rectifications) so that recognising
headers, cleaning, verifying and merging are all driven by the same list and a
new column is added in one place.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Column types:
#   id    identifier: full-width folded, every blank removed
#   short short label (category, status, names): full-width folded, blanks collapsed, trimmed
#   long  free text (content, address): stored as received, only trimmed at both ends
#   time  timestamp parsed from any common form to Asia/Shanghai local time
#   num   number (coordinates, values)
#   bool  yes/no
#   list  ticket ids of a clue, split on , ， ; ； and blanks
#   json  the file's other columns kept per ticket (`extra` in a mapping), a JSON object {header: value}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    headers: tuple[str, ...] = ()
    stored: bool = True  # False: used while cleaning only (crs, category_path, ticket_ids)


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # Chinese name for messages
    key: str  # merge key column
    table: str
    fields: tuple[Field, ...]
    required_time: str | None  # a row without a parseable value here is quarantined
    signature: tuple[str, ...]  # fields whose headers identify the kind

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def stored_fields(self) -> list[Field]:
        return [f for f in self.fields if f.stored]


TICKETS = Kind(
    name="tickets", label="工单", key="ticket_id", table="tickets", required_time="received_at",
    signature=("ticket_id", "received_at"),
    fields=(
        Field("ticket_id", "id", ("工单编号", "工单号")),
        Field("received_at", "time", ("受理时间", "来电时间")),
        Field("channel", "short", ("来电渠道", "渠道", "来源渠道")),
        Field("appeal_type", "short", ("诉求类型",)),
        Field("category_l1", "short", ("一级分类",)),
        Field("category_l2", "short", ("二级分类",)),
        Field("category_l3", "short", ("三级分类",)),
        Field("category_path", "short", ("问题分类",), stored=False),
        Field("topic", "short", ("专项",)),
        Field("content", "long", ("诉求内容", "来电内容")),
        Field("district", "short", ("所属区", "区", "所属区县", "区县")),
        Field("street", "short", ("街道", "街乡镇", "所属街道", "街乡")),
        Field("address", "long", ("详细地址", "地址", "事发地址")),
        Field("lon", "num", ("经度",)),
        Field("lat", "num", ("纬度",)),
        Field("crs", "short", ("坐标系",), stored=False),
        Field("handling_unit", "short", ("承办单位",)),
        Field("status", "short", ("办理状态",)),
        Field("responded_at", "time", ("响应时间",)),
        Field("closed_at", "time", ("办结时间",)),
        Field("satisfaction", "short", ("满意度",)),
        Field("resolved", "bool", ("是否解决",)),
        Field("complainant_name", "short", ("诉求人", "来电人")),
        Field("complainant_phone", "id", ("联系电话", "来电号码")),
        Field("reply", "long", ("答复意见", "答复内容", "回复内容", "回复意见", "办理意见", "处理意见", "处理结果")),
        Field("due_at", "time", ("办理时限", "办结时限", "处理时限", "截止时间", "到期时间", "应办结时间")),
        Field("extra", "json"),   # the mapping's `extra` columns and split codes, never a header of its own
    ),
)

# The product's words for the values of these ticket fields. A value outside its list (after the mapping's
# `values` table) is kept as it is and counted (flag unmapped_<field>, listed in the report), or replaced
# by 其他 or emptied when the mapping says `unmapped: {field: other | empty}`.
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "status": ("待受理", "已受理", "待响应", "待办理", "已派单", "办理中", "已办结", "已回访", "已关闭", "已退回", "已撤销"),
    "satisfaction": ("满意", "基本满意", "不满意", "未评价"),
    "channel": ("电话", "网络", "微信", "App", "小程序", "领导信箱", "网上留言", "政务服务网", "信件", "来访", "媒体",
                "其他"),
    "appeal_type": ("投诉", "求助", "咨询", "建议", "举报", "表扬", "其他"),
}

CLUES = Kind(
    name="clues", label="线索", key="clue_id", table="clues", required_time="created_at",
    signature=("clue_id", "created_at"),
    fields=(
        Field("clue_id", "id", ("线索编号",)),
        Field("created_at", "time", ("登记时间",)),
        Field("district", "short", ("所属院",)),
        Field("function", "short", ("检察职能",)),
        Field("department", "short", ("承办部门",)),
        Field("topic", "short", ("专项",)),
        Field("source", "short", ("线索来源",)),
        Field("status", "short", ("线索状态",)),
        Field("reviewed_at", "time", ("审查时间",)),
        Field("summary", "long", ("线索摘要",)),
        Field("ticket_ids", "list", ("关联工单",), stored=False),
    ),
)

CASES = Kind(
    name="cases", label="案件", key="case_id", table="cases", required_time="filed_at",
    signature=("case_id", "filed_at"),
    fields=(
        Field("case_id", "id", ("案件编号",)),
        Field("clue_id", "id", ("线索编号",)),
        Field("filed_at", "time", ("立案时间",)),
        Field("case_type", "short", ("案件类型",)),
        Field("measure", "short", ("监督措施",)),
        Field("measure_at", "time", ("措施时间",)),
        Field("reply_due_at", "time", ("回复期限",)),
        Field("replied_at", "time", ("回复时间",)),
        Field("urgent", "bool", ("是否紧急",)),
    ),
)

RECTIFICATIONS = Kind(
    name="rectifications", label="整改", key="case_id", table="rectifications", required_time=None,
    signature=("case_id", "result"),
    fields=(
        Field("case_id", "id", ("案件编号",)),
        Field("rectified_at", "time", ("整改时间",)),
        Field("result", "short", ("整改结果",)),
        Field("followed_up_at", "time", ("回头看时间",)),
        Field("outcome", "long", ("整改成效",)),
        Field("outcome_value", "num", ("成效数值",)),
        Field("outcome_unit", "short", ("成效单位",)),
    ),
)

KINDS: dict[str, Kind] = {k.name: k for k in (TICKETS, CLUES, CASES, RECTIFICATIONS)}


def norm_header(h) -> str:
    """Header as compared: NFKC, no blanks or BOM, lower case."""
    s = unicodedata.normalize("NFKC", str(h)).replace("\ufeff", "")
    return re.sub(r"\s+", "", s).lower()


def header_index(kind: Kind) -> dict[str, str]:
    """normalised header -> field name, for the standard Chinese headers and the English names."""
    idx: dict[str, str] = {}
    for f in kind.fields:
        idx[norm_header(f.name)] = f.name
        for h in f.headers:
            idx[norm_header(h)] = f.name
    return idx


def match_headers(kind: Kind, headers: list[str]) -> dict[str, list[str]]:
    """field -> [source column] for the headers this kind recognises (first match wins)."""
    idx = header_index(kind)
    out: dict[str, list[str]] = {}
    for h in headers:
        f = idx.get(norm_header(h))
        if f and f not in out:
            out[f] = [h]
    return out


def detect_kind(headers: list[str]) -> str | None:
    """The kind whose signature headers all appear, preferring the one that recognises most columns."""
    best, best_n = None, 0
    for k in KINDS.values():
        found = match_headers(k, headers)
        if not all(s in found for s in k.signature):
            continue
        if len(found) > best_n:
            best, best_n = k.name, len(found)
    return best
