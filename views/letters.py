"""12309信访 Letters (`/letters`): the 12309 centre's letters and visits, the Bengbu measures (procedural reply
within HOTLINE_LETTER_REPLY_DAYS, result within HOTLINE_LETTER_RESULT_DAYS), import, replies, and a letter
registered as a clue.

Layout only: letters and their deadlines from data.ledger.letters, tables from analytics.letters, writes through
data.ledger (one transaction with its audit row each).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from analytics import letters as lt
from data import records, uploads
from data.ledger import deadlines, letters
from data.ledger.letter_import import MAX_BYTES
from ui import auth, charts, ledger_forms
from ui.db import db_version, require_cursor
from ui.plain import md

me = auth.require()
today = records.now().date()
st.title("12309信访")
st.caption(f"{me.scope.describe()}：程序性回复期限 {deadlines.days_of('letter_reply')} 日"
           f"（HOTLINE_LETTER_REPLY_DAYS），办理结果答复期限 {deadlines.days_of('letter_result')} 日"
           f"（HOTLINE_LETTER_RESULT_DAYS），自收到次日起按日历日计算，末日为周六、周日的顺延至下周一。")

notice = st.session_state.pop("lt_notice", None)
if notice:
    st.success(md(notice))

c = st.columns([2, 2, 3])
period = c[0].date_input("收到日期", value=(today - timedelta(days=365), today), key="lt_period")
channels = c[1].multiselect("信访形式", letters.CHANNELS, key="lt_channels", placeholder="全部")
text = c[2].text_input("编号或事项包含", key="lt_text")
d_from = period[0] if len(period) >= 1 else None
d_to = period[1] if len(period) >= 2 else d_from
with records.session() as con:
    df = letters.current(con, me.scope, date_from=d_from, date_to=d_to, today=today, channels=channels, text=text)
comp = letters.compliance(df).set_index("key")

m = st.columns(4)
m[0].metric("收到信访", f"{len(df):,}")
for i, (kind, label) in enumerate((("reply", "7日内程序性回复率"), ("result", "3个月内结果答复率")), start=1):
    shown = lt.rate_text(comp.loc[kind, "compliance"])
    m[i].metric(label, shown, help="按期 ÷（按期 + 超期 + 逾期未答复）；未到期的不计入。" + (
        "所选范围内没有已到期的信访件。" if shown == "—" else ""))
m[3].metric("逾期未答复", f"{int(comp['overdue'].sum()):,}", help="程序性回复与结果答复合计")

if df.empty:
    st.info("所选范围内没有12309信访记录。" + ("可在下方“导入”中导入12309检察服务中心的导出文件。"
                                            if me.can("letters_edit") else ""))
else:
    pct = st.column_config.NumberColumn(format="percent")
    charts.table(lt.compliance_table(letters.compliance(df)), key="lt_compliance", title="12309答复期限执行情况",
                 column_config={"按期率": pct})
    charts.table(lt.monthly(df).rename(columns=lt.MONTHLY_HEADERS), key="lt_monthly", title="12309按月答复情况",
                 column_config={lt.MONTHLY_HEADERS["reply_rate"]: pct, lt.MONTHLY_HEADERS["result_rate"]: pct})
    st.markdown(f"**信访件**（{len(df):,} 件）；点击一行查看、记录答复或登记为线索。")
    rows = charts.table(lt.readable(df), key="lt_list", title="12309信访", select=True)
    if rows:
        st.session_state["lt_open"] = str(df.iloc[rows[0]]["letter_id"])

opened = st.session_state.get("lt_open")
if opened:
    with records.session() as con:
        one = letters.get(con, opened, me.scope)
    if one is not None:
        st.markdown(f"### 信访件 {md(opened)}")
        st.caption(f"{md(one['channel'])} · {md(one['district'])} · 收到 {md(one['received_at'][:16])} · "
                   f"{md(one['matter'] or None)}")
        if me.can("letters_edit"):
            with st.form("lt_reply", border=True):
                cc = st.columns(3)
                rd = cc[0].date_input("程序性回复日期", value=None, max_value=today, key="lt_reply_on")
                sd = cc[1].date_input("办理结果答复日期", value=None, max_value=today, key="lt_result_on")
                res = cc[2].text_input("办理结果", value=one.get("result") or "", key="lt_result")
                ok = st.form_submit_button("记录答复")
            if ok:
                try:
                    with records.session() as con:
                        letters.record_reply(con, me, opened,
                                             replied_at=datetime.combine(rd, time(12)) if rd else None,
                                             result_at=datetime.combine(sd, time(12)) if sd else None,
                                             result=res)
                    st.session_state["lt_notice"] = f"已记录信访件 {opened} 的答复（原记录保留为历史版本）。"
                    st.rerun()
                except letters.LedgerError as exc:
                    st.error(md(str(exc)))
        if me.can("ledger_edit"):
            with records.session() as con:
                done = letters.clue_of(con, [opened]).get(opened)
            if done:
                st.page_link("views/clue.py", label=f"已登记为线索 {md(done)}：打开", query_params={"no": done})
            else:
                st.markdown("**登记为线索**（来源 12309）")
                cur = require_cursor()
                districts = [r[0] for r in cur.execute("SELECT district FROM districts ORDER BY district").fetchall()]
                _ = db_version()
                clue = ledger_forms.register_form(
                    me, districts, [], key="lt_clue",
                    prefill={"source": "12309", "ref": opened, "district": one["district"], "summary": one["matter"],
                             "source_ref": {"letter_id": opened}})
                if clue is not None:
                    st.session_state["lt_notice"] = f"信访件 {opened} 已登记为线索 {clue.clue_no}。"
                    st.rerun()

if me.can("letters_edit"):
    st.markdown("### 导入")
    with st.form("lt_import", border=True):
        up = st.file_uploader("12309检察服务中心导出文件（CSV 或 XLSX）", type=["csv", "xlsx"], key="lt_file",
                              max_upload_size=MAX_BYTES >> 20)
        mp = st.file_uploader("映射文件（可选，YAML；默认 data/mappings/letters_12309.yaml）", type=["yaml", "yml"],
                              key="lt_mapping", max_upload_size=1)
        go = st.form_submit_button("导入", type="primary")
    if go and up is not None:
        # on disk only while this run reads it, in a private folder (data/uploads.py), whatever happens
        named = {up.name: up} | ({f"mapping-{mp.name}": mp} if mp is not None else {})
        with uploads.staged(named) as staged:
            try:
                with records.session() as con:
                    r = letters.import_file(con, me, staged[up.name], mapping=staged.get(f"mapping-{mp.name}")
                                            if mp is not None else None, scope=me.scope)
            except letters.LetterFileError as exc:
                st.error(md(str(exc)))
                r = None
        if r is not None and r.ok:
            st.success(f"{md(r.file)}：{md(r.message)}")
            for line in letters.flag_lines(r.flags):
                st.warning(md(line))
            for reason, n in r.reasons.items():
                st.warning(f"隔离 {n:,} 行：{letters.REASONS.get(reason, reason)}")
        elif r is not None:
            st.error(f"导入失败：{md(r.message)}")
