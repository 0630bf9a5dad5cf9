"""Table export: CSV with BOM and XLSX, formula-safe, masked like the screen, Chinese headers."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from analytics import privacy, tables

RISKY = pd.DataFrame({
    "ticket_id": ["T01", "T02", "T03", "T04"],
    "content": ["=HYPERLINK(\"http://x\",\"点我\")", "+86 13812341234 打不通", "-1+2", "@SUM(A1:A9)"],
    "complainant_name": ["张三", "欧阳娜娜", "李四", None],
    "complainant_phone": ["13812341234", "010-12345678", "138****1234", None],
    "n": [3, -2, 0, 1],
})


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_has_bom_chinese_headers_and_masks(monkeypatch):
    data = tables.to_csv_bytes(RISKY)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = _csv_rows(data)
    assert rows[0] == ["工单编号", "诉求内容", "诉求人", "联系电话", "工单量"]
    assert [r[2] for r in rows[1:]] == ["张*", "欧阳**", "李*", ""]
    assert [r[3] for r in rows[1:]] == ["138****1234", "010-****5678", "138****1234", ""]
    assert b"13812341234" not in data
    assert rows[2][1] == "'+86 138****1234 打不通"


def test_csv_neutralises_formula_cells_but_not_numbers(monkeypatch):
    rows = _csv_rows(tables.to_csv_bytes(RISKY))
    contents = [r[1] for r in rows[1:]]
    assert contents[0] == "'=HYPERLINK(\"http://x\",\"点我\")"
    assert contents[2] == "'-1+2"
    assert contents[3] == "'@SUM(A1:A9)"
    assert all(c.startswith("'") for c in contents)
    assert [r[4] for r in rows[1:]] == ["3", "-2", "0", "1"]  # real numbers stay numbers


def test_masking_cannot_be_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("HOTLINE_MASK_PII", "0")   # the old switch: ignored now (roles decide, per ticket)
    rows = _csv_rows(tables.to_csv_bytes(RISKY))
    assert rows[1][2] == "张*" and rows[1][3] == "138****1234"


def test_xlsx_formula_like_cells_are_text(monkeypatch):
    data = tables.to_xlsx_bytes(RISKY, title="工单清单", note="2025-03-01 至 2025-03-31")
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws["A1"].value == "工单清单"
    assert ws["A2"].value == "2025-03-01 至 2025-03-31"
    header = 5  # title, note, source line, blank row, header
    assert [c.value for c in ws[header]] == ["工单编号", "诉求内容", "诉求人", "联系电话", "工单量"]
    cells = [ws.cell(row=header + i, column=2) for i in range(1, 5)]
    assert cells[0].value.startswith("=") and cells[0].data_type == "s"
    assert cells[2].value == "-1+2" and cells[2].data_type == "s"
    assert cells[3].value.startswith("@") and cells[3].data_type == "s"
    assert all(c.data_type == "s" for c in cells)
    nums = [ws.cell(row=header + i, column=5) for i in range(1, 5)]
    assert [c.value for c in nums] == [3, -2, 0, 1] and all(c.data_type == "n" for c in nums)
    assert ws.cell(row=header + 1, column=4).value == "138****1234"
    assert ws.cell(row=header + 2, column=3).value == "欧阳**"


def test_xlsx_without_title_starts_with_header():
    ws = openpyxl.load_workbook(io.BytesIO(tables.to_xlsx_bytes(RISKY[["ticket_id", "n"]]))).active
    assert [c.value for c in ws[1]] == ["工单编号", "工单量"]
    assert ws.max_row == 5


def test_masks_columns_already_labelled_in_chinese(monkeypatch):
    df = RISKY.rename(columns={"complainant_phone": "联系电话", "complainant_name": "诉求人"})
    rows = _csv_rows(tables.to_csv_bytes(df))
    assert rows[0][2:4] == ["诉求人", "联系电话"]
    assert rows[1][2:4] == ["张*", "138****1234"]


def test_same_masking_code_as_the_screen(monkeypatch):
    exported = tables.prepare(RISKY, labels=False)
    screen = privacy.mask_frame(RISKY)
    pd.testing.assert_series_equal(exported["complainant_name"], screen["complainant_name"])
    pd.testing.assert_series_equal(exported["content"], screen["content"])
    # the one difference: a value masked already on screen is not masked again
    assert exported["complainant_phone"].iloc[2] == "138****1234"


def test_tickets_of_tiny_db_export_masked(tiny_con, monkeypatch):
    sql = ("SELECT ticket_id, received_at, content, complainant_name, complainant_phone, resolved "
           "FROM tickets WHERE ticket_id IN ('T01', 'T07', 'T12') ORDER BY ticket_id")
    df = tiny_con.execute(sql).fetchdf()
    rows = _csv_rows(tables.to_csv_bytes(df))
    assert rows[0] == ["工单编号", "受理时间", "诉求内容", "诉求人", "联系电话", "是否解决"]
    t01, t07, t12 = rows[1:]
    assert t01[1] == "2025-03-03 09:15:00"
    assert "13812341234" not in t01[2] and "138****1234" in t01[2] and "张*" in t01[2]
    assert "110105********1234" in t07[2]
    assert t01[3:] == ["张*", "138****1234", "是"]
    assert t12[5] == ""  # NULL resolved
    ws = openpyxl.load_workbook(io.BytesIO(tables.to_xlsx_bytes(df))).active
    assert ws.max_row == 4 and ws["E2"].value == "138****1234"


def test_table_bytes_dispatch():
    assert tables.table_bytes(RISKY, "csv", title="x").startswith(b"\xef\xbb\xbf")
    assert tables.table_bytes(RISKY, "xlsx")[:2] == b"PK"
    with pytest.raises(ValueError):
        tables.table_bytes(RISKY, "ods")


def test_figure_table_reads_the_numbers_behind_charts():
    import plotly.graph_objects as go

    bar = go.Figure(go.Bar(x=[4, 3], y=["朝阳区", "东城区"], orientation="h"))
    assert tables.figure_table(bar).values.tolist() == [["朝阳区", 4], ["东城区", 3]]
    two = go.Figure([go.Scatter(x=["2025-03", "2025-04"], y=[12, 9], name="本期"),
                     go.Scatter(x=["2025-03"], y=[5], name="去年同期")])
    assert tables.figure_table(two).values.tolist() == [["本期", "2025-03", 12], ["本期", "2025-04", 9],
                                                        ["去年同期", "2025-03", 5]]
    funnel = go.Figure(go.Funnel(y=["工单", "线索"], x=[12, 5]))
    assert tables.figure_table(funnel).values.tolist() == [["工单", 12], ["线索", 5]]
    ws = openpyxl.load_workbook(io.BytesIO(tables.to_xlsx_bytes(tables.figure_table(bar)))).active
    assert [c.value for c in ws[1]] == ["类别", "数值"] and ws["B2"].value == 4
