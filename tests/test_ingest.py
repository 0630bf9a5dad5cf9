"""The import pipeline on small crafted files (tests/data/import/, made by make_files.py).

Every expected number is counted by hand from make_files.py; every import is
checked for the reconcile identity rows_read = inserted + updated + unchanged +
quarantined, in the report, in `imports` and in `quarantine`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from data import generations, store
from data.ingest import IngestError, ingest_files, preview
from geo import crs as geo_crs

FILES = Path(__file__).resolve().parent / "data" / "import"


def check_balanced(con, rep):
    """The reconcile identity, everywhere it is recorded."""
    assert rep.ok, rep.message
    assert rep.rows_read == rep.inserted + rep.updated + rep.unchanged + rep.quarantined
    row = con.execute(
        "SELECT rows_read, inserted, updated, unchanged, quarantined, status, reasons FROM imports "
        "WHERE import_id = ?", [rep.import_id]).fetchone()
    assert row[:6] == (rep.rows_read, rep.inserted, rep.updated, rep.unchanged, rep.quarantined, "ok")
    assert json.loads(row[6]) == rep.reasons
    (nq,) = con.execute("SELECT count(*) FROM quarantine WHERE import_id = ?", [rep.import_id]).fetchone()
    assert nq == rep.quarantined == sum(rep.reasons.values())


def ingest(con, *paths, **kw):
    reps = ingest_files(con, [FILES / p if not Path(p).is_absolute() else p for p in paths], **kw)
    for r in reps:
        if r.ok:
            check_balanced(con, r)
    return reps


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A store with the defect tickets, then clues, cases and rectifications imported in order."""
    p = tmp_path_factory.mktemp("ingest") / "loaded.duckdb"
    con = store.connect(p)
    reps = ingest(con, "tickets_defects.csv", "clues.csv", "cases.csv", "rectifications.csv")
    yield con, {r.kind: r for r in reps}
    con.close()


def ticket(con, tid):
    cur = con.execute("SELECT * FROM tickets WHERE ticket_id = ?", [tid])
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    assert len(rows) == 1, f"{tid}: {len(rows)} rows"
    return dict(zip(cols, rows[0], strict=True))


# ---------------------------------------------------------------- tickets: counts


def test_defect_file_counts(loaded):
    con, reps = loaded
    r = reps["tickets"]
    assert (r.rows_read, r.inserted, r.updated, r.unchanged, r.quarantined) == (25, 17, 0, 1, 7)
    assert r.reasons == {"missing_id": 1, "bad_time": 2, "time_out_of_range": 1, "conflicting_duplicate": 2,
                         "malformed_row": 1}
    assert r.format == "csv" and r.encoding == "utf-8" and r.kind == "tickets"
    assert con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 17
    assert r.flags["swapped_fixed"] == 1
    assert r.flags["converted_gcj02"] == 1 and r.flags["converted_bd09"] == 1
    assert r.flags["outside_region"] == 1 and r.flags["outside_polygons"] == 1
    assert r.flags["traditional_converted"] == 1
    assert r.flags["unknown_district"] == 1
    assert r.flags["bad_optional_time"] == 1
    # D01 D02 D03 D04 D06 D07 have points; the other 11 stored tickets have none
    assert r.flags["not_located"] == 11


def test_quarantine_rows_keep_reason_row_number_and_original(loaded):
    con, reps = loaded
    rows = con.execute(
        "SELECT row_number, reason, record_id, raw, detail, file FROM quarantine WHERE import_id = ? ORDER BY row_number",
        [reps["tickets"].import_id]).fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        (13, "missing_id"), (14, "bad_time"), (15, "bad_time"), (16, "time_out_of_range"),
        (17, "conflicting_duplicate"), (18, "conflicting_duplicate"), (25, "malformed_row")]
    raw14 = json.loads(rows[1][3])
    assert raw14["工单编号"] == "D13" and raw14["受理时间"] == "不是时间"
    assert "D16" in rows[4][4] and "17" in rows[4][4] and "18" in rows[4][4]
    assert json.loads(rows[6][3])["text"].startswith("D99,")
    assert all(r[5].endswith("tickets_defects.csv") for r in rows)


# ---------------------------------------------------------------- tickets: cleaning


def test_dates_in_every_form(loaded):
    con, _ = loaded
    assert str(ticket(con, "D01")["received_at"]) == "2024-03-05 09:07:00"      # 2024/3/5 9:07
    assert str(ticket(con, "D02")["received_at"]) == "2024-03-05 17:07:00"      # ISO +00:00 -> Beijing
    assert str(ticket(con, "D03")["received_at"]) == "2024-03-05 12:00:00"      # Excel serial 45356.5
    assert str(ticket(con, "D04")["received_at"]) == "2024-03-05 00:00:00"      # 20240305
    assert str(ticket(con, "D05")["received_at"]) == "2024-03-05 09:07:00"      # 2024-03-05 09:07:00
    d01 = ticket(con, "D01")
    assert str(d01["closed_at"]) == "2024-03-06 00:00:00"
    assert str(d01["responded_at"]) == "2024-03-05 10:00:00"
    assert ticket(con, "D21")["responded_at"] is None


def test_names_categories_and_values(loaded):
    con, _ = loaded
    d01 = ticket(con, "D01")
    assert (d01["district"], d01["street"], d01["street_code"]) == ("东城区", "建国门街道", "110101008000")
    assert (d01["category_l1"], d01["category_l2"], d01["category_l3"]) == ("城乡建设", "市政设施", "井盖破损")
    assert d01["satisfaction"] == "满意" and d01["resolved"] is True
    assert d01["geo_flag"] is None and d01["source_crs"] == "wgs84"
    assert d01["complainant_phone"] == "13812341234"
    d05 = ticket(con, "D05")
    assert (d05["district"], d05["street"], d05["geo_flag"], d05["lon"]) == ("朝阳区", "八里庄街道", "no_coords", None)
    assert ticket(con, "D20")["district"] is None


def test_coordinates_swapped_converted_and_flagged(loaded):
    con, _ = loaded
    d02 = ticket(con, "D02")
    assert (d02["lon"], d02["lat"]) == (116.4607, 39.983)
    assert d02["geo_flag"] == "swapped_fixed"
    assert (d02["district"], d02["street"]) == ("朝阳区", "望京街道")  # filled from the point
    d03 = ticket(con, "D03")
    wlon, wlat = geo_crs.gcj02_to_wgs84(116.467, 39.989)
    assert geo_crs.haversine_m(d03["lon"], d03["lat"], wlon, wlat) < 0.01
    assert d03["source_crs"] == "gcj02" and d03["district"] == "朝阳区"
    d04 = ticket(con, "D04")
    assert geo_crs.haversine_m(d04["lon"], d04["lat"], 116.3975, 39.9087) < 1.0
    assert d04["source_crs"] == "bd09"
    d06 = ticket(con, "D06")
    assert d06["geo_flag"] == "outside_polygons" and d06["lon"] is not None and d06["district"] is None
    d07 = ticket(con, "D07")
    # far outside Beijing: the ticket and its point are kept, flagged (issue 20: never dropped)
    assert d07["geo_flag"] == "outside_region" and (d07["lon"], d07["lat"]) == (-73.99, 40.72)
    assert d07["district"] is None


def test_text_normalised_and_stored_as_is(loaded):
    con, _ = loaded
    assert ticket(con, "D03")["content"] == "朝阳区路口井盖松动，很危险"  # Traditional -> Simplified
    assert ticket(con, "D08")["content"] == "=SUM(A1:A9)"                   # full-width id folded, formula kept
    assert ticket(con, "D09")["content"] == "+1 请回电"
    assert ticket(con, "D10")["content"] == "-1"
    assert ticket(con, "D11")["content"] == "@管理员 请处理"
    assert ticket(con, "D12")["content"] == '第一行\n第二行 "引号" 内容'


def test_topics_from_category_words_and_column(loaded):
    con, _ = loaded
    assert ticket(con, "D01")["topic"] == "井盖"        # category 井盖破损
    assert ticket(con, "D02")["topic"] == "污水"        # strong phrase 偷排污水
    assert ticket(con, "D03")["topic"] == "井盖"        # 井盖 + 松动 (+ 危险)
    assert ticket(con, "D18")["topic"] == "欠薪"        # 专项 column wins over the words
    assert ticket(con, "D19")["topic"] is None          # one passing mention of 井盖
    assert ticket(con, "D17")["topic"] is None


def test_derived_tables_refreshed(loaded):
    con, _ = loaded
    assert con.execute("SELECT sum(n) FROM ticket_daily").fetchone()[0] == 17
    assert con.execute("SELECT sum(n_located) FROM ticket_daily").fetchone()[0] == 5  # D07 (New York) not


# ---------------------------------------------------------------- clues, cases, rectifications


def test_clues_links_and_district(loaded):
    con, reps = loaded
    r = reps["clues"]
    assert (r.rows_read, r.inserted, r.quarantined, r.reasons) == (3, 2, 1, {"bad_time": 1})
    assert r.flags["unknown_ticket"] == 1  # D99 is not a stored ticket; the link is kept
    assert con.execute("SELECT district, function FROM clues WHERE clue_id = 'C1'").fetchone() == ("朝阳区", "公益诉讼")
    assert con.execute("SELECT district FROM clues WHERE clue_id = 'C2'").fetchone() == ("东城区",)
    links = con.execute("SELECT clue_id, ticket_id FROM clue_tickets ORDER BY 1, 2").fetchall()
    assert links == [("C1", "D01"), ("C1", "D03"), ("C1", "D99"), ("C2", "D18")]


def test_cases_and_rectifications_check_references(loaded):
    con, reps = loaded
    c = reps["cases"]
    assert (c.rows_read, c.inserted, c.quarantined, c.reasons) == (3, 1, 2, {"unknown_clue": 2})
    assert con.execute("SELECT clue_id, urgent, measure FROM cases").fetchall() == [("C1", True, "诉前检察建议")]
    r = reps["rectifications"]
    assert (r.rows_read, r.inserted, r.quarantined, r.reasons) == (2, 1, 1, {"unknown_case": 1})
    assert con.execute("SELECT result, outcome_value, outcome_unit FROM rectifications").fetchall() == [
        ("整改到位", 3.0, "个")]


# ---------------------------------------------------------------- idempotency, updates, rollback


def test_same_file_twice_changes_nothing(empty_db_path):
    con = store.connect(empty_db_path)
    ingest(con, "tickets_defects.csv")
    before = con.execute("SELECT ticket_id, row_hash, import_id FROM tickets ORDER BY 1").fetchall()
    (again,) = ingest(con, "tickets_defects.csv")
    assert (again.inserted, again.updated, again.unchanged, again.quarantined) == (0, 0, 18, 7)
    assert con.execute("SELECT ticket_id, row_hash, import_id FROM tickets ORDER BY 1").fetchall() == before
    con.close()


def test_newer_export_updates_changed_tickets(empty_db_path, tmp_path):
    con = store.connect(empty_db_path)
    ingest(con, "enc_utf8.csv")
    newer = tmp_path / "newer.csv"
    text = (FILES / "enc_utf8.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    lines[1] = lines[1].replace("已办结", "办理中")  # E01 changes status
    lines.append(lines[2].replace("E02", "E03"))    # E03 is new
    newer.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (r,) = ingest(con, newer)
    assert (r.rows_read, r.inserted, r.updated, r.unchanged) == (3, 1, 1, 1)
    assert con.execute("SELECT status, import_id FROM tickets WHERE ticket_id = 'E01'").fetchone() == (
        "办理中", r.import_id)
    assert con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 3
    con.close()


def test_clue_links_replaced_on_reimport(empty_db_path, tmp_path):
    con = store.connect(empty_db_path)
    ingest(con, "clues.csv")
    f = tmp_path / "clues2.csv"
    f.write_text((FILES / "clues.csv").read_text(encoding="utf-8").replace("D01，D03;D99", "D03"), encoding="utf-8")
    (r,) = ingest(con, f)
    assert (r.inserted, r.updated, r.unchanged) == (0, 1, 1)
    assert con.execute("SELECT ticket_id FROM clue_tickets WHERE clue_id = 'C1'").fetchall() == [("D03",)]
    con.close()


def test_failure_leaves_store_as_it_was(empty_db_path, monkeypatch):
    con = store.connect(empty_db_path)
    ingest(con, "enc_utf8.csv")
    snapshot = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("tickets", "quarantine", "ticket_daily", "clue_tickets")}

    def boom(*a, **k):
        raise RuntimeError("injected failure after the rows were written")

    # fails after merge() has deleted/inserted rows inside the transaction
    monkeypatch.setattr("data.derived.refresh", boom)
    (r,) = ingest_files(con, [FILES / "tickets_defects.csv"])
    assert r.status == "failed" and "injected failure" in r.message
    assert (r.rows_read, r.inserted, r.quarantined) == (0, 0, 0)
    for t, n in snapshot.items():
        assert con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == n, t
    assert con.execute("SELECT status FROM imports WHERE import_id = ?", [r.import_id]).fetchone() == ("failed",)
    monkeypatch.undo()
    # the connection is still usable and the same file now goes in
    (ok,) = ingest(con, "tickets_defects.csv")
    assert ok.inserted == 17
    con.close()


def test_failed_file_does_not_stop_the_batch(empty_db_path, tmp_path):
    con = store.connect(empty_db_path)
    junk = tmp_path / "junk.csv"
    junk.write_text("a,b\n1,2\n", encoding="utf-8")
    reps = ingest(con, junk, "enc_utf8.csv", tmp_path / "missing.csv")
    assert [r.status for r in reps] == ["failed", "ok", "failed"]
    assert "无法从表头识别" in reps[0].message and "不存在" in reps[2].message
    assert con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 2
    con.close()


# ---------------------------------------------------------------- formats, encodings, robustness


@pytest.mark.parametrize("name,encoding", [("enc_utf8.csv", "utf-8"), ("enc_utf8_bom.csv", "utf-8-sig"),
                                           ("enc_gbk.csv", "gbk"), ("enc_gb18030.csv", "gb18030")])
def test_encodings_detected(empty_db_path, name, encoding):
    con = store.connect(empty_db_path)
    (r,) = ingest(con, name)
    assert r.encoding == encoding and r.inserted == 2
    expected = "东城区井盖破损" if encoding == "gbk" else "东城区井盖破损𠀀"
    assert ticket(con, "E01")["content"] == expected
    assert ticket(con, "E02")["district"] == "朝阳区"
    con.close()


def test_robust_long_text_nul_quotes(empty_db_path):
    con = store.connect(empty_db_path)
    (r,) = ingest(con, "robust.csv")
    assert r.inserted == 3
    assert ticket(con, "R01")["content"] == "长" * 100_000
    assert ticket(con, "R02")["content"] == "a\x00b 含NUL"
    assert ticket(con, "R03")["content"] == 'quote "x" ""y"" \r\n crlf'
    con.close()


def test_xlsx_every_sheet_and_named_sheet(empty_db_path):
    con = store.connect(empty_db_path)
    reps = ingest(con, "workbook.xlsx")
    assert [(r.sheet, r.kind, r.inserted) for r in reps] == [("工单", "tickets", 3), ("线索", "clues", 1),
                                                               ("说明", None, 0)]
    assert all(r.ok for r in reps)
    x01, x02 = ticket(con, "X01"), ticket(con, "X02")
    assert str(x01["received_at"]) == "2024-03-05 09:07:00" and x01["complainant_phone"] == "13812341234"
    assert str(x02["received_at"]) == "2024-03-05 12:00:00" and x02["complainant_phone"] == "010-12345678"
    assert ticket(con, "X03")["district"] == "海淀区"
    assert con.execute("SELECT district FROM clues").fetchall() == [("东城区",)]
    assert con.execute("SELECT count(*) FROM clue_tickets").fetchone()[0] == 2
    (again,) = ingest(con, "workbook.xlsx", sheet="工单")
    assert (again.sheet, again.unchanged) == ("工单", 3)
    con.close()


def test_parquet_generated_tickets(empty_db_path, tmp_path):
    from data.ingest import benchmark

    f = benchmark.write_parquet(tmp_path / "t.parquet", 3000, seed=7)
    con = store.connect(empty_db_path)
    (r,) = ingest(con, f, refresh=False)
    assert (r.format, r.rows_read, r.inserted, r.quarantined) == ("parquet", 3000, 3000, 0)
    n_pts, n_in_street, n_district = con.execute(
        "SELECT count(lon), count(street_code), count(district) FROM tickets").fetchone()
    assert n_pts == 3000 - r.flags["not_located"]
    # points are jittered around street label points: nearly all fall in a street and get a district
    assert n_in_street >= 0.9 * n_pts and n_district >= n_pts
    assert con.execute("SELECT count(*) FROM tickets WHERE topic IS NOT NULL").fetchone()[0] > 0
    con.close()


def test_chunked_import_gives_the_same_result(empty_db_path, tmp_path, monkeypatch):
    from data.ingest import benchmark

    f = benchmark.write_csv(tmp_path / "t.csv", 2500, seed=3)
    con = store.connect(empty_db_path)
    monkeypatch.setenv("HOTLINE_IMPORT_CHUNK_ROWS", "1000")
    (r,) = ingest(con, f, refresh=False)
    chunked = con.execute("SELECT ticket_id, row_hash FROM tickets ORDER BY 1").fetchall()
    con.close()
    other = tmp_path / "one.duckdb"
    con = store.connect(other)
    monkeypatch.setenv("HOTLINE_IMPORT_CHUNK_ROWS", "200000")
    ingest(con, f, refresh=False)
    assert con.execute("SELECT ticket_id, row_hash FROM tickets ORDER BY 1").fetchall() == chunked
    assert r.inserted == 2500
    con.close()


def test_progress_is_reported(empty_db_path):
    con = store.connect(empty_db_path)
    calls = []
    ingest(con, "tickets_defects.csv", progress=lambda d, t, m: calls.append((d, t, m)))
    assert calls[0][1] is None and calls[-1] == (24, 24, "完成")
    assert any("清洗" in m for _, _, m in calls)
    con.close()


# ---------------------------------------------------------------- arguments, mapping, preview


def test_invalid_arguments_raise(empty_db_path, tmp_path):
    con = store.connect(empty_db_path)
    with pytest.raises(IngestError):
        ingest_files(con, [FILES / "enc_utf8.csv"], kind="letters")
    with pytest.raises(IngestError):
        ingest_files(con, [FILES / "enc_utf8.csv"], crs="mars")
    bad = tmp_path / "m.yaml"
    bad.write_text("columns: {ticket_id: 编号}\nfoo: 1\n", encoding="utf-8")
    with pytest.raises(IngestError, match="未知的键"):
        ingest_files(con, [FILES / "enc_utf8.csv"], mapping=bad)
    (r,) = ingest_files(con, [FILES / "enc_utf8.csv"], mapping={"columns": {"ticket_id": "不存在的列"}})
    assert r.status == "failed" and "不存在的列" in r.message
    con.close()


def test_mapping_dict_joins_columns_and_applies_defaults(empty_db_path, tmp_path):
    f = tmp_path / "own.csv"
    f.write_text("编号,时间,标题,正文,区域\n1,2024/3/5 9:07,井盖,松动了,朝阳\n", encoding="utf-8")
    m = {"kind": "tickets", "id_prefix": "M-", "join": "：",
         "columns": {"ticket_id": "编号", "received_at": "时间", "content": ["标题", "正文"], "district": "区域"},
         "defaults": {"channel": "网络"}, "values": {"district": {"朝阳": "朝阳区"}}}
    con = store.connect(empty_db_path)
    ingest(con, f, mapping=m)
    t = ticket(con, "M-1")
    assert (t["content"], t["channel"], t["district"], t["topic"]) == ("井盖：松动了", "网络", "朝阳区", "井盖")
    con.close()


def test_preview_cleans_without_writing(empty_db_path):
    df, info = preview(FILES / "tickets_defects.csv", rows=20)
    assert info["kind"] == "tickets" and info["encoding"] == "utf-8"
    assert len(df) == 20
    row = df[df["ticket_id"] == "D03"].iloc[0]
    assert row["content"] == "朝阳区路口井盖松动，很危险" and row["district"] == "朝阳区"
    assert set(df["_reason"].dropna()) == {"missing_id", "bad_time", "time_out_of_range", "conflicting_duplicate"}
    con = store.connect(empty_db_path, read_only=True)
    assert con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 0
    con.close()


def test_cli_json_exit_codes_and_lock_message(tmp_path):
    import subprocess
    import sys

    import manage

    db = tmp_path / "cli.duckdb"
    shutil.copy(FILES / "enc_utf8.csv", tmp_path / "a.csv")
    assert manage.main(["ingest", str(tmp_path / "a.csv"), "--db", str(db), "--json"]) == 0
    assert manage.main(["ingest", str(tmp_path / "nope.csv"), "--db", str(db)]) == 1
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 2
    con.close()
    # another process writes the file by itself (not through an import): a clear message in Chinese and
    # English, exit code 2 (a reader is no obstacle: tests/test_generations.py)
    holder = subprocess.Popen([sys.executable, "-c",
                               f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('ok', flush=True); "
                               "time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        out = subprocess.run([sys.executable, "manage.py", "ingest", str(tmp_path / "a.csv"), "--db", str(db)],
                             capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    finally:
        holder.kill()
        holder.wait()
    assert out.returncode == 2
    assert "以写入方式直接打开" in out.stderr and "open for writing by another process" in out.stderr
    assert generations.copy_paths(db) == []


def test_text_decides_the_topic_only_when_no_column_or_category_does(empty_db_path, tmp_path):
    # The text search runs only for rows whose topic the words decide (data/ingest/statements.py, WORDS_DECIDE_SQL);
    # every row below has text naming a different topic than its column or category (all in Beijing's 朝阳区:
    # the region's rules tag only tickets placed in the region).
    f = tmp_path / "topics.csv"
    sewage = "河道有人偷排污水，河水发黑发臭"
    f.write_text(
        "工单编号,受理时间,所属区,二级分类,三级分类,问题分类,专项,诉求内容\n"
        f"P1,2024/3/5 9:07,朝阳区,市政设施,井盖破损,,,{sewage}\n"            # third level names 井盖
        f"P2,2024/3/5 9:07,朝阳区,劳动关系,其他,,,{sewage}\n"                # no category names a topic: the words do
        f"P3,2024/3/5 9:07,朝阳区,欠薪,其他,,,{sewage}\n"                    # second level names 欠薪
        f"P4,2024/3/5 9:07,朝阳区,,,城乡建设/水污染/其他,,路口井盖松动，车辆经过很危险\n"  # path level 2 names 污水
        f"P5,2024/3/5 9:07,朝阳区,市政设施,井盖破损,,欠薪,{sewage}\n"        # the 专项 column wins
        f"P6,2024/3/5 9:07,朝阳区,,,城乡建设/市政设施/井盖缺失,,{sewage}\n"  # path level 3 names 井盖
        f"P7,2024/3/5 9:07,朝阳区,,,,,{sewage}\n",                           # no category at all: the words
        encoding="utf-8")
    con = store.connect(empty_db_path)
    ingest(con, f)
    got = {tid: ticket(con, tid)["topic"] for tid in ("P1", "P2", "P3", "P4", "P5", "P6", "P7")}
    assert got == {"P1": "井盖", "P2": "污水", "P3": "欠薪", "P4": "污水", "P5": "欠薪", "P6": "井盖", "P7": "污水"}
    con.close()


@pytest.mark.parametrize("setting, lowered", [("7", 7), ("0", 0), ("40", 19)])
def test_the_command_line_import_lowers_its_own_cpu_priority(setting, lowered):
    """`manage.py ingest` yields the cores to the dashboard's sessions (HOTLINE_IMPORT_NICE; docs/performance.md,
    "Many users at once"); in a child process, since a nice increment cannot be undone."""
    import os
    import subprocess
    import sys

    code = ("import os; from cli.ingest import polite; before = os.nice(0); n = polite(); "
            "print(n, os.nice(0) - before)")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, text=True,
                         capture_output=True, env=os.environ | {"HOTLINE_IMPORT_NICE": setting}, check=True)
    start = os.nice(0)
    expect = min(lowered, 19 - start)   # the system caps the priority at 19
    assert out.stdout.split() == [str(lowered), str(expect)]
