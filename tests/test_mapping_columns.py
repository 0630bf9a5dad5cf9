"""Mapping every column (issue 20): reply text, due date and the overdue view, extra columns and their filters,
vocabularies with unmapped values, code-and-name splitting, import feedback, and the upgrade of older stores.
Small files written here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from analytics import options, tickets
from analytics.filters import Filters
from data import store
from data.ingest import ingest_files, mapping

ROOT = Path(__file__).resolve().parent.parent

CSV = """id,opened,closed,due,type,text,answer,status,how,board,unit
A1,2024-04-01 09:00,2024-04-02 10:00,2024-04-03 09:00,TRT-Traffic Signal Repairs,Signal dark at Main St,Repaired the signal,Closed,PHONE,Board 1,X
A2,2024-04-02 09:00,2024-04-09 10:00,2024-04-05 09:00,SWR-Sewer Backup,Sewer backing up,Crew cleared the line,Closed,ONLINE,Board 2,Y
A3,2024-04-03 09:00,,2024-04-04 09:00,TRT-Traffic Signal Repairs,Signal flashing,,Pending,FAX,Board 1,Z
A4,2024-04-20 09:00,,,Noise,Loud music,,Open,PHONE,,
"""
MAPPING = {
    "kind": "tickets",
    "columns": {"ticket_id": "id", "received_at": "opened", "closed_at": "closed", "due_at": "due",
                "category_l1": "type", "content": "text", "reply": "answer", "status": "status", "channel": "how"},
    "split_code": {"category_l1": "-"},
    "extra": ["board", "unit"],
    "values": {"status": {"Closed": "已办结", "Open": "办理中"}, "channel": {"PHONE": "电话", "ONLINE": "网络"}},
    "unmapped": {"channel": "other"},
}


@pytest.fixture()
def mapped(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text(CSV, encoding="utf-8")
    db = tmp_path / "m.duckdb"
    con = store.connect(db)
    (rep,) = ingest_files(con, [f], mapping=MAPPING)
    con.close()
    return db, rep


def test_preview_names_the_extra_columns_not_as_unused(tmp_path):
    from data.ingest import preview

    f = tmp_path / "export.csv"
    f.write_text(CSV, encoding="utf-8")
    _df, info = preview(f, mapping=MAPPING)
    assert info["extra"] == ["board", "unit"] and not {"board", "unit"} & set(info["unused"])


def test_every_column_has_a_place(mapped):
    db, rep = mapped
    assert rep.ok and rep.inserted == 4
    con = store.connect(db, read_only=True)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT ticket_id, category_l1, reply, due_at, extra, status, channel FROM tickets").fetchall()}
    cat, reply, due, extra, status, channel = rows["A1"]
    assert cat == "Traffic Signal Repairs"                                 # the name stays in the field
    assert json.loads(extra) == {"category_l1_code": "TRT", "board": "Board 1", "unit": "X"}
    assert reply == "Repaired the signal" and str(due) == "2024-04-03 09:00:00"
    assert (status, channel) == ("已办结", "电话")
    assert rows["A3"][4:] == ("Pending", "其他")                          # unmapped: kept / other
    assert rows["A4"][0] == "Noise" and rows["A4"][3] is None              # no code, no extra values
    assert rep.flags["unmapped_status"] == 1 and rep.flags["unmapped_channel"] == 1
    text = " ".join(rep.warnings)
    assert "办理状态有 1 行的值不在词表中（Pending 1），已原样保留" in text
    assert "来电渠道有 1 行的值不在词表中（FAX 1），已记为“其他”" in text


def test_reply_is_searchable_and_shown(mapped):
    db, _ = mapped
    con = store.connect(db, read_only=True)
    assert tickets.count(con, Filters(text="cleared")) == 1                # only in the reply
    d = tickets.detail(con, "A2")
    fields = dict(zip(*tickets.detail_fields(d).to_dict("list").values(), strict=True))
    assert fields["办理时限"] == "2024-04-05 09:00:00" and fields["board"] == "Board 2"
    assert d["reply"] == "Crew cleared the line"


def test_overdue_view(mapped):
    db, _ = mapped
    con = store.connect(db, read_only=True)
    assert tickets.has_due_dates(con)
    # A2 closed after its due date; A3 still open at the export's last ticket (04-20), due 04-04.
    assert tickets.count(con, Filters(), stage="overdue") == 2
    page = tickets.page(con, Filters(), stage="overdue")
    assert sorted(page["ticket_id"]) == ["A2", "A3"]


def test_extra_columns_become_filters_when_few(mapped, monkeypatch):
    db, _ = mapped
    con = store.connect(db, read_only=True)
    ex = dict(options.extra_options(con))
    assert ex["board"] == ("Board 1", "Board 2") and ex["category_l1_code"] == ("SWR", "TRT")
    f = Filters(extras=("board=Board 1",))
    assert not f.uses_summary and tickets.count(con, f) == 2
    assert tickets.count(con, Filters(extras=("board=Board 1", "unit=Z"))) == 1
    monkeypatch.setenv("HOTLINE_EXTRA_FILTER_MAX_VALUES", "2")
    assert "unit" not in dict(options.extra_options(con))                  # three values: not a filter


def test_mapping_rejects_bad_vocabulary_policies():
    with pytest.raises(mapping.MappingError, match="unmapped"):
        mapping.load({"unmapped": {"status": "drop"}})
    with pytest.raises(mapping.MappingError, match="unmapped 只适用于"):
        mapping.load({"unmapped": {"district": "keep"}})
    with pytest.raises(mapping.MappingError, match="extra 中的列“nope”"):
        mapping.load({"extra": ["nope"]}).extra_columns(["a"], {})


def test_unreadable_dates_say_the_fix_and_exit_non_zero(tmp_path):
    f = tmp_path / "us.csv"
    f.write_text("工单编号,受理时间,诉求内容\nA1,04/16/2024 03:03:15 PM,x\nA2,04/17/2024 11:00:00 AM,y\n",
                 encoding="utf-8")
    db = tmp_path / "u.duckdb"
    run = subprocess.run([sys.executable, "manage.py", "ingest", str(f), "--db", str(db)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "没有任何一行入库" in run.stdout
    assert "date_formats: ['%m/%d/%Y %I:%M:%S %p']" in run.stdout
    m = tmp_path / "m.yaml"
    m.write_text('date_formats: ["%m/%d/%Y %I:%M:%S %p"]\n', encoding="utf-8")
    run = subprocess.run([sys.executable, "manage.py", "ingest", str(f), "--mapping", str(m), "--db", str(db)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "新增 2" in run.stdout


def test_an_older_store_is_upgraded_by_init_only(tmp_path):
    db = tmp_path / "old.duckdb"
    con = store.connect(db)
    con.execute("ALTER TABLE tickets DROP COLUMN reply")   # a store written before the column existed
    con.close()
    with pytest.raises(store.StoreError, match=r"需要升级.*tickets\.reply.*python manage\.py init"):
        store.connect(db, read_only=True)
    raw = duckdb.connect(str(db), read_only=True)
    assert "reply" not in {r[0] for r in raw.execute("DESCRIBE tickets").fetchall()}   # nothing written
    raw.close()
    store.connect(db).close()                               # what `init` does
    con = store.connect(db, read_only=True)
    assert {"reply", "due_at", "extra"} <= {r[0] for r in con.execute("DESCRIBE tickets").fetchall()}


def test_date_format_guess():
    from data.ingest import feedback

    assert feedback.guess_format(["04/16/2024 03:03:15 PM", "12/01/2023 11:00:00 AM"]) == "%m/%d/%Y %I:%M:%S %p"
    assert feedback.guess_format(["31/12/2023", "15/01/2024"]) == "%d/%m/%Y"
    assert feedback.guess_format(["yesterday"]) is None
