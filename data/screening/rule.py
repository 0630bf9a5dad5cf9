"""A screening rule (legal supervision model, 法律监督模型) as data: parsed, checked, written back.

A rule is a plain YAML or JSON mapping that prosecutors write in the app's form or by hand and send to other
procuratorates. `parse` checks it and rejects a malformed one with a clear Chinese message that names the
field (`RuleError`); `Rule.to_dict` / `dump` write it back so that export → import gives the same rule.

The conditions (all must hold; see docs/screening.md for the file format):
- categories (paths at any level, "城乡建设/市政设施"), topics (special projects);
- keywords: `all` (AND), `any` (OR), `none` (NOT), with `synonyms` (a word matches any of its synonyms);
- districts and streets, or `near`: a radius around a point (WGS84);
- channels and appeal types; handling statuses, satisfaction, and `resolved`;
- a time window: `dates` (from, to) and/or `last_days` (relative to the end of the screened period);
- `repeat`: at least N tickets within R m in D days (the place keeps coming back);
- `after_close`: received again after a ticket at the same place was closed (data/after_close.py).
A rule may run on the hits of another rule (`layer_of`, 逐层过筛).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date

import yaml

FUNCTIONS = ("刑事", "民事", "行政", "公益诉讼")
APPEAL_TYPES = ("投诉", "求助", "咨询", "建议")
SATISFACTION = ("满意", "基本满意", "不满意")
GROUP_BY = {"place": "地点", "street": "街乡", "district": "区"}
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
MAX_WORDS = 50
MAX_LIST = 400

_TOP_FIELDS = {"key", "name", "region", "owner", "project", "function", "legal_basis", "background",
               "layer_of", "group_by", "conditions"}
_CONDITION_FIELDS = {"categories", "topics", "keywords", "districts", "streets", "near", "channels",
                     "appeal_types", "statuses", "satisfaction", "resolved", "dates", "last_days", "repeat",
                     "after_close"}
LABELS = {
    "key": "规则编号", "name": "规则名称", "region": "地区", "owner": "建立单位", "project": "专项",
    "function": "检察职能", "legal_basis": "法律依据", "background": "背景要旨", "layer_of": "上层规则",
    "group_by": "归并方式", "conditions": "筛查条件", "categories": "分类", "topics": "专项", "keywords": "关键词",
    "districts": "区", "streets": "街乡", "near": "圆形范围", "channels": "渠道", "appeal_types": "诉求类型",
    "statuses": "办理状态", "satisfaction": "满意度", "resolved": "是否解决", "dates": "时间范围",
    "last_days": "最近天数", "repeat": "重复条件", "after_close": "办结后再诉",
}


class RuleError(ValueError):
    """A rule that cannot be used; the message (Chinese) names the field and what is wrong."""


@dataclass(frozen=True)
class Keywords:
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def variants(self, word: str) -> tuple[str, ...]:
        """The word and its synonyms (each matches)."""
        return tuple(dict.fromkeys((word, *self.synonyms.get(word, ()))))

    def __bool__(self) -> bool:
        return bool(self.all or self.any or self.none)

    def __hash__(self) -> int:
        return hash((self.all, self.any, self.none, tuple(sorted(self.synonyms.items()))))


@dataclass(frozen=True)
class Near:
    lon: float
    lat: float
    radius_m: float


@dataclass(frozen=True)
class Repeat:
    min_tickets: int
    radius_m: float
    days: int


@dataclass(frozen=True)
class AfterClose:
    min_days: int
    max_days: int
    radius_m: float


@dataclass(frozen=True)
class Conditions:
    categories: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    keywords: Keywords = field(default_factory=Keywords)
    districts: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()
    near: Near | None = None
    channels: tuple[str, ...] = ()
    appeal_types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    satisfaction: tuple[str, ...] = ()
    resolved: bool | None = None
    date_from: date | None = None
    date_to: date | None = None
    last_days: int | None = None
    repeat: Repeat | None = None
    after_close: AfterClose | None = None

    def lookback_days(self) -> int:
        """How many days before the screened tickets the rule must read (repeat windows, closes)."""
        return max(self.repeat.days if self.repeat else 0, self.after_close.max_days if self.after_close else 0)


@dataclass(frozen=True)
class Rule:
    key: str
    name: str
    conditions: Conditions
    region: str = ""
    owner: str = ""
    project: str = ""
    function: str = ""
    legal_basis: str = ""
    background: str = ""
    layer_of: str = ""
    group_by: str = "place"

    # ----- writing back -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The rule as the plain mapping of its file (empty fields left out); `parse(r.to_dict()) == r`."""
        out = {k: v for k, v in (("key", self.key), ("name", self.name), ("region", self.region),
                                 ("owner", self.owner), ("project", self.project), ("function", self.function),
                                 ("legal_basis", self.legal_basis), ("background", self.background),
                                 ("layer_of", self.layer_of)) if v}
        if self.group_by != "place":
            out["group_by"] = self.group_by
        c = self.conditions
        cond: dict = {}
        for name in ("categories", "topics", "districts", "streets", "channels", "appeal_types", "statuses",
                     "satisfaction"):
            if getattr(c, name):
                cond[name] = list(getattr(c, name))
        if c.keywords:
            kw = {k: list(getattr(c.keywords, k)) for k in ("all", "any", "none") if getattr(c.keywords, k)}
            if c.keywords.synonyms:
                kw["synonyms"] = {k: list(v) for k, v in c.keywords.synonyms.items()}
            cond["keywords"] = kw
        if c.near:
            cond["near"] = asdict(c.near)
        if c.resolved is not None:
            cond["resolved"] = c.resolved
        if c.date_from or c.date_to:
            cond["dates"] = {k: v.isoformat() for k, v in (("from", c.date_from), ("to", c.date_to)) if v}
        if c.last_days:
            cond["last_days"] = c.last_days
        if c.repeat:
            cond["repeat"] = asdict(c.repeat)
        if c.after_close:
            cond["after_close"] = asdict(c.after_close)
        out["conditions"] = cond
        return out

    def dump(self, fmt: str = "yaml") -> str:
        d = self.to_dict()
        if fmt == "json":
            return json.dumps(d, ensure_ascii=False, indent=2)
        return yaml.safe_dump(d, allow_unicode=True, sort_keys=False)

    def describe(self) -> list[str]:
        """The conditions in Chinese, one line each (the "why it matched" of a queue item)."""
        c = self.conditions
        lines = []
        for name in ("categories", "topics", "districts", "streets", "channels", "appeal_types", "statuses",
                     "satisfaction"):
            if getattr(c, name):
                lines.append(f"{LABELS[name]}：{'、'.join(getattr(c, name))}")
        kw = c.keywords
        if kw.all:
            lines.append("关键词（全部包含）：" + "、".join(_with_syn(kw, w) for w in kw.all))
        if kw.any:
            lines.append("关键词（任一包含）：" + "、".join(_with_syn(kw, w) for w in kw.any))
        if kw.none:
            lines.append("排除词：" + "、".join(_with_syn(kw, w) for w in kw.none))
        if c.near:
            lines.append(f"圆形范围：经度 {c.near.lon:.6f}、纬度 {c.near.lat:.6f} 周围 {c.near.radius_m:g} 米")
        if c.resolved is not None:
            lines.append("回访：" + ("已解决" if c.resolved else "未解决"))
        if c.date_from or c.date_to:
            lines.append(f"时间范围：{c.date_from or '…'} 至 {c.date_to or '…'}")
        if c.last_days:
            lines.append(f"最近 {c.last_days} 天")
        if c.repeat:
            lines.append(f"重复：{c.repeat.days} 天内 {c.repeat.radius_m:g} 米内至少 {c.repeat.min_tickets} 件")
        if c.after_close:
            a = c.after_close
            lines.append(f"办结后再诉：约 {a.radius_m:g} 米内同一问题办结后 {a.min_days}–{a.max_days} 天内再次来电")
        if self.layer_of:
            lines.append(f"在规则 {self.layer_of} 的命中中筛查")
        return lines or ["（无条件：全部工单）"]


def _with_syn(kw: Keywords, w: str) -> str:
    syn = kw.synonyms.get(w)
    return f"{w}（或{'/'.join(syn)}）" if syn else w


# ----- reading -------------------------------------------------------------------------------------------
def loads(text: str, source: str = "规则文件") -> list[Rule]:
    """The rules in a YAML or JSON text: one mapping, a list of them, or {"rules": [...]}."""
    try:
        data = yaml.safe_load(text)   # JSON is YAML
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark is not None else ""
        raise RuleError(f"{source}{where}不是有效的 YAML/JSON：{getattr(exc, 'problem', exc)}") from exc
    if isinstance(data, dict) and isinstance(data.get("rules"), list):
        data = data["rules"]
    items = data if isinstance(data, list) else [data]
    if not items or data is None:
        raise RuleError(f"{source}中没有规则。")
    rules = []
    for i, item in enumerate(items, 1):
        where = source if len(items) == 1 else f"{source}第 {i} 条规则"
        rules.append(parse(item, where))
    keys = [r.key for r in rules]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise RuleError(f"{source}中规则编号重复：{'、'.join(dup)}")
    return rules


def parse(data, where: str = "规则") -> Rule:
    """A checked Rule from a plain mapping; RuleError names the first problem found."""
    if not isinstance(data, dict):
        raise RuleError(f"{where}应是一个映射（键: 值），实际是 {type(data).__name__}。")
    unknown = sorted(set(map(str, data)) - _TOP_FIELDS)
    if unknown:
        raise RuleError(f"{where}有不认识的字段：{'、'.join(unknown)}；可用字段：{'、'.join(sorted(_TOP_FIELDS))}。")
    key = _text(data, "key", where, required=True)
    if not KEY_RE.match(key):
        raise RuleError(f"{where}的规则编号（key）“{key}”无效：只能用小写字母、数字、- 和 _，2–64 个字符，"
                        "以字母或数字开头。")
    name = _text(data, "name", where, required=True)
    function = _text(data, "function", where)
    if function and function not in FUNCTIONS:
        raise RuleError(f"{where}的检察职能（function）“{function}”无效；可选：{'、'.join(FUNCTIONS)}。")
    group_by = _text(data, "group_by", where) or "place"
    if group_by not in GROUP_BY:
        raise RuleError(f"{where}的归并方式（group_by）“{group_by}”无效；可选：{'、'.join(GROUP_BY)}。")
    layer_of = _text(data, "layer_of", where)
    if layer_of and (not KEY_RE.match(layer_of) or layer_of == key):
        raise RuleError(f"{where}的上层规则（layer_of）“{layer_of}”无效：应是另一条规则的编号。")
    cond = data.get("conditions") or {}
    return Rule(key=key, name=name, conditions=_conditions(cond, f"{where}的筛查条件"),
                region=_text(data, "region", where), owner=_text(data, "owner", where),
                project=_text(data, "project", where), function=function,
                legal_basis=_text(data, "legal_basis", where, limit=4000),
                background=_text(data, "background", where, limit=4000), layer_of=layer_of, group_by=group_by)


def _conditions(c, where: str) -> Conditions:
    if not isinstance(c, dict):
        raise RuleError(f"{where}应是一个映射，实际是 {type(c).__name__}。")
    unknown = sorted(set(map(str, c)) - _CONDITION_FIELDS)
    if unknown:
        raise RuleError(f"{where}有不认识的条件：{'、'.join(unknown)}；可用条件：{'、'.join(sorted(_CONDITION_FIELDS))}。")
    kw = {name: _words(c, name, where) for name in ("categories", "topics", "districts", "streets", "channels",
                                                      "appeal_types", "statuses", "satisfaction")}
    for name, allowed in (("appeal_types", APPEAL_TYPES), ("satisfaction", SATISFACTION)):
        bad = [v for v in kw[name] if v not in allowed]
        if bad:
            raise RuleError(f"{where}的{LABELS[name]}（{name}）有无效值：{'、'.join(bad)}；可选：{'、'.join(allowed)}。")
    resolved = c.get("resolved")
    if resolved is not None and not isinstance(resolved, bool):
        raise RuleError(f"{where}的是否解决（resolved）应为 true 或 false。")
    dates = c.get("dates") or {}
    if not isinstance(dates, dict) or set(map(str, dates)) - {"from", "to"}:
        raise RuleError(f"{where}的时间范围（dates）应写成 from: YYYY-MM-DD 和/或 to: YYYY-MM-DD。")
    d_from, d_to = (_date(dates.get(k), f"{where}的时间范围 {k}") for k in ("from", "to"))
    if d_from and d_to and d_from > d_to:
        raise RuleError(f"{where}的时间范围起始日期 {d_from} 晚于结束日期 {d_to}。")
    last_days = _int(c, "last_days", where, 1, 3660) if c.get("last_days") is not None else None
    near = None
    if c.get("near") is not None:
        n = _mapping(c, "near", where, {"lon", "lat", "radius_m"})
        lon, lat = _num(n, "lon", f"{where}的圆形范围", 70, 140), _num(n, "lat", f"{where}的圆形范围", 3, 54)
        near = Near(lon, lat, _num(n, "radius_m", f"{where}的圆形范围", 1, 50_000))
    repeat = None
    if c.get("repeat") is not None:
        r = _mapping(c, "repeat", where, {"min_tickets", "radius_m", "days"})
        w = f"{where}的重复条件"
        repeat = Repeat(_int(r, "min_tickets", w, 2, 10_000), _num(r, "radius_m", w, 5, 5_000), _int(r, "days", w, 1, 730))
    after = None
    if c.get("after_close") is not None:
        a = _mapping(c, "after_close", where, {"min_days", "max_days", "radius_m"})
        w = f"{where}的办结后再诉条件"
        after = AfterClose(_int(a, "min_days", w, 0, 365), _int(a, "max_days", w, 1, 730), _num(a, "radius_m", w, 5, 1000))
        if after.min_days >= after.max_days:
            raise RuleError(f"{w}：min_days（{after.min_days}）应小于 max_days（{after.max_days}）。")
    keywords = _keywords(c.get("keywords"), where)
    return Conditions(keywords=keywords, near=near, resolved=resolved, date_from=d_from, date_to=d_to,
                      last_days=last_days, repeat=repeat, after_close=after, **kw)


def _keywords(k, where: str) -> Keywords:
    if k is None:
        return Keywords()
    if isinstance(k, str | list):   # a plain list: every word must occur
        k = {"all": k}
    if not isinstance(k, dict):
        raise RuleError(f"{where}的关键词（keywords）应写成 all / any / none / synonyms。")
    unknown = sorted(set(map(str, k)) - {"all", "any", "none", "synonyms"})
    if unknown:
        raise RuleError(f"{where}的关键词有不认识的字段：{'、'.join(unknown)}；可用：all（全部）、any（任一）、"
                        "none（排除）、synonyms（同义词）。")
    w = f"{where}的关键词"
    groups = {name: _words(k, name, w, limit=MAX_WORDS) for name in ("all", "any", "none")}
    syn = k.get("synonyms") or {}
    if not isinstance(syn, dict):
        raise RuleError(f"{w}的同义词（synonyms）应写成 词: [同义词, ...]。")
    synonyms = {}
    for word, alts in syn.items():
        alts_t = _words({"x": alts}, "x", f"{w}“{word}”的同义词", limit=MAX_WORDS)
        if alts_t:
            synonyms[str(word).strip()] = alts_t
    return Keywords(synonyms=synonyms, **groups)


def _words(d: dict, name: str, where: str, limit: int = MAX_LIST) -> tuple[str, ...]:
    v = d.get(name)
    if v is None:
        return ()
    if isinstance(v, str):
        v = [x for x in re.split(r"[,，、\s]+", v) if x]
    if not isinstance(v, list) or not all(isinstance(x, str | int) for x in v):
        raise RuleError(f"{where}的{LABELS.get(name, name)}（{name}）应是文字列表。")
    out = tuple(dict.fromkeys(str(x).strip() for x in v if str(x).strip()))
    if len(out) > limit:
        raise RuleError(f"{where}的{LABELS.get(name, name)}（{name}）最多 {limit} 项，实际 {len(out)} 项。")
    too_long = [x for x in out if len(x) > 100]
    if too_long:
        raise RuleError(f"{where}的{LABELS.get(name, name)}（{name}）有超过 100 字的项：{too_long[0][:20]}…")
    return out


def _text(d: dict, name: str, where: str, *, required: bool = False, limit: int = 200) -> str:
    v = d.get(name)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise RuleError(f"{where}缺少{LABELS[name]}（{name}）。")
        return ""
    if not isinstance(v, str | int | float):
        raise RuleError(f"{where}的{LABELS[name]}（{name}）应是文字。")
    s = str(v).strip()
    if len(s) > limit:
        raise RuleError(f"{where}的{LABELS[name]}（{name}）最多 {limit} 字，实际 {len(s)} 字。")
    return s


def _mapping(c: dict, name: str, where: str, fields: set[str]) -> dict:
    v = c[name]
    if not isinstance(v, dict):
        raise RuleError(f"{where}的{LABELS[name]}（{name}）应写成 {'、'.join(sorted(fields))}。")
    missing, extra = sorted(fields - set(map(str, v))), sorted(set(map(str, v)) - fields)
    if missing or extra:
        raise RuleError(f"{where}的{LABELS[name]}（{name}）"
                        + (f"缺少 {'、'.join(missing)}" if missing else "")
                        + ("；" if missing and extra else "")
                        + (f"有不认识的字段 {'、'.join(extra)}" if extra else "") + "。")
    return v


def _num(d: dict, name: str, where: str, lo: float, hi: float) -> float:
    v = d.get(name)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise RuleError(f"{where}的 {name} 应是数字，实际是 {v!r}。")
    if not lo <= float(v) <= hi:
        raise RuleError(f"{where}的 {name} 应在 {lo:g} 到 {hi:g} 之间，实际是 {v:g}。")
    return float(v)


def _int(d: dict, name: str, where: str, lo: int, hi: int) -> int:
    v = d.get(name)
    if isinstance(v, bool) or not isinstance(v, int):
        raise RuleError(f"{where}的 {name} 应是整数，实际是 {v!r}。")
    if not lo <= v <= hi:
        raise RuleError(f"{where}的 {name} 应在 {lo} 到 {hi} 之间，实际是 {v}。")
    return int(v)


def _date(v, where: str) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError as exc:
        raise RuleError(f"{where}“{v}”不是日期（应写成 YYYY-MM-DD）。") from exc
