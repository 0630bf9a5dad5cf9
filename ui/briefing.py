"""The overview's one-click briefing pack: the same PDF/PPTX as `python manage.py briefing`.

The pack takes the period and (one) district from the sidebar; it is built
only when the button is clicked (Streamlit runs the callable outside the
script thread, so it borrows its own cursor from ui.db, limited to the user's scope, and the download is
audited).
"""

from __future__ import annotations

import functools

import streamlit as st

from analytics import briefing, export
from analytics.filters import Filters
from data import scope
from ui import auth, db
from ui.plain import md


def pack_filters_for(f: Filters) -> tuple[Filters | None, str]:
    """The pack's selection from the sidebar's, and a Chinese note on what it covers."""
    if not (f.date_from and f.date_to):
        return None, "请先在侧栏选择时间段。"
    district = f.districts[0] if len(f.districts) == 1 else None
    p = auth.principal()
    if district is None and p is not None and len(p.districts) == 1:   # a district user's pack is its district's
        district = p.districts[0]
    pf = briefing.pack_filters(f.date_from, f.date_to, district)
    note = f"简报范围：{briefing.period_label(pf)}，{briefing.scope_label(pf)}"
    if len(f.districts) > 1:
        note += "（选择了多个区，简报按全市生成）"
    ignored = f.replace(date_from=None, date_to=None, districts=())
    if not ignored.is_empty():
        note += "；简报只按时间段和区统计，其他筛选条件不影响简报"
    return pf, note + "。"


def _make(pf: Filters, fmt: str, sc: scope.Scope) -> bytes:
    """Runs on click, outside the script thread: borrows its own cursor, in the user's scope."""
    with db.borrow(sc) as (con, _version):
        return briefing.make(con, pf, fmt)


def briefing_button(cur, f: Filters) -> None:
    """Draw the briefing block (title, scope note, PDF and PPTX buttons)."""
    st.subheader("新闻发布简报")
    pf, note = pack_filters_for(f)
    if pf is None:
        st.info(md(note))
        return
    try:
        export.check_fonts()
        export.chromium_path()
    except export.ExportError as exc:
        st.warning(f"简报不可用：{md(exc)}")
        return
    st.caption(md(note) + " 内容：封面、核心指标、趋势、区排名、专项工单、转化漏斗、井盖/污水/假冒伪劣分布图、工单密集网格；"
               "生成约需 10–20 秒。")
    stem = f"简报_{pf.date_from}_{pf.date_to}" + (f"_{pf.districts[0]}" if pf.districts else "")
    row = st.container(horizontal=True, gap="small")
    p = auth.require()

    def made(fmt: str):
        return auth.audited(p, "download", f"{stem}.{fmt}", {"what": "briefing", "filters": pf.to_query()},
                            functools.partial(_make, pf, fmt, p.scope))

    row.download_button("⬇ 生成简报（PDF）", data=made("pdf"),
                        file_name=f"{stem}.pdf", mime="application/pdf", key="briefing_pdf",
                        on_click="ignore", type="primary", help="A4 简报，可直接交新闻发言人使用")
    row.download_button("⬇ 生成简报（PPTX）", data=made("pptx"),
                        file_name=f"{stem}.pptx", key="briefing_pptx", on_click="ignore",
                        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
                        help="同样内容的 16:9 幻灯片")
