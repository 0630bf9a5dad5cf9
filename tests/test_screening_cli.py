"""The screening commands on the tiny store: rule files checked, screened to a file, imported and exported."""

from __future__ import annotations

import shutil

import pandas as pd

import manage


def test_check_rejects_a_malformed_rule_with_its_message(tmp_path, capsys):
    f = tmp_path / "bad.yaml"
    f.write_text("key: ab\nname: 坏规则\nconditions:\n  repeat: {min_tickets: 3}\n", encoding="utf-8")
    assert manage.main(["rules", "check", str(f)]) == 2
    assert "重复条件（repeat）缺少 days、radius_m" in capsys.readouterr().err


def test_screen_writes_one_row_per_place(tiny_db_path, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    rules = tmp_path / "rules.yaml"
    rules.write_text("key: manhole\nname: 井盖\nconditions:\n  topics: [井盖]\n", encoding="utf-8")
    out = tmp_path / "hits.csv"
    assert manage.main(["screen", "--db", str(tiny_db_path), "--rules", str(rules), "--from", "2025-02-01",
                        "--to", "2025-03-31", "--out", str(out)]) == 0
    df = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert list(df.columns) == ["规则编号", "规则名称", "版本", "地点", "区", "街乡", "工单数", "首次受理", "最近受理",
                                "工单编号", "经度", "纬度"]
    rows = {r["地点"]: (r["工单数"], r["首次受理"], r["最近受理"], r["工单编号"]) for _, r in df.iterrows()}
    assert rows == {"建国门内大街与朝阳门南小街路口": ("3", "2025-02-10", "2025-03-04", "T13 T01 T02"),
                    "朝阳路八里庄路口": ("1", "2025-03-05", "2025-03-05", "T03")}


def test_import_export_and_record_through_the_queue(tiny_db_path, tmp_path, monkeypatch, capsys):
    db = tmp_path / "store.duckdb"
    shutil.copy(tiny_db_path, db)
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    rules = tmp_path / "rules.yaml"
    rules.write_text("key: manhole\nname: 井盖\nconditions:\n  topics: [井盖]\n", encoding="utf-8")
    assert manage.main(["rules", "--db", str(db), "import", str(rules)]) == 0
    exported = tmp_path / "out.json"
    assert manage.main(["rules", "--db", str(db), "export", "--out", str(exported)]) == 0
    assert '"key": "manhole"' in exported.read_text(encoding="utf-8")
    out = tmp_path / "hits.xlsx"
    assert manage.main(["screen", "--db", str(db), "--record", "--out", str(out)]) == 0
    assert "新增待研判 2 项" in capsys.readouterr().out
    df = pd.read_excel(out)
    assert sorted(df["工单数"]) == [1, 4]
