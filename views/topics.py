"""热点: what citizens complain about most, how it moves, and what is newly rising.

Layout only: every number comes from analytics/topics.py and every figure
from analytics/topic_figures.py; clicks become filter changes (undoable) or
the example tickets of a word.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from analytics import coverage, theme, topics
from analytics import topic_figures as tf
from analytics.filters import Filters
from ui import charts, db, drill, filters
from ui.plain import md

WORD_STATE = "topics_word"


@st.cache_data(show_spinner=False, ttl=600, max_entries=16)
def _words_problem(_cur, version: str) -> str | None:
    return topics.words_problem(_cur)


@st.cache_data(show_spinner=False, ttl=600, max_entries=16)
def _coverage(_cur, version: str) -> coverage.Coverage:
    return coverage.coverage(_cur)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _total(_cur, version: str, f: Filters) -> int:
    return topics.total_tickets(_cur, f)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _tree(_cur, version: str, f: Filters):
    return topics.category_tree(_cur, f)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _top_words(_cur, version: str, f: Filters, kind: str, limit: int):
    return topics.top_words(_cur, f, kind=kind, limit=limit)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _word_trend(_cur, version: str, f: Filters, words: tuple[str, ...], grain: str):
    return topics.word_trend(_cur, f, words, grain=grain)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _category_trend(_cur, version: str, f: Filters, paths: tuple[str, ...], grain: str):
    return topics.category_trend(_cur, f, paths, grain=grain)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _emerging(_cur, version: str, f: Filters, kind: str, baseline: str, periods: int, min_count: int,
              alpha: float):
    return topics.emerging(_cur, f, kind=kind, baseline=baseline, periods=periods, min_count=min_count,
                           alpha=alpha)


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _examples(_cur, version: str, f: Filters, word: str):
    return topics.example_tickets(_cur, f, word, limit=10)


cur = db.require_cursor()
f = filters.current()
version = db.db_version()


st.title("热点")
st.caption(f"筛选条件：{md(f.describe())}")
filters.undo_bar()

problem = _words_problem(cur, version)
if problem:
    st.error(problem)
    st.stop()
total = _total(cur, version, f)
if total == 0:
    st.info("所选条件下暂无工单，请放宽日期、区域或分类等筛选条件。")
    st.stop()
st.caption(f"共 {total:,} 件工单。词语计数为“包含该词的工单数”，在导入时用 jieba 分词（领域词典 + 停用词）预先算好。")

# ---------------------------------------------------------------- categories
st.subheader("高频问题分类")
depth = _coverage(cur, version).category_depth   # the levels the data has (a one-level export: 一级 only)
if depth == 0:
    st.info("数据中没有问题分类列（一级/二级/三级分类），无法按分类统计。导入时可在映射文件中指定分类列。")
else:
    tree = topics.trim_tree(_tree(cur, version, f), depth)
    charts.chart(tf.category_treemap(tree, subtitle=f.describe()), key="topics_treemap", title="高频问题分类")
    st.caption("点击分类格放大查看下一级，点击上方路径栏返回。要按分类收窄筛选，请点击下方排行中的分类条（可撤销）。"
               + ("" if depth == 3 else f"数据只有{'一二三'[depth - 1]}级分类。"))
    level = st.radio("排行层级", list(range(1, depth + 1)), index=depth - 1, format_func=tf.LEVEL_LABELS.get,
                     horizontal=True, key=f"topics_cat_level_{depth}")
    event = charts.chart(tf.category_bar(tree, level=level, subtitle=f.describe()), key=drill.key("topics_cat_bar"),
                         title=f"{tf.LEVEL_LABELS[level]}排行", select=True)
    path = drill.value(event)
    if path:
        parts = [p for p in str(path).split("/") if p != topics.UNCATEGORISED]
        if parts:
            drill.go(*drill.narrow(f, "category", "/".join(parts)))

# ---------------------------------------------------------------- words
st.subheader("高频词语与短语")
c1, c2 = st.columns([2, 1])
kind = c1.radio("对象", list(theme.WORD_KINDS), format_func=theme.WORD_KINDS.get, horizontal=True,
                key="topics_kind")
limit = c2.slider("显示前几名", 10, 50, 20, step=5, key="topics_limit")
words = _top_words(cur, version, f, kind, limit)
event = charts.chart(tf.words_bar(words, title=f"高频{theme.WORD_KINDS[kind][:2]}", subtitle=f.describe()),
                     key=drill.key("topics_words"), title=f"高频{theme.WORD_KINDS[kind][:2]}", select=True)
clicked = drill.value(event)
if clicked:
    st.session_state[WORD_STATE] = str(clicked)
if words.empty:
    st.info("所选条件下的工单没有可统计的词语。")
st.caption("点击词条查看包含该词的示例工单。")

# ---------------------------------------------------------------- example tickets
word = st.session_state.get(WORD_STATE) or (words["word"].iloc[0] if not words.empty else None)
if word:
    st.subheader(f"示例工单：“{md(word)}”")
    ex = _examples(cur, version, f, word)
    st.caption(f"显示最新 {len(ex)} 件 / 共 {ex.attrs.get('total', len(ex)):,} 件包含该词的工单；个人信息已脱敏。")
    b1, b2, _ = st.columns([1, 1, 3])
    if b1.button("按此词筛选全部页面", key="topics_filter_word"):
        drill.go(f.replace(text=word), f"关键词 = {word}")
    if b2.button("在工单页查看", key="topics_open_word"):
        drill.go(f.replace(text=word), f"关键词 = {word}", open_tickets=True)
    if ex.empty:
        st.info("没有包含该词的工单。")
    else:
        charts.table(tf.examples_table(ex), key="topics_examples", title=f"示例工单_{word}")

# ---------------------------------------------------------------- trends
st.subheader("词语与分类趋势")
grain = st.radio("时间粒度", ["week", "month", "day"], format_func=theme.GRAIN_LABELS.get, horizontal=True,
                 key="topics_grain")
t1, t2 = st.columns(2)
word_options = list(dict.fromkeys([*([word] if word else []), *words["word"].tolist()]))
picked_words = t1.multiselect("词语", word_options, default=word_options[:3], key="topics_trend_words",
                              placeholder="选择词语")
level2 = topics.top_categories(tree, max_level=2) if depth else []
picked_cats = t2.multiselect("分类", level2, default=level2[:3], key="topics_trend_cats", placeholder="选择分类")
ct1, ct2 = st.columns(2)
with ct1:
    trend = _word_trend(cur, version, f, tuple(picked_words), grain)
    event = charts.chart(tf.trend_lines(trend, grain=grain, title="词语趋势", subtitle=f.describe()),
                         key=drill.key("topics_word_trend"), title="词语趋势", select=True)
    pts = drill.points(event)
    if pts and isinstance(pts[0].get("customdata"), list | tuple) and len(pts[0]["customdata"]) > 1:
        drill.go(*drill.period(f, date.fromisoformat(pts[0]["customdata"][1]), grain))
with ct2:
    ctrend = _category_trend(cur, version, f, tuple(picked_cats), grain)
    event = charts.chart(tf.trend_lines(ctrend, grain=grain, title="分类趋势", subtitle=f.describe()),
                         key=drill.key("topics_cat_trend"), title="分类趋势", select=True)
    pts = drill.points(event)
    if pts and isinstance(pts[0].get("customdata"), list | tuple) and len(pts[0]["customdata"]) > 1:
        drill.go(*drill.period(f, date.fromisoformat(pts[0]["customdata"][1]), grain))
st.caption("首尾两个时间段可能不完整（只含筛选范围内的日期）。点击折线上的点可将日期收窄到该时间段。")

# ---------------------------------------------------------------- emerging
st.subheader("新兴热点")
e1, e2, e3, e4, e5 = st.columns([1.2, 1.6, 1, 1, 1])
ekind = e1.selectbox("对象", list(theme.EMERGING_KINDS), format_func=theme.EMERGING_KINDS.get, key="topics_em_kind")
baseline = e2.selectbox("比较基线", list(theme.BASELINES), format_func=theme.BASELINES.get, key="topics_em_base")
periods = e3.number_input("基线周期数", 1, 12, 3, key="topics_em_periods", disabled=baseline != "previous")
min_count = e4.number_input("本期最少工单数", 1, 1000, 5, key="topics_em_min")
alpha = e5.selectbox("错误发现率 q", [0.01, 0.05, 0.1], index=1, key="topics_em_alpha")
if not (f.date_from and f.date_to):
    st.info("新兴热点需要明确的起止日期，请在左侧选择日期范围。")
    st.stop()
em = _emerging(cur, version, f, ekind, baseline, int(periods), int(min_count), float(alpha))
meta = em.attrs
st.caption(
    f"{meta['windows'].describe()}。本期 {meta['n_now']:,} 件、基线 {meta['n_base']:,} 件工单。"
    f"检验方法：{topics.TEST_NAME}；对本期出现不少于 {int(min_count)} 件的 {meta['tested']:,} 项逐一检验"
    f"（单侧，比较“包含该项的工单占全部工单的比例”），q < {alpha} 且比例上升者标红。"
    "比值为本期占比 ÷ 基线占比，括号为 95% 精确置信区间。"
    f"过度离散系数 φ = {meta.get('dispersion', 1.0):.2f}（由全部检验项稳健估计；φ > 1 时 p 值取精确检验与准二项检验中较大者）。"
)
if meta.get("baseline_partial"):
    st.warning(f"基线期早于数据起始日期（{meta['first_day']}），基线只含部分天数；比较仍按两期工单总量校正，"
               "但结果不如完整基线可靠。")
if meta.get("message"):
    st.info(meta["message"])
else:
    charts.chart(tf.emerging_chart(em, subtitle=meta["windows"].describe()), key="topics_emerging_chart",
                 title="新兴热点")
    shown = tf.emerging_table(em, top=50)
    rows = charts.table(shown, key=drill.key("topics_emerging_table"), title="新兴热点", select=True)
    n_sig = topics.significant_count(em)
    st.caption(f"显著上升 {n_sig} 项；表中显示前 {len(shown)} 项 / 共 {len(em):,} 项。选中一行查看示例工单。")
    if rows:
        key = str(em.iloc[rows[0]]["key"])
        if ekind == "category":
            drill.go(*drill.narrow(f, "category", key))
        elif st.session_state.get(WORD_STATE) != key:
            st.session_state[WORD_STATE] = key
            st.rerun()
