"""12309 letters: import with its own mapping (every row accounted for), versions on re-import, the Bengbu
compliance figures exact on a hand-made file (tests/data/letters/letters_12309.csv), a letter becoming a clue.

Judged on Tue Jul 1 2025. Reply due 7 days after receipt, result 90 days, a last day on a weekend moves to
Monday (data/ledger/deadlines.py):
  L01 Mon Mar 3: reply due Mar 10, Mar 7 on time; result due Jun 1 (Sun) -> Jun 2, May 20 on time.
  L02 Fri Mar 7: reply due Fri Mar 14, Mar 17 late; result due Thu Jun 5, Jun 5 on time.
  L03 Sat Mar 8: reply due Sat Mar 15 -> Mon Mar 17, Mar 17 on time; result due Fri Jun 6, none: overdue.
  L04 Mon Mar 10: no reply (due Mar 17): overdue; result due Sun Jun 8 -> Jun 9, none: overdue.
  L05 Sat Jun 28: reply due Sat Jul 5 -> Mon Jul 7: not yet due; result not yet due.
  L06 Fri Jun 27: reply due Fri Jul 4: due soon (not yet due); result not yet due.
  L10 Tue Apr 1 (written 2025年4月1日): reply Apr 3 on time; result due Mon Jun 30, Jul 1 late.
  Reply: 3 on time, 1 late, 1 overdue, 2 not due -> 60%. Result: 2 on time, 1 late, 2 overdue, 2 not due -> 40%.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from data import audit, ledger, records
from data.ledger import letters
from data.people import Principal
from data.scope import Scope

FILE = Path(__file__).parent / "data" / "letters" / "letters_12309.csv"
TODAY = date(2025, 7, 1)
ADMIN = Principal("li", "clue_admin", (), "李四")


@pytest.fixture()
def rec(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(tmp_path / "letters.duckdb"))
    monkeypatch.setattr(records, "now", lambda: datetime(2025, 7, 1, 9, 0))
    with records.session() as con:
        yield con


def test_import_accounts_for_every_row(rec):
    res = letters.import_file(rec, ADMIN, FILE)
    assert res.ok, res.message
    assert (res.rows_read, res.inserted, res.updated, res.unchanged, res.quarantined) == (11, 7, 0, 0, 4)
    assert res.reasons == {"bad_time": 1, "missing_id": 1, "duplicate_in_file": 1, "missing_channel": 1}
    q = rec.execute("SELECT row_number, reason FROM letter_quarantine ORDER BY row_number").fetchall()
    assert [tuple(r) for r in q] == [(7, "bad_time"), (8, "missing_id"), (9, "duplicate_in_file"), (10, "missing_channel")]
    df = letters.current(rec, Scope(), today=TODAY).set_index("letter_id")
    assert df.loc["L01", "district"] == "朝阳区"          # 北京市朝阳区人民检察院
    assert df.loc["L03", "channel"] == "电话" and df.loc["L04", "channel"] == "网络"
    assert df.loc["L10", "received_at"] == "2025-04-01 00:00:00"
    assert audit.search(rec, action="import")["target"].tolist() == ["letters_12309.csv"]


def test_compliance_exact(rec):
    letters.import_file(rec, ADMIN, FILE)
    df = letters.current(rec, Scope(), today=TODAY).set_index("letter_id")
    assert df["reply_state"].to_dict() == {"L01": "on_time", "L02": "late", "L03": "on_time", "L04": "overdue",
                                           "L05": "pending", "L06": "due_soon", "L10": "on_time"}
    assert df["result_state"].to_dict() == {"L01": "on_time", "L02": "on_time", "L03": "overdue", "L04": "overdue",
                                            "L05": "pending", "L06": "pending", "L10": "late"}
    assert df.loc["L03", "reply_due"] == date(2025, 3, 17) and df.loc["L04", "result_due"] == date(2025, 6, 9)
    c = letters.compliance(df.reset_index()).set_index("key")
    assert c.loc["reply", ["letters", "on_time", "late", "overdue", "pending"]].tolist() == [7, 3, 1, 1, 2]
    assert c.loc["reply", "compliance"] == pytest.approx(0.6)
    assert c.loc["result", ["on_time", "late", "overdue", "pending"]].tolist() == [2, 1, 2, 2]
    assert c.loc["result", "compliance"] == pytest.approx(0.4)
    # One district (朝阳区: L01, L02): both replies due, one on time.
    cy = letters.compliance(letters.current(rec, Scope(("朝阳区",)), today=TODAY)).set_index("key")
    assert cy.loc["reply", ["letters", "on_time", "late"]].tolist() == [2, 1, 1]
    # The monthly report's section: March 2025 (L01-L04 received; replies due Mar 10, 14, 17, 17).
    m = letters.month_figures(rec, Scope(), "2025-03", today=TODAY).set_index("项目")["数值"].to_dict()
    assert m["收到信访（合计）"] == 4 and m["收到信访（来信）"] == 1 and m["收到信访（网络）"] == 1
    assert (m["程序性回复：本月到期"], m["程序性回复：按期"], m["程序性回复：按期率"]) == (4, 2, 0.5)
    assert (m["程序性回复：超期办结"], m["程序性回复：逾期未办"]) == (1, 1)
    # Results of March's letters fall due from Jun 2: nothing due in March, so no rate, and the reason says so.
    mf = letters.month_figures(rec, Scope(), "2025-03", today=TODAY).set_index("项目")
    assert mf.loc["办理结果答复：本月到期", "数值"] == 0 and mf.loc["办理结果答复：按期率", "数值"] is None
    assert mf.loc["办理结果答复：按期率", "说明"] == "本月没有到期的信访件，不计算按期率"
    # A district outside the caller's scope gives nothing (not the other district's letters).
    other = letters.month_figures(rec, Scope(("朝阳区",)), "2025-03", district="平谷区", today=TODAY)
    assert other.set_index("项目").loc["收到信访（合计）", "数值"] == 0


def test_reimport_adds_versions_never_overwrites(rec, tmp_path, monkeypatch):
    letters.import_file(rec, ADMIN, FILE)
    text = FILE.read_text(encoding="utf-8").replace(
        "L04,2025-03-10 14:00,网上信访,兴谷市场销售假冒商品,举报,平谷区,孙七,13500004444,,,",
        "L04,2025-03-10 14:00,网上信访,兴谷市场销售假冒商品,举报,平谷区,孙七,13500004444,2025-03-20 09:00,,")
    again = tmp_path / "again.csv"
    again.write_bytes(text.encode("gb18030"))          # the same export, saved as GBK
    res = letters.import_file(rec, ADMIN, again)
    assert (res.rows_read, res.inserted, res.updated, res.unchanged, res.quarantined) == (11, 0, 1, 6, 4)
    versions = rec.execute("SELECT version, replied_at FROM letters WHERE letter_id = 'L04' ORDER BY version").fetchall()
    assert [tuple(v) for v in versions] == [(1, None), (2, "2025-03-20 09:00:00")]
    df = letters.current(rec, Scope(), today=TODAY).set_index("letter_id")
    assert df.loc["L04", "reply_state"] == "late"
    import sqlite3
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        rec.execute("UPDATE letters SET replied_at = NULL")


def test_a_district_users_import_and_view(rec):
    pinggu = Principal("zhou", "clue_admin", ("平谷区",), "周")
    res = letters.import_file(rec, pinggu, FILE, scope=pinggu.scope)
    assert (res.inserted, res.reasons.get("other_district")) == (2, 6)   # L01 twice, L02, L03, L05, L10
    assert letters.current(rec, Scope(("平谷区",)))["letter_id"].tolist() == ["L04", "L06"]
    assert letters.get(rec, "L04", Scope(("朝阳区",))) is None


def test_a_bad_file_is_refused_with_a_clear_message(rec, tmp_path):
    f = tmp_path / "wrong.csv"
    f.write_text("编号,日期\n1,2025-01-01\n", encoding="utf-8")
    res = letters.import_file(rec, ADMIN, f)
    assert not res.ok and "缺少必需的列" in res.message and "收到时间" in res.message
    assert rec.execute("SELECT status FROM letter_imports").fetchone()[0] == "failed"


def test_a_letter_becomes_a_clue(rec):
    letters.import_file(rec, ADMIN, FILE)
    clue = ledger.register_clue(rec, ADMIN, source="12309", source_ref={"letter_id": "L04"}, district="平谷区",
                                function="刑事", summary="兴谷市场销售假冒商品（12309来信）", ticket_ids=[])
    assert letters.clue_of(rec, ["L04", "L01"]) == {"L04": clue.clue_no}
    df = letters.current(rec, Scope(), today=TODAY).set_index("letter_id")
    assert df.loc["L04", "clue_no"] == clue.clue_no and pd.isna(df.loc["L01", "clue_no"])


def test_replies_recorded_in_the_app(rec):
    letters.add_letter(rec, ADMIN, letter_id="A001", received_at=datetime(2025, 6, 20, 10, 0), channel="来访",
                       district="朝阳区", matter="窗口接待的来访")
    with pytest.raises(ledger.LedgerError, match="已存在"):
        letters.add_letter(rec, ADMIN, letter_id="A001", received_at=datetime(2025, 6, 20), channel="来访",
                           district="朝阳区", matter="x")
    cur = letters.record_reply(rec, ADMIN, "A001", replied_at=datetime(2025, 6, 24, 9, 0))
    assert cur["version"] == 2 and cur["replied_at"] == "2025-06-24 09:00:00"
    press = Principal("p", "prosecutor")
    with pytest.raises(ledger.LedgerError, match="无权"):
        letters.record_reply(rec, press, "A001", result_at=datetime(2025, 6, 30))


def test_the_reports_12309_sheet_shows_a_dash_with_its_reason(rec):
    """The monthly report's 12309 sheet: counts as numbers, the March reply rate as a percentage, and for the
    results (none due in March) a dash with the reason beside it, never 0%."""
    import io

    import openpyxl

    from analytics import ledger_render, ledger_report

    letters.import_file(rec, ADMIN, FILE)
    table = letters.month_figures(rec, Scope(), "2025-03", today=TODAY)
    r = ledger_report.Report(month="2025-03", district=None, as_of=date(2025, 3, 31), headline={},
                             sections=[ledger_report.Section("letters", "12309信访", table)])
    wb = openpyxl.load_workbook(io.BytesIO(ledger_render.report_xlsx(r)))
    rows = {row[0]: row[1:] for row in wb["12309信访"].iter_rows(values_only=True) if row[0]}
    assert rows["收到信访（合计）"][0] == 4
    assert rows["程序性回复：按期率"][0] == pytest.approx(0.5)
    assert rows["办理结果答复：按期率"][:2] == ("—", "本月没有到期的信访件，不计算按期率")
    cell = next(c for row in wb["12309信访"].iter_rows() for c in row if c.value == rows["程序性回复：按期率"][0])
    assert cell.number_format == "0.0%"
    html = ledger_render._html_table(table)
    assert "50.0%" in html and "本月没有到期的信访件" in html and "None" not in html and "nan" not in html


# ---------------------------------------------------------------- issue 22 items 3 and 6 for the 12309 import
LHEAD = ["信访编号", "收到时间", "信访形式", "信访事项", "受理单位"]


def test_a_zip_bomb_letters_workbook_is_refused_before_it_is_parsed(rec, tmp_path, monkeypatch):
    import openpyxl

    from tests.test_import_hostile import raw_xlsx

    bomb = raw_xlsx(tmp_path / "bomb.xlsx", [LHEAD, ["B1", "2025-03-03 09:00", "来信", "炸弹", "朝阳区"]],
                    repeat=600_000)
    assert bomb.stat().st_size < 2 * 2**20

    def refuse(*_a, **_k):
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)
    monkeypatch.setenv("HOTLINE_IMPORT_MAX_XLSX_MB", "20")
    res = letters.import_file(rec, ADMIN, bomb)
    assert not res.ok and "解压后有" in res.message and "HOTLINE_IMPORT_MAX_XLSX_MB" in res.message
    # room to unpack: the rows, counted in the XML without parsing, are past the letters' own limit
    monkeypatch.setenv("HOTLINE_IMPORT_MAX_XLSX_MB", "1024")
    res = letters.import_file(rec, ADMIN, bomb)
    assert not res.ok and "600,001 行数据" in res.message
    assert rec.execute("SELECT count(*) FROM letters").fetchone()[0] == 0


def test_letters_xlsx_formulas_and_merged_cells_are_read_and_flagged(rec, tmp_path):
    from tests.test_import_hostile import raw_xlsx

    rows = [LHEAD,
            ["X1", "2025-03-03 09:00", "来信", ('"河道"&"排污"', "河道排污"), "朝阳区"],   # cached value: kept
            ["X2", "2025-03-04 09:00", "来访", ('"无"&"缓存"', None), None],              # never calculated
            ["X3", "2025-03-05 09:00", "来信", "占道经营", None]]
    f = raw_xlsx(tmp_path / "letters.xlsx", rows, merges=["E2:E4"])   # one district written for three letters
    res = letters.import_file(rec, ADMIN, f)
    assert res.ok and res.rows_read == 3 and res.inserted == 3 and res.quarantined == 0
    assert res.flags == {"xlsx_formula_cached": [2], "xlsx_formula_no_value": [3], "xlsx_merged_filled": [3, 4]}
    got = {r["letter_id"]: (r["matter"], r["district"])
           for r in rec.execute("SELECT letter_id, matter, district FROM letters").fetchall()}
    assert got == {"X1": ("河道排污", "朝阳区"), "X2": ("", "朝阳区"), "X3": ("占道经营", "朝阳区")}
    lines = letters.flag_lines(res.flags)
    assert any("没有计算结果" in line and "Excel 第 3 行" in line for line in lines)
    assert any("合并单元格" in line and "第 3、4 行" in line for line in lines)
    stored = rec.execute("SELECT message FROM letter_imports WHERE import_id = ?", (res.import_id,)).fetchone()[0]
    assert "没有计算结果" in stored and "合并单元格" in stored


def test_a_folder_given_as_a_letters_file_is_explained(rec, tmp_path):
    res = letters.import_file(rec, ADMIN, tmp_path)
    assert not res.ok and "是文件夹" in res.message


def test_an_export_with_a_title_line_above_the_header(rec, tmp_path):
    """The centre's XLSX export as it comes: a one-cell banner above the header, real Excel dates, the phone
    channel written 12309热线; and the same as a GBK CSV. The banner is neither header nor data."""
    import openpyxl

    rows = [r.split(",") for r in FILE.read_text(encoding="utf-8").splitlines() if r.strip()]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["12309检察服务中心信访件导出（2025年3月-7月）"])
    ws.append([])
    for r in rows:
        ws.append(r)
    x = tmp_path / "export.xlsx"
    wb.save(x)
    res = letters.import_file(rec, ADMIN, x)
    assert res.ok, res.message
    assert (res.rows_read, res.inserted, res.quarantined) == (11, 7, 4)
    assert res.flags == {"xlsx_title_rows": [1]}
    c = tmp_path / "export.csv"
    c.write_bytes(("12309检察服务中心信访件导出\n" + FILE.read_text(encoding="utf-8")).encode("gb18030"))
    res = letters.import_file(rec, ADMIN, c)
    assert res.ok and (res.rows_read, res.unchanged, res.quarantined) == (11, 7, 4), res.message
    assert "表头在第 2 行，其上 1 行为标题" in res.message


def test_a_one_column_sheet_keeps_its_first_line_as_the_header(tmp_path):
    """Only one-cell lines (a list of ids): no banner is taken off, the first line stays the header."""
    import duckdb
    import openpyxl

    from data.ingest import xlsx

    for n in (2, 6):
        wb = openpyxl.Workbook()
        for v in ["工单编号", *[f"T{i:02d}" for i in range(1, n + 1)]]:
            wb.active.append([v])
        p = tmp_path / f"ids{n}.xlsx"
        wb.save(p)
        con = duckdb.connect()
        got = xlsx.read_sheet(con, p, wb.active.title, limit=None, max_rows=100, cell=lambda v: v)
        assert got.names == ["工单编号"] and got.rows == n and got.flags == {}
        assert con.execute("SELECT count(*) FROM _src").fetchone()[0] == n
