"""Showing figures and tables on a page: the one place pages go through.

Pages call `chart()` and `table()` instead of st.plotly_chart/st.dataframe so
that selection (drill-down) and download buttons behave the same everywhere.
Under every chart: PNG / SVG / PDF in the house style (analytics.export);
under every table: XLSX / CSV, masked and formula-safe (analytics.tables).
The bytes are produced only when a button is clicked (st.download_button with
a callable, run by Streamlit outside the script run), and cached per figure,
so drawing a page costs nothing extra.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics import export, tables
from ui import auth

# What an empty cell shows in every table (Streamlit would print "None").
EMPTY = "—"

_TAG_RE = re.compile(r"<[^>]+>")


def _title_parts(fig: go.Figure) -> tuple[str, str]:
    """(title, subtitle) read back from a figure styled with theme.style()."""
    text = (fig.layout.title.text or "") if fig.layout.title else ""
    head, _, rest = text.partition("<br>")
    return _TAG_RE.sub("", head).strip(), _TAG_RE.sub("", rest).strip()


def _export_texts(fig: go.Figure, title: str, filters) -> tuple[str, str]:
    fig_title, fig_sub = _title_parts(fig)
    name = title or fig_title or "图表"
    desc = filters.describe() if filters is not None else ""
    sub = "；".join(s for s in (fig_sub, desc if desc not in fig_sub else "") if s)
    return name, sub


@functools.lru_cache(maxsize=48)
def _figure_export(fig_json: str, fmt: str, title: str, subtitle: str) -> bytes:
    fig = go.Figure(json.loads(fig_json))
    return export.export_figure(fig, fmt, title, subtitle=subtitle)


def _chart_bytes(fig: go.Figure, fmt: str, title: str, subtitle: str) -> bytes:
    """Run on click: serialise the figure then (cached per figure JSON) decorate and render it."""
    return _figure_export(fig.to_json(), fmt, title, subtitle)


def _current_filters():
    try:
        from ui import filters as ui_filters

        return ui_filters.current()
    except Exception:  # outside a full app run (tests of a single page)
        return None


def _export_problem() -> str | None:
    """A Chinese reason why image export cannot work here, or None."""
    try:
        export.check_fonts()
        export.chromium_path()
    except export.ExportError as exc:
        return str(exc)
    return None


def _chart_data(fig: go.Figure, data: pd.DataFrame | None, title: str, note: str) -> bytes:
    frame = data if data is not None else tables.figure_table(fig)
    return tables.to_xlsx_bytes(frame, title=title, note=note or None)


def chart_downloads(fig: go.Figure, *, key: str, title: str = "", filters=None, export_name: str | None = None,
                    data: pd.DataFrame | None = None):
    """PNG/SVG/PDF buttons for a figure, plus its numbers as XLSX; bytes are made on click.

    `data` is the table behind the chart (default: read back from the figure's traces).
    """
    problem = _export_problem()
    if problem:
        st.caption(f"图表下载不可用：{problem}")
        return
    if filters is None:
        filters = _current_filters()
    name, sub = _export_texts(fig, title, filters)
    base = export_name or name
    row = st.container(horizontal=True, gap="small")
    for fmt in export.FORMATS:
        row.download_button(
            f"⬇ {fmt.upper()}",
            data=_audited(export.safe_filename(base, fmt), filters, functools.partial(_chart_bytes, fig, fmt, name, sub)),
            file_name=export.safe_filename(base, fmt), mime=export.MIME[fmt], key=f"{key}__dl_{fmt}",
            on_click="ignore", type="tertiary", help=f"下载图表（{fmt.upper()}，含标题、筛选条件、数据来源和导出日期）")
    note = filters.describe() if filters is not None else sub
    row.download_button(
        "⬇ 数据", data=_audited(export.safe_filename(base, "xlsx"), filters,
                                 functools.partial(_chart_data, fig, data, name, note)),
        file_name=export.safe_filename(base, "xlsx"), mime=tables.XLSX_MIME, key=f"{key}__dl_data",
        on_click="ignore", type="tertiary", help="下载图表背后的数字（XLSX）")


def chart(fig: go.Figure, *, key: str, title: str = "", select: bool = False, height: int | None = None,
          filters=None, export_name: str | None = None, downloads: bool = True, data: pd.DataFrame | None = None):
    """Draw a plotly figure with download buttons under it.

    With select=True, return the selection event (points clicked), else None.
    `filters` (default: the sidebar selection) goes into the export subtitle;
    `export_name` names the file (default: the title); `data` is the table offered as "⬇ 数据"
    (default: the numbers read back from the figure).
    """
    if height:
        fig.update_layout(height=height)
    event = None
    if select:
        event = st.plotly_chart(fig, key=key, on_select="rerun", selection_mode=("points",),
                                config={"displaylogo": False})
    else:
        st.plotly_chart(fig, key=key, config={"displaylogo": False})
    if downloads:
        chart_downloads(fig, key=key, title=title, filters=filters, export_name=export_name, data=data)
    return event


def _table_export(df: pd.DataFrame | Callable[[], pd.DataFrame], fmt: str, title: str, note: str) -> bytes:
    data = df() if callable(df) else df
    return tables.table_bytes(data, fmt, title=title or None, note=note or None)


def table_downloads(df: pd.DataFrame, *, key: str, title: str = "", filters=None, export_name: str | None = None,
                    export_data: Callable[[], pd.DataFrame] | None = None):
    """XLSX/CSV buttons for a table; files are built on click, masked and formula-safe."""
    if filters is None:
        filters = _current_filters()
    note = filters.describe() if filters is not None else ""
    source = export_data if export_data is not None else df
    base = export_name or title or "表格"
    row = st.container(horizontal=True, gap="small")
    for fmt, mime in (("xlsx", tables.XLSX_MIME), ("csv", tables.CSV_MIME)):
        row.download_button(
            f"⬇ {fmt.upper()}", data=_audited(export.safe_filename(base, fmt), filters,
                                             functools.partial(_table_export, source, fmt, title or base, note)),
            file_name=export.safe_filename(base, fmt), mime=mime, key=f"{key}__dl_{fmt}", on_click="ignore",
            type="tertiary", help=f"下载表格（{fmt.upper()}，个人信息已按屏幕显示规则脱敏）")


def _audited(file_name: str, filters, make):
    """The download's bytes, recorded in the audit trail (who, file, filters) when they are made on click."""
    p = auth.principal()
    if p is None:   # no signed-in user (a page run outside the app): nothing to attribute
        return make
    return auth.audited(p, "download", file_name,
                        {"filters": filters.to_query() if hasattr(filters, "to_query") else {}}, make)


def table(df: pd.DataFrame, *, key: str, title: str = "", select: bool = False, height: int | str = "auto",
          column_config: dict | None = None, hide_index: bool = True, filters=None,
          export_name: str | None = None, export_data: Callable[[], pd.DataFrame] | None = None,
          downloads: bool = True):
    """Draw a table with XLSX/CSV download buttons under it.

    With select=True (single row), return the selected row positions, else None.
    `export_data`, if given, is called on click to fetch the full table (e.g. all
    pages of a paged list); it runs outside the script thread, so it must open its
    own cursor. Otherwise the frame shown is exported.
    """
    result = None
    if select:
        event = st.dataframe(df, key=key, on_select="rerun", selection_mode="single-row", height=height,
                             column_config=column_config, hide_index=hide_index, placeholder=EMPTY)
        result = list(event.selection.rows) if event and event.selection else []
    else:
        st.dataframe(df, key=key, height=height, column_config=column_config, hide_index=hide_index,
                     placeholder=EMPTY)
    if downloads:
        table_downloads(df, key=key, title=title, filters=filters, export_name=export_name,
                        export_data=export_data)
    return result
