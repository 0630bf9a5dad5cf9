"""总览 Overview (`/`): what leadership sees first (the wall screen is its own page, views/screen.py).

Layout only: every number comes from analytics.overview, every figure from
analytics.figures; results are cached here at the UI edge, keyed by the
store's version and the Filters value.

The KPI tiles are drawn before plotly and the figure code are imported
(`_charts()`), so the first page after a cold start shows its numbers while
the chart modules still load.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import coverage, overview, theme
from analytics.filters import Filters
from data import records, settings
from data.screening import queue
from ui import auth, filters
from ui.db import db_version, require_cursor
from ui.plain import md

if str(st.query_params.get("screen", "")) == "1":   # the old wall-screen link: the wall screen is its own page
    st.switch_page("views/screen.py")
cur = require_cursor()
f = filters.current()


@st.cache_data(show_spinner=False, ttl=3600, max_entries=256)
def _q(name: str, _cur, version: str, flt: Filters, kw: tuple = ()) -> pd.DataFrame:
    return getattr(overview, name)(_cur, flt, **dict(kw))


@st.cache_data(show_spinner=False, ttl=3600, max_entries=16)
def _range(_cur, version: str):
    return overview.data_range(_cur)


@st.cache_data(show_spinner=False, ttl=3600, max_entries=16)
def _coverage(_cur, version: str) -> coverage.Coverage:
    return coverage.coverage(_cur)


@st.cache_data(show_spinner=False, ttl=3600, max_entries=16)
def _has_population(_cur, version: str) -> bool:
    return overview.has_population(_cur)


@st.cache_data(show_spinner=False, ttl=3600, max_entries=256)
def _topic_note(_cur, version: str, flt: Filters) -> str | None:
    return coverage.topic_note(_cur, flt)


@st.cache_data(show_spinner=False, ttl=3600, max_entries=256)
def _previous_note(_cur, version: str, flt: Filters) -> str | None:
    return overview.previous_note(_cur, flt)


def q(name: str, **kw) -> pd.DataFrame:
    return _q(name, cur, db_version(), f, tuple(sorted(kw.items())))


def _charts():
    """The chart modules (plotly), imported once the KPI tiles are on screen."""
    from analytics import figures
    from ui import charts, drill

    return figures, charts, drill


def _pct(v) -> str | None:
    return None if v is None or pd.isna(v) else f"{v:+.1%}"


def kpi_row(df: pd.DataFrame, lo) -> None:
    cols = st.columns(len(df))
    for col, row in zip(cols, df.itertuples(), strict=True):
        if isinstance(row.missing, str):   # the data never had this figure's inputs: "—" and why
            col.metric(row.label, "—", help=row.missing)
            col.caption(row.missing)
            continue
        if pd.isna(row.prev):
            delta, note_prev = None, "环比：无上期数据"
        elif isinstance(row.prev_note, str):
            delta, note_prev = None, f"上期 {int(row.prev):,}（{row.prev_note}）"
        elif pd.isna(row.prev_pct):
            delta, note_prev = None, f"上期 {int(row.prev):,}（无法计算增幅）"
        else:
            delta, note_prev = f"{row.prev_pct:+.1%} 环比", f"上期 {int(row.prev):,}"
        if pd.isna(row.yoy):
            note_yoy = "同比：无同期数据"
        elif isinstance(row.yoy_note, str):
            note_yoy = f"去年同期 {int(row.yoy):,}（{row.yoy_note}）"
        elif pd.isna(row.yoy_pct):
            note_yoy = f"去年同期 {int(row.yoy):,}（无法计算增幅）"
        else:
            note_yoy = f"同比 {row.yoy_pct:+.1%}（去年同期 {int(row.yoy):,}）"
        if row.prev_partial:
            note_prev += f"（上期仅部分有数据，数据自 {lo} 起）"
        if row.yoy_partial:
            note_yoy += f"（去年同期仅部分有数据，数据自 {lo} 起）"
        # More tickets is bad news (red); more clues, cases and rectifications is good news.
        color = "inverse" if row.key in ("tickets", "located") else "normal"
        col.metric(row.label, f"{int(row.value):,}", delta=delta, delta_color=color, help=note_prev)
        col.caption(f"{note_prev}<br>{note_yoy}", unsafe_allow_html=True)


def rate_row(df: pd.DataFrame) -> None:
    cols = st.columns(len(df))
    for col, row in zip(cols, df.itertuples(), strict=True):
        if isinstance(row.missing, str):
            col.metric(row.label, "—", help=theme.RATE_HELP[row.key])
            col.caption(row.missing)
            continue
        shown = "—" if pd.isna(row.rate) else f"{row.rate:.1%}"
        col.metric(row.label, shown, help=theme.RATE_HELP[row.key])
        col.caption(f"{int(row.numerator):,} / {int(row.denominator):,}"
                    + ("（无可计算的工单）" if pd.isna(row.rate) else ""))


@st.cache_data(show_spinner=False, ttl=600, max_entries=32)
def _due(_cur, version: str, day) -> dict:
    from analytics import ledger as lsheet

    return lsheet.due_overview(_cur, day)


def ledger_row() -> None:
    """The clue ledger's deadlines now (both kinds of clue, in the user's districts), whatever the filters."""
    day = records.now().date()
    d = _due(cur, db_version(), day)
    over = d["overdue_by_rule"]
    cols = st.columns([1, 1, 3])
    if not d.get("clues"):   # an empty ledger has no deadlines: "—", not a reassuring 0
        cols[0].metric("线索已逾期", "—", help="线索台账中的逾期线索")
        cols[1].metric("线索即将到期", "—", help="线索台账中即将到期的线索")
        cols[2].caption("线索台账中尚无线索（未导入线索台账，也未在本系统登记），没有期限可统计。")
        return
    cols[0].metric("线索已逾期", f"{d['overdue']:,}",
                   help="下一期限已过而未办理的线索（线索台账，含导入与本系统登记），不随筛选条件变化")
    cols[1].metric("线索即将到期", f"{d['due_soon']:,}",
                   help=f"下一期限在 {settings.get('HOTLINE_DUE_SOON_DAYS')} 天内（HOTLINE_DUE_SOON_DAYS）")
    with cols[2]:
        st.caption(f"统计日 {day:%Y-%m-%d}。" + ("逾期构成：" + "，".join(f"{k} {v:,}" for k, v in over.items()) + "。"
                                             if over else "没有逾期的线索。"))
        me = auth.principal()
        if me is not None and me.can("ledger_view"):
            if st.button("打开线索台账的到期提醒", key="ov_ledger", type="tertiary"):
                st.switch_page("views/ledger.py")


def queue_line() -> None:
    """How many screening items wait to be assessed, and since when (for those who may see the queue)."""
    me = auth.principal()
    if me is None or not me.can("queue_view"):
        return
    with records.session() as rec:
        s = queue.queue_summary(rec, me.scope)
    if s.waiting == 0:
        st.caption("筛查待研判：暂无。")
        return
    st.caption(f"筛查待研判 **{s.waiting:,}** 项，最久已等待 {s.oldest_days} 天"
               + (f"（其中 {s.returned:,} 项为曾研判后因新工单重回）" if s.returned else "") + "。")
    st.page_link("views/queue.py", label="打开研判队列")


def body() -> None:
    st.title("总览")
    why = filters.default_note()
    st.caption(md(f.describe()) + (f"　·　{why}" if why else ""))
    filters.undo_bar()

    lo, hi = _range(cur, db_version())
    if lo is None:
        st.info("数据库中还没有工单。请在“导入”页导入 12345 工单，或运行 `make demo` 生成演示数据。")
        return
    k = q("kpis")
    if overview.kpi_value(k, "tickets") == 0:
        st.warning(f"所选条件下没有工单（数据覆盖 {lo} 至 {hi}）。请放宽筛选条件或点击侧栏“重置筛选”。")
        return
    cov = _coverage(cur, db_version())
    kpi_row(overview.with_missing_inputs(k, cov), lo)
    queue_line()
    if cov.clues and overview.funnel_still_open(f, hi):
        st.caption(f"注：线索、立案、已整改随办理进度陆续产生。所选期间距数据截止日（{hi}）不足 "
                   f"{overview.FUNNEL_MATURITY_DAYS} 天，这三项尚不完整，与上期、去年同期相比会偏低，请谨慎解读。")
    st.subheader("三率")
    rate_row(overview.with_missing_inputs(q("rates"), cov))
    ledger_row()
    figures, charts, drill = _charts()

    # ---- trend
    first = overview.default_grain(f)
    grain = st.segmented_control("趋势粒度", list(overview.GRAIN_LABELS), default=first,
                                 format_func=overview.GRAIN_LABELS.get, key="ov_grain") or first
    tr = q("trend", grain=grain)
    if not overview.has_last_year(tr):
        st.caption("去年同期：无同期数据")
    ev = charts.chart(figures.trend_figure(tr, grain, subtitle=f.describe()), key=drill.key("ov_trend"),
                      title="工单量趋势", select=True)
    start = drill.value(ev, "x")
    if start is not None:  # a point of the line: narrow the dates to that day/week/month
        nf, label = drill.period(f, pd.Timestamp(start).date(), grain)
        if nf != f:
            drill.go(nf, label)

    # ---- district ranking
    left, right = st.columns(2)
    with left:
        with_pop = _has_population(cur, db_version())
        metrics = [m for m in theme.RANK_METRICS if m == "n" or with_pop]
        metric = st.segmented_control("排名口径", metrics, default="n", key="ov_rank_metric",
                                      format_func=theme.RANK_METRICS.get) or "n"
        rk = q("district_ranking")
        n_all = overview.kpi_value(k, "tickets")
        n_out = int(q("unplaced"))
        if n_out >= n_all:
            st.info(f"所选 {n_all:,} 件工单都没有本区域的区县信息（数据中没有“所属区”列，或区名、坐标不在本区域内），"
                    "无法按区排名。可在导入时映射区县列，或用 `python manage.py region` 选择数据所在城市的区域包。")
        else:
            ev = charts.chart(figures.ranking_figure(rk, metric, subtitle=f.describe()), key=drill.key("ov_rank"),
                              title="各区排名", select=True)
            st.caption("点击某区的柱子，查看该区的工单清单。"
                       + ("人口为 2020 年第七次全国人口普查常住人口。" if with_pop
                          else "本区域包没有人口数据，不提供每万人口排名。")
                       + (f"另有 {n_out:,} 件工单没有本区域的区县信息，未计入排名。" if n_out else ""))
            drill.on_select(ev, "district", open_tickets=True)
    with right:
        # Only the levels the data has, the deepest by default (a one-level export has no 三级分类).
        deepest = coverage.deepest_category(cov)
        levels = [lv for lv in theme.CATEGORY_LEVELS_SHORT if lv <= deepest]
        by = st.segmented_control("高频分类层级", levels, default=deepest, key=f"ov_top_level_{deepest}",
                                  format_func=theme.CATEGORY_LEVELS_SHORT.get) or deepest
        ev = charts.chart(figures.top_figure(q("top_values", by=by, limit=10), title="高频问题分类",
                                             subtitle=f.describe()),
                          key=drill.key("ov_top_cat"), title="高频问题分类", select=True)
        drill.on_select(ev, "category")

    left, right = st.columns(2)
    with left:
        no_topic = _topic_note(cur, db_version(), f)
        if no_topic:   # an empty chart beside the ticket count would read as "no data"
            st.markdown("**专项工单量**")
            st.info(no_topic)
        else:
            ev = charts.chart(figures.top_figure(q("top_values", by="topic", limit=12), title="专项工单量",
                                                 subtitle=f.describe()),
                              key=drill.key("ov_top_topic"), title="专项工单量", select=True)
            drill.on_select(ev, "topic")
    with right:
        c1, c2 = st.columns([2, 1])
        dims = [deepest] + [d for d in ("street", "district") if cov.has(d)]
        dim = c1.segmented_control("变化维度", dims, default=deepest, key=f"ov_chg_dim_{deepest}",
                                   format_func=overview.CHANGE_DIMENSIONS.get) or deepest
        min_base = int(c2.number_input("最小基数（件）", min_value=1, value=5, step=1, key="ov_min_base",
                                       help="两期中较大一期不足此数的项目不参与排名，避免 1→3 之类的小数波动"))
        prev_note = _previous_note(cur, db_version(), f)
        if prev_note:
            st.info(f"环比变化：{prev_note}。")
        else:
            ch = q("changes", by=dim, min_base=min_base)
            up, down = overview.risers_fallers(ch, k=6)
            ev = charts.chart(figures.changes_figure(up, down, dimension=overview.CHANGE_DIMENSIONS[dim],
                                                     subtitle=f.describe()),
                              key=drill.key("ov_changes"), title="变化最大的项目", select=True)
            drill.on_select(ev, "category" if dim.startswith("category") else dim)


body()

# Briefing pack (export helper): the same PDF/PPTX as `python manage.py briefing`, built on click.
from ui.briefing import briefing_button  # noqa: E402

st.divider()
briefing_button(cur, f)
