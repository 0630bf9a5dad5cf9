"""碰撞 Collision (`/collide`): upload another list — traffic accidents, administrative penalties, licensed
businesses, care homes — and match it against the tickets (数据碰撞); the matches can go into the 研判 queue.

Reading, matching and recording are data/screening/collide's; this page lays out.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from data import records, settings, uploads
from data.screening import collide, inaction
from ui import auth, charts, filters
from ui.db import db_version, require_cursor
from ui.plain import md

me = auth.require()
cur = require_cursor()

st.title("数据碰撞")
st.caption("上传其他名单（交通事故、行政处罚、许可经营、养老机构等），按地点与时间、地址、单位名称、电话、姓名与工单比对。"
           "电话以哈希比对、脱敏显示。比对结果可记入待研判队列，每条名单记录一项。")
c = st.columns([3, 2])
max_mb = int(settings.get("HOTLINE_UPLOAD_MAX_MB"))   # the import page's limit: a list is read by the same readers
up = c[0].file_uploader("名单文件（CSV / XLSX / Parquet）", type=["csv", "xlsx", "parquet"], key="co_file",
                        max_upload_size=max_mb, help=f"单个文件不超过 {max_mb:,} MB（设置 HOTLINE_UPLOAD_MAX_MB）。")
mp = c[1].file_uploader("列映射（可选，YAML，与导入相同格式）", type=["yaml", "yml"], key="co_mapping", max_upload_size=1)
c = st.columns(3)
distance = c[0].number_input("地点相近：距离（米）", min_value=1.0, max_value=5000.0, value=200.0, key="co_distance")
days = c[1].number_input("时间窗口：前后天数", min_value=0, max_value=3650, value=30, key="co_days")
name = c[2].text_input("碰撞名称", key="co_name", placeholder="如：2025年交通事故")
st.caption("名单列按标准列名自动识别（编号、姓名/当事人、单位名称、地址、经度、纬度、时间/日期、电话、区、摘要），"
           "上传后可在“列映射”中逐项核对、选择。")

if up is None:
    st.info("请先上传名单文件。")
    st.stop()

named = {up.name: up}
if mp is not None:
    named[mp.name] = mp
params = collide.Params(distance_m=float(distance), days=int(days))
try:
    with uploads.staged(named) as staged:
        heads, guessed, base = collide.headers(staged[up.name], staged.get(mp.name) if mp else None)
        # The mapping of the list's columns, as the user sets it here (starting from the mapping file, else the
        # standard headers); new widgets for each new file.
        with st.expander("列映射：名单的哪一列是什么", expanded=True):
            st.caption(f"{md(up.name)} 共 {len(heads)} 列。已按" + ("映射文件" if mp else "标准列名") +
                       "识别；请核对，或为未识别的字段选择列（至少需要经纬度、地址、单位名称、电话或姓名之一）。")
            tag = f"{up.name}-{up.size}-{mp.name if mp else ''}"
            chosen: dict[str, str] = {}
            grid = st.columns(5)
            for i, (field, label) in enumerate(collide.FIELD_LABELS.items()):
                options = [None, *heads]
                pick = grid[i % 5].selectbox(label, options, index=options.index(guessed[field]) if field in guessed
                                             else 0, key=f"co_col_{field}_{tag}",
                                             format_func=lambda h: "（无）" if h is None else h)
                if pick:
                    chosen[field] = pick
            crs_list = list(collide.CRS_LABELS)
            crs = st.selectbox("经纬度的坐标系", crs_list, index=crs_list.index(base.crs or "wgs84"),
                               key=f"co_crs_{tag}", format_func=collide.CRS_LABELS.get)
            spec = collide.mapping_spec(chosen, base=base, crs=crs)
            st.download_button("下载此映射（YAML，可用于 manage.py collide --mapping）",
                               data=collide.mapping_yaml(spec).encode("utf-8"),
                               file_name=f"{Path(up.name).stem}-mapping.yaml", mime="application/x-yaml",
                               key="co_mapping_download")
        recs, used = collide.read_list(staged[up.name], spec)
except collide.CollisionError as exc:
    st.error(f"名单无法使用：{md(exc)}")
    st.stop()
st.caption("比对所用的列：" + md("、".join(f"{collide.FIELD_LABELS[k]}←{v}" for k, v in used.items())))
may_record = me.can("queue_decide") or me.can("collide")
MODES = ["名单记录与工单匹配", "反复投诉而附近无名单记录（可能不作为）"]
mode = st.radio("比对方式", MODES, horizontal=True, key="co_mode")
if mode == MODES[1]:
    st.caption("名单为行政机关的履职记录（行政处罚、检查、执法案件）时：找出反复投诉、而附近没有任何名单记录的地点。"
               "地点为约 200 米的网格；无坐标的名单记录无法比对地点。")
    opts = filters.options(cur, db_version())
    c = st.columns(3)
    topic = c[0].selectbox("工单专项", [None, *opts.topics], key="co_topic",
                           format_func=lambda t: "（全部专项）" if t is None else t)
    min_tickets = c[1].number_input("同一地点至少（件）", min_value=1, max_value=10000, value=3, key="co_min")
    span = c[2].date_input("受理期间", value=(opts.min_date, opts.max_date), key="co_period") \
        if opts.has_data else ()
    span = tuple(span) if isinstance(span, list | tuple) else (span,)
    ask = inaction.Ask(topic=topic, min_tickets=int(min_tickets), date_from=span[0] if span else None,
                       date_to=span[-1] if span else None)
    places = inaction.places_without_records(cur, recs, ask, params)
    located = int((recs["lon"].notna() & recs["lat"].notna()).sum())
    st.markdown(f"**{md(ask.describe())}、且 {params.distance_m:g} 米内前后 {params.days} 天无名单记录的地点："
                f"{len(places):,} 处**（名单 {len(recs):,} 行，有坐标 {located:,} 行；仅比对您辖区内的工单）")
    if located == 0:
        st.warning("名单没有可用的经纬度：无法判断地点附近有无记录。请在“列映射”中选择经度、纬度列。")
        st.stop()
    charts.table(inaction.report_rows(places), key="co_places", title="附近无名单记录的反复投诉",
                 export_name="附近无名单记录的反复投诉")
    if may_record and len(places) and st.button("记入待研判队列", type="primary", key="co_record_inaction"):
        with records.session() as rec:
            cid, n_items = inaction.record(rec, me, name or up.name, up.name, recs, places, ask, params, used)
        st.success(f"已记入待研判队列：{n_items} 项（碰撞 {cid}）。")
        st.page_link("views/queue.py", label="打开待研判队列")
    st.stop()
ev = collide.evidence(recs, collide.match(cur, recs, params))
rows = collide.report_rows(recs, ev)
matched = ev["row_number"].nunique() if not ev.empty else 0
st.markdown(f"**名单 {len(recs):,} 行，{matched:,} 行与工单匹配，共 {len(ev):,} 对**（仅比对您辖区内的工单）")
charts.table(rows, key="co_rows", title="碰撞结果", export_name="碰撞结果")
if not may_record:
    st.stop()
if len(ev) and st.button("记入待研判队列", type="primary", key="co_record"):
    with records.session() as rec:
        cid, n_items = collide.record(rec, me, name or up.name, up.name, recs, ev, params, used)
    st.success(f"已记入待研判队列：{n_items} 项（碰撞 {cid}）。")
    st.page_link("views/queue.py", label="打开待研判队列")
