"""Screening results as files: one row per grouped item (rule, version, place, district, street, ticket count,
first and last date, ticket ids), in Chinese headers, as CSV (UTF-8 with BOM, opens in Excel) or XLSX."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from data.screening import places
from data.screening.rule import Rule

HEADERS = {"rule": "规则编号", "rule_name": "规则名称", "version": "版本", "place": "地点", "district": "区",
           "street": "街乡", "n": "工单数", "first": "首次受理", "last": "最近受理", "ticket_ids": "工单编号",
           "lon": "经度", "lat": "纬度"}


def grouped(rule: Rule, version: int | str, hits: pd.DataFrame) -> pd.DataFrame:
    """The hits of one rule as report rows (one per place)."""
    g = places.group(hits, rule.group_by)
    return pd.DataFrame({
        "rule": rule.key, "rule_name": rule.name, "version": version, "place": g["label"], "district": g["district"],
        "street": g["street"], "n": g["n"], "first": pd.to_datetime(g["first"]).dt.strftime("%Y-%m-%d"),
        "last": pd.to_datetime(g["last"]).dt.strftime("%Y-%m-%d"), "ticket_ids": g["ticket_ids"].map(" ".join),
        "lon": g["lon"].round(6), "lat": g["lat"].round(6)}, columns=list(HEADERS))


XLSX_CELL_MAX = 32_767   # Excel's limit of characters in one cell


def fit_ids(ids: str, limit: int = XLSX_CELL_MAX) -> str:
    """A cell of space-separated ticket ids that fits in `limit` characters: whole ids, then what was cut
    ("…（共 N 件，此格列出前 M 件；CSV 导出列出全部）"). A busy place at Beijing's density has thousands."""
    if len(ids) <= limit:
        return ids
    parts = ids.split(" ")
    note = f" …（共 {len(parts):,} 件，此格列出前 {{m:,}} 件；CSV 导出列出全部）"
    room = limit - len(note.format(m=len(parts)))
    kept, used = [], 0
    for x in parts:
        if used + len(x) + (1 if kept else 0) > room:
            break
        used += len(x) + (1 if kept else 0)
        kept.append(x)
    return " ".join(kept) + note.format(m=len(kept))


def to_bytes(rows: pd.DataFrame, fmt: str, sheet: str = "筛查结果") -> bytes:
    shown = rows.rename(columns=HEADERS)
    if fmt == "csv":
        return shown.to_csv(index=False).encode("utf-8-sig")
    if fmt != "xlsx":
        raise ValueError(f"unknown format {fmt!r}")
    if HEADERS["ticket_ids"] in shown.columns:   # Excel would cut the cell silently
        shown = shown.assign(**{HEADERS["ticket_ids"]: shown[HEADERS["ticket_ids"]].map(fit_ids)})
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter") as xw:
        shown.to_excel(xw, index=False, sheet_name=sheet)
        ws = xw.sheets[sheet]
        for i, col in enumerate(shown.columns):
            ws.set_column(i, i, 40 if col in ("地点", "工单编号") else 12)
        ws.freeze_panes(1, 0)
    return buf.getvalue()


def write(rows: pd.DataFrame, out: str | Path) -> Path:
    p = Path(out)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"输出文件应为 .csv 或 .xlsx：{p.name}")
    p.write_bytes(to_bytes(rows, fmt))
    return p
