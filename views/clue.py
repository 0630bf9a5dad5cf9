"""线索详情 Clue (`/clue?no=X-2026-000123`): one clue, its stages with who and when, what is due, its tickets,
and the forms a prosecutor moves it on with (next step, correction, edit, tickets, import conflict).

Layout only: the clue from data.ledger (imported clues read from the store through the session's cursor), its
tables from analytics.ledger_clue, the forms in ui/ledger_forms.py.
"""

from __future__ import annotations

import streamlit as st

from analytics import ledger_clue as lc
from analytics import privacy, theme
from data import ledger, records
from ui import auth, charts, ledger_forms
from ui.db import require_cursor
from ui.plain import md

me = auth.require()
cur = require_cursor()

st.title("线索详情")
asked = str(st.query_params.get("no", "") or "").strip()
c = st.columns([3, 1])
typed = c[0].text_input("线索编号", value=asked, key="cl_no", placeholder="如 X-2026-000123 或导入线索的编号")
c[1].page_link("views/ledger.py", label="返回线索台账")
no = (typed or "").strip()
if no != asked and no:
    st.query_params["no"] = no
if not no:
    st.info("请输入线索编号，或从线索台账中点击一条线索。")
    st.stop()

with records.session() as con:
    clue = ledger.get_clue(con, no, me.scope, store=cur)
if clue is None:   # unknown, or another district's: the same answer
    st.warning(f"未找到线索 {md(no)}（编号不存在或不在您的辖区内）。")
    st.stop()

notice = st.session_state.pop("cl_notice", None)
if notice:
    st.success(md(notice))

today = records.now().date()
st.subheader(f"{md(clue.clue_no)} · {md(privacy.mask_text(clue.summary) or '')}")
m = st.columns(4)
m[0].metric("当前环节", clue.stage_label)
m[1].metric("关联工单", f"{len(clue.ticket_ids):,}")
if clue.next_due is None:
    m[2].metric("下一期限", "—", help="没有待办的期限")
else:
    m[2].metric(f"下一期限：{clue.next_due.label}", clue.next_due.due.strftime("%Y-%m-%d"),
                help=f"自 {clue.next_due.start:%Y-%m-%d} 起算")
    m[3].metric("期限状态", clue.next_due.state_label)
if clue.next_due is not None and clue.next_due.state == "overdue":
    st.warning(f"{clue.next_due.label}已逾期：到期日 {clue.next_due.due:%Y-%m-%d}。")
if clue.conflict:
    st.warning("导入冲突：该线索在本系统修改过，之后重新导入的案件系统数据又改变了它。"
               "台账仍显示本系统的记录；请核对后在下方选择保留台账记录或采用导入数据。")

left, right = st.columns([2, 3])
with left:
    st.markdown("**基本信息**")
    st.dataframe(lc.facts(clue), hide_index=True, key="cl_facts")
with right:
    st.markdown("**办理环节**")
    st.dataframe(lc.stages(clue), hide_index=True, key="cl_stages")
    st.markdown("**期限**")
    st.dataframe(lc.deadline_rows(clue, today), hide_index=True, key="cl_deadlines")

if me.can("ledger_edit"):
    st.markdown("### 办理")
    t = st.tabs(["记录下一环节", "更正或撤销", "修改信息", "关联工单"] + (["导入冲突"] if clue.conflict else []))
    with t[0]:
        ledger_forms.step_form(me, clue, cur)
    with t[1]:
        ledger_forms.correct_form(me, clue, cur)
    with t[2]:
        ledger_forms.edit_form(me, clue, cur)
    with t[3]:
        ledger_forms.link_form(me, clue, cur)
    if clue.conflict:
        with t[4]:
            ledger_forms.conflict_form(me, clue, cur)

st.markdown("### 关联工单")
tickets_df, hidden = lc.linked_tickets(cur, clue)
if hidden:
    st.caption(f"另有 {hidden:,} 件关联工单不在工单库中或不在您的辖区内，未显示。")
if tickets_df.empty:
    st.caption("没有可显示的关联工单。")
else:
    rows = charts.table(theme.labelled(tickets_df), key="cl_tickets", title=f"线索{clue.clue_no}关联工单",
                        select=True)
    if rows:
        st.switch_page("views/tickets.py", query_params={"id": str(tickets_df.iloc[rows[0]]["ticket_id"])})

st.markdown("### 办理记录")
st.caption("每一次登记、办理、更正、撤销和修改都按时间保留，不覆盖；被更正或撤销的记录标为“已被更正/撤销”。")
charts.table(lc.history(clue), key="cl_history", title=f"线索{clue.clue_no}办理记录")
