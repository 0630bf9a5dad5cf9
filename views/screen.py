"""大屏 Wall screen (`/screen`): one dark screen for the leadership's wall, read from across the room.

Layout only: the numbers come from analytics/screen.py (the overview's, map page's, hotspot and topics page's
functions), the figures from analytics/screen_figures.py, the HTML and CSS from ui/screen_parts.py. The whole
screen is one fragment that runs again by itself (`st.fragment(run_every=...)`, public API) so nothing flashes
and the layout stays: every HOTLINE_SCREEN_ROTATE_SECONDS it moves to the next frame of the rotation (all
tickets, then each special project, each with its own map and figures), and every
HOTLINE_SCREEN_REFRESH_SECONDS it re-reads the store (a new import's generation, the screening queue, the
ledger). Between two refreshes every frame reads the same generation of the store, so the panels never mix an
old and a new import.

On a wall nobody clicks "retry": when the store is briefly missing or cannot be opened, or a query fails, the
screen keeps the last figures it drew and says so quietly in its title bar; it never shows an error box.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb
import pandas as pd
import streamlit as st

from analytics import overview, screen, screen_figures, theme
from analytics.filters import Filters
from data import people, records, settings, store
from data.scope import Scope
from ui import auth, db
from ui import screen_parts as parts

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


def px(v: float) -> int:
    return max(1, round(v * SCALE))


# ---------------------------------------------------------------- cached reads (data only, keyed by generation)
@st.cache_data(show_spinner=False, ttl=3600, max_entries=256)
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
    """Everything one run of the screen draws."""

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
    queue: object
    ledger: object
    today: date


def _load(cur, version: str, refreshed: float, step: int) -> Frame | None:
    lo, hi = _range(cur, version)
    if hi is None:
        return None
    f = Filters(date_to=hi)
    month = screen.period_filters(hi)["month"]
    cycle = _q("rotation", cur, version, month, (("configured", CONFIGURED),))
    topic = cycle[step % len(cycle)]
    cov = _coverage(cur, version)
    fo = _q("focus", cur, version, f, (("topic", topic), ("cov", cov)))
    if topic is None:
        per = {t: _q("month_hotspots", cur, version, f, (("topic", t),)) for t in cycle if t}
        marks = screen.combine_hotspots(per)
        total = sum(int(df.attrs.get("total", len(df))) for df in per.values())
    else:
        marks = _q("month_hotspots", cur, version, f, (("topic", topic),))
        total = int(marks.attrs.get("total", len(marks)))
    queue = None
    try:
        queue = _queue(me.scope, refreshed)
    except READ_ERRORS:
        queue = None
    today = records.now().date()
    return Frame(as_of=hi, first_day=lo, imported=_imported(cur, version),
                 headline=_q("headline", cur, version, f, (("cov", cov),)),
                 projects=_q("projects", cur, version, month), cycle=cycle, step=step % len(cycle), focus=fo,
                 marks=marks, marks_total=total, risers=_q("risers", cur, version, f), queue=queue,
                 ledger=_ledger(cur, version, hi, today), today=today)


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


def _draw(fr: Frame, refreshed: datetime, notice: str | None) -> None:
    colours = {t: theme.SCREEN_PROJECT_COLOURS[i % len(theme.SCREEN_PROJECT_COLOURS)]
               for i, t in enumerate(t for t in fr.cycle if t)}
    topic = fr.focus.topic
    st.html(parts.head(_scope_label(), fr.as_of, fr.imported or _file_time(), refreshed, notice))
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
            st.html(parts.work_panel(fr.queue, fr.ledger, f"{fr.as_of.month}月", RESULTS_SHOWN))
    with centre:
        with st.container(key="scr_panel_focus", gap=None):
            st.html(parts.focus_head(fr.focus.label, fr.step, len(fr.cycle), fr.focus.kpis))
        with st.container(key="scr_panel_map", gap=None):
            per = "每万人工单量" if fr.focus.level == "district" else "工单量"
            where = "各区" if fr.focus.level == "district" else "各街乡"
            shown = f"，显示 {len(fr.marks)} / {fr.marks_total} 处" if fr.marks_total > len(fr.marks) else ""
            marks = "统计热点与重复点位" if len(fr.marks) else "本月无统计热点"
            st.html(parts.panel_title(f"{where}{per}（{fr.as_of.month}月）", f"标记：{marks}{shown}"))
            width = px(1852 * COLUMNS[1] - 30)
            fig = screen_figures.map_figure(
                fr.focus.areas, fr.marks, level=fr.focus.level,
                metric="per_10k" if fr.focus.level == "district" else "n", mode=MODE, scale=SCALE, width=width,
                height=px(MAP_H), colours=colours if topic is None else None)
            st.plotly_chart(fig, key="scr_map", width="content", config={"staticPlot": True})
        with st.container(key="scr_panel_trend", gap=None):
            w = fr.focus.trend_window
            st.html(parts.panel_title("近12个月工单量", f"{w.date_from.year}年{w.date_from.month}月—{w.date_to.year}年{w.date_to.month}月，虚线：上年同期"))
            st.plotly_chart(screen_figures.trend_figure(fr.focus.trend, mode=MODE, scale=SCALE, height=px(TREND_H),
                                                        last_day=fr.as_of),
                            key="scr_trend", config={"staticPlot": True})
    with right:
        with st.container(key="scr_panel_rank", gap=None):
            level = "各区" if fr.focus.level == "district" else "各街乡"
            st.html(parts.panel_title(f"{level}工单量排名（{fr.as_of.month}月）", fr.focus.label))
            st.plotly_chart(screen_figures.ranking_figure(fr.focus.ranking, mode=MODE, scale=SCALE, height=px(RANK_H)),
                            key="scr_rank", config={"staticPlot": True})
        with st.container(key="scr_panel_risers", gap=None):
            st.html(parts.panel_title("新兴热点词", "本月较此前同等时段"))
            st.html(parts.risers_list(fr.risers))


@st.fragment(run_every=min(REFRESH, ROTATE or REFRESH))
def wall() -> None:
    state = st.session_state.setdefault(STATE, {"cur": None, "version": None, "refreshed": 0.0,
                                                "stepped": 0.0, "step": -1, "last": None, "failed": None})
    now = time.time()
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
            state["cur"], state["version"] = db.cursor(), db.db_version()
            state["refreshed"], state["failed"] = now, None
        except READ_ERRORS as exc:
            state["failed"] = state["failed"] or now
            notice = _quiet(exc, state)
    if state["step"] < 0 or (ROTATE and now - state["stepped"] >= ROTATE * 0.9):
        state["step"], state["stepped"] = state["step"] + 1, now
    with st.container(key="scr_root", gap=px(parts.SIZES["gap"])):
        frame = None
        if state["cur"] is not None:
            try:
                frame = _load(state["cur"], state["version"], state["refreshed"], state["step"])
            except READ_ERRORS as exc:
                notice = _quiet(exc, state)
                frame = state["last"]
        if frame is None and state["last"] is not None:
            frame = state["last"]
        if frame is None:
            st.html(parts.waiting(notice or "数据库中还没有工单，导入后将自动显示。"))
            return
        state["last"] = frame
        _draw(frame, beijing(state["refreshed"] or now), notice)


def _quiet(exc: Exception, state: dict) -> str:
    """The title bar's quiet notice while the store cannot be read (the last figures stay on screen)."""
    since = beijing(state["refreshed"]).strftime("%H:%M") if state["refreshed"] else None
    what = "数据库暂时无法读取" + ("（正在更新或被占用）" if isinstance(exc, store.StoreError | duckdb.Error) else "")
    return f"{what}，显示 {since} 的数据，稍后自动重试" if since else f"{what}，稍后自动重试"


st.html(parts.css(MODE, SCALE))
wall()
