"""工单 Tickets (`/tickets`): the tickets behind every number, one page at a time, and one ticket in full.

The list is paged and sorted in the database (analytics.tickets.page); a row
click or `/tickets?id=T01` opens the detail: text, classification, handling,
a small offline map, the way through clue/case/rectification and other
tickets at the same place. Personal data are masked (analytics.privacy).
"""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from analytics import figures, privacy, theme, tickets
from analytics.filters import Filters
from data import audit, scope
from ui import auth, charts, drill, filters
from ui.db import borrow, db_version, require_cursor
from ui.plain import md

me = auth.require()
cur = require_cursor()
f = filters.current()


@st.cache_data(show_spinner=False, ttl=3600, max_entries=256)
def _count(_cur, version: str, flt: Filters, stage: str) -> int:
    return tickets.count(_cur, flt, stage=stage or None)


@st.cache_data(show_spinner=False, ttl=3600, max_entries=256)
def _page(_cur, version: str, flt: Filters, stage: str, sort: str, desc: bool, limit: int, offset: int,
          mask: bool) -> pd.DataFrame:
    return tickets.page(_cur, flt, sort=sort, descending=desc, limit=limit, offset=offset, stage=stage or None,
                        mask=mask)


@st.cache_data(show_spinner=False, ttl=3600, max_entries=64)
def _outlines(lon: float, lat: float) -> dict:
    return tickets.outlines_near(round(lon, 3), round(lat, 3))


@st.cache_data(show_spinner=False, ttl=3600, max_entries=16)
def _has_due(_cur, version: str) -> bool:
    return tickets.has_due_dates(_cur)


def _export_all(flt: Filters, stage: str, sort: str, desc: bool, sc: scope.Scope) -> pd.DataFrame:
    """Every row of the list for the download button (runs outside the script thread: its own cursor, same scope)."""
    with borrow(sc) as (con, _version):
        df = tickets.export_rows(con, flt, sort=sort, descending=desc, stage=stage or None)
    return theme.labelled(df)


def show_detail(ticket_id: str) -> None:
    d = tickets.detail(cur, ticket_id)
    if d is None:   # unknown, or outside the user's districts: the same answer, so nothing is revealed
        st.warning(f"未找到工单 {md(ticket_id)}（或不在您的辖区内）。")
        return
    if st.session_state.get("tk_audited") != ticket_id:   # one audit row per opening, not per rerun
        audit.record(me, "ticket_view", ticket_id, {"district": d.get("district")})
        st.session_state["tk_audited"] = ticket_id
    with st.container(border=True):
        top = st.columns([6, 1])
        top[0].subheader(f"工单 {md(d['ticket_id'])}")
        if top[1].button("关闭详情", key="tk_close"):
            st.session_state.pop(drill.OPEN_STATE, None)
            st.query_params.pop("id", None)
            st.rerun()
        unmasked = _unmask_form(ticket_id) if me.can("unmask") else None
        if unmasked is not None:
            d = unmasked
        # The citizen's words as plain text: no Markdown image, link, bold or HTML of theirs is drawn.
        st.markdown("**诉求内容**")
        st.text(d["content"] or "（无）", width="stretch")
        if d.get("reply"):
            st.markdown("**答复意见**")
            st.text(d["reply"], width="stretch")
        left, right = st.columns([3, 2])
        with left:
            st.dataframe(tickets.detail_fields(d), hide_index=True, width="stretch", key="tk_detail_fields",
                         placeholder="—")
            if unmasked is not None:
                st.caption("本次查看显示了个人信息（已记入审计日志）；刷新或离开后重新脱敏。")
            else:
                st.caption("个人信息已脱敏显示。" + ("如确需查看，请在上方说明理由。" if me.can("unmask") else ""))
        with right:
            no_map = tickets.location_note(d)
            if no_map:
                st.info(no_map)
                near = pd.DataFrame()
            else:
                near = tickets.nearby(cur, ticket_id, radius_m=100)
                fig = figures.location_figure(d["lon"], d["lat"], near, outlines=_outlines(d["lon"], d["lat"]))
                charts.chart(fig, key="tk_map", title=f"工单 {ticket_id} 位置", downloads=False)
                st.caption(f"坐标（WGS84）：{d['lon']:.6f}, {d['lat']:.6f}；灰线为街道/乡镇边界，无底图。")
        st.markdown("**办理与监督进程**")
        pth = tickets.path(cur, ticket_id)
        if not tickets.formed_clue(pth):
            st.caption("该工单未形成线索。")
        charts.table(theme.labelled(pth), key="tk_path", title=f"工单 {ticket_id} 办理进程", downloads=False)
        st.markdown("**同一地点的其他工单**（100 米内，不限时间和筛选条件）")
        if d["lon"] is None:
            st.caption("无坐标，无法查找同地点工单。")
        elif near.empty:
            st.caption("100 米内没有其他工单。")
        else:
            sel = charts.table(theme.labelled(near, drop=("lon", "lat")), key=drill.key("tk_near"),
                               title="同一地点的其他工单", select=True,
                               column_config={theme.label("distance_m"): st.column_config.NumberColumn(format="%.0f")})
            if sel:
                _open(str(near["ticket_id"].iloc[sel[0]]))


def _unmask_form(ticket_id: str) -> dict | None:
    """The reason form; on a stated reason, the ticket unmasked for this view only (audited), else None."""
    with st.expander("查看个人信息（需说明理由，记入审计日志）"):
        with st.form(f"tk_unmask_{ticket_id}", clear_on_submit=True):
            reason = st.text_input("查看理由", placeholder="例如：核实诉求人身份，联系回访", max_chars=200)
            go = st.form_submit_button("查看")
        if go:
            if len((reason or "").strip()) < 4:
                st.error("请填写查看理由（至少 4 个字）。")
                return None
            audit.record(me, "unmask", ticket_id, {"reason": reason.strip()})
            return tickets.detail(cur, ticket_id, mask=False)
    return None


def _open(ticket_id: str) -> None:
    st.session_state[drill.OPEN_STATE] = ticket_id
    st.query_params["id"] = ticket_id
    filters.bump_generation()
    st.rerun()


st.title("工单")
st.caption(md(f.describe()))
filters.undo_bar()

opened = st.query_params.get("id") or st.session_state.get(drill.OPEN_STATE)
if opened:
    show_detail(str(opened))

c1, c2, c3, c4 = st.columns([3, 2, 1, 1])
stages = [k for k in tickets.STAGE_LABELS if k != "overdue" or _has_due(cur, db_version())]
stage = c1.segmented_control("环节", stages, key=drill.STAGE_STATE, format_func=tickets.STAGE_LABELS.get) or ""
if stage == "overdue":
    st.caption("超期工单：有办理时限，且办结时间晚于时限，或到数据中最后一件工单的受理时间仍未办结。")
sort = c2.selectbox("排序", list(tickets.SORTS), format_func=tickets.SORT_LABELS.get, key="tk_sort")
desc = c3.toggle("降序", value=True, key="tk_desc")
size = c4.selectbox("每页", tickets.PAGE_SIZES, index=1, key="tk_size")

# The rows first, the total after: a page sorted by time reads only the days it needs, while the total of
# a text search has to scan the whole period (docs/performance.md), so the list shows before the count.
pager, label = st.container(), st.empty()
page_no = max(1, int(st.session_state.get("tk_page") or 1))
offset = (page_no - 1) * size
rows = _page(cur, db_version(), f, stage, sort, desc, size, offset, privacy.enabled())
if rows.empty and offset == 0:
    st.warning("所选条件下没有工单。请放宽筛选条件或点击侧栏“重置筛选”。")
    st.stop()
sel = charts.table(theme.labelled(rows), key=drill.key("tk_list"), title="工单清单", select=True,
                   column_config={theme.label("content"): st.column_config.TextColumn(width="large")},
                   export_data=functools.partial(_export_all, f, stage, sort, desc, me.scope))
total = _count(cur, db_version(), f, stage)
pages = tickets.page_count(total, size)
if page_no > pages:  # fewer pages than before (filters or page size changed): back to the first one
    st.session_state.pop("tk_page", None)
    st.rerun()
with pager:
    st.number_input(f"页码（共 {pages:,} 页）", min_value=1, max_value=pages, value=1, step=1, key="tk_page")
label.markdown(f"**{tickets.page_label(total, offset, len(rows))}**")
st.caption(f"点击一行查看工单详情。下载按钮导出全部 {min(total, tickets.EXPORT_MAX_ROWS):,} 条"
           + ("（已达上限）" if total > tickets.EXPORT_MAX_ROWS else "") + "，个人信息按屏幕规则脱敏。")
if sel:
    _open(str(rows["ticket_id"].iloc[sel[0]]))
