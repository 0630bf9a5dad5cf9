"""Reading an Excel sheet into the staging table: bounded, and honest about formulas and merged cells.

An XLSX file is a zip of XML. A few megabytes can unpack to gigabytes (a zip
bomb: 5.4 MB made the importer read 3 million rows for six minutes at 6.7 GB),
so the sizes the archive declares are checked before anything is parsed
(`HOTLINE_IMPORT_MAX_XLSX_MB`; Python's zip reader never inflates a member past
its declared size), rows are counted as they are read and the sheet is refused
past `HOTLINE_IMPORT_MAX_ROWS`, and rows go to DuckDB in chunks, so the
importer's memory does not grow with the sheet.

openpyxl gives a formula cell's cached result (what Excel last computed) or,
for a file never opened in Excel, nothing; read-only mode does not give merged
ranges at all. Both would silently empty cells (tickets stored without text).
So one quick scan of the sheet's XML finds whether it has formulas and where
its merged ranges are: a sheet with formulas is read twice in step (values and
formulas), each formula cell takes its cached result and its row is flagged
(`xlsx_formula_cached`), or stays empty and is flagged (`xlsx_formula_no_value`);
a merged range below the header is filled with its top-left value, and the rows
are flagged (`xlsx_merged_filled`). The flags come back with the Excel row
numbers, for the import report.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import pyarrow as pa

CHUNK_ROWS = 50_000
TITLE_LINES = 3              # one-cell lines above the header taken as a title (a banner), not as the header
EXCEL_MAX_ROWS = 1_048_576   # rows of an Excel sheet, the header included
_ROW = re.compile(rb"<(?:\w+:)?row[\s>]")
_SCAN_BYTES = 1 << 20
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Za-z]+)(\d+):([A-Za-z]+)(\d+)"')
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}


class XlsxError(RuntimeError):
    """The workbook cannot or may not be read; the message is in Chinese."""


@dataclass
class Sheet:
    """What was read of one sheet: column names, rows loaded into `_src`, and flagged Excel rows."""

    names: list[str]
    rows: int
    flags: dict[str, list[int]] = field(default_factory=dict)


def check_archive(path: Path, max_bytes: int) -> None:
    """Refuse a workbook that is not a zip, or that would unpack to more than `max_bytes`, before parsing it."""
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise XlsxError(f"{path.name}：不是有效的 Excel（.xlsx）文件（{exc}）。") from exc
    if total > max_bytes:
        raise XlsxError(
            f"{path.name}：解压后有 {total / 2**20:,.0f} MB，超过导入上限 {max_bytes / 2**20:,.0f} MB"
            f"（设置 HOTLINE_IMPORT_MAX_XLSX_MB），未读取。请拆分文件，或另存为 CSV 后导入。")


def sheet_names(path: Path) -> list[str]:
    """The workbook's sheet names, from its workbook part alone (no sheet is parsed)."""
    try:
        with zipfile.ZipFile(path) as zf:
            wb = ET.fromstring(zf.read("xl/workbook.xml"))
    except (zipfile.BadZipFile, KeyError, ET.ParseError, OSError) as exc:
        raise XlsxError(f"{path.name}：不是有效的 Excel（.xlsx）文件（{exc}）。") from exc
    return [s.get("name") for s in wb.iterfind("m:sheets/m:sheet", _NS)]


def sheet_part(zf: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding `sheet`'s XML (from the workbook and its relationships), or None."""
    try:
        wb = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError):
        return None
    targets = {r.get("Id"): r.get("Target") for r in rels.findall("p:Relationship", _NS)}
    for s in wb.iterfind("m:sheets/m:sheet", _NS):
        if s.get("name") == sheet:
            target = targets.get(s.get(f"{{{_NS['r']}}}id"))
            if not target:
                return None
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    return None


@dataclass
class Scan:
    """What a quick pass over a sheet's XML tells before it is parsed."""

    rows: int | None                          # <row> elements (None: the sheet was not found)
    formulas: bool
    merges: list[tuple[int, int, int, int]]   # 1-based (row1, col1, row2, col2)


def scan(zf: zipfile.ZipFile, part: str | None) -> Scan:
    """Rows, formulas and merged ranges of a sheet, from its XML streamed once (no parsing)."""
    if part is None:
        return Scan(None, True, [])   # unknown layout: read in step, to be safe
    rows, has_f, merges, tail = 0, False, [], b""
    with zf.open(part) as fh:
        while chunk := fh.read(_SCAN_BYTES):
            buf = tail + chunk
            # every match is counted once: matches lying wholly in the carried-over tail were counted before
            skip = len(tail)
            rows += sum(1 for m in _ROW.finditer(buf) if m.end() > skip)
            has_f = has_f or bool(_FORMULA.search(buf))
            merges += [(int(m.group(2)), _col(m.group(1)), int(m.group(4)), _col(m.group(3)))
                       for m in _MERGE.finditer(buf) if m.end() > skip]
            tail = buf[-512:]
    return Scan(rows, has_f, sorted(set(merges)))


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def read_sheet(con, path: Path, sheet: str, *, limit: int | None, max_rows: int, cell) -> Sheet:
    """Load `sheet` into the temp table `_src` (all text), `cell(v)` turning each value into text.

    The first non-empty row is the header; blank rows are skipped. Refuses past `max_rows` data rows.
    """
    import openpyxl

    max_rows = min(max_rows, EXCEL_MAX_ROWS - 1)
    with zipfile.ZipFile(path) as zf:
        found = scan(zf, sheet_part(zf, sheet))
    if limit is None and found.rows is not None and found.rows - 1 > max_rows:
        raise XlsxError(f"{path.name}［{sheet}］：有 {found.rows - 1:,} 行数据，超过 {max_rows:,} 行的导入上限"
                        "（设置 HOTLINE_IMPORT_MAX_ROWS；Excel 工作表最多 1,048,575 行），未读取。请拆分文件后分批导入。")
    merges = found.merges
    wb_v = openpyxl.load_workbook(path, read_only=True, data_only=True)
    wb_f = openpyxl.load_workbook(path, read_only=True, data_only=False) if found.formulas else None
    try:
        if sheet not in wb_v.sheetnames:
            raise XlsxError(f"{path.name}：没有名为“{sheet}”的工作表；现有：{'、'.join(wb_v.sheetnames)}")
        return _load(con, path, _rows(wb_v, wb_f, sheet), merges, limit=limit, max_rows=max_rows, cell=cell)
    finally:
        wb_v.close()
        if wb_f is not None:
            wb_f.close()


def _rows(wb_v, wb_f, sheet: str) -> Iterator[tuple[int, list, set[int]]]:
    """(Excel row number, values, 0-based columns holding a formula) for every row of the sheet."""
    ws_v = wb_v[sheet]
    ws_v.reset_dimensions()   # a wrong <dimension> in the file must not cut the sheet short
    if wb_f is None:
        for i, row in enumerate(ws_v.iter_rows(min_row=1, values_only=True), start=1):
            yield i, list(row), set()
        return
    ws_f = wb_f[sheet]
    ws_f.reset_dimensions()
    f_rows = ws_f.iter_rows(min_row=1)
    for i, row in enumerate(ws_v.iter_rows(min_row=1, values_only=True), start=1):
        f_row = next(f_rows, ())
        yield i, list(row), {j for j, c in enumerate(f_row) if getattr(c, "data_type", None) == "f"}


def _load(con, path: Path, rows: Iterator[tuple[int, list, set[int]]], merges, *, limit, max_rows, cell) -> Sheet:
    header = None
    header_row = 0
    banner: list[tuple[int, list, set[int]]] = []   # one-cell lines above the header ("XX信访件导出（2026年）")
    for i, values, f in rows:
        filled = sum(1 for v in values if v is not None and str(v).strip())
        if not filled:
            continue
        if filled == 1 and len(banner) <= TITLE_LINES:
            banner.append((i, values, f))
            if len(banner) <= TITLE_LINES:
                continue
            break          # more one-cell lines than a banner has: a one-column sheet
        header, header_row = values, i
        break
    if banner and (header is None or len(banner) > TITLE_LINES):
        # one-cell lines only: a one-column sheet, its first line is the header (as without a banner)
        (header_row, header, _f), rows = banner[0], itertools.chain(banner[1:], rows)
        banner = []
    titles = [b[0] for b in banner]
    if header is None:
        con.execute("DROP TABLE IF EXISTS _src")
        return Sheet([], 0)
    names = unique_names([cell(h) or "" for h in header])
    width = len(names)
    # merged ranges of the data area, by first row; a range is filled from its top-left value
    pending = sorted(m for m in merges if m[0] > header_row)
    active: list[list] = []   # [row2, col1, col2, value]
    flags: dict[str, list[int]] = {"xlsx_title_rows": titles} if banner else {}
    cols: list[list] = [[] for _ in names]
    n = 0
    first = True
    for i, values, formulas in rows:
        while pending and pending[0][0] <= i:
            r1, c1, r2, c2 = pending.pop(0)
            top = values[c1 - 1] if r1 == i and c1 - 1 < len(values) else None
            active.append([r2, c1, c2, top])
        active = [a for a in active if a[0] >= i]
        if not any(v is not None for v in values):
            continue  # blank lines between data in hand-made sheets
        if limit is not None and n >= limit:
            break
        n += 1
        if n > max_rows:
            raise XlsxError(f"{path.name}：数据超过 {max_rows:,} 行的导入上限（设置 HOTLINE_IMPORT_MAX_ROWS），"
                            "未导入。请拆分文件后分批导入。")
        for j in formulas:
            if j < width:
                key = "xlsx_formula_no_value" if values[j] is None else "xlsx_formula_cached"
                _flag(flags, key, i)
        for _r2, c1, c2, top in active:
            for j in range(c1 - 1, min(c2, width)):
                if j < len(values) and values[j] is None and top is not None:
                    values[j] = top
                    _flag(flags, "xlsx_merged_filled", i)
                elif j >= len(values) and top is not None:
                    values.extend([None] * (j + 1 - len(values)))
                    values[j] = top
                    _flag(flags, "xlsx_merged_filled", i)
        for j in range(width):
            cols[j].append(cell(values[j]) if j < len(values) else None)
        if len(cols[0]) >= CHUNK_ROWS:
            _append(con, names, cols, first)
            first = False
            cols = [[] for _ in names]
    if cols[0] or first:
        _append(con, names, cols, first)
    return Sheet(names, n, flags)


def _flag(flags: dict[str, list[int]], key: str, row: int) -> None:
    rows = flags.setdefault(key, [])
    if not rows or rows[-1] != row:
        rows.append(row)


def _append(con, names: list[str], cols: list[list], first: bool) -> None:
    table = pa.table({name: pa.array(col, type=pa.string()) for name, col in zip(names, cols, strict=True)})
    con.register("_xlsx_arrow", table)
    try:
        sql = ("CREATE OR REPLACE TEMP TABLE _src AS SELECT * FROM _xlsx_arrow" if first
               else "INSERT INTO _src SELECT * FROM _xlsx_arrow")
        con.execute(sql)
    finally:
        con.unregister("_xlsx_arrow")


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(names):
        n = n.strip() or f"column{i}"
        if n in seen:
            seen[n] += 1
            n = f"{n}_{seen[n]}"
        else:
            seen[n] = 0
        out.append(n)
    return out
