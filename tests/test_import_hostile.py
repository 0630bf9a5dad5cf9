"""Hostile and careless import files (issue 22 items 3, 5, 6 and 8), all made here, none shipped.

Limits as settings, refused early and clearly with nothing stored; XLSX formulas
and merged cells read or flagged; implausible optional times emptied and counted;
odd input (a folder, a GBK file read as UTF-8) explained; uploads and transcoded
copies never left behind.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data import generations, uploads
from data.ingest import ingest_files, readers
from data.ingest import xlsx as xlsx_mod
from tests.conftest import ROOT

HEADER = "工单编号,受理时间,所属区,诉求内容,响应时间,办结时间\n"


def _csv(path: Path, rows: int, *, extra: str = "") -> Path:
    lines = [f"H{i},2025-03-{1 + i % 28:02d} 09:00:00,东城区,井盖破损{i},," for i in range(rows)]
    path.write_text(HEADER + "\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def _tickets(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM tickets").fetchone()[0]
    finally:
        con.close()


def _import(db: Path, *paths, **kw):
    with generations.write(db) as gen:
        return ingest_files(gen.con, list(paths), **kw)


# ---------------------------------------------------------------- hand-made XLSX (raw XML: cached values too)
def _col(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def raw_xlsx(path: Path, rows: list[list], *, merges: list[str] = (), repeat: int = 0) -> Path:
    """A minimal workbook written as XML: str cells inline, ("=F", cached) formula cells (cached None: no <v>).

    `repeat` appends that many copies of the last row (a zip bomb compresses them to almost nothing).
    """
    def cell(i: int, j: int, v) -> str:
        ref = f' r="{_col(j)}{i}"' if i else ""   # references are optional: repeated rows leave them out
        if v is None:
            return ""
        if isinstance(v, tuple):
            formula, cached = v
            val = "" if cached is None else f"<v>{escape(str(cached))}</v>"
            t = ' t="str"' if isinstance(cached, str) else ""
            return f"<c{ref}{t}><f>{escape(formula)}</f>{val}</c>"
        return f'<c{ref} t="inlineStr"><is><t>{escape(str(v))}</t></is></c>'

    body = io.StringIO()
    for i, row in enumerate(rows, start=1):
        body.write(f'<row r="{i}">' + "".join(cell(i, j, v) for j, v in enumerate(row)) + "</row>")
    if repeat:
        same = "<row>" + "".join(cell(0, j, v) for j, v in enumerate(rows[-1])) + "</row>"
        body.write(same * repeat)
    merge_xml = (f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merges)
                 + "</mergeCells>") if merges else ""
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f"<sheetData>{body.getvalue()}</sheetData>{merge_xml}</worksheet>")
    files = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="工单" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


XHEAD = ["工单编号", "受理时间", "所属区", "诉求内容"]


def _no_parsing(monkeypatch):
    """Make any parse of a workbook fail the test: a refusal must come before openpyxl reads the sheet."""
    def refuse(*_a, **_k):
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


# ---------------------------------------------------------------- item 3: limits
def test_a_zip_bomb_workbook_is_refused_before_it_is_parsed(empty_db_path, tmp_path, monkeypatch):
    # 1.2 million rows of a few bytes each: well under a megabyte on disk.
    bomb = raw_xlsx(tmp_path / "bomb.xlsx", [XHEAD, ["B1", "2025-03-01 09:00:00", "东城区", "炸弹"]], repeat=1_200_000)
    assert bomb.stat().st_size < 5 * 2**20
    _no_parsing(monkeypatch)
    monkeypatch.setenv("HOTLINE_IMPORT_MAX_XLSX_MB", "50")
    (rep,) = _import(empty_db_path, bomb)
    assert rep.status == "failed" and "解压后有" in rep.message and "HOTLINE_IMPORT_MAX_XLSX_MB" in rep.message
    # with room to unpack, the row count (scanned, not parsed) refuses it: past Excel's own limit
    monkeypatch.setenv("HOTLINE_IMPORT_MAX_XLSX_MB", "1024")
    (rep,) = _import(empty_db_path, bomb)
    assert rep.status == "failed" and "有 1,200,001 行数据" in rep.message and "1,048,575" in rep.message
    assert _tickets(empty_db_path) == 0


def test_row_limits_refuse_a_file_before_anything_is_stored(empty_db_path, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_IMPORT_MAX_ROWS", "100")
    big_csv = _csv(tmp_path / "rows.csv", 150)
    table = pa.table({"工单编号": [f"P{i}" for i in range(150)], "受理时间": ["2025-03-01 09:00:00"] * 150})
    pq.write_table(table, tmp_path / "rows.parquet")
    wb = raw_xlsx(tmp_path / "rows.xlsx", [XHEAD, *[[f"X{i}", "2025-03-01 09:00:00", "东城区", "x"] for i in range(150)]])
    reps = _import(empty_db_path, big_csv, tmp_path / "rows.parquet", wb)
    assert [r.status for r in reps] == ["failed"] * 3
    assert all("100 行的导入上限" in r.message and "HOTLINE_IMPORT_MAX_ROWS" in r.message for r in reps)
    assert _tickets(empty_db_path) == 0
    monkeypatch.setenv("HOTLINE_IMPORT_MAX_ROWS", "150")   # at the limit: imported
    (rep,) = _import(empty_db_path, big_csv)
    assert rep.ok and rep.inserted == 150


def test_a_file_over_the_size_limit_is_not_read(empty_db_path, tmp_path, monkeypatch):
    big = _csv(tmp_path / "big.csv", 30_000)
    assert big.stat().st_size > 2**20
    monkeypatch.setenv("HOTLINE_IMPORT_MAX_FILE_MB", "1")
    (rep,) = _import(empty_db_path, big)
    assert rep.status == "failed" and "超过导入上限 1 MB" in rep.message
    assert _tickets(empty_db_path) == 0


def test_a_single_line_csv_is_refused_at_once(empty_db_path, tmp_path):
    line = tmp_path / "line.csv"
    line.write_bytes(b"a," * (3 * 2**20))   # 6 MB without a line break
    (rep,) = _import(empty_db_path, line)
    assert rep.status == "failed" and "没有换行" in rep.message


def test_the_xlsx_reader_holds_a_chunk_not_the_sheet(empty_db_path, tmp_path, monkeypatch):
    # rows go to DuckDB in chunks: a sheet of several chunks arrives whole and in order
    monkeypatch.setattr(xlsx_mod, "CHUNK_ROWS", 40)
    rows = [XHEAD, *[[f"C{i:03d}", "2025-03-02 09:00:00", "西城区", f"第{i}件"] for i in range(130)]]
    (rep,) = _import(empty_db_path, raw_xlsx(tmp_path / "chunks.xlsx", rows))
    assert rep.ok and rep.inserted == 130
    con = duckdb.connect(str(empty_db_path), read_only=True)
    assert con.execute("SELECT min(ticket_id), max(ticket_id), count(DISTINCT content) FROM tickets").fetchone() == (
        "C000", "C129", 130)
    con.close()


# ---------------------------------------------------------------- item 6: silent loss
def test_formula_cells_take_their_cached_value_or_are_flagged(empty_db_path, tmp_path):
    rows = [XHEAD,
            ["F1", "2025-03-03 09:00:00", "东城区", ('"井盖"&"破损"', "井盖破损")],   # cached: imported
            ["F2", "2025-03-03 10:00:00", "东城区", ('"无"&"缓存"', None)],          # never calculated
            ["F3", "2025-03-03 11:00:00", "东城区", "普通文字"]]
    (rep,) = _import(empty_db_path, raw_xlsx(tmp_path / "formulas.xlsx", rows))
    assert rep.ok and rep.inserted == 3
    assert rep.flags["xlsx_formula_cached"] == 1 and rep.flags["xlsx_formula_no_value"] == 1
    assert "Excel 第 3 行" in rep.message and "没有计算结果" in rep.message
    con = duckdb.connect(str(empty_db_path), read_only=True)
    got = dict(con.execute("SELECT ticket_id, content FROM tickets").fetchall())
    con.close()
    assert got == {"F1": "井盖破损", "F2": None, "F3": "普通文字"}


def test_merged_cells_are_filled_from_their_top_left_value(empty_db_path, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "工单"
    ws.append(XHEAD)
    for i in range(4):
        ws.append([f"M{i}", f"2025-03-04 0{i}:00:00", "朝阳区" if i == 0 else None, f"内容{i}" if i != 2 else None])
    ws.merge_cells("C2:C5")     # the district written once for four tickets
    ws.merge_cells("D3:D4")     # one text for two tickets
    wb.save(tmp_path / "merged.xlsx")
    (rep,) = _import(empty_db_path, tmp_path / "merged.xlsx")
    assert rep.ok and rep.inserted == 4
    assert rep.flags["xlsx_merged_filled"] == 3 and "合并单元格" in rep.message
    con = duckdb.connect(str(empty_db_path), read_only=True)
    got = con.execute("SELECT ticket_id, district, content FROM tickets ORDER BY ticket_id").fetchall()
    con.close()
    assert got == [("M0", "朝阳区", "内容0"), ("M1", "朝阳区", "内容1"), ("M2", "朝阳区", "内容1"), ("M3", "朝阳区", "内容3")]


def test_implausible_optional_times_are_emptied_and_counted(empty_db_path, tmp_path):
    f = tmp_path / "times.csv"
    f.write_text(HEADER
                 + "T1,2025-03-05 09:00:00,东城区,a,1900-01-01 00:00:00,2025-03-06 10:00:00\n"
                 + "T2,2025-03-05 09:00:00,东城区,b,2025-03-05 10:00:00,2100-01-01 00:00:00\n"
                 + "T3,2025-03-05 09:00:00,东城区,c,2025-03-05 10:00:00,2025-03-06 10:00:00\n"
                 + "T4,2025-03-05 09:00:00,东城区,d,明天,\n", encoding="utf-8")
    (rep,) = _import(empty_db_path, f)
    assert rep.ok and rep.inserted == 4
    assert rep.flags["implausible_optional_time"] == 2 and rep.flags["bad_optional_time"] == 1
    con = duckdb.connect(str(empty_db_path), read_only=True)
    sql = "SELECT ticket_id, responded_at IS NULL, closed_at IS NULL FROM tickets"
    got = {r[0]: r[1:] for r in con.execute(sql).fetchall()}
    con.close()
    assert got == {"T1": (True, False), "T2": (False, True), "T3": (False, False), "T4": (True, True)}


# ---------------------------------------------------------------- item 8: odd input
def test_ingest_of_a_folder_says_what_to_do(tmp_path):
    db = tmp_path / "s.duckdb"
    res = subprocess.run([sys.executable, "manage.py", "ingest", str(tmp_path), "--db", str(db)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr + res.stdout
    assert "是文件夹" in res.stdout and "*.csv" in res.stdout


def test_a_gbk_file_read_as_utf8_by_a_mapping_names_the_encoding(empty_db_path, tmp_path):
    f = tmp_path / "gbk.csv"
    f.write_bytes(("工单编号,受理时间,所属区,诉求内容\nG1,2025-03-20 10:00:00,东城区,井盖坏了\n").encode("gbk"))
    m = tmp_path / "m.yaml"
    m.write_text("encoding: utf-8\n", encoding="utf-8")
    (rep,) = _import(empty_db_path, f, mapping=m)
    assert rep.status == "failed"
    assert "按映射文件指定的编码 utf-8 无法解码" in rep.message and "GBK" in rep.message
    assert "缺少必需的列" not in rep.message


# ---------------------------------------------------------------- item 5: nothing left outside the store
def test_staged_uploads_are_private_and_gone_after_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)   # re-read TMPDIR
    data = io.BytesIO("工单编号,受理时间\nU1,2025-03-01 09:00:00\n".encode())
    with uploads.staged({"../../etc/evil.csv": data}) as paths:
        p = paths["../../etc/evil.csv"]
        assert p.read_bytes().startswith("工单编号".encode()) and p.name == "evil.csv"
        assert p.parent.parent.parent == tmp_path and oct(p.parent.parent.stat().st_mode)[-3:] == "700"
    assert not p.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError), uploads.staged({"a.csv": io.BytesIO(b"x")}):
        raise RuntimeError("import failed")
    assert list(tmp_path.iterdir()) == []


def test_copies_left_by_a_killed_import_are_removed(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    (tmp_path / f"hotline-upload-{dead}-abc").mkdir()
    (tmp_path / f"hotline-upload-{dead}-abc" / "x.csv").write_text("张三,13812341234")
    (tmp_path / f"hotline-import-{dead}-def.csv").write_text("张三,13812341234")
    (tmp_path / "hotline-upload-oldstyle").mkdir()                     # an older version's folder
    (tmp_path / f"hotline-upload-{os.getpid()}-live").mkdir()          # this process: in use
    removed = uploads.remove_stale()
    assert sorted(p.name for p in removed) == sorted([f"hotline-upload-{dead}-abc", f"hotline-import-{dead}-def.csv",
                                                      "hotline-upload-oldstyle"])
    assert [p.name for p in tmp_path.iterdir()] == [f"hotline-upload-{os.getpid()}-live"]


def test_a_gbk_import_leaves_no_transcoded_copy(empty_db_path, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setenv("TMPDIR", str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)
    f = tmp_path / "gbk.csv"
    f.write_bytes(("工单编号,受理时间,所属区,诉求内容\nG1,2025-03-20 10:00:00,东城区,电话13812341234\n").encode("gbk"))
    (rep,) = _import(empty_db_path, f)
    assert rep.ok and rep.encoding == "gbk"
    assert list((tmp_path / "t").iterdir()) == []


def test_readers_refuse_a_folder_and_an_unreadable_file_clearly(tmp_path):
    with pytest.raises(readers.ReadError, match="是文件夹"):
        readers.detect_format(tmp_path)


@pytest.mark.parametrize(("page", "role"), [("import_data", "admin"), ("collide", "prosecutor"),
                                             ("letters", "clue_admin"), ("rules", "prosecutor")])
def test_every_upload_field_has_a_size_limit(app_db, monkeypatch, page, role):
    """Item 3: no upload field takes Streamlit's default (200 MB, server-wide); data files follow
    HOTLINE_UPLOAD_MAX_MB (the 12309 export its own 100 MB), mappings and rule files a few megabytes."""
    from data import roles
    from tests.conftest import app_test

    monkeypatch.setenv("HOTLINE_UPLOAD_MAX_MB", "37")
    assert roles.allowed(role, roles.PAGES["import" if page == "import_data" else page])
    at = app_test(ROOT / "app.py", role=role)
    at.run()
    at.switch_page(f"views/{page}.py").run()
    if page == "rules":
        at.radio(key="ru_view").set_value("导入导出").run()
    assert not at.exception, [e.value for e in at.exception]
    limits = {e.proto.label: e.proto.max_upload_size_mb for e in at.get("file_uploader")}
    assert limits and all(0 < mb <= 100 for mb in limits.values()), limits
    data = [mb for label, mb in limits.items() if "映射" not in label and "规则" not in label]
    if page in ("import_data", "collide"):
        assert data == [37]
    elif page == "letters":
        assert data == [100]
    else:
        assert limits == {"导入规则文件（.yaml / .json）": 5}
