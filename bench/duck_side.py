"""The product side of the benchmark: each page's analytics calls, exactly as the pages make them.

Keep this in step with views/*.py: a page that adds a query adds it here too.
"""

from __future__ import annotations

from analytics import funnel, maps, overview, tickets, topics
from analytics import hotspots as hs
from analytics.filters import Filters


def overview_page(con, f: Filters) -> None:
    overview.kpis(con, f)
    overview.rates(con, f)
    overview.trend(con, f, "day")
    overview.district_ranking(con, f)
    overview.top_values(con, f, "category_l3")
    overview.top_values(con, f, "topic")
    overview.changes(con, f, "category_l3")


def topics_page(con, f: Filters) -> None:
    # The page's default view: totals, category tree, top 20 words, examples of the first word, weekly
    # trends of the top 3 words and top 3 level-1/2 categories, emerging words against 3 previous periods.
    topics.total_tickets(con, f)
    tree = topics.category_tree(con, f)
    words = topics.top_words(con, f, kind="word", limit=20)
    top = words["word"].tolist()
    if top:
        topics.example_tickets(con, f, top[0], limit=10)
    topics.word_trend(con, f, tuple(top[:3]), grain="week")
    if not tree.empty:
        paths = tree.loc[tree["level"] <= 2].sort_values("n", ascending=False)["id"].tolist()[:3]
        topics.category_trend(con, f, tuple(paths), grain="week")
    topics.emerging(con, f, kind="word", baseline="previous", periods=3, min_count=5, alpha=0.05)


def funnel_page(con, f: Filters) -> None:
    funnel.stages(con, f)
    funnel.split(con, f, "district")
    funnel.durations(con, f)
    funnel.deadline_report(con, f)


def tickets_page(con, f: Filters) -> None:
    tickets.count(con, f)
    tickets.page(con, f, limit=50, offset=0)


def map_page(con, f: Filters) -> None:
    # The page's default view: counts, then the automatic layer (points/grid for a small selection, else
    # the choropleth at district level, or street level within districts, with the unplaced note).
    total, located = maps.quick_counts(con, f)
    if not total:
        return
    if maps.shows_points(f, located, maps.max_features()):
        maps.point_layer(con, f)
    else:
        maps.area_values(con, f, "street" if f.districts else "district")
        maps.unplaced_count(con, f)


def hotspots_page(con, f: Filters) -> None:
    # the default view; ticket ids are listed only when a row is opened (hs.ticket_ids), not timed here
    hs.hotspot_table(con, f)


PAGES = {
    "overview": overview_page,
    "topics": topics_page,
    "funnel": funnel_page,
    "tickets": tickets_page,
    "map": map_page,
    "hotspots": hotspots_page,
}
