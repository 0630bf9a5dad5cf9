"""`manage.py clues report` and `manage.py clues export` on the hand-checked ledger (tests/test_ledger_funnel.py's
store: the tiny store's five imported clues, three registered in the app, two imported ones acted on): the files
are written, read back, in Chinese, with the ledger's numbers, and each is in the audit trail."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

import manage
from data import audit, records
from tests.test_ledger_funnel import stores  # noqa: F401  (the fixture)


@pytest.fixture()
def db(stores, tmp_path):  # noqa: F811
    src = Path(stores["current"][0])
    dst = tmp_path / "cli.duckdb"
    shutil.copy(src, dst)
    for f in src.parent.glob(records.path_for(src).name + "*"):     # the records store and its audit key
        shutil.copy(f, tmp_path / f.name.replace(src.stem, dst.stem, 1))
    return dst


def _rows(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(values_only=True) if any(c is not None for c in r)]


def test_report_files(db, tmp_path, capsys):
    out = tmp_path / "march.xlsx"
    assert manage.main(["clues", "report", "--month", "2025-03", "--db", str(db), "--out", str(out)]) == 0
    assert "全市2025年3月线索月报：登记 8 条，作出决定 6 条，立案 4 条" in capsys.readouterr().out
    wb = openpyxl.load_workbook(out, read_only=True)
    head = {r[0]: r[1] for r in _rows(wb["概况"])}
    assert (head["本月登记线索"], head["立案"]) == (8, 4) and head["成案率"] == pytest.approx(4 / 6)
    one = tmp_path / "pinggu.xlsx"
    assert manage.main(["clues", "report", "--month", "2025-03", "--district", "平谷", "--db", str(db),
                        "--out", str(one)]) == 0
    assert "平谷区2025年3月线索月报：登记 3 条" in capsys.readouterr().out
    assert manage.main(["clues", "report", "--month", "2025-3x", "--db", str(db), "--out", str(one)]) == 2
    assert manage.main(["clues", "report", "--month", "2025-03", "--district", "火星区", "--db", str(db),
                        "--out", str(one)]) == 2
    assert "未知的区：火星区" in capsys.readouterr().out
    with records.session(db) as rc:
        trail = audit.search(rc, action="report")
    assert sorted(trail["target"]) == ["march.xlsx", "pinggu.xlsx"]


def test_export_three_sheets_in_chinese(db, tmp_path, capsys):
    out = tmp_path / "ledger.xlsx"
    assert manage.main(["clues", "export", "--db", str(db), "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames == ["线索", "办理记录", "关联工单"]
    sheets = {name: _rows(wb[name]) for name in wb.sheetnames}
    for name, rows in sheets.items():
        header = rows[3]                                   # title, scope line, source line, then the header
        assert len(set(header)) == len(header), (name, header)          # every column once
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in str(h)) for h in header), (name, header)
    clues = sheets["线索"]
    header = clues[3]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in clues[4:]}
    assert sorted(rows) == ["C01", "C02", "C03", "C04", "C05", "X-2025-000001", "X-2025-000002", "X-2025-000003"]
    x1 = rows["X-2025-000001"]
    assert (x1["线索来源"], x1["来源详情"]) == ("筛查规则", "规则编号 7；版本 3；规则标识 sewage；待研判事项 41")
    assert (x1["登记方式"], x1["审查决定"], x1["整改结果"], x1["关联工单"]) == ("本系统登记", "立案", "整改到位", 2)
    assert rows["C01"]["来源详情"] == "—" and rows["C01"]["登记方式"] == "案件系统导入"
    history = sheets["办理记录"]
    hh = history[3]
    x1_steps = [dict(zip(hh, r, strict=True)) for r in history[4:] if r[0] == "X-2025-000001"]
    assert [s["操作"] for s in x1_steps] == ["登记", "审查决定", "检察建议", "回复", "整改"]
    assert {s["记录人"] for s in x1_steps} == {"zhang"}
    # C02's reply was corrected in the app: the imported baseline, the correction with its reason.
    c02 = [dict(zip(hh, r, strict=True)) for r in history[4:] if r[0] == "C02"]
    assert [(s["操作"], s["理由"]) for s in c02] == [("导入数据核对", "—"), ("更正（回复）", "以回函落款日期为准")]
    links = sheets["关联工单"]
    assert links[3][:2] == ("线索编号", "工单编号")
    assert ("X-2025-000001", "T10") in {r[:2] for r in links[4:]}
    with records.session(db) as rc:
        assert audit.search(rc, action="export")["target"].tolist() == ["ledger.xlsx"]
