"""Drill-down: turning a click on a chart or a table row into a narrower selection or into tickets.

Figures from analytics/figures.py carry the filter value of each mark in
`customdata`; `value()` reads it back from a `st.plotly_chart` selection
event; `narrow()` builds the new Filters; `go()` applies it (recorded, so
ui.filters.undo_bar() can undo it) and optionally opens the tickets page.

A chart's selection survives reruns, so after a drill every chart key gets a
new generation (`key()`): the next run draws fresh, unselected charts and one
click acts once.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from analytics import theme
from analytics.filters import Filters
from ui import filters as ui_filters

_GEN = ui_filters.GEN_KEY
TICKETS_PAGE = "views/tickets.py"
STAGE_STATE = "tickets_stage"       # funnel stage the ticket list is narrowed to ("" = all)
OPEN_STATE = "tickets_open_id"      # ticket whose detail the tickets page opens


def key(base: str) -> str:
    """Widget key of a selectable chart/table, renewed after every drill so old selections vanish."""
    return f"{base}__g{st.session_state.get(_GEN, 0)}"


def points(event) -> list[dict]:
    """The selected points of a plotly selection event (empty when nothing is selected)."""
    if not event:
        return []
    sel = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    if not sel:
        return []
    pts = sel.get("points") if isinstance(sel, dict) else getattr(sel, "points", None)
    return list(pts or [])


def value(event, field: str = "customdata"):
    """The `customdata` (or another field, e.g. "x", "y") of the first selected point, or None."""
    for p in points(event):
        v = p.get(field)
        if isinstance(v, list | tuple):
            v = v[0] if v else None
        if v is not None and v != "":
            return theme.unplain(v)   # the figure shows data texts with their tags as entities
    return None


def narrow(f: Filters, dimension: str, v) -> tuple[Filters, str]:
    """The filters narrowed to one clicked value, and a Chinese label of what was applied.

    dimension: district, street ("district/street"), category (path), topic,
    function, channel, appeal_type, day (ISO date) or week/month (start date, with `grain`).
    """
    s = str(v)
    if dimension == "district":
        return f.replace(districts=(s,), streets=()), f"区 = {s}"
    if dimension == "street":
        d, _, st_name = s.rpartition("/")
        return f.replace(districts=(d,) if d else f.districts, streets=(st_name,)), f"街道/乡镇 = {s}"
    if dimension == "category":
        return f.replace(categories=(s,)), f"分类 = {s}"
    if dimension == "topic":
        return f.replace(topics=(s,)), f"专项 = {s}"
    if dimension == "function":
        return f.replace(functions=(s,)), f"检察职能 = {s}"
    if dimension == "channel":
        return f.replace(channels=(s,)), f"渠道 = {s}"
    if dimension == "appeal_type":
        return f.replace(appeal_types=(s,)), f"诉求类型 = {s}"
    if dimension == "day":
        d = date.fromisoformat(s[:10])
        return f.replace(date_from=d, date_to=d), f"日期 = {d}"
    raise ValueError(f"unknown drill dimension {dimension!r}")


def period(f: Filters, start: date, grain: str) -> tuple[Filters, str]:
    """Narrow the dates to one trend bucket (day/week/month starting at `start`), inside the current range."""
    from datetime import timedelta

    if grain == "day":
        end = start
    elif grain == "week":
        end = start + timedelta(days=6)
    else:
        nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        end = nxt - timedelta(days=1)
    lo = max(start, f.date_from) if f.date_from else start
    hi = min(end, f.date_to) if f.date_to else end
    return f.replace(date_from=lo, date_to=hi), f"日期 = {lo} 至 {hi}"


def go(f: Filters, label: str, *, open_tickets: bool = False, stage: str = "") -> None:
    """Apply `f` (undoable) and rerun; with open_tickets, continue on the tickets page."""
    if open_tickets:
        ui_filters.bump_generation()
        st.session_state[STAGE_STATE] = stage
        hist = st.session_state.setdefault(ui_filters.HISTORY_KEY, [])
        hist.append((label, ui_filters.current()))
        st.session_state[ui_filters.PENDING_KEY] = f
        st.switch_page(TICKETS_PAGE)
    ui_filters.apply(f, label=label)


def on_select(event, dimension: str, *, open_tickets: bool = False) -> None:
    """If a mark of `event` is selected, narrow the filters by `dimension` to its customdata."""
    v = value(event)
    if v is None:
        return
    nf, label = narrow(ui_filters.current(), dimension, v)
    go(nf, label, open_tickets=open_tickets)
