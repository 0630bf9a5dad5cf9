"""Table export (XLSX and CSV) that is safe to open in Excel and masks personal data.

Staff hand ticket lists, rankings, hotspot and overdue lists to colleagues
who open them in Excel/WPS. Three things must hold for every table we export:

* Chinese opens correctly: CSV is UTF-8 with a BOM; headers are the Chinese
  labels of theme.LABELS.
* No formula injection (OWASP "CSV injection"): citizens write free text, and a
  cell starting with = + - @ (or tab / carriage return) must never be run as a
  formula. XLSX cells are written with write_string (stored as text, never a
  formula); CSV cells get a leading apostrophe.
* Personal data is masked exactly as on screen, by analytics.privacy.mask_frame.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import numpy as np
import pandas as pd

from analytics import privacy, theme

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_XLSX_ROWS = 1_048_575  # Excel's limit minus the header row


_MASKED_COLUMNS = privacy.PII_COLUMNS + privacy.TEXT_COLUMNS


def mask_for_export(df: pd.DataFrame, *, force: bool | None = None) -> pd.DataFrame:
    """privacy.mask_frame, also when a page already renamed the columns to Chinese labels,
    and without masking a second time what is already masked (138****1234 stays as is)."""
    back = {theme.label(c): c for c in _MASKED_COLUMNS if theme.label(c) in df.columns and c not in df.columns}
    work = df.rename(columns=back) if back else df
    out = privacy.mask_frame(work, force=force)
    if out is not work:
        for c in privacy.PII_COLUMNS:
            if c in work.columns:
                already = work[c].astype(object).map(lambda v: isinstance(v, str) and "*" in v)
                if already.any():
                    out[c] = work[c].where(already, out[c])
    if back:
        out = out.rename(columns={v: k for k, v in back.items()})
    return out


def prepare(df: pd.DataFrame, *, mask: bool | None = None, labels: bool = True) -> pd.DataFrame:
    """The frame as exported: masked (unless masking is off) and with Chinese column labels."""
    out = mask_for_export(df, force=mask)
    if labels:
        out = out.rename(columns={c: theme.label(str(c)) for c in out.columns})
    return out


def neutralise(value: str) -> str:
    """Prefix a cell that a spreadsheet would read as a formula with an apostrophe (OWASP)."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and pd.isna(v):
        return ""
    if v is pd.NaT or (not isinstance(v, (str, bytes)) and pd.api.types.is_scalar(v) and pd.isna(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S") if (v.hour or v.minute or v.second) else v.strftime("%Y-%m-%d")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return "是" if v else "否"
    return str(v)


def _csv_cell(v) -> str:
    """Numbers as plain numbers (a negative number is not a formula); everything else neutralised."""
    if isinstance(v, (np.number, np.bool_)):
        v = v.item()
    if _is_number(v):
        return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))
    return neutralise(_cell_text(v))


def to_csv_bytes(df: pd.DataFrame, *, mask: bool | None = None, labels: bool = True) -> bytes:
    """UTF-8 CSV with a BOM; text cells that look like formulas are prefixed with '."""
    out = prepare(df, mask=mask, labels=labels)
    text = pd.DataFrame({c: [_csv_cell(v) for v in out[c].to_numpy(dtype=object)] for c in out.columns},
                        columns=list(out.columns))
    text.columns = [neutralise(str(c)) for c in out.columns]
    buf = io.StringIO()
    text.to_csv(buf, index=False, lineterminator="\r\n")
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


class Percent(float):
    """A share (0.25 = 25%) that the XLSX writer stores as a number shown as a percentage (0.0%)."""


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and pd.isna(v))


def to_xlsx_bytes(df: pd.DataFrame, *, sheet: str = "数据", title: str | None = None, note: str | None = None,
                  mask: bool | None = None, labels: bool = True) -> bytes:
    """XLSX with Chinese headers; every text cell is written as a string, never a formula.

    Optional title and note (period, filters, source) go above the header.
    Numbers stay numbers; dates are written as ISO text so they read the same
    everywhere. Tables beyond Excel's row limit are cut and say so.
    """
    return to_xlsx_book([(sheet, df, title, note)], mask=mask, labels=labels)


def to_xlsx_book(sheets: list[tuple[str, pd.DataFrame, str | None, str | None]], *, mask: bool | None = None,
                 labels: bool = True) -> bytes:
    """One XLSX of several sheets: (sheet name, frame, title, note) each, written as `to_xlsx_bytes` writes one."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False})
    font = theme.font_family().split(",")[0].strip()
    fmt = {"head": wb.add_format({"bold": True, "bg_color": "#F5F5F5", "border": 1, "font_name": font}),
           "body": wb.add_format({"font_name": font}),
           "big": wb.add_format({"bold": True, "font_size": 14, "font_name": font}),
           "pct": wb.add_format({"font_name": font, "num_format": "0.0%"}),
           "small": wb.add_format({"font_color": "#616161", "font_name": font})}
    used: set[str] = set()
    for sheet, df, title, note in sheets:
        name = (sheet or "数据")[:31]
        while name in used:
            name = name[:28] + f"_{len(used)}"
        used.add(name)
        _write_sheet(wb.add_worksheet(name), fmt, prepare(df, mask=mask, labels=labels), title, note)
    wb.close()
    return buf.getvalue()


def _write_sheet(ws, fmt: dict, out: pd.DataFrame, title: str | None, note: str | None) -> None:
    head, body, big, small = fmt["head"], fmt["body"], fmt["big"], fmt["small"]
    row = 0
    if title:
        ws.write_string(row, 0, title, big)
        row += 1
    for line in [note, theme.SOURCE_LINE if (title or note) else None]:
        if line:
            ws.write_string(row, 0, line, small)
            row += 1
    if row:
        row += 1
    header_row = row
    widths = []
    for j, c in enumerate(out.columns):
        name = str(c)
        ws.write_string(row, j, name, head)
        widths.append(max(6, len(name) * 2))
    n = min(len(out), MAX_XLSX_ROWS - row - 2)
    cols = [out[c].to_numpy(dtype=object) for c in out.columns]
    for i in range(n):
        r = row + 1 + i
        for j, col in enumerate(cols):
            v = col[i]
            if isinstance(v, (np.number, np.bool_)):
                v = v.item()
            if isinstance(v, Percent) and not pd.isna(v):
                ws.write_number(r, j, float(v), fmt["pct"])
                continue
            if _is_number(v):
                ws.write_number(r, j, v, body)
                continue
            s = _cell_text(v)
            if s:
                ws.write_string(r, j, s, body)
                if i < 200:
                    widths[j] = max(widths[j], min(60, sum(2 if ord(ch) > 127 else 1 for ch in s)))
    if n < len(out):
        ws.write_string(row + 1 + n, 0, f"（表格超出 Excel 行数上限，仅导出前 {n:,} 行，共 {len(out):,} 行）", small)
    for j, w in enumerate(widths):
        ws.set_column(j, j, w + 1)
    ws.freeze_panes(header_row + 1, 0)
    if len(out.columns):
        ws.autofilter(header_row, 0, header_row + max(n, 1), len(out.columns) - 1)


def table_bytes(df: pd.DataFrame, fmt: str, **kwargs) -> bytes:
    """Dispatch to the XLSX or CSV writer."""
    if fmt == "xlsx":
        return to_xlsx_bytes(df, **kwargs)
    if fmt == "csv":
        kwargs.pop("title", None)
        kwargs.pop("note", None)
        kwargs.pop("sheet", None)
        return to_csv_bytes(df, **kwargs)
    raise ValueError(f"fmt must be xlsx or csv, got {fmt!r}")


def figure_table(fig) -> pd.DataFrame:
    """The numbers behind a plotly figure as a long table (series, category, value), for "download data".

    Bars (either orientation), lines/points, funnels, pies and choropleths are read; other traces
    (maps of points, heatmaps) are skipped. Empty when nothing could be read.
    """
    rows = []
    for i, tr in enumerate(fig.data):
        kind = tr.type
        name = getattr(tr, "name", None) or (f"系列{i + 1}" if len(fig.data) > 1 else "")
        if kind in ("bar", "scatter", "funnel", "scattergl"):
            x, y = getattr(tr, "x", None), getattr(tr, "y", None)
            if x is None or y is None:
                continue
            horizontal = getattr(tr, "orientation", None) == "h" or kind == "funnel"
            cats, vals = (y, x) if horizontal else (x, y)
            rows += [(name, c, v) for c, v in zip(list(cats), list(vals), strict=False) if c is not None]
        elif kind == "pie":
            rows += [(name, c, v) for c, v in zip(list(tr.labels or []), list(tr.values or []), strict=False)]
        elif kind in ("choropleth", "choroplethmap", "choroplethmapbox"):
            labels = tr.text if tr.text is not None and not isinstance(tr.text, str) else tr.locations
            rows += [(name, c, v) for c, v in zip(list(labels or []), list(tr.z or []), strict=False)]
    df = pd.DataFrame(rows, columns=["系列", "类别", "数值"])
    if df["系列"].fillna("").eq("").all():
        df = df.drop(columns=["系列"])
    return df
