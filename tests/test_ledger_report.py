"""The monthly clue report: its numbers equal the ledger's, exact on the hand-checked store; its XLSX and PDF
are opened and read back.

The store is tests/test_ledger_funnel.py's (the tiny store's five imported clues, three registered in the app
on Wed Mar 26 2025, two imported ones acted on). March 2025, report day Mar 31.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

from analytics import ledger_render, ledger_report
from data import ledger, records, scope
from data.ledger import overlay
from tests.test_ledger_funnel import stores  # noqa: F401  (the fixture)
from tests.test_links import open_ro

MARCH = "2025-03"


@pytest.fixture(scope="module")
def report(stores):  # noqa: F811
    path = stores["current"][0]
    con = open_ro(path)
    cur = scope.scoped_cursor(con, scope.CITY, ledger=True)
    with records.session(path) as rc:
        overlay.sync(cur, overlay.frames(con.cursor(), rc))
        r = ledger_report.build(cur, MARCH, today=date(2025, 7, 1), rule_names={("7", "3"): "污水直排（第3版）"})
        clues = [ledger.get_clue(rc, no, scope.CITY, store=con, today=date(2025, 3, 31))
                 for no in ("C01", "C02", "C03", "C04", "C05", "X-2025-000001", "X-2025-000002", "X-2025-000003")]
    con.close()
    return r, clues


def _in_march(t) -> bool:
    return t is not None and datetime(2025, 3, 1) <= t < datetime(2025, 4, 1)


def test_headline_equals_the_ledger(report):
    r, clues = report
    h = r.headline
    # From the ledger itself (data/ledger, clue by clue).
    decided = [c for c in clues if "decide" in c.stages and _in_march(c.stages["decide"].at)]
    filed = [c for c in decided if c.outcome == "file"]
    assert h["registered"] == sum(_in_march(c.stages["register"].at) for c in clues) == 8
    assert h["registered_app"] == 3
    assert (h["decided"], h["filed"], h["not_filed"], h["transferred"]) == (len(decided), len(filed), 2, 0) == (6, 4, 2, 0)
    assert h["case_rate"] == pytest.approx(4 / 6)
    assert h["self_found"] == 1.0            # C01, C02, C04 (12345热线) and X-1 (a screening rule)
    assert h["suggested"] == sum("suggest" in c.stages and _in_march(c.stages["suggest"].at) for c in clues) == 3
    assert (h["replied"], h["rectified"], h["followed_up"], h["closed"]) == (1, 1, 0, 0)
    assert h["open"] == 8
    # On Mar 31 nothing is overdue: X-2's review is due Wed Apr 2, X-3's notice Mon Mar 31 (today).
    assert h["overdue_now"] == sum(c.next_due is not None and c.next_due.state == "overdue" for c in clues) == 0
    assert r.as_of == date(2025, 3, 31) and r.title == "全市2025年3月线索月报"


def test_sections(report):
    r, _clues = report
    src = r.section("source").table.set_index("线索来源")
    assert src.loc["12345热线", ["登记", "作出决定", "立案"]].tolist() == [5, 4, 3]
    assert src.loc["筛查规则", ["登记", "作出决定", "立案"]].tolist() == [1, 1, 1]
    assert src.loc["联络点", ["登记", "作出决定", "立案"]].tolist() == [1, 1, 0]
    assert src.loc["合计", ["登记", "作出决定", "立案"]].tolist() == [8, 6, 4]
    assert src.loc["合计", "成案率"] == pytest.approx(4 / 6)
    res = r.section("result").table.set_index("审查结果")["线索数"].to_dict()
    assert res == {"立案": 4, "不立案": 2, "移送": 0, "合计": 6}
    dl = r.section("deadlines").table.set_index("期限")
    # Review: C01 (due Mon Mar 17) on time, C02 (due Fri Mar 21, Mar 30) late, C03 and C04 (due Thu Mar 27) on time.
    assert dl.loc["线索审查决定", ["到期件数", "按期", "超期办结", "逾期未办"]].tolist() == [4, 3, 1, 0]
    assert dl.loc["线索审查决定", "按期率"] == pytest.approx(0.75)
    # C01's urgent reply: suggested Sat Mar 15, due Sun Mar 30 -> Mon Mar 31, replied Mar 28.
    assert dl.loc["紧急检察建议回复", ["到期件数", "按期"]].tolist() == [1, 1]
    # X-3's notice (liaison point, not filed Fri Mar 28) is due Mon Mar 31, not yet given: not yet due on Mar 31.
    assert dl.loc["书面告知", ["到期件数", "未到期"]].tolist() == [1, 1] and pd.isna(dl.loc["书面告知", "按期率"])
    du = r.section("durations").table.set_index("环节")
    # Decisions in March: 4.0, 16.0, 5.0, 6.0 days (imported), 14 h and 38 h: median 4.5 days.
    assert du.loc["登记→审查决定", "件数"] == 6 and du.loc["登记→审查决定", "中位数（天）"] == pytest.approx(4.5)
    out = r.section("outcomes").table
    assert out.to_dict("records") == [{"成效项目": "更换井盖3个", "单位": "个", "案件数": 1, "数量合计": 3.0}]
    rules = r.section("rules").table       # X-1 came from rule 7, version 3 (its source_ref)
    assert rules.drop(columns="成案率").to_dict("records") == [
        {"规则": "7", "版本": "3", "规则名称": "污水直排（第3版）", "登记": 1, "作出决定": 1, "立案": 1}]
    assert rules["成案率"].tolist() == [1.0]
    st = r.section("structure").table.set_index("案源")
    assert st["立案"].tolist() == [4, 0] and st["占比"].tolist() == [1.0, 0.0]


def test_xlsx_and_pdf_read_back(report, tmp_path):
    r, _clues = report
    data = ledger_render.report_xlsx(r)
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert wb.sheetnames[0] == "概况" and "审查结果" in wb.sheetnames and "期限执行(到期日在本月的期限)" in wb.sheetnames
    rows = {row[0]: row[1] for row in wb["概况"].iter_rows(values_only=True) if row[0]}
    assert next(iter(rows)) == "全市2025年3月线索月报"
    # Counts are numbers, rates numbers shown as percentages.
    assert rows["本月登记线索"] == 8 and rows["成案率"] == pytest.approx(4 / 6) and rows["报告日已逾期线索"] == 0
    res = [[c for c in row if c is not None] for row in wb["审查结果"].iter_rows(values_only=True)]
    assert ["立案", 4, pytest.approx(4 / 6)] in res
    wb_full = openpyxl.load_workbook(io.BytesIO(data))
    cell = next(c for row in wb_full["概况"].iter_rows() for c in row if c.value == rows["成案率"])
    assert cell.number_format == "0.0%"
    dl = {row[0]: row for row in wb["期限执行(到期日在本月的期限)"].iter_rows(values_only=True) if row[0]}
    assert dl["书面告知"][2:] == (1, 0, 0, 0, 1, "—")     # nothing due yet: no rate, a dash
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    pdf = ledger_render.report_pdf(r)
    p = tmp_path / "report.pdf"
    p.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    for needle in ("全市2025年3月线索月报", "成案率", "66.7%", "案源结构", "更换井盖3个", "期限执行", "75.0%"):
        assert needle in flat, needle


def test_a_district_readers_report_is_titled_and_counted_for_its_district(stores):  # noqa: F811
    """A 朝阳区 reader's report (its scoped cursor): C02 (imported) and X-2025-000001 (the app's) only, and the
    title and scope line say 朝阳区, not 全市."""
    path = stores["current"][0]
    con = open_ro(path)
    sc = scope.Scope(("朝阳区",))
    cur = scope.scoped_cursor(con, sc, ledger=True)
    with records.session(path) as rc:
        overlay.sync(cur, overlay.frames(con.cursor(), rc))
        r = ledger_report.build(cur, MARCH, today=date(2025, 7, 1), scope=sc)
    con.close()
    assert r.title == "朝阳区2025年3月线索月报" and r.scope_label == "朝阳区"
    h = r.headline
    assert (h["registered"], h["registered_app"], h["decided"], h["filed"]) == (2, 1, 2, 2)
    assert r.section("district").table["区"].tolist() == ["朝阳区", "合计"]
    assert "统计范围：朝阳区" in ledger_render.report_html(r)
