"""The ledger page's files: the monthly report (XLSX, PDF) for a month and district, and the whole ledger (XLSX).

The bytes are made on click, outside the script run: each builder borrows its own cursor in the user's scope
(ui.db.borrow) and opens the records store itself; each download is audited (report / export).
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from analytics import ledger_export, ledger_render, ledger_report, tables
from analytics.export import MIME, safe_filename
from data import records
from data.ledger import letters, read
from ui import auth
from ui.db import borrow, db_version, require_cursor


def _report(me, month: str, district: str | None, today: date) -> ledger_report.Report:
    with borrow(me.scope) as (con, _gen), records.session() as rc:
        return ledger_report.build(con, month, district=district, today=today, rule_names=read.rule_names(rc),
                                   scope=me.scope,
                                   letters=letters.month_figures(rc, me.scope, month, district=district,
                                                                 today=today))


def _report_bytes(me, month: str, district: str | None, today: date, fmt: str) -> bytes:
    r = _report(me, month, district, today)
    return ledger_render.report_xlsx(r) if fmt == "xlsx" else ledger_render.report_pdf(r)


def _export_bytes(me, today: date) -> bytes:
    with borrow(me.scope) as (con, _gen), records.session() as rc:
        clues, history, links = ledger_export.frames(con, rc, me.scope, as_of=today)
    return ledger_render.ledger_xlsx(clues, history, links, note=f"统计范围：{me.scope.describe()}；导出日 {today:%Y-%m-%d}")


def report_and_export(me, today: date) -> None:
    last_month = today.replace(day=1) - timedelta(days=1)
    months = [(last_month.replace(day=1) - timedelta(days=31 * i)).strftime("%Y-%m") for i in range(24)]
    months = [today.strftime("%Y-%m"), *list(dict.fromkeys(months))]
    cur = require_cursor()
    districts = [r[0] for r in cur.execute("SELECT district FROM districts ORDER BY district").fetchall()]
    _ = db_version()
    c = st.columns(2)
    month = c[0].selectbox("月份", months, index=1, key="lg_rep_month",
                           format_func=lambda m: f"{m[:4]}年{int(m[5:])}月" + ("（本月，截至今日）" if m == months[0] else ""))
    district = c[1].selectbox("区", [None, *districts], key="lg_rep_district",
                              format_func=lambda d: (me.scope.describe() if d is None else d))
    where = district or ("全市" if me.scope.districts is None else "、".join(me.scope.districts))
    base = f"{where}{month}线索月报"
    st.caption("月报：按来源、职能、专项、区和审查结果统计登记与成案，成案率（按来源、按筛查规则），案源结构比，"
               "环节用时中位数，期限执行，整改成效合计，12309信访答复情况。")
    row = st.container(horizontal=True, gap="small")
    for fmt in ("xlsx", "pdf"):
        make = auth.audited(me, "report", safe_filename(base, fmt), {"month": month, "district": district,
                                                                     "format": fmt},
                            lambda fmt=fmt: _report_bytes(me, month, district, today, fmt))
        row.download_button(f"⬇ 月报 {fmt.upper()}", data=make, file_name=safe_filename(base, fmt),
                            mime=tables.XLSX_MIME if fmt == "xlsx" else MIME["pdf"], key=f"lg_rep_{fmt}",
                            on_click="ignore", type="secondary")
    if me.can("export"):
        st.markdown("**导出台账**：线索、办理记录、关联工单三张表（XLSX）。")
        name = safe_filename(f"线索台账{today:%Y%m%d}", "xlsx")
        st.download_button("⬇ 台账 XLSX", data=auth.audited(me, "export", name, {"what": "ledger"},
                                                             lambda: _export_bytes(me, today)),
                           file_name=name, mime=tables.XLSX_MIME, key="lg_export", on_click="ignore")
