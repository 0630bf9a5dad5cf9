"""What the store's data actually holds: which inputs exist and how deep the categories go.

Why: a real export seldom has every column of a Beijing 12345 export. A rate whose input the data never had
(no response time, no "resolved" flag, no coordinates) must read "—" and name the missing column, never
"0.0%"; a chart of third-level categories over data with one level must not say "no data" beside a KPI of
10,000 tickets. Pages ask this module once per store version (cached at the UI edge) and say so.

"Never had" is judged over the tickets the reader may see (the scoped `tickets` view), not over the
selection: a column the store has but a filtered period lacks is a real 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

# Ticket inputs that figures depend on: column -> (Chinese name, the header of a standard export).
INPUTS: dict[str, tuple[str, str]] = {
    "responded_at": ("响应时间", "响应时间"),
    "closed_at": ("办结时间", "办结时间"),
    "resolved": ("是否解决", "是否解决"),
    "satisfaction": ("满意度", "满意度"),
    "lon": ("经纬度", "经度/纬度"),
    "district": ("所属区", "所属区"),
    "street": ("街道/乡镇", "街道"),
    "category_l1": ("一级分类", "一级分类"),
    "category_l2": ("二级分类", "二级分类"),
    "category_l3": ("三级分类", "三级分类"),
    "channel": ("来电渠道", "来电渠道"),
    "appeal_type": ("诉求类型", "诉求类型"),
    "content": ("诉求内容", "诉求内容"),
}
# What each rate and KPI needs (docs/dashboard.md, definitions).
NEEDS: dict[str, tuple[str, ...]] = {
    "response": ("responded_at",),
    "resolution": ("closed_at", "resolved"),
    "satisfaction": ("satisfaction",),
    "located": ("lon",),
}


@dataclass(frozen=True)
class Coverage:
    """Which inputs the visible tickets have at all, and the ledgers present."""

    tickets: int
    present: frozenset[str] = field(default_factory=frozenset)
    clues: int = 0
    points_in_region: bool = True   # some ticket's point lies in the active region (else all are outside it)

    def has(self, column: str) -> bool:
        return column in self.present

    def missing_for(self, key: str) -> list[str]:
        """The columns a rate or KPI (`NEEDS` key) needs that the data never had."""
        return [c for c in NEEDS.get(key, ()) if c not in self.present]

    def missing_note(self, key: str) -> str | None:
        """"数据中没有‘响应时间’列" for a figure whose inputs are missing, else None."""
        miss = self.missing_for(key)
        if key == "located" and not miss and not self.points_in_region and self.tickets:
            return "数据中的坐标都不在本区域范围内（见地图页），无法定位"
        if not miss or not self.tickets:
            return None
        names = "、".join(f"“{INPUTS[c][0]}”" for c in miss)
        return f"数据中没有{names}列，无法计算"

    @property
    def category_depth(self) -> int:
        """The deepest category level the data has (0 when it has none)."""
        return max((i for i in (1, 2, 3) if f"category_l{i}" in self.present), default=0)


# One scan of the visible tickets: EXISTS-like bool_or per column (DuckDB reads only these columns).
_PRESENT_SQL = ("SELECT count(*), count(*) FILTER (WHERE lon IS NOT NULL AND geo_flag IS DISTINCT FROM "
                "'outside_region') > 0, {cols} FROM tickets")


def coverage(con: duckdb.DuckDBPyConnection) -> Coverage:
    """Which `INPUTS` columns have at least one value among the tickets `con` may read."""
    cols = list(INPUTS)
    sql = _PRESENT_SQL.format(cols=", ".join(f"count({c}) > 0" for c in cols))  # fixed names only
    row = con.execute(sql).fetchone()
    present = frozenset(c for c, has in zip(cols, row[2:], strict=True) if has)
    (clues,) = con.execute("SELECT count(*) FROM clues").fetchone()
    return Coverage(tickets=int(row[0]), present=present, clues=int(clues), points_in_region=bool(row[1]))


def topic_note(con: duckdb.DuckDBPyConnection, f) -> str | None:
    """Why the selection `f` (a Filters) holds no special-project (专项) ticket, or None when it holds some.

    An empty "专项工单量" chart beside a KPI of thousands of tickets reads as "no data"; the reason is usually
    that the export has no 专项 column and the region's rules do not apply (another city's data, or a pack
    without rules)."""
    from data import topics
    from data.positions import LOCATED_SQL
    from geo import regions

    w = f.where(prefix="t")
    sql = f"""
        SELECT count(*), count(topic), count(*) FILTER (WHERE district IS NULL AND NOT coalesce({LOCATED_SQL}, false))
        FROM tickets WHERE {w.sql}
    """
    n, with_topic, unplaced = (int(x) for x in con.execute(sql, w.params).fetchone())
    if n == 0 or with_topic:
        return None
    region = regions.active().label
    try:
        rules = topics.load()
    except topics.TopicRulesError:
        rules = None
    fix = "可在导入文件中提供“专项”列，或用设置 HOTLINE_TOPIC_RULES 指定专项规则后重新导入。"
    if rules is None or not rules.topics:
        return f"所选 {n:,} 件工单都没有专项：区域“{region}”没有专项规则，数据中也没有“专项”列。{fix}"
    if rules.regional and unplaced == n:
        return (f"所选 {n:,} 件工单都没有专项：它们不在{region}（没有本区域的区县或坐标），"
                f"{region}的专项规则不适用于它们。{fix}")
    return f"所选 {n:,} 件工单中没有专项工单（专项由“专项”列或{region}的专项规则判定）。"


def deepest_category(cov: Coverage, default: str = "category_l3") -> str:
    """`category_lN` for the deepest level the data has (`default` when it has none)."""
    d = cov.category_depth
    return f"category_l{d}" if d else default
