"""What the filters can offer: the values present in the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb


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
    )
