"""大屏 Wall screen (`/screen`): one dark screen for the leadership's wall, read from across the room.

Layout only: the numbers come from analytics/screen.py (the overview's, map page's, hotspot and topics page's
functions), the figures from analytics/screen_figures.py, the HTML and CSS from ui/screen_parts.py. The whole
screen is one fragment (`st.fragment`, public API) that runs again by itself so nothing flashes
and the layout stays: every HOTLINE_SCREEN_ROTATE_SECONDS it moves to the next frame of the rotation (all
tickets, then each special project, each with its own map and figures), and every
HOTLINE_SCREEN_REFRESH_SECONDS it re-reads the store (a new import's generation, the screening queue, the
ledger). Between two refreshes every frame reads the same generation of the store, so the panels never mix an
old and a new import.

On a wall nobody clicks "retry": when the store is briefly missing or cannot be opened, or a query fails, the
screen keeps the last figures it drew and says so quietly in its title bar; it never shows an error box.

The fragment has no `run_every`: its clock (ui/screen_clock.py) is drawn last in every run and asks for the next
run only once the browser has taken this one in, so the server never gets ahead of a slow browser (with
`run_every` it did, and Streamlit then dropped the session silently: the stall of docs/performance.md). The same
clock reloads the page when no run has come for HOTLINE_SCREEN_WATCHDOG_SECONDS.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import duckdb
import pandas as pd
import streamlit as st

from analytics import overview, screen, screen_figures, theme
from analytics.filters import Filters
from data import people, records, settings, store
from data.scope import Scope
from ui import auth, db
from ui import screen_parts as parts
from ui.screen_clock import clock, watchdog_seconds

STATE = "scr_state"
# Design sizes (CSS px of a 1920×1080 window), multiplied by the scale.
COLUMNS = (0.29, 0.43, 0.28)
MAP_H, TREND_H, RANK_H = 528, 180, 540
PROJECTS_SHOWN = 4
RESULTS_SHOWN = screen.RESULTS_SHOWN
# What a failed read looks like: the store gone or replaced mid-read, a lock, the records store busy.
READ_ERRORS = (store.StoreError, duckdb.Error, sqlite3.Error, records.RecordsError, OSError)

me = auth.require()


def _scale() -> float:
    """The layout's size against a 1920×1080 window: `?scale=` in the URL, else HOTLINE_SCREEN_SCALE."""
    try:
        v = float(settings.get("HOTLINE_SCREEN_SCALE"))
    except ValueError:
        v = 1.0
    try:
        v = float(st.query_params.get("scale") or v)
    except ValueError:
        pass
    return min(4.0, max(0.5, v))


MODE = "light" if str(settings.get("HOTLINE_SCREEN_THEME")).strip().lower() == "light" else "dark"
SCALE = _scale()
REFRESH = max(1, int(settings.get("HOTLINE_SCREEN_REFRESH_SECONDS")))
ROTATE = max(0, int(settings.get("HOTLINE_SCREEN_ROTATE_SECONDS")))
CONFIGURED = tuple(p.strip() for p in str(settings.get("HOTLINE_SCREEN_PROJECTS")).split(",") if p.strip())


# The fragment's run interval: a rotation step or a refresh at each run; without a rotation at most a minute,
# so a new import's frame, drawn out of sight at a refresh, is shown within a minute.
TICK = min(REFRESH, ROTATE or min(REFRESH, 60))
WATCHDOG = watchdog_seconds(TICK, int(settings.get("HOTLINE_SCREEN_WATCHDOG_SECONDS")))


def px(v: float) -> int:
    return max(1, round(v * SCALE))


# ---------------------------------------------------------------- cached reads (data only, keyed by generation)
class Versions(NamedTuple):
    """The cache keys of one refresh (ui/db.py): `full` = generation, scope and clue ledger (figures with
    clues, cases, rectifications); `tickets` = generation and scope (figures of the tickets alone: a clue
    registered anywhere leaves them be); `places` = generation and districts (the hotspots: no text column,
    so a wall without ticket texts shares them with the district's prosecutors)."""

    full: str
    tickets: str
    places: str


# One entry per query, frame and scope (about 20 per scope and generation): room for dozens of scopes.
@st.cache_data(show_spinner=False, ttl=3600, max_entries=1024)
def _q(name: str, _cur, version: str, f: Filters, kw: tuple = ()):
    return getattr(screen, name)(_cur, f, **dict(kw))


@st.cache_data(show_spinner=False, ttl=3600, max_entries=32)
def _range(_cur, version: str):
    """(first day with tickets in the scope, the store's last day with tickets)."""
    return overview.data_range(_cur)[0], screen.as_of(_cur)


@st.cache_data(show_spinner=False, ttl=3600, max_entries=32)
def _imported(_cur, version: str):
    return screen.last_import(_cur)


@st.cache_data(show_spinner=False, ttl=600, max_entries=32)
def _queue(sc: Scope, refreshed: float) -> dict:
    """The screening queue's waiting items in the scope (records store), re-read at each refresh of this
    session (`refreshed`: its time, so no session is served another's older answer), and
    how many rules are active (none: nothing is screened, and "0 waiting" would mislead)."""
    from data.screening import library, queue

    with records.session() as rec:
        q = queue.queue_summary(rec, sc)
        rules = len(library.all_rules(rec, active_only=True))
    return {"waiting": q.waiting, "oldest_days": q.oldest_days, "rules": rules}


@st.cache_data(show_spinner=False, ttl=3600, max_entries=32)
def _coverage(_cur, version: str):
    from analytics import coverage

    return coverage.coverage(_cur)


@st.cache_data(show_spinner=False, ttl=600, max_entries=32)
def _ledger(_cur, version: str, day: date, today: date) -> dict | None:
    """The clue ledger's figures (`screen.ledger_figures`): overdue on `today`, results of `day`'s month. The
    cursor carries the ledger's version laid over it at the last refresh (ui/db.py), part of `version`."""
    return screen.ledger_figures(_cur, day, today)


@dataclass
class Frame:
    """Everything one frame of the rotation draws, read from one generation of the store."""

    as_of: date
    first_day: date | None
    imported: datetime | None
    headline: pd.DataFrame
    projects: pd.DataFrame
    cycle: list
    step: int
    focus: screen.Focus
    marks: pd.DataFrame
    marks_total: int
    risers: pd.DataFrame
    ledger: object
    today: date


@dataclass
class Slot:
    """One of the two chart slots: a frame and its three figures, drawn once and then sent unchanged.

    The charts of the frame on show live in one slot; the other slot draws the next frame out of sight
    (CSS `visibility: hidden`, so the browser lays it out and plotly draws it at its size). A rotation step
    only changes which slot is visible: the charts it shows were drawn one run earlier, so none goes blank.
    (Streamlit draws a plotly chart whose figure changed as a new element, blank until drawn.)
    """

    version: Versions
    topic: str | None
    frame: Frame
    figs: tuple


def _cycle(cur, version: Versions) -> tuple[date | None, date | None, list]:
    lo, hi = _range(cur, version.tickets)
    if hi is None:
        return lo, hi, []
    month = screen.period_filters(hi)["month"]
    return lo, hi, _q("rotation", cur, version.tickets, month, (("configured", CONFIGURED),))


def _load(cur, version: Versions, topic: str | None) -> Frame | None:
    """The frame of `topic` (None: all tickets) read from generation `version`."""
    lo, hi, cycle = _cycle(cur, version)
    if hi is None:
        return None
    f = Filters(date_to=hi)
    month = screen.period_filters(hi)["month"]
    cov = _coverage(cur, version.full)
    fo = _q("focus", cur, version.full, f, (("topic", topic), ("cov", cov)))
    if topic is None:
        per = {t: _q("month_hotspots", cur, version.places, f, (("topic", t),)) for t in cycle if t}
        marks = screen.combine_hotspots(per)
        total = sum(int(df.attrs.get("total", len(df))) for df in per.values())
    else:
        marks = _q("month_hotspots", cur, version.places, f, (("topic", topic),))
        total = int(marks.attrs.get("total", len(marks)))
    today = records.now().date()
    return Frame(as_of=hi, first_day=lo, imported=_imported(cur, version.tickets),
                 headline=_q("headline", cur, version.full, f, (("cov", cov),)),
                 projects=_q("projects", cur, version.tickets, month), cycle=cycle,
                 step=cycle.index(topic) if topic in cycle else 0, focus=fo,
                 marks=marks, marks_total=total, risers=_q("risers", cur, version.tickets, f),
                 ledger=_ledger(cur, version.full, hi, today), today=today)


def _figures(fr: Frame) -> tuple:
    """The frame's map, trend and ranking figures."""
    colours = {t: theme.SCREEN_PROJECT_COLOURS[i % len(theme.SCREEN_PROJECT_COLOURS)]
               for i, t in enumerate(t for t in fr.cycle if t)}
    level = fr.focus.level
    mapped = screen_figures.map_figure(
        fr.focus.areas, fr.marks, level=level, metric="per_10k" if level == "district" else "n", mode=MODE,
        scale=SCALE, width=px(1852 * COLUMNS[1] - 30), height=px(MAP_H),
        colours=colours if fr.focus.topic is None else None)
    trend = screen_figures.trend_figure(fr.focus.trend, mode=MODE, scale=SCALE, height=px(TREND_H), last_day=fr.as_of)
    rank = screen_figures.ranking_figure(fr.focus.ranking, mode=MODE, scale=SCALE, height=px(RANK_H))
    return mapped, trend, rank


def _prepare(cur, version: Versions, topic: str | None) -> Slot | None:
    fr = _load(cur, version, topic)
    return None if fr is None else Slot(version, topic, fr, _figures(fr))


def _live_queue(refreshed: float):
    try:
        return _queue(me.scope, refreshed)
    except READ_ERRORS:
        return None


# ---------------------------------------------------------------- drawing
def beijing(ts: float) -> datetime:
    """A moment as Beijing wall time (the store's convention for every time it records)."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None) + timedelta(hours=8)


def _file_time() -> datetime | None:
    try:
        return beijing(os.stat(settings.db_path()).st_mtime)
    except OSError:
        return None


def _scope_label() -> str:
    return "全市" if me.scope.districts is None else "、".join(me.scope.districts) or "无辖区"


def _charts(name: str, slots: list, shown: int, index: int) -> None:
    """Chart `index` (0 map, 1 trend, 2 ranking) of both slots, stacked in one place; the slot not on show
    is hidden by the stylesheet (`parts.slots_css`). Each slot sends its figure unchanged until it takes a new
    frame, so Streamlit keeps the drawn chart."""
    with st.container(key=f"scr_bufs_{name}", gap=None):
        for i, slot in enumerate(slots):
            with st.container(key=f"scr_s{i}_{name}", gap=None):
                if slot is not None:
                    st.plotly_chart(slot.figs[index], key=f"scr_{name}_{i}", width="content" if index == 0 else "stretch",
                                    config={"staticPlot": True})


def _draw(slots: list, shown: int, queue, refreshed: datetime, notice: str | None) -> None:
    fr = slots[shown].frame
    topic = fr.focus.topic
    st.html(parts.head(_scope_label(), fr.as_of, fr.imported or _file_time(), refreshed, notice)
            + parts.slots_css(shown))
    left, centre, right = st.columns(COLUMNS, gap="small")
    with left:
        with st.container(key="scr_panel_kpi", gap=None):
            st.html(parts.panel_title("核心指标", "当日 · 本月 · 本年，与去年同期比"))
            st.html(parts.headline_table(fr.headline, fr.as_of, fr.first_day,
                                         overview.funnel_still_open(screen.period_filters(fr.as_of)["day"], fr.as_of)))
        with st.container(key="scr_panel_projects", gap=None):
            more = f" · 显示 {PROJECTS_SHOWN} / {len(fr.projects)} 个" if len(fr.projects) > PROJECTS_SHOWN else ""
            st.html(parts.panel_title("专项工单", f"{fr.as_of.month}月，与去年同期比{more}"))
            st.html(parts.projects_list(fr.projects, topic, PROJECTS_SHOWN))
        with st.container(key="scr_panel_work", gap=None):
            st.html(parts.panel_title("办理动态", f"待研判、逾期截至今日 {fr.today:%m-%d}"))
            st.html(parts.work_panel(queue, fr.ledger, f"{fr.as_of.month}月", RESULTS_SHOWN))
    with centre:
        with st.container(key="scr_panel_focus", gap=None):
            st.html(parts.focus_head(fr.focus.label, fr.step, len(fr.cycle), fr.focus.kpis))
        with st.container(key="scr_panel_map", gap=None):
            per = "每万人工单量" if fr.focus.level == "district" else "工单量"
            where = "各区" if fr.focus.level == "district" else "各街乡"
            shown_marks = f"，显示 {len(fr.marks)} / {fr.marks_total} 处" if fr.marks_total > len(fr.marks) else ""
            marks = "统计热点与重复点位" if len(fr.marks) else "本月无统计热点"
            st.html(parts.panel_title(f"{where}{per}（{fr.as_of.month}月）", f"标记：{marks}{shown_marks}"))
            _charts("map", slots, shown, 0)
        with st.container(key="scr_panel_trend", gap=None):
            w = fr.focus.trend_window
            st.html(parts.panel_title("近12个月工单量", f"{w.date_from.year}年{w.date_from.month}月—{w.date_to.year}年{w.date_to.month}月，虚线：上年同期"))
            _charts("trend", slots, shown, 1)
    with right:
        with st.container(key="scr_panel_rank", gap=None):
            level = "各区" if fr.focus.level == "district" else "各街乡"
            st.html(parts.panel_title(f"{level}工单量排名（{fr.as_of.month}月）", fr.focus.label))
            _charts("rank", slots, shown, 2)
        with st.container(key="scr_panel_risers", gap=None):
            st.html(parts.panel_title("新兴热点词", "本月较此前同等时段"))
            st.html(parts.risers_list(fr.risers))


def _plan(state: dict, now: float) -> None:
    """Choose the slot on show and draw the next frame into the other one (reads only cached results, except
    for a new generation's or scope's first frames).

    A rotation step shows the hidden slot when it holds the next project (drawn one run earlier), else it
    draws that project out of sight now and steps at the next run: a step never shows a chart being drawn.
    A new generation of the store (a refresh after an import) is drawn out of sight the same way and shown
    at the next step, or, without a rotation, at the next run.
    """
    cur, version, slots = state["cur"], state["version"], state["slots"]
    shown = state["shown"]
    _lo, _hi, cycle = _cycle(cur, version)
    if not cycle:
        return
    if slots[shown] is None:                                     # the first frame: drawn in front of the viewer
        state["step"], state["stepped"] = 0, now
        slots[shown] = _prepare(cur, version, cycle[0])
    else:
        hidden = slots[1 - shown]
        current = slots[shown]
        due = ROTATE and len(cycle) > 1 and now - state["stepped"] >= ROTATE * 0.9
        upcoming = cycle[(state["step"] + 1) % len(cycle)]
        if due and hidden is not None and hidden.topic == upcoming:
            state["shown"], state["step"], state["stepped"] = 1 - shown, state["step"] + 1, now
        elif (hidden is not None and hidden.version == version != current.version
              and hidden.topic == current.topic):
            state["shown"] = 1 - shown                           # the same frame, read from the new generation
    shown = state["shown"]
    rotating = ROTATE and len(cycle) > 1
    target = cycle[(state["step"] + (1 if rotating else 0)) % len(cycle)]
    if (slots[shown].version, slots[shown].topic) == (version, target):
        return                                                   # nothing new to draw
    hidden = slots[1 - shown]
    if hidden is None or (hidden.version, hidden.topic) != (version, target):
        slots[1 - shown] = _prepare(cur, version, target)


@st.fragment
def wall() -> None:
    """One run of the screen, then its clock (drawn last: see ui/screen_clock.py)."""
    state = st.session_state.setdefault(STATE, {"cur": None, "version": None, "refreshed": 0.0, "stepped": 0.0,
                                                "step": -1, "slots": [None, None], "shown": 0, "failed": None,
                                                "runs": 0})
    now = time.time()
    state["runs"] += 1
    try:
        _run(state, now)
    except Exception:
        _clock(state, now)          # the clock keeps going after a failure: the next run tries again
        raise
    _clock(state, now)


def _clock(state: dict, started: float) -> None:
    """The next run one interval after this one began (at once if this one took longer)."""
    clock(state["runs"], TICK - (time.time() - started), WATCHDOG)


def _run(state: dict, now: float) -> None:
    notice = None
    if state["cur"] is None or now - state["refreshed"] >= REFRESH * 0.9:
        try:
            with records.session() as rec:
                still = people.current(rec, me)
        except READ_ERRORS:
            still = me
        if still is None:
            st.rerun(scope="app")   # the account was disabled: the app's sign-in gate takes over
        try:
            cur = db.cursor()
            version = Versions(db.db_version(), db.tickets_version(), db.tickets_version(texts=False))
            busy = db.newer_unreadable()
            if busy:                # a newer file is there but held by a writer: keep the last figures, say so
                raise store.StoreBusy(busy)
            state["cur"], state["version"] = cur, version
            state["refreshed"], state["failed"] = now, None
        except READ_ERRORS as exc:
            state["failed"] = state["failed"] or now
            notice = _quiet(exc, state)
    with st.container(key="scr_root", gap=px(parts.SIZES["gap"])):
        if state["cur"] is not None:
            try:
                _plan(state, now)
            except READ_ERRORS as exc:
                notice = _quiet(exc, state)
        if state["slots"][state["shown"]] is None:
            st.html(parts.waiting(notice or "数据库中还没有工单，导入后将自动显示。"))
            return
        _draw(state["slots"], state["shown"], _live_queue(state["refreshed"]), beijing(state["refreshed"] or now),
              notice)


def _quiet(exc: Exception, state: dict) -> str:
    """The title bar's quiet notice while the store cannot be read (the last figures stay on screen)."""
    since = beijing(state["refreshed"]).strftime("%H:%M") if state["refreshed"] else None
    what = "数据库暂时无法读取" + ("（正在更新或被占用）" if isinstance(exc, store.StoreError | duckdb.Error) else "")
    return f"{what}，显示 {since} 的数据，稍后自动重试" if since else f"{what}，稍后自动重试"


st.html(parts.css(MODE, SCALE))
wall()
