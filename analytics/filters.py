"""The user's selection, as one immutable value that every query takes.

`Filters` turns itself into SQL WHERE clauses with bound parameters (values
are never formatted into SQL) and into URL query parameters, so a view can be
bookmarked and shared. The same value drives the dashboard, the map, exports
and the benchmark.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from data.summaries import SUMMARY_TABLES

FUNCTIONS = ("刑事", "民事", "行政", "公益诉讼")
APPEAL_TYPES = ("投诉", "求助", "咨询", "建议")

# URL query keys -> field names. Lists are comma-separated in the URL.
_QUERY_KEYS = {
    "from": "date_from",
    "to": "date_to",
    "district": "districts",
    "street": "streets",
    "category": "categories",
    "topic": "topics",
    "channel": "channels",
    "type": "appeal_types",
    "function": "functions",
    "q": "text",
    "x": "extras",
}
_LIST_FIELDS = ("districts", "streets", "categories", "topics", "channels", "appeal_types", "functions", "extras")
NO_TOPIC = "（无专项）"  # value of the topic filter that selects tickets without a special project
# The dates a filter may name. A shared link with 0001-01-01 or 9999-12-31 would otherwise overflow Python's
# dates when a period before it or a year earlier is computed.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2199, 12, 31)


@dataclass(frozen=True)
class Where:
    """A WHERE clause body (never empty: TRUE when nothing is filtered) and its parameters."""

    sql: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return self.sql


@dataclass(frozen=True)
class Filters:
    """What the user selected. Dates are inclusive; empty tuples mean 'all'.

    `categories` holds paths at any level: "城乡建设", "城乡建设/市政设施" or
    "城乡建设/市政设施/井盖". `text` is matched against ticket content and reply, every
    whitespace-separated term must occur in one of them.
    """

    date_from: date | None = None
    date_to: date | None = None
    districts: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    appeal_types: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    text: str = ""
    # The export's other columns kept per ticket (`extra`): "header=value" items; values of one header are
    # alternatives (OR), different headers all apply (AND). Only the tickets table can answer them.
    extras: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in _LIST_FIELDS:
            v = getattr(self, name)
            if isinstance(v, str):
                v = (v,)
            clean = tuple(dict.fromkeys(str(x).strip() for x in (v or ()) if str(x).strip()))
            object.__setattr__(self, name, clean)
        object.__setattr__(self, "text", (self.text or "").strip())
        for name in ("date_from", "date_to"):
            v = getattr(self, name)
            if isinstance(v, str):
                object.__setattr__(self, name, date.fromisoformat(v) if v else None)
            elif isinstance(v, datetime):
                object.__setattr__(self, name, v.date())
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"起始日期 {self.date_from} 晚于结束日期 {self.date_to}")
        for d in (self.date_from, self.date_to):
            if d is not None and not DATE_MIN <= d <= DATE_MAX:
                raise ValueError(f"日期 {d} 超出可查询的范围（{DATE_MIN} 至 {DATE_MAX}）")
        # A value the data does not hold (an unknown district, category, function ...) stays: it matches no
        # ticket, so a shared link naming one shows nothing rather than everything (options.unknown_values).

    # ----- building ------------------------------------------------------
    def replace(self, **changes) -> Filters:
        return dataclasses.replace(self, **changes)

    def is_empty(self) -> bool:
        return self == Filters(date_from=self.date_from, date_to=self.date_to)

    @property
    def uses_summary(self) -> bool:
        """True when the daily summary table can answer volume queries (no text or function filter)."""
        return not self.text and not self.functions and not self.extras

    # ----- SQL -----------------------------------------------------------
    def where(self, alias: str = "", *, prefix: str = "f", dates: bool = True,
              time_column: str = "received_at") -> Where:
        """WHERE clause over the `tickets` table (or anything with its columns).

        `alias` qualifies column names ("t" -> t.district); `prefix` names the
        parameters so two clauses can be combined in one query. With
        dates=False the date range is left out (for comparisons that shift it).
        """
        a = f"{_ident(alias)}." if alias else ""
        parts: list[str] = []
        params: dict = {}

        def p(value) -> str:
            key = f"{prefix}{len(params)}"
            params[key] = value
            return f"${key}"

        if dates:
            if self.date_from:
                parts.append(f"{a}{_ident(time_column)} >= {p(self.date_from)}::TIMESTAMP")
            if self.date_to:
                parts.append(f"{a}{_ident(time_column)} < ({p(self.date_to)}::DATE + INTERVAL 1 DAY)")
        for col, values in (("district", self.districts), ("street", self.streets),
                            ("channel", self.channels), ("appeal_type", self.appeal_types)):
            if values:
                parts.append(f"{a}{col} IN ({', '.join(p(v) for v in values)})")
        if self.topics:
            named = [t for t in self.topics if t != NO_TOPIC]
            ors = []
            if named:
                ors.append(f"{a}topic IN ({', '.join(p(v) for v in named)})")
            if NO_TOPIC in self.topics:
                ors.append(f"{a}topic IS NULL")
            parts.append("(" + " OR ".join(ors) + ")")
        if self.categories:
            ors = []
            for path in self.categories:
                levels = [x for x in path.split("/") if x][:3]
                ors.append("(" + " AND ".join(f"{a}category_l{i + 1} = {p(v)}" for i, v in enumerate(levels)) + ")")
            parts.append("(" + " OR ".join(ors) + ")")
        if self.text:
            # every term in the citizen's words or in the reply (答复意见)
            for term in self.text.split():
                if term.isascii() and term.lower() != term.upper():
                    # Latin letters match in any case (words are counted in lower case: data/segment.py)
                    k = p(term.lower())
                    parts.append(f"(contains(lower({a}content), {k}) OR contains(lower({a}reply), {k}))")
                else:
                    k = p(term)
                    parts.append(f"(contains({a}content, {k}) OR contains({a}reply, {k}))")
        for key, values in self.extra_groups().items():
            path = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
            parts.append(f"json_extract_string({a}extra, {p(path)}) IN ({', '.join(p(v) for v in values)})")
        if self.functions:
            id_col = f"{a}ticket_id"
            parts.append(
                f"{id_col} IN (SELECT ct.ticket_id FROM clue_tickets ct JOIN clues c USING (clue_id) "
                f"WHERE c.function IN ({', '.join(p(v) for v in self.functions)}))"
            )
        return Where(" AND ".join(parts) if parts else "TRUE", params)

    def extra_groups(self) -> dict[str, tuple[str, ...]]:
        """The `extras` items grouped by header: {header: (value, ...)}."""
        out: dict[str, list[str]] = {}
        for item in self.extras:
            key, sep, value = item.partition("=")
            if sep and key:
                out.setdefault(key, []).append(value)
        return {k: tuple(v) for k, v in out.items()}

    def filter_columns(self) -> frozenset[str]:
        """Ticket columns the filters restrict (dates aside)."""
        cols = {col for col, values in (("district", self.districts), ("street", self.streets),
                                        ("topic", self.topics), ("channel", self.channels),
                                        ("appeal_type", self.appeal_types)) if values}
        if self.categories:
            cols |= {"category_l1", "category_l2", "category_l3"}
        return frozenset(cols)

    def summary_table(self, *group_cols: str) -> str | None:
        """The smallest daily summary holding every column these filters and `group_cols` need.

        None when only the tickets table can answer (text or function filter, or
        a column no summary has). Every summary has the columns and measures of
        `ticket_daily`, so `daily_where()` applies to any of them.
        """
        if not self.uses_summary:
            return None
        need = self.filter_columns() | (set(group_cols) - {"day"})
        for table, dims in SUMMARY_TABLES:
            if need <= set(dims):
                return table
        return None

    def daily_where(self, alias: str = "", *, prefix: str = "f", dates: bool = True) -> Where:
        """WHERE clause over the `ticket_daily` summary (requires `uses_summary`)."""
        if not self.uses_summary:
            raise ValueError("the summary table cannot answer text or function filters")
        return self.where(alias, prefix=prefix, dates=dates, time_column="day")

    # ----- periods -------------------------------------------------------
    def span_days(self) -> int | None:
        if self.date_from and self.date_to:
            return (self.date_to - self.date_from).days + 1
        return None

    def previous_period(self) -> Filters | None:
        """The same filters over the period of equal length just before this one."""
        n = self.span_days()
        if n is None or self.date_from - DATE_MIN < timedelta(days=n):
            return None   # no period before DATE_MIN
        return self.replace(date_from=self.date_from - timedelta(days=n), date_to=self.date_from - timedelta(days=1))

    def year_ago(self) -> Filters | None:
        """The same filters over the same dates one year earlier."""
        if not (self.date_from and self.date_to) or self.date_from.year <= DATE_MIN.year:
            return None
        return self.replace(date_from=_minus_year(self.date_from), date_to=_minus_year(self.date_to))

    # ----- URL -----------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """URL query parameters (only non-default values)."""
        out: dict[str, str] = {}
        for key, name in _QUERY_KEYS.items():
            v = getattr(self, name)
            if not v:
                continue
            if isinstance(v, tuple):
                out[key] = ",".join(v)
            elif isinstance(v, date):
                out[key] = v.isoformat()
            else:
                out[key] = str(v)
        return out

    @classmethod
    def from_query(cls, query: Mapping[str, object]) -> Filters:
        """Build filters from URL query parameters; unknown keys are ignored, unreadable dates dropped."""
        return cls.from_query_checked(query)[0]

    @classmethod
    def from_query_checked(cls, query: Mapping[str, object]) -> tuple[Filters, list[str]]:
        """Filters from URL query parameters, and a Chinese note for each date that was not taken as written.

        Unknown keys are ignored; a date that does not parse is dropped, one outside DATE_MIN..DATE_MAX is
        moved to that bound, a reversed range is swapped. Unknown values of the lists (districts, categories,
        functions ...) are kept: they match nothing (see options.unknown_values for telling the user).
        """
        kw: dict = {}
        notes: list[str] = []
        for key, name in _QUERY_KEYS.items():
            if key not in query:
                continue
            raw = query[key]
            if isinstance(raw, list | tuple):
                raw = ",".join(str(x) for x in raw)
            raw = str(raw)
            if name in _LIST_FIELDS:
                kw[name] = tuple(x for x in raw.split(",") if x.strip())
            elif name in ("date_from", "date_to"):
                label = "起始日期" if name == "date_from" else "结束日期"
                try:
                    d = date.fromisoformat(raw.strip())
                except ValueError:
                    notes.append(f"链接中的{label}“{raw}”不是有效日期（应为 YYYY-MM-DD），已忽略")
                    continue
                if not DATE_MIN <= d <= DATE_MAX:
                    bound = DATE_MIN if d < DATE_MIN else DATE_MAX
                    notes.append(f"链接中的{label} {d} 超出可查询的范围，按 {bound} 处理")
                    d = bound
                kw[name] = d
            else:
                kw[name] = raw
        if kw.get("date_from") and kw.get("date_to") and kw["date_from"] > kw["date_to"]:
            kw["date_from"], kw["date_to"] = kw["date_to"], kw["date_from"]
            notes.append("链接中的起始日期晚于结束日期，已对调")
        return cls(**kw), notes

    # ----- words -----------------------------------------------------------
    def describe(self) -> str:
        """The selection in one Chinese line, for subtitles and exports."""
        bits = []
        if self.date_from or self.date_to:
            bits.append(f"{self.date_from or '…'} 至 {self.date_to or '…'}")
        labels = (("districts", "区"), ("streets", "街乡"), ("categories", "分类"), ("topics", "专项"),
                  ("channels", "渠道"), ("appeal_types", "诉求类型"), ("functions", "检察职能"))
        for name, label in labels:
            v = getattr(self, name)
            if v:
                shown = "、".join(v[:3]) + (f" 等{len(v)}项" if len(v) > 3 else "")
                bits.append(f"{label}：{shown}")
        for key, values in self.extra_groups().items():
            bits.append(f"{key}：{'、'.join(values[:3])}" + (f" 等{len(values)}项" if len(values) > 3 else ""))
        if self.text:
            bits.append(f"关键词：{self.text}")
        return "；".join(bits) if bits else "全部数据"


def _minus_year(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad identifier {name!r}")
    return name
