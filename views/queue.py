"""研判 Queue (`/queue`): the items screening found (by rule and place) and what people decide on them.

An item shows why it matched (rule, version, conditions), its tickets (each opens /tickets?id=...), a small
offline map, the place's history (earlier tickets, closings, earlier clues), and its decisions. Deciding —
dismiss with a reason, attach to an existing clue, register a new clue from it or from a batch — is
data/screening/queue's; the clue goes into the ledger (data/ledger).
"""

from __future__ import annotations

import streamlit as st

from analytics import figures, theme
from analytics import screening as sa
from analytics import tickets as tickets_a
from data import ledger, records
from data.screening import library, queue
from data.screening.rule import FUNCTIONS
from ui import auth, charts
from ui.db import require_cursor
from ui.plain import md


@st.cache_data(show_spinner=False, ttl=3600, max_entries=64)
def _outlines(lon: float, lat: float) -> dict:
    return tickets_a.outlines_near(round(lon, 3), round(lat, 3))


me = auth.require()
cur = require_cursor()
may_decide = me.can("queue_decide")
LIMIT = 500

st.title("待研判")
with records.session() as rec:
    summary = queue.queue_summary(rec, me.scope)
    rule_keys = list(library.table(rec)["key"])
c = st.columns(3)
c[0].metric("待研判事项", f"{summary.waiting:,}")
c[1].metric("最久等待", "—" if summary.oldest_days is None else f"{summary.oldest_days} 天")
c[2].metric("其中曾研判、因新工单重回", f"{summary.returned:,}")
if summary.oldest:
    st.caption(f"最早一项自 {summary.oldest} 起等待研判。范围：{me.scope.describe()}。")

c = st.columns(3)
state = c[0].selectbox("状态", ["waiting", "dismiss", "attach", "register", None], key="qu_state",
                       format_func=lambda s: "全部" if s is None else queue.STATES[s])
rule_key = c[1].selectbox("规则", [None, *rule_keys], key="qu_rule", format_func=lambda k: "全部规则" if k is None else k)
district = c[2].selectbox("区", [None, *(me.scope.districts or [])], key="qu_district",
                          format_func=lambda d: "全部" if d is None else d) if me.scope.districts else None

with records.session() as rec:
    items, total = queue.items(rec, me.scope, state=state, rule_key=rule_key, district=district, limit=LIMIT)
st.markdown(f"**{'显示 ' + format(LIMIT, ',') + ' / ' + format(total, ',') if total > LIMIT else '共 ' + format(total, ',')} 项**")
if items.empty:
    st.info("没有符合条件的事项。规则在每次导入后自动运行；也可在“规则”页面运行筛查。")
    st.stop()

shown = items.assign(
    seen_before=items["seen_before"].map({True: "曾研判", False: ""}),
    state=items["state"].map(queue.STATES)).rename(columns={
        "item_id": "事项", "source_name": "规则/名单", "label": "地点", "district": "区", "street": "街乡", "n": "工单数",
        "first": "首次受理", "last_ticket": "最近受理", "last_hit": "最近命中", "state": "状态", "seen_before": "标记"})
cols = ["事项", "规则/名单", "地点", "区", "街乡", "工单数", "首次受理", "最近受理", "最近命中", "状态", "标记"]
charts.table(shown[cols], key="qu_items", title="待研判事项", export_name="待研判事项")

labels = {int(r.item_id): f"#{int(r.item_id)} {r.source_name} · {r.label or '—'}（{int(r.n)} 件）"
          for r in items.itertuples(index=False)}
item_id = st.selectbox("打开事项", list(labels), format_func=labels.get, key="qu_open")
with records.session() as rec:
    it = queue.item(rec, item_id, me.scope)
    hits = queue.item_hits(rec, item_id)
    matches = queue.item_matches(rec, item_id) if it and it["kind"] == "collision" else None
    history = queue.decisions(rec, item_id)
    earlier = queue.clues_at(rec, item_id)
    stored = library.by_id(rec, it["rule_id"]) if it and it["rule_id"] else None
if it is None:
    st.warning(f"未找到事项 {md(item_id)}（或不在您的辖区内）。")
    st.stop()

with st.container(border=True):
    st.subheader(f"事项 #{md(item_id)}：{md(it['label'] or '—')}")
    st.caption(f"{md(it['district'] or '—')} {md(it['street'] or '')} · 状态：{queue.STATES[it['state']]}"
               + (" · 此地点曾研判，因新工单重回队列" if it["seen_before"] else ""))
    if stored is not None:
        versions = hits["version"].value_counts().sort_index()
        st.markdown(f"**为何命中**：规则“{md(stored.rule.name)}”（{md(stored.key)}），"
                    + "、".join(f"版本 {v}（{n} 件）" for v, n in versions.items()))
        with records.session() as rec:
            at_version = library.by_id(rec, it["rule_id"], int(versions.index.max())) or stored
        st.text("\n".join(at_version.rule.describe()))
        ids = list(hits["ticket_id"])
    else:
        st.markdown(f"**为何命中**：数据碰撞“{md(it['source_name'])}”")
        ids = list(matches["ticket_id"]) if matches is not None else []
        if matches is not None and not matches.empty:
            charts.table(queue.evidence_table(matches), key="qu_matches", title="碰撞证据", downloads=False)

    tickets = sa.item_tickets(cur, ids)
    left, right = st.columns([3, 2])
    with left:
        st.markdown(f"**工单**（{len(tickets):,} 件" + ("" if len(tickets) == len(ids) else
                                                  f"，另有 {len(ids) - len(tickets)} 件不在您的辖区内") + "）")
        view = tickets.drop(columns=["lon", "lat"]).assign(link="/tickets?id=" + tickets["ticket_id"])
        st.dataframe(theme.labelled(view, {"link": "打开"}), hide_index=True, key="qu_tickets",
                     column_config={"打开": st.column_config.LinkColumn(display_text="查看")})
    with right:
        located = tickets.dropna(subset=["lon", "lat"])
        if it["lon"] is None or located.empty:
            st.info("该事项没有坐标，无法在地图上显示。")
        else:
            fig = figures.location_figure(float(it["lon"]), float(it["lat"]), located, zoom=15,
                                          outlines=_outlines(float(it["lon"]), float(it["lat"])),
                                          centre_name="事项中心", nearby_name="事项工单")
            charts.chart(fig, key="qu_map", title=f"事项 {item_id} 位置", downloads=False)
            st.caption("红点为事项中心，蓝点为其工单；灰线为街乡边界，无底图。")

    st.markdown("**地点历史**（200 米内、首件命中工单之前）")
    if it["lon"] is None or tickets.empty:
        st.caption("无坐标，无法查找此地点的历史工单。")
    else:
        past = sa.place_history(cur, float(it["lon"]), float(it["lat"]), tickets["received_at"].min())
        h = sa.history_summary(past.head(200))
        st.caption(f"此前工单 {'200 件以上（显示 200 件）' if len(past) > 200 else str(h['n']) + ' 件'}，其中已办结 {h['closed']} 件"
                   + (f"，最近一次办结 {h['last_closed']:%Y-%m-%d}" if h["last_closed"] is not None else "")
                   + f"，不满意 {h['dissatisfied']} 件。")
        if not past.empty:
            with st.expander("查看此前工单"):
                st.dataframe(theme.labelled(past.head(200)), hide_index=True, key="qu_past")
        old_clues = sa.clues_of_tickets(cur, list(past["ticket_id"]) + ids)
        if not old_clues.empty:
            st.caption("关联的已有线索（导入）：" + "、".join(f"{md(r.clue_id)}（{md(r.status)}）"
                                                      for r in old_clues.itertuples(index=False)))
    if not earlier.empty:
        st.caption("此地点在本系统登记或并入的线索：" + "、".join(md(c) for c in earlier["clue_id"].dropna().unique()))
    if not history.empty:
        st.markdown("**研判记录**")
        st.dataframe(history.rename(columns={"at": "时间", "actor": "研判人", "decision": "决定", "reason": "理由",
                                             "clue_id": "线索"}), hide_index=True, key="qu_history")

if not may_decide:
    st.info("研判（排除、并入线索、登记线索）需要“研判”权限。")
    st.stop()
if it["state"] != "waiting":
    st.info(f"此事项{queue.STATES[it['state']]}。有新工单时会重回队列。")
    st.stop()

st.markdown("**研判**")
action = st.radio("研判", ["登记为新线索", "并入已有线索", "排除"], horizontal=True, key="qu_action",
                  label_visibility="collapsed")
if action == "登记为新线索":
    others = [i for i in labels if i != item_id and items.loc[items["item_id"] == i, "state"].iloc[0] == "waiting"]
    batch = st.multiselect("一并登记的其他事项（可选）", others, format_func=labels.get, key="qu_batch", placeholder="不选则只登记本事项")
    c = st.columns(2)
    # the rule's function when it names one; otherwise the prosecutor chooses (no silent default)
    choices = ["", *FUNCTIONS]
    function = c[0].selectbox("检察职能", choices, key="qu_function", format_func=lambda f: f or "（请选择）",
                              index=choices.index(stored.rule.function)
                              if stored is not None and stored.rule.function in FUNCTIONS else 0)
    department = c[1].text_input("承办部门", key="qu_department", value=(stored.rule.owner.split()[-1]
                                                                    if stored is not None and stored.rule.owner else ""))
    summary_text = st.text_area("线索摘要", key="qu_summary",
                                value=f"{it['label'] or ''}{(stored.rule.project if stored else '') or ''}问题，"
                                      f"{int(it['n'])} 件工单反映")
    if st.button("登记线索", type="primary", key="qu_register"):
        try:
            with records.session() as rec:
                clue = queue.register(rec, me, [item_id, *batch], function=function, department=department or None,
                                      summary=summary_text, scope=me.scope)
        except queue.DecisionError as exc:
            st.error(md(exc))
        else:
            st.success(f"已登记线索 {clue.clue_no}（{len(clue.ticket_ids)} 件工单），可在线索台账中查看。")
            st.page_link("views/clue.py", label=f"打开线索 {clue.clue_no}", query_params={"no": clue.clue_no})
if action == "并入已有线索":
    text = st.text_input("查找线索（编号、摘要、地点）", key="qu_find")
    with records.session() as rec:
        found = ledger.find_clues(rec, me.scope, text=text or None, open_only=True, limit=20, store=cur)
    if not found:
        st.caption("没有找到未办结的线索。")
    else:
        if len(found) > 20:
            st.caption("显示 20 条，请输入更多文字缩小范围。")
        pick = st.selectbox("并入线索", [c.clue_no for c in found[:20]], key="qu_attach_pick",
                            format_func=lambda n: next(f"{c.clue_no} {c.summary or ''}" for c in found if c.clue_no == n))
        why = st.text_input("并入理由", key="qu_attach_reason")
        if st.button("并入", key="qu_attach"):
            try:
                with records.session() as rec:
                    clue = queue.attach(rec, me, [item_id], pick, reason=why, scope=me.scope, store=cur)
            except queue.DecisionError as exc:
                st.error(md(exc))
            else:
                st.success(f"已并入线索 {md(clue.clue_no)}。")
                st.page_link("views/clue.py", label=f"打开线索 {clue.clue_no}", query_params={"no": clue.clue_no})
if action == "排除":
    reason = st.text_input("排除理由", key="qu_dismiss_reason", placeholder="如：已整改到位，经核实不属于监督事项")
    if st.button("排除", key="qu_dismiss"):
        try:
            with records.session() as rec:
                queue.decide(rec, me, [item_id], "dismiss", reason=reason, scope=me.scope)
        except queue.DecisionError as exc:
            st.error(md(exc))
        else:
            st.success("已排除。此地点如再有新工单，会重回队列并标记“曾研判”。")
