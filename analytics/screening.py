"""Screening read from the ticket store for the pages: back-tests, an item's tickets and its place's history.

Back-testing runs a rule over a past period in SQL and aggregates there: hits per month, and where clue data
exists (the case system's clues and cases linked to tickets), how many hits became clues and cases — the rule's
precision as the prosecutors judge a model (成案率 of its hits). Clues registered in the app from the rule's
queue items are counted from the records store (data/screening/queue).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go

from analytics import privacy, theme
from data.screening.compile import Target, target_span
from data.screening.rule import Rule
from data.screening.run import compiled, located_copy


def backtest(con, rule: Rule, date_from: date | None, date_to: date | None, *, resolve=lambda _k: None) -> pd.DataFrame:
    """Per month of the period: hits, places (20 m positions), hits linked to an imported clue, to a case."""
    target = Target(date_from, date_to)
    c = compiled(rule, target, target_span(con, target), resolve, located_copy=located_copy(con))
    sql = f"""
WITH h AS ({c.sql}),
linked AS (
    SELECT ct.ticket_id, bool_or(cs.case_id IS NOT NULL) AS has_case
    FROM clue_tickets ct LEFT JOIN cases cs ON cs.clue_id = ct.clue_id
    WHERE ct.ticket_id IN (SELECT ticket_id FROM h)
    GROUP BY ct.ticket_id
)
SELECT CAST(date_trunc('month', h.received_at) AS DATE) AS month,
       count(*) AS hits,
       count(l.ticket_id) AS in_clues,
       count(CASE WHEN l.has_case THEN 1 END) AS in_cases
FROM h LEFT JOIN linked l ON l.ticket_id = h.ticket_id
WHERE h.trigger
GROUP BY ALL ORDER BY month"""
    df = con.execute(sql, c.params).fetch_df()
    return df.astype({"hits": "int64", "in_clues": "int64", "in_cases": "int64"})


def backtest_totals(months: pd.DataFrame) -> dict:
    """Totals and rates of a back-test; rates are None (shown "—") when there are no hits."""
    hits = int(months["hits"].sum()) if not months.empty else 0
    clues = int(months["in_clues"].sum()) if not months.empty else 0
    cases = int(months["in_cases"].sum()) if not months.empty else 0
    return {"hits": hits, "in_clues": clues, "in_cases": cases,
            "clue_rate": clues / hits if hits else None, "case_rate": cases / hits if hits else None}


def backtest_figure(months: pd.DataFrame, title: str) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=months["month"], y=months["hits"], name="命中工单", marker_color=theme.PRIMARY)
    fig.add_scatter(x=months["month"], y=months["in_clues"], name="其中形成线索", mode="lines+markers",
                    line={"color": theme.ACCENT})
    fig.update_layout(title=title, height=320, margin={"l": 40, "r": 10, "t": 40, "b": 30},
                      legend={"orientation": "h", "y": -0.2}, font={"family": theme.font_family()},
                      xaxis={"title": None, "tickformat": "%Y-%m"}, yaxis={"title": "件"})
    return fig


ITEM_TICKETS_SQL = """
SELECT ticket_id, received_at, district, street, address, category_l3, status, closed_at, satisfaction,
       content, lon, lat
FROM tickets WHERE ticket_id IN (SELECT unnest($ids)) ORDER BY received_at, ticket_id"""


def item_tickets(con, ticket_ids: list[str], *, mask: bool | None = None) -> pd.DataFrame:
    """The tickets of an item as the user may see them (a scoped cursor drops other districts' tickets)."""
    df = con.execute(ITEM_TICKETS_SQL, {"ids": [str(t) for t in ticket_ids]}).fetch_df()
    return privacy.mask_frame(df, force=mask)


PLACE_HISTORY_SQL = """
SELECT ticket_id, received_at, category_l3, status, closed_at, satisfaction, address
FROM tickets
WHERE lat BETWEEN $lat - $dlat AND $lat + $dlat AND lon BETWEEN $lon - $dlon AND $lon + $dlon
  AND 2 * 6371008.8 * asin(sqrt(power(sin(radians(lat - $lat) / 2), 2)
      + cos(radians($lat)) * cos(radians(lat)) * power(sin(radians(lon - $lon) / 2), 2))) <= $radius
  AND received_at < $before
ORDER BY received_at DESC
LIMIT $lim"""


def place_history(con, lon: float, lat: float, before, *, radius_m: float = 200, limit: int = 200) -> pd.DataFrame:
    """Earlier tickets (any problem) within `radius_m` of the place, received before `before`, newest first:
    at most `limit` + 1 rows (the caller says when the list is cut)."""
    dlat = radius_m / 111_000.0 * 1.01
    df = con.execute(PLACE_HISTORY_SQL, {"lon": float(lon), "lat": float(lat), "dlat": dlat, "dlon": dlat / 0.6,
                                         "radius": float(radius_m), "before": pd.Timestamp(before),
                                         "lim": int(limit) + 1}).fetch_df()
    return df


def history_summary(df: pd.DataFrame) -> dict:
    """Counts of a place's history: tickets, closed ones, the last close, dissatisfied."""
    if df.empty:
        return {"n": 0, "closed": 0, "last_closed": None, "dissatisfied": 0}
    return {"n": len(df), "closed": int(df["closed_at"].notna().sum()),
            "last_closed": df["closed_at"].max() if df["closed_at"].notna().any() else None,
            "dissatisfied": int(df["satisfaction"].eq("不满意").sum())}


CLUES_OF_TICKETS_SQL = """
SELECT c.clue_id, c.created_at, c.function, c.topic, c.status, count(*) AS tickets
FROM clue_tickets ct JOIN clues c USING (clue_id)
WHERE ct.ticket_id IN (SELECT unnest($ids))
GROUP BY ALL ORDER BY c.created_at DESC"""


def clues_of_tickets(con, ticket_ids: list[str]) -> pd.DataFrame:
    """Imported clues (the case system's) linked to any of these tickets, newest first."""
    return con.execute(CLUES_OF_TICKETS_SQL, {"ids": [str(t) for t in ticket_ids]}).fetch_df()
