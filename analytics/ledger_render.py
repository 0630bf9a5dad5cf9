"""The ledger's files: the monthly report as XLSX (one sheet per section) and as a printable A4 PDF in Chinese,
and the whole ledger as XLSX (sheets: clues, stage history, linked tickets).

The PDF is one HTML document printed by the local headless Chromium with every network request blocked
(analytics/briefing_render.render_pdf); the XLSX files go through analytics/tables (text never becomes a
formula, personal data masked).
"""

from __future__ import annotations

import html

import pandas as pd

from analytics import ledger_export, tables, theme
from analytics.ledger_report import Report

_LABELS = {
    "registered": "本月登记线索", "registered_app": "其中本系统登记", "decided": "作出审查决定", "filed": "立案",
    "not_filed": "不立案", "transferred": "移送", "suggested": "发出检察建议", "replied": "收到回复",
    "rectified": "整改（不含未整改）", "followed_up": "回头看", "closed": "结案", "case_rate": "成案率",
    "self_found": "案源结构比（自行发现）", "open": "月末未结案线索", "overdue_now": "报告日已逾期线索",
}
_PERCENT = ("case_rate", "self_found")


def _fmt(v, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return "—"
    if pct:
        return f"{float(v):.1%}"
    if isinstance(v, float):
        return f"{v:,.1f}" if v != int(v) else f"{int(v):,}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def headline_table(r: Report) -> pd.DataFrame:
    return pd.DataFrame([{"指标": _LABELS[k], "数值": _fmt(v, k in _PERCENT)} for k, v in r.headline.items()])


def _rate_rows(df: pd.DataFrame) -> pd.Series:
    """Rows of an item/value table (项目, 数值) whose item is a rate (the 12309 section)."""
    if "项目" in df.columns and "数值" in df.columns:
        return df["项目"].astype(str).str.contains("率")
    return pd.Series(False, index=df.index)


def _display(df: pd.DataFrame) -> pd.DataFrame:
    """Rates as percentages, missing values as "—" (for the PDF)."""
    out = df.copy()
    rate_rows = _rate_rows(out)
    if rate_rows.any():
        out["数值"] = [_fmt(v, pct) for v, pct in zip(out["数值"], rate_rows, strict=True)]
    for c in out.columns:
        if "率" in str(c) or c == "占比":
            out[c] = out[c].map(lambda v: _fmt(v, True))
        elif out[c].dtype.kind == "f" or str(out[c].dtype) == "Float64":
            out[c] = out[c].map(_fmt)
    return out


def _is_rate(col) -> bool:
    return "率" in str(col) or col == "占比"


def _cell(v, pct: bool = False):
    """A value for the XLSX: numbers stay numbers (shares as percentages), a missing one is "—"."""
    if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)):
        return "—"
    if pct:
        return tables.Percent(float(v))
    if isinstance(v, float):
        return round(v, 1)
    return v


def _xlsx(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    rate_rows = _rate_rows(out)
    if rate_rows.any():
        out["数值"] = pd.Series([_cell(v, pct) for v, pct in zip(out["数值"], rate_rows, strict=True)],
                              index=out.index, dtype=object)
    for c in out.columns:
        if _is_rate(c) or out[c].dtype.kind == "f" or str(out[c].dtype) == "Float64":
            out[c] = pd.Series([_cell(v, _is_rate(c)) for v in out[c].to_numpy(dtype=object)], index=out.index,
                               dtype=object)
    return out


def report_xlsx(r: Report) -> bytes:
    """The report as XLSX: one sheet per section; counts are numbers, rates numbers shown as percentages."""
    note = f"统计范围：{r.scope_label}；报告日 {r.as_of:%Y-%m-%d}"
    head = pd.DataFrame({"指标": [_LABELS[k] for k in r.headline],
                         "数值": pd.Series([_cell(v, k in _PERCENT) for k, v in r.headline.items()], dtype=object)})
    sheets = [("概况", head, r.title, note)]
    sheets += [(s.title[:31].replace("（", "(").replace("）", ")"), _xlsx(s.table), s.title,
                "；".join(x for x in (note, s.note) if x)) for s in r.sections]
    return tables.to_xlsx_book(sheets, labels=False)


CSS = """
@page { size: A4; margin: 14mm 15mm 16mm 15mm; }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif; color: #212121; font-size: 10pt; margin: 0; }
h1 { font-size: 20pt; color: #B71C1C; margin: 0 0 2mm 0; }
.meta { color: #616161; margin-bottom: 5mm; }
h2 { font-size: 12.5pt; color: #B71C1C; border-left: 4px solid #B71C1C; padding-left: 2.5mm; margin: 6mm 0 2mm 0;
     page-break-after: avoid; }
.kpis { display: grid; grid-template-columns: repeat(5, 1fr); gap: 2.5mm; }
.kpi { border: 1px solid #E0E0E0; border-top: 3px solid #B71C1C; padding: 2mm; }
.kpi .v { font-size: 14pt; font-weight: bold; } .kpi .l { font-size: 8.5pt; color: #616161; }
table { border-collapse: collapse; width: 100%; font-size: 8.6pt; page-break-inside: auto; }
tr { page-break-inside: avoid; }
th { background: #F5F5F5; } th, td { border: 1px solid #E0E0E0; padding: 1.2mm 1.6mm; text-align: left; }
td.n { text-align: right; white-space: nowrap; }
.note { font-size: 8.3pt; color: #757575; margin-top: 1.2mm; }
.empty { color: #757575; }
"""


def _html_table(df: pd.DataFrame, limit: int = 60) -> str:
    if df.empty:
        return '<p class="empty">本月无相关记录。</p>'
    shown = _display(df.head(limit))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for v in row:
            text = _fmt(v) if not isinstance(v, str) else v
            num = isinstance(v, (int, float)) or (isinstance(v, str) and v.replace(",", "").replace(".", "")
                                                  .replace("%", "").replace("-", "").isdigit())
            cells.append(f'<td class="{"n" if num else ""}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    cut = f'<p class="note">显示 {limit:,} / {len(df):,} 行，完整表格见 XLSX。</p>' if len(df) > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{cut}"


def report_html(r: Report) -> str:
    keys = ("registered", "decided", "filed", "case_rate", "self_found", "suggested", "replied", "rectified",
            "closed", "overdue_now")
    kpis = "".join(f'<div class="kpi"><div class="v">{html.escape(_fmt(r.headline[k], k in _PERCENT))}</div>'
                   f'<div class="l">{_LABELS[k]}</div></div>' for k in keys)
    parts = [f"<h1>{html.escape(r.title)}</h1>",
             f'<div class="meta">统计范围：{html.escape(r.scope_label)}　统计月份：{r.month}　报告日：{r.as_of:%Y-%m-%d}'
             f"　{html.escape(theme.SOURCE_LINE)}</div>", f'<div class="kpis">{kpis}</div>',
             "<h2>概况</h2>", _html_table(headline_table(r))]
    for s in r.sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>{_html_table(s.table)}")
        if s.note:
            parts.append(f'<p class="note">{html.escape(s.note)}</p>')
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><style>{CSS}</style></head>"
            f"<body>{''.join(parts)}</body></html>")


def report_pdf(r: Report) -> bytes:
    """The report as an A4 PDF (local Chromium, nothing fetched), with page numbers in the footer."""
    from analytics import briefing_render

    return briefing_render.render_pdf(report_html(r), title=r.title, period=f"{r.month}（报告日 {r.as_of:%Y-%m-%d}）")


# ------------------------------------------------------------------------------------------- the ledger export
EXPORT_SHEETS = ("线索", "办理记录", "关联工单")


def ledger_xlsx(clues: pd.DataFrame, history: pd.DataFrame, links: pd.DataFrame, *, note: str = "") -> bytes:
    """The ledger as XLSX: every clue (the sheet), every recorded step, every linked ticket."""
    return tables.to_xlsx_book([
        ("线索", ledger_export.clue_table(clues), "线索台账", note),
        ("办理记录", history, "线索办理记录（含已更正、撤销的记录）", note),
        ("关联工单", ledger_export.link_table(links), "线索关联工单", note),
    ], labels=False)
