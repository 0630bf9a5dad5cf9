"""What the filters can offer: the values present in the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from analytics import periods
from data import settings
from data.engine import dialect
from geo import regions


@dataclass(frozen=True)
class FilterOptions:
    min_date: date | None
    max_date: date | None
    districts: tuple[str, ...]
    streets: tuple[tuple[str, str], ...]        # (district, street)
    categories: tuple[tuple[str, str, str], ...]  # (l1, l2, l3)
    topics: tuple[str, ...]
    channels: tuple[str, ...]
    appeal_types: tuple[str, ...]
    default_period: periods.Period | None = None   # where the pages open (analytics/periods.py)
    extras: tuple[tuple[str, tuple[str, ...]], ...] = ()   # (header, values) of the few-valued extra columns
    region: str = ""                 # the store's region pack, in Chinese (北京市, 蚌埠市 …)
    region_note: str | None = None   # HOTLINE_REGION names another region than the store holds

    @property
    def has_data(self) -> bool:
        return self.min_date is not None

    def category_paths(self) -> list[str]:
        """Every category path at all three levels, sorted: a, a/b, a/b/c."""
        paths: set[str] = set()
        for l1, l2, l3 in self.categories:
            if l1:
                paths.add(l1)
                if l2:
                    paths.add(f"{l1}/{l2}")
                    if l3:
                        paths.add(f"{l1}/{l2}/{l3}")
        return sorted(paths)


def filter_options(con: duckdb.DuckDBPyConnection) -> FilterOptions:
    """Distinct filter values, read from the daily summary (small) and the geography."""
    min_d, max_d = con.execute("SELECT min(day), max(day) FROM ticket_daily_core").fetchone()
    districts = [r[0] for r in con.execute("SELECT district FROM districts ORDER BY adcode").fetchall()]
    streets = con.execute("SELECT district, street FROM streets ORDER BY street_code").fetchall()
    cats = con.execute(
        "SELECT DISTINCT category_l1, category_l2, category_l3 FROM ticket_daily_core "
        "WHERE category_l1 IS NOT NULL ORDER BY ALL"
    ).fetchall()

    def distinct(col: str) -> tuple[str, ...]:
        sql = {
            "topic": "SELECT DISTINCT topic FROM ticket_daily_core WHERE topic IS NOT NULL ORDER BY 1",
            "channel": "SELECT DISTINCT channel FROM ticket_daily WHERE channel IS NOT NULL ORDER BY 1",
            "appeal_type": "SELECT DISTINCT appeal_type FROM ticket_daily WHERE appeal_type IS NOT NULL ORDER BY 1",
        }[col]
        return tuple(r[0] for r in con.execute(sql).fetchall())

    return FilterOptions(
        min_date=min_d, max_date=max_d, districts=tuple(districts),
        streets=tuple((d, s) for d, s in streets), categories=tuple(tuple(c) for c in cats),
        topics=distinct("topic"), channels=distinct("channel"), appeal_types=distinct("appeal_type"),
        default_period=periods.default_period(con),
        extras=extra_options(con),
        region=regions.active().label,
        region_note=regions.mismatch_note(regions.of_store(con)),
    )


# What a list filter may hold, per field: the values present in the store (plus the fixed choices).
UNKNOWN_LABELS = {"districts": "区", "streets": "街道/乡镇", "categories": "问题分类", "topics": "专项",
                  "channels": "渠道", "appeal_types": "诉求类型", "functions": "检察职能"}


def known_values(opts: FilterOptions) -> dict[str, set[str]]:
    """Every value each list filter can match in this store."""
    from analytics.filters import APPEAL_TYPES, FUNCTIONS, NO_TOPIC

    return {
        "districts": set(opts.districts),
        "streets": {s for _d, s in opts.streets},
        "categories": set(opts.category_paths()),
        "topics": {*opts.topics, NO_TOPIC},
        "channels": set(opts.channels),
        "appeal_types": {*APPEAL_TYPES, *opts.appeal_types},
        "functions": set(FUNCTIONS),
    }


def unknown_values(f, opts: FilterOptions) -> dict[str, tuple[str, ...]]:
    """The values of `f`'s list filters that this store does not hold (e.g. from a shared link), per field.

    Such a value matches no ticket, so the pages show nothing for it; the caller says which values are unknown.
    """
    known = known_values(opts)
    out = {}
    for name in UNKNOWN_LABELS:
        bad = tuple(v for v in getattr(f, name) if v not in known[name])
        if bad:
            out[name] = bad
    return out


def describe_unknown(unknown: dict[str, tuple[str, ...]]) -> str:
    """One Chinese line naming the unknown values, field by field."""
    return "；".join(f"{UNKNOWN_LABELS[k]}：{'、'.join(v)}" for k, v in unknown.items())


# The export's other columns (tickets.extra, JSON): each header with its distinct values, when they are few.
EXTRA_VALUES_SQL = """
WITH kv AS (SELECT j.key AS k, j.value ->> '$' AS v FROM tickets t, json_each(t.extra) j WHERE t.extra IS NOT NULL)
SELECT k, list(DISTINCT v ORDER BY v) AS vs FROM kv WHERE v IS NOT NULL AND v <> '' GROUP BY k
HAVING count(DISTINCT v) <= $most ORDER BY k
"""
# The same on ClickHouse (HOTLINE_ENGINE=clickhouse), which has no json_each: each (key, raw JSON value) pair of
# the object, a JSON string unquoted and a JSON null as NULL, as `->> '$'` gives them (tests/test_engine_golden.py).
# On Spark: the object read as a map of texts (Spark writes a number or a boolean as its JSON text, a null as NULL).
dialect.own_form(EXTRA_VALUES_SQL, """
WITH pairs AS (SELECT arrayJoin(JSONExtractKeysAndValuesRaw(assumeNotNull(t.extra))) AS pair FROM tickets t WHERE t.extra IS NOT NULL),
kv AS (SELECT tupleElement(pair, 1) AS k,
              multiIf(JSONType(tupleElement(pair, 2)) = 'String', JSONExtractString(tupleElement(pair, 2)),
                      JSONType(tupleElement(pair, 2)) = 'Null', NULL, tupleElement(pair, 2)) AS v
       FROM pairs)
SELECT k, list(DISTINCT v ORDER BY v) AS vs FROM kv WHERE v IS NOT NULL AND v <> '' GROUP BY k
HAVING count(DISTINCT v) <= $most ORDER BY k
""", spark="""
WITH pairs AS (SELECT explode(map_entries(from_json(t.extra, 'map<string,string>'))) AS pair FROM tickets t
               WHERE t.extra IS NOT NULL),
kv AS (SELECT pair.key AS k, pair.value AS v FROM pairs)
SELECT k, list(DISTINCT v ORDER BY v) AS vs FROM kv WHERE v IS NOT NULL AND v <> '' GROUP BY k
HAVING count(DISTINCT v) <= $most ORDER BY k
""")


def extra_options(con: duckdb.DuckDBPyConnection) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The extra columns offered as filters (at most HOTLINE_EXTRA_FILTER_MAX_VALUES values each)."""
    most = int(settings.get("HOTLINE_EXTRA_FILTER_MAX_VALUES"))
    rows = con.execute(EXTRA_VALUES_SQL, {"most": most}).fetchall()
    return tuple((str(k), tuple(str(v) for v in vs)) for k, vs in rows)
