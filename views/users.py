"""用户 Users (`/users`, administrators): accounts, roles, districts, lockouts and passwords.

Every change goes through data/people.py, which writes it to the audit trail with who made it.
New and reset passwords are shown once, here, and never stored in the clear.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.options import filter_options
from data import people, records, roles
from ui import auth, db
from ui.plain import md

me = auth.require()
st.title("用户管理")
st.caption("账号、角色与辖区。辖区为空表示全市（市院）。每项变更都记入审计日志。")

cur = db.require_cursor()
known = set(filter_options(cur).districts)

shown_pw = st.session_state.pop("users_new_password", None)
if shown_pw:
    st.success(f"账号 {shown_pw[0]} 的新密码（仅显示这一次，请当面或安全渠道转交）：")
    st.code(shown_pw[1], language=None)

with records.session() as con:
    accounts = people.list_accounts(con)

rows = pd.DataFrame([{
    "账号": a.name, "姓名": a.display_name or "—", "角色": roles.label(a.role),
    "辖区": "、".join(a.districts) or "全市",
    "状态": "停用" if a.disabled else ("锁定至 " + str(a.locked_until) if a.locked_until
                                      and a.locked_until > records.now() else "正常"),
    "单点登录": a.sso_subject or "—", "创建": f"{a.created_at}（{a.created_by}）",
    "最近变更": f"{a.updated_at}（{a.updated_by}）",
} for a in accounts])
st.dataframe(rows, hide_index=True, width="stretch", key="users_table", placeholder="—")


def _act(fn, *args, ok: str, **kw) -> None:
    try:
        with records.session() as con:
            fn(con, me, *args, **kw)
    except people.PeopleError as exc:
        st.error(md(exc))
        return
    st.toast(ok)
    st.rerun()


left, right = st.columns(2)
with left, st.form("users_add", clear_on_submit=True):
    st.subheader("新建账号")
    name = st.text_input("账号", placeholder="例如 zhangsan")
    display = st.text_input("姓名")
    role = st.selectbox("角色", list(roles.ROLES), format_func=roles.label)
    districts = st.multiselect("辖区（空 = 全市）", sorted(known), placeholder="全市")
    if st.form_submit_button("创建账号", type="primary"):
        password = people.generate_password()
        try:
            with records.session() as con:
                people.add(con, me, name.strip(), role, password=password, districts=districts,
                           display_name=display.strip(), known_districts=known)
        except people.PeopleError as exc:
            st.error(md(exc))
        else:
            st.session_state["users_new_password"] = (name.strip(), password)
            st.rerun()

with right:
    st.subheader("修改账号")
    if not accounts:
        st.info("尚无账号。")
    else:
        target = st.selectbox("账号", [a.name for a in accounts], key="users_target")
        acc = next(a for a in accounts if a.name == target)
        new_role = st.selectbox("角色", list(roles.ROLES), index=list(roles.ROLES).index(acc.role),
                                format_func=roles.label, key=f"users_role_{target}")
        new_ds = st.multiselect("辖区（空 = 全市）", sorted(known | set(acc.districts)), default=list(acc.districts),
                                placeholder="全市",
                                key=f"users_ds_{target}")
        b = st.container(horizontal=True)
        if b.button("保存角色与辖区", key="users_save"):
            try:
                with records.session() as con:
                    if new_role != acc.role:
                        people.set_role(con, me, target, new_role)
                    if tuple(new_ds) != acc.districts:
                        people.set_districts(con, me, target, new_ds, known_districts=known)
            except people.PeopleError as exc:
                st.error(md(exc))
            else:
                st.toast("已保存")
                st.rerun()
        if acc.disabled:
            if b.button("启用", key="users_enable"):
                _act(people.enable, target, ok=f"已启用 {target}")
        elif target != me.name and b.button("停用", key="users_disable"):
            _act(people.disable, target, ok=f"已停用 {target}")
        if b.button("重置密码（并解锁）", key="users_reset"):
            password = people.generate_password()
            try:
                with records.session() as con:
                    people.reset_password(con, me, target, password)
            except people.PeopleError as exc:
                st.error(md(exc))
            else:
                st.session_state["users_new_password"] = (target, password)
                st.rerun()
