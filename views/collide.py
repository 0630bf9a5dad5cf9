"""碰撞 Collision (`/collide`): upload another list — traffic accidents, administrative penalties, licensed
businesses, care homes — and match it against the tickets (数据碰撞); the matches can go into the 研判 queue.

Reading, matching and recording are data/screening/collide's; this page lays out.
"""

from __future__ import annotations

import streamlit as st

from data import records, uploads
from data.screening import collide
from ui import auth, charts
from ui.db import require_cursor

me = auth.require()
cur = require_cursor()

st.title("数据碰撞")
st.caption("上传其他名单（交通事故、行政处罚、许可经营、养老机构等），按地点与时间、地址、单位名称、电话、姓名与工单比对。"
           "电话以哈希比对、脱敏显示。比对结果可记入待研判队列，每条名单记录一项。")
c = st.columns([3, 2])
up = c[0].file_uploader("名单文件（CSV / XLSX / Parquet）", type=["csv", "xlsx", "parquet"], key="co_file")
mp = c[1].file_uploader("列映射（可选，YAML，与导入相同格式）", type=["yaml", "yml"], key="co_mapping")
c = st.columns(3)
distance = c[0].number_input("地点相近：距离（米）", min_value=1.0, max_value=5000.0, value=200.0, key="co_distance")
days = c[1].number_input("时间窗口：前后天数", min_value=0, max_value=3650, value=30, key="co_days")
name = c[2].text_input("碰撞名称", key="co_name", placeholder="如：2025年交通事故")
st.caption("名单列自动识别：编号、姓名/当事人、单位名称、地址、经度、纬度、时间/日期、电话、区、摘要；其他列名请用映射文件指定。")

if up is None:
    st.info("请先上传名单文件。")
    st.stop()

named = {up.name: up}
if mp is not None:
    named[mp.name] = mp
params = collide.Params(distance_m=float(distance), days=int(days))
try:
    with uploads.staged(named) as staged:
        recs, used = collide.read_list(staged[up.name], staged.get(mp.name) if mp else None)
except collide.CollisionError as exc:
    st.error(f"名单无法使用：{exc}")
    st.stop()
st.caption("识别的列：" + "、".join(f"{k}←{v}" for k, v in used.items()))
ev = collide.evidence(recs, collide.match(cur, recs, params))
rows = collide.report_rows(recs, ev)
matched = ev["row_number"].nunique() if not ev.empty else 0
st.markdown(f"**名单 {len(recs):,} 行，{matched:,} 行与工单匹配，共 {len(ev):,} 对**（仅比对您辖区内的工单）")
charts.table(rows, key="co_rows", title="碰撞结果", export_name="碰撞结果")
if not me.can("queue_decide") and not me.can("collide"):
    st.stop()
if len(ev) and st.button("记入待研判队列", type="primary", key="co_record"):
    with records.session() as rec:
        cid, n_items = collide.record(rec, me, name or up.name, up.name, recs, ev, params, used)
    st.success(f"已记入待研判队列：{n_items} 项（碰撞 {cid}）。")
    st.page_link("views/queue.py", label="打开待研判队列")
