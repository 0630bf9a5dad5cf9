"""线索台账 Ledger (`/ledger`): every clue, registered here or imported, with what is due; registering one;
the monthly report and the ledger export.

Layout only: rows and counts from analytics.ledger (one row per clue, the app's ledger laid over the imported
one), writes through data.ledger, the report and export from analytics.ledger_report. A clue opens on its own
page (`/clue?no=...`).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from analytics import ledger as lsheet
from analytics import options
from data import records
from data.ledger.model import FUNCTIONS, SOURCES
from ui import auth, charts, ledger_forms
from ui.db import db_version, require_cursor
from ui.plain import md

me = auth.require()
cur = require_cursor()
today = records.now().date()
PAGE = 50


@st.cache_data(show_spinner=False, ttl=600, max_entries=128)
def _q(name: str, _cur, version: str, day: date, kw: tuple = ()):
    return getattr(lsheet, name)(_cur, as_of=day, **dict(kw))


@st.cache_data(show_spinner=False, ttl=600, max_entries=16)
def _options(_cur, version: str):
    o = options.filter_options(_cur)
    districts = [r[0] for r in _cur.execute("SELECT district FROM districts ORDER BY district").fetchall()]
    return list(o.topics), districts


def q(name: str, **kw):
    return _q(name, cur, db_version(), today, tuple(sorted(kw.items())))


st.title("线索台账")
st.caption(f"{me.scope.describe()}：本系统登记的线索与案件系统导入的线索合为一本台账。"
           f"期限按日历日计算，末日为周六、周日的顺延至下周一；统计日 {today:%Y-%m-%d}。")

totals = q("due_totals")
n_all = q("count", lf=lsheet.LedgerFilters())
n_app = q("count", lf=lsheet.LedgerFilters(origin="app"))
conflicts = q("clue_list", lf=lsheet.LedgerFilters(conflict=True), limit=1000)
c = st.columns(5)
c[0].metric("台账线索", f"{n_all:,}")
c[1].metric("本系统登记", f"{n_app:,}")
c[2].metric("已逾期", f"{totals['overdue']:,}", help="下一期限已过而未办理的线索")
c[3].metric("即将到期", f"{totals['due_soon']:,}", help="下一期限在设置的天数内（HOTLINE_DUE_SOON_DAYS）")
c[4].metric("导入冲突", f"{len(conflicts):,}", help="本系统修改过、之后又被重新导入改变的线索，需人工确认")

tabs = ["到期提醒", "台账"]
if me.can("ledger_edit"):
    tabs.append("登记线索")
tabs.append("导入冲突")
if me.can("ledger_report"):
    tabs.append("月报与导出")
# Tabs that keep their place across reruns (a registration or a filter does not jump back to the first tab)
# and run only the open one's queries.
shown = dict(zip(tabs, st.tabs(tabs, key="lg_tab", on_change="rerun"), strict=True))


def is_open(name: str) -> bool:
    return name in shown and shown[name].open is not False


def _open(df: pd.DataFrame, rows: list[int] | None) -> None:
    if rows:
        st.switch_page("views/clue.py", query_params={"no": str(df.iloc[rows[0]]["clue_id"])})


if is_open("到期提醒"):
    with shown["到期提醒"]:
        due = q("due_list")
        n_due = totals["overdue"] + totals["due_soon"]
        if due.empty:
            st.success("没有已逾期或即将到期的线索。")
        else:
            due = due.head(500)
            st.markdown(f"**{f'显示 {len(due):,} / {n_due:,} 条' if n_due > len(due) else f'共 {n_due:,} 条'}**，"
                        "最紧急的在前；点击一行打开线索。")
            rows = charts.table(lsheet.readable(due), key="lg_due", title="到期提醒", select=True,
                                export_name="线索到期提醒")
            _open(due, rows)

if is_open("台账"):
    with shown["台账"]:
        topics, districts = _options(cur, db_version())
        f1 = st.columns(4)
        stages = f1[0].multiselect("当前环节", lsheet.STAGE_LABELS, key="lg_stages", placeholder="全部")
        due_states = f1[1].multiselect("期限状态", list(lsheet.DUE_STATES), format_func=lsheet.DUE_STATES.get,
                                       key="lg_due_states", placeholder="全部")
        origin = f1[2].selectbox("登记方式", [None, "app", "import"], key="lg_origin",
                                 format_func=lambda v: "全部" if v is None else lsheet.ORIGINS[v])
        text = f1[3].text_input("编号或摘要包含", key="lg_text")
        f2 = st.columns(4)
        sources = f2[0].multiselect("线索来源", [*list(SOURCES), "12345热线"], key="lg_sources", placeholder="全部",
                                    format_func=lambda v: SOURCES.get(v, v))
        functions = f2[1].multiselect("检察职能", FUNCTIONS, key="lg_functions", placeholder="全部")
        pick_d = f2[2].multiselect("区", districts, key="lg_districts", placeholder="全部")
        pick_t = f2[3].multiselect("专项", topics, key="lg_topics", placeholder="全部")
        lf = lsheet.LedgerFilters(districts=tuple(pick_d), stages=tuple(stages), sources=tuple(sources),
                                  functions=tuple(functions), topics=tuple(pick_t), due_states=tuple(due_states),
                                  origin=origin, text=text)
        total = q("count", lf=lf)
        pages = max(1, -(-total // PAGE))
        p = st.number_input(f"页码（共 {pages:,} 页）", min_value=1, max_value=pages, value=1, key="lg_page") \
            if pages > 1 else 1
        rows_df = q("clue_list", lf=lf, limit=PAGE, offset=(int(p) - 1) * PAGE)
        first = (int(p) - 1) * PAGE + 1 if total else 0
        st.markdown(f"**显示第 {first:,}-{first + len(rows_df) - 1 if total else 0:,} 条，共 {total:,} 条**；"
                    "点击一行打开线索。")
        rows = charts.table(lsheet.readable(rows_df), key="lg_list", title="线索台账", select=True,
                            export_name="线索台账（本页）")
        _open(rows_df, rows)

if is_open("登记线索"):
    with shown["登记线索"]:
        topics, districts = _options(cur, db_version())
        done = st.session_state.pop("lg_registered", None)
        if done:
            st.success(f"已登记线索 {md(done)}。")
            st.page_link("views/clue.py", label=f"打开线索 {done}", query_params={"no": done})
        clue = ledger_forms.register_form(me, districts, topics)
        if clue is not None:   # an empty form again (a second click does not register the clue twice)
            st.session_state["lg_registered"] = clue.clue_no
            ledger_forms.reset_form("lg_new")
            st.rerun()

if is_open("导入冲突"):
    with shown["导入冲突"]:
        if conflicts.empty:
            st.success("没有待处理的导入冲突。")
        else:
            st.markdown(f"**{len(conflicts):,} 条线索**在本系统修改后又被重新导入改变。台账继续显示本系统的记录，"
                        "请打开线索比较后选择“保留台账记录”或“采用导入数据”。")
            rows = charts.table(lsheet.readable(conflicts), key="lg_conflicts", title="导入冲突", select=True)
            _open(conflicts, rows)

if is_open("月报与导出"):
    with shown["月报与导出"]:
        ledger_forms.report_and_export(me, today)

if n_all == 0:
    st.info("台账中还没有线索：可在“登记线索”中登记，在“研判”中从筛查结果登记，或在“导入”页导入案件系统的线索台账。")
