"""审计 Audit (`/audit`, administrators): search the trail of who did what, and check that it is intact.

The trail is append-only and hash-chained (data/audit.py); nothing on this page can change it.
"""

from __future__ import annotations

import json
from datetime import timedelta

import streamlit as st

from data import audit, records
from ui import auth, charts

me = auth.require()
st.title("审计日志")
st.caption("登录、查看工单、查看个人信息、导出下载、导入、规则与台账变更等每一项操作。日志只能追加，不能修改。")

c = st.columns([2, 2, 2, 3])
user = c[0].text_input("账号", key="au_user").strip() or None
action = c[1].selectbox("操作", [None, *audit.ACTIONS], format_func=lambda a: "全部" if a is None else audit.ACTIONS[a],
                        key="au_action")
today = records.now().date()
period = c[2].date_input("日期", value=(today - timedelta(days=30), today), key="au_dates")
text = c[3].text_input("对象或详情包含", key="au_text").strip() or None
since = period[0] if len(period) >= 1 else None
until = period[1] if len(period) >= 2 else since
LIMIT = 2000

with records.session() as con:
    rows = audit.search(con, user=user, action=action, since=since, until=until, text=text, limit=LIMIT)
cut = len(rows) > LIMIT
rows = rows.head(LIMIT)
st.markdown(f"**{'显示 ' + format(LIMIT, ',') + ' 条（已截断，请缩小条件）' if cut else '共 ' + format(len(rows), ',') + ' 条'}**")
shown = rows.assign(details=rows["details"].map(lambda d: "" if d in ("{}", "") else json.dumps(
    json.loads(d), ensure_ascii=False)[:300])).rename(columns={
        "seq": "序号", "at": "时间", "actor": "账号", "role": "角色", "action_label": "操作", "target": "对象",
        "details": "详情"})[["序号", "时间", "账号", "角色", "操作", "对象", "详情"]]
charts.table(shown, key="au_table", title="审计日志", export_name="审计日志")

st.subheader("完整性校验")
if st.button("校验审计日志链", key="au_verify"):
    with records.session() as con:
        v = audit.verify(con)
    if v.ok:
        st.success(f"审计日志完整：共 {v.rows:,} 条，链尾哈希 {v.head}。请将链尾哈希另行记录，以便日后比对。")
    else:
        st.error(f"审计日志被改动：序号 {', '.join(map(str, v.broken[:20]))} 处的记录与哈希链不符"
                 f"（共 {len(v.broken)} 处）。")
