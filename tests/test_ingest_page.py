"""The 导入 page runs headless (AppTest): widgets, past imports, an upload previewed and imported.

AppTest cannot drive st.file_uploader, so the upload path is exercised by
putting the uploaded file's bytes where the page expects them (the same
objects Streamlit gives the page), and the import logic itself is tested in
tests/test_ingest.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from data import derived, store
from data.ingest import ingest_files
from data.ingest import report as import_report
from tests.conftest import app_test
from ui.plain import shown

ROOT = Path(__file__).resolve().parent.parent
FILES = ROOT / "tests" / "data" / "import"
PAGE = str(ROOT / "views" / "import_data.py")


@pytest.fixture()
def db_with_imports(tmp_path, monkeypatch):
    p = tmp_path / "page.duckdb"
    con = store.connect(p)
    ingest_files(con, [FILES / "tickets_defects.csv", FILES / "enc_gbk.csv"], refresh=False)
    derived.upgrade(con)   # what a read-write open (`init`) does: the page opens the store read-only
    con.close()
    monkeypatch.setenv("HOTLINE_DB", str(p))
    return p


def test_page_renders_widgets_and_past_imports(db_with_imports):
    at = app_test(PAGE, role="admin").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "导入"
    assert [s.label for s in at.selectbox] == ["数据类型", "坐标系（文件未注明时）"]
    assert len(at.get("file_uploader")) == 2
    history = at.dataframe[-1].value
    assert list(history["文件"]) == ["enc_gbk.csv", "tickets_defects.csv"]
    assert list(history["读取"]) == [2, 25] and list(history["隔离"]) == [0, 7]
    assert "缺少编号 1" in history["隔离原因"].iloc[1]


def test_page_without_store_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(tmp_path / "none.duckdb"))
    at = app_test(PAGE, role="admin").run()
    assert not at.exception
    assert any("尚无数据库" in i.value for i in at.info)


def test_report_tables(db_with_imports):
    con = store.connect(db_with_imports, read_only=True)
    past = import_report.recent_imports(con)
    first = int(past["导入编号"].iloc[-1])
    rows, total = import_report.quarantined_rows(con, first, limit=3)
    assert total == 7 and len(rows) == 3
    assert list(rows["行号"]) == [13, 14, 15]
    assert rows["原因"].iloc[0] == "缺少编号（missing_id）"
    con.close()
    counts = import_report.counts_frame({"reasons": {"bad_time": 2}, "flags": {"swapped_fixed": 1, "x": 0}})
    assert counts.values.tolist() == [["隔离：时间缺失或无法识别", 2], ["标记：经纬度颠倒，已纠正", 1]]


def test_page_shows_a_report_after_import(db_with_imports, tmp_path):
    """A report kept in the session (as the import button leaves it) is drawn with its quarantined rows."""
    con = store.connect(db_with_imports)
    shutil.copy(FILES / "clues.csv", tmp_path / "clues.csv")
    (rep,) = ingest_files(con, [tmp_path / "clues.csv"])
    con.close()
    at = app_test(PAGE, role="admin")
    at.session_state["imp_reports"] = [rep.to_dict()]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("导入完成：clues.csv" in shown(s.value) for s in at.success)   # file names shown literally
    assert {m.label: m.value for m in at.metric} == {"读取": "3", "新增": "2", "更新": "0", "未变": "0", "隔离": "1"}
    assert any("隔离的行（共 1 行）" in c.value for c in at.caption)
