"""规则 Rules (`/rules`): the screening rules (法律监督模型) — list, write and edit with a live count, versions,
back-test, import and export of rule files, and screening on demand.

Everything here is data/screening (rules, versions, runs) and analytics/screening (back-tests); this page lays out.
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from analytics import screening as sa
from analytics import theme
from data import records
from data.screening import form, library, queue, rule
from data.screening import run as screening
from data.screening.compile import Target
from geo.names import district_names
from ui import auth, charts, filters
from ui.db import db_version, require_cursor
from ui.plain import md

me = auth.require()
cur = require_cursor()
opts = filters.options(cur, db_version())
may_edit = me.can("rules_edit")
FIELDS = list(form.from_rule(None))

st.title("筛查规则")
st.caption("法律监督模型：按分类、关键词、地点、办理情况和“反复投诉”“办结后再诉”等条件，逐层过筛，命中工单按规则和地点归入待研判队列。")
if not opts.has_data:
    st.info("数据库中还没有工单：导入工单后才能试算和筛查。")

with records.session() as rec:
    rules_df = library.table(rec)
keys = list(rules_df["key"])


def _resolve(key: str):
    with records.session() as r:
        s = library.get(r, key)
    return s.rule if s else None


def _period(label: str, key: str, days: int) -> Target:
    end = opts.max_date or date.today()
    start = max(end - timedelta(days=days - 1), opts.min_date or end)
    got = st.date_input(label, value=(start, end), key=key)
    got = tuple(got) if isinstance(got, list | tuple) else (got,)
    return Target(got[0] if got else None, got[-1] if got else None)


# A view chosen on the server (not st.tabs): each widget change reruns the page, and the view stays.
VIEWS = ["规则列表", "编写规则", "回测", "导入导出", "运行筛查"]
view = st.radio("查看", VIEWS, horizontal=True, key="ru_view", label_visibility="collapsed")
if view != "编写规则":
    st.session_state.pop("ru_loaded", None)   # the form's widgets are gone: load the rule again on return

if view == "规则列表":
    if rules_df.empty:
        st.info("尚无规则。可在“导入导出”中导入示例规则库或规则文件，或在“编写规则”中新建。")
    else:
        shown = rules_df.assign(active=rules_df["active"].map({True: "启用", False: "停用"})).rename(columns={
            "key": "编号", "name": "名称", "project": "专项", "function": "检察职能", "region": "地区", "version": "版本",
            "changed_at": "最近修改", "changed_by": "修改人", "active": "状态"})
        charts.table(shown, key="ru_table", title="筛查规则", downloads=False)
        pick = st.selectbox("查看规则", keys, key="ru_pick")
        with records.session() as rec:
            s = library.get(rec, pick)
            vers = library.versions(rec, pick)
            outcome = queue.rule_outcomes(rec, s.rule_id)
        st.markdown(f"**{md(s.rule.name)}**（{md(s.key)}，版本 {s.version}，{'启用' if s.active else '停用'}）")
        st.text("\n".join(s.rule.describe()))
        if s.rule.legal_basis:
            st.caption(f"法律依据：{md(s.rule.legal_basis)}")
        if s.rule.background:
            st.caption(f"背景要旨：{md(s.rule.background)}")
        st.caption(f"待研判事项：共 {outcome['items']} 项，待研判 {outcome['waiting']} 项，登记线索 {outcome['register']} 项，"
                   f"并入线索 {outcome['attach']} 项，排除 {outcome['dismiss']} 项。")
        charts.table(vers.drop(columns=["definition"]).rename(columns={
            "version": "版本", "name": "名称", "note": "修改说明", "created_at": "时间", "created_by": "修改人"}),
            key="ru_versions", title=f"{pick} 的版本", downloads=False)
        if may_edit:
            label = "停用此规则" if s.active else "启用此规则"
            if st.button(label, key="ru_toggle"):
                with records.session() as rec:
                    library.set_active(rec, me, pick, not s.active, "在规则页面切换")
                st.rerun()

if view == "编写规则":
    if not may_edit:
        st.info("您可以查看规则；编写和修改规则需要“编写、修改筛查规则”权限。")
    else:
        choice = st.selectbox("编辑", ["（新建规则）", *keys], key="ru_edit_pick")
        if st.session_state.get("ru_loaded") != choice:
            with records.session() as rec:
                base = None if choice == "（新建规则）" else library.get(rec, choice).rule
            for k, v in form.from_rule(base).items():
                st.session_state[f"ru_f_{k}"] = v
            st.session_state["ru_loaded"] = choice
        k = {name: f"ru_f_{name}" for name in FIELDS}
        c = st.columns(3)
        c[0].text_input("规则编号（小写字母、数字、-）", key=k["key"], disabled=choice != "（新建规则）")
        c[1].text_input("规则名称", key=k["name"])
        c[2].text_input("所属专项（规则归属的专项工作）", key=k["project"])
        c = st.columns(3)
        c[0].selectbox("检察职能", ["", *rule.FUNCTIONS], key=k["function"], format_func=lambda x: x or "（未指定）")
        c[1].text_input("建立单位", key=k["owner"])
        c[2].text_input("地区", key=k["region"])
        st.text_area("法律依据", key=k["legal_basis"], height=68)
        st.markdown("**条件**（同时满足；留空表示不限）")
        c = st.columns(3)
        c[0].text_input("关键词：全部包含（AND）", key=k["kw_all"], placeholder="如：井盖")
        c[1].text_input("关键词：任一包含（OR）", key=k["kw_any"], placeholder="如：破损、缺失、塌陷")
        c[2].text_input("排除词（NOT）", key=k["kw_none"], placeholder="如：咨询")
        st.text_area("同义词（每行：词：同义词1、同义词2）", key=k["kw_synonyms"], height=68)
        c = st.columns(3)
        c[0].multiselect("分类（任一级）", opts.category_paths(), key=k["categories"], placeholder="不限")
        c[1].multiselect("工单专项（任一）", list(opts.topics), key=k["topics"], placeholder="不限")
        c[2].multiselect("区", district_names(), key=k["districts"], placeholder="不限")
        c = st.columns(4)
        c[0].multiselect("渠道", list(opts.channels), key=k["channels"], placeholder="不限")
        c[1].multiselect("诉求类型", list(rule.APPEAL_TYPES), key=k["appeal_types"], placeholder="不限")
        c[2].multiselect("办理状态", list(dict.fromkeys(["已办结", "办理中", "待响应", *st.session_state[k["statuses"]]])),
                         key=k["statuses"], accept_new_options=True, placeholder="不限（可输入新状态）")
        c[3].multiselect("满意度", list(rule.SATISFACTION), key=k["satisfaction"], placeholder="不限")
        c = st.columns(4)
        c[0].checkbox("反复投诉：R 米内 D 天内至少 N 件", key=k["repeat_on"])
        c[1].number_input("N（件）", min_value=2, max_value=10000, key=k["repeat_n"])
        c[2].number_input("R（米）", min_value=5.0, max_value=5000.0, key=k["repeat_radius"])
        c[3].number_input("D（天）", min_value=1, max_value=730, key=k["repeat_days"])
        c = st.columns(4)
        c[0].checkbox("办结后再诉（同一问题办结后再次来电）", key=k["after_on"])
        c[1].number_input("办结后至少（天）", min_value=0, max_value=365, key=k["after_min"])
        c[2].number_input("至多（天）", min_value=1, max_value=730, key=k["after_max"])
        c[3].number_input("范围（米）", min_value=5.0, max_value=1000.0, key=k["after_radius"])
        c = st.columns(4)
        c[0].checkbox("圆形范围", key=k["near_on"])
        c[1].number_input("经度（WGS84）", format="%.6f", key=k["near_lon"])
        c[2].number_input("纬度（WGS84）", format="%.6f", key=k["near_lat"])
        c[3].number_input("半径（米）", min_value=1.0, max_value=50000.0, key=k["near_radius"])
        c = st.columns(3)
        c[0].selectbox("在此规则的命中中再筛（逐层）", ["", *[x for x in keys if x != choice]], key=k["layer_of"],
                     format_func=lambda x: x or "（不分层：全部工单）")
        c[1].selectbox("归并方式", list(rule.GROUP_BY), format_func=rule.GROUP_BY.get, key=k["group_by"])
        c[2].number_input("只看最近多少天（0 = 不限）", min_value=0, max_value=3660, key=k["last_days"])

        values = {name: st.session_state.get(k[name]) for name in FIELDS}
        try:
            draft = form.to_rule(values)
        except rule.RuleError as exc:
            draft = None
            st.warning(md(exc))
        if draft is not None and opts.has_data:
            target = _period("试算期间", "ru_try_period", 90)
            try:
                n, n_places = screening.count(cur, draft, target, resolve=_resolve)
                examples = screening.find(cur, draft, target, resolve=_resolve, limit=5)
            except rule.RuleError as exc:
                st.warning(md(exc))
            else:
                st.markdown(f"**试算：{md(target.describe())} 命中 {n:,} 件工单，{n_places:,} 处地点**")
                if n:
                    ex = sa.item_tickets(cur, list(examples["ticket_id"][:5]))
                    st.caption(f"示例工单（显示 {min(n, 5)} / {n:,}）")
                    charts.table(theme.labelled(ex, drop=("lon", "lat")), key="ru_examples", title="示例工单",
                                 downloads=False)
        if draft is not None:
            note = st.text_input("修改说明（记入版本）", key="ru_note")
            if st.button("保存（生成新版本）", type="primary", key="ru_save"):
                try:
                    with records.session() as rec:
                        if draft.layer_of:
                            library.import_rules(rec, me, [draft], note or "在规则页面保存")
                        saved = library.save(rec, me, draft, note or "在规则页面保存")
                except rule.RuleError as exc:
                    st.error(md(exc))
                else:
                    st.session_state["ru_loaded"] = None
                    st.success(f"已保存规则 {saved.key}，版本 {saved.version}（{'启用' if saved.active else '停用'}）。")

if view == "回测":
    if not keys:
        st.info("尚无规则。")
    elif opts.has_data:
        pick = st.selectbox("回测规则", keys, key="ru_bt_pick")
        target = _period("回测期间", "ru_bt_period", 365)
        with records.session() as rec:
            s = library.get(rec, pick)
        months = sa.backtest(cur, s.rule, target.date_from, target.date_to, resolve=_resolve)
        tot = sa.backtest_totals(months)
        c = st.columns(3)
        c[0].metric("命中工单（不含计数用的窗口内工单）", f"{tot['hits']:,}")
        c[1].metric("其中已形成线索", "—" if tot["clue_rate"] is None else f"{tot['in_clues']:,}（{tot['clue_rate']:.1%}）")
        c[2].metric("其中已立案", "—" if tot["case_rate"] is None else f"{tot['in_cases']:,}（{tot['case_rate']:.1%}）")
        if tot["hits"] == 0:
            st.info("回测期间没有命中，转化率无从计算（显示“—”）。")
        else:
            charts.chart(sa.backtest_figure(months, f"{s.rule.name}：逐月命中"), key="ru_bt_chart",
                         title=f"{s.rule.name} 回测")
        st.caption("形成线索、立案按导入的线索与案件数据（线索关联工单）计算；本系统中由此规则登记的线索见“规则列表”。")

if view == "导入导出":
    with records.session() as rec:
        text = library.export_text(rec, None, "yaml") if keys else ""
    if keys:
        st.download_button("导出全部规则（YAML）", data=auth.audited(me, "export", "rules.yaml", {"what": "rules"},
                                                                lambda: text.encode("utf-8")),
                           file_name="rules.yaml", mime="application/x-yaml", key="ru_export")
    if may_edit:
        up = st.file_uploader("导入规则文件（.yaml / .json）", type=["yaml", "yml", "json"], key="ru_upload",
                              max_upload_size=5)   # a rule library is text: kilobytes, never megabytes
        if up is not None:
            try:
                incoming = rule.loads(up.getvalue().decode("utf-8"), f"规则文件 {up.name} ")
            except (rule.RuleError, UnicodeDecodeError) as exc:
                st.error(f"规则有误：{md(exc)}")
            else:
                st.success(f"检查通过：{len(incoming)} 条规则（{'、'.join(r.key for r in incoming)}）。")
                if st.button("导入这些规则", key="ru_import"):
                    try:
                        with records.session() as rec:
                            done = library.import_rules(rec, me, incoming, f"导入文件 {up.name}")
                    except rule.RuleError as exc:
                        st.error(md(exc))
                    else:
                        st.success("已导入：" + "、".join(f"{d.key}（版本 {d.version}）" for d in done))
        region = library.starter_dir().name
        if st.button(f"导入示例规则库（{region}）", key="ru_starter"):
            with records.session() as rec:
                done = library.install_starter(rec, me)
            st.success(f"已导入示例规则库 {len(done)} 条规则并启用。")
            st.rerun()

if view == "运行筛查":
    if not may_edit:
        st.info("运行筛查需要“编写、修改筛查规则，运行筛查”权限。")
    elif opts.has_data:
        st.caption("每次导入后会自动对新增和变更的工单运行已启用的规则；这里可以对一段时间的工单重新筛查。"
                   "已记录的命中不会重复记录。")
        target = _period("筛查期间", "ru_run_period", 30)
        if st.button("运行已启用的规则", type="primary", key="ru_run"):
            with st.spinner("筛查中…"):
                with records.session() as rec:
                    res = screening.screen(cur, rec, me, target, trigger="manual", generation=db_version())
            st.session_state["ru_run_result"] = res.describe()
        if st.session_state.get("ru_run_result"):
            st.success(st.session_state["ru_run_result"])
            st.page_link("views/queue.py", label="打开待研判队列")
