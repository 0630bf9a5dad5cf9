"""The screening queue on the tiny store: hits recorded once with the version that found them, grouped by rule
and place, decisions appended with who and when, a dismissed place back with new tickets, district scope, and
screening after an import (the generations hook)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date

import pytest

from data import audit, records
from data.scope import Scope
from data.screening import library, queue, run
from data.screening import rule as R
from data.screening.compile import Target

ME = audit.Actor("t_prosecutor", "prosecutor")
FEB = Target(date(2025, 2, 1), date(2025, 2, 28))
MARCH = Target(date(2025, 3, 1), date(2025, 3, 31))


@pytest.fixture()
def rec(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    with records.session() as con:
        yield con


def manhole(**conditions) -> R.Rule:
    return R.parse({"key": "manhole", "name": "井盖", "project": "井盖",
                    "conditions": {"topics": ["井盖"], **conditions}})


def test_hits_grouped_by_rule_and_place(tiny_con, rec):
    library.save(rec, ME, manhole())
    res = run.screen(tiny_con, rec, ME, Target())
    assert (res.rules, res.hits, res.new_hits, res.new_items) == (1, 5, 5, 2)
    items, total = queue.items(rec)
    assert total == 2
    by_label = dict(zip(items["label"], items["n"], strict=True))
    # T01, T02, T13 and T16 lie within metres of one crossing: one item of four tickets; T03 is in Chaoyang.
    assert by_label == {"建国门内大街与朝阳门南小街路口": 4, "朝阳路八里庄路口": 1}
    again = run.screen(tiny_con, rec, ME, Target())
    assert (again.hits, again.new_hits, again.new_items) == (5, 0, 0)   # nothing is recorded twice


def test_old_hit_names_the_version_that_found_it(tiny_con, rec):
    v1 = library.save(rec, ME, manhole(), "第一版")
    run.screen(tiny_con, rec, ME, FEB)
    v2 = library.save(rec, ME, manhole(keywords={"any": ["井盖"]}), "加关键词")
    assert (v1.version, v2.version) == (1, 2)
    assert library.save(rec, ME, manhole(keywords={"any": ["井盖"]})).version == 2   # unchanged: no new version
    run.screen(tiny_con, rec, ME, MARCH)
    found = dict(rec.execute("SELECT ticket_id, version FROM screening_hits").fetchall())
    assert found == {"T13": 1, "T01": 2, "T02": 2, "T03": 2}
    assert list(library.versions(rec, "manhole")["version"]) == [2, 1]
    assert library.get(rec, "manhole", version=1).rule == manhole()


def test_dismissed_place_returns_with_new_tickets_marked_seen_before(tiny_con, rec):
    library.save(rec, ME, manhole())
    run.screen(tiny_con, rec, ME, FEB)
    (item_id,) = queue.items(rec)[0]["item_id"]
    with pytest.raises(queue.DecisionError, match="理由"):
        queue.decide(rec, ME, [item_id], "dismiss")
    queue.decide(rec, ME, [item_id], "dismiss", reason="已修复")
    assert queue.items(rec)[1] == 0
    assert queue.queue_summary(rec).waiting == 0
    res = run.screen(tiny_con, rec, ME, MARCH)
    assert res.returned == 1
    back = queue.item(rec, item_id)
    assert back["state"] == "waiting" and back["seen_before"] and back["n"] == 3
    hist = queue.decisions(rec, item_id)
    assert list(hist["decision"]) == ["排除", "有新工单，重回队列"]
    assert list(hist["actor"]) == ["t_prosecutor", run.SYSTEM.name]
    s = queue.queue_summary(rec)
    assert (s.waiting, s.returned) == (2, 1)     # the crossing again, and 八里庄 (T03) for the first time


def test_decisions_are_kept_and_cannot_be_repeated_or_deleted(tiny_con, rec):
    library.save(rec, ME, manhole())
    run.screen(tiny_con, rec, ME, Target())
    ids = [int(i) for i in queue.items(rec)[0]["item_id"]]
    assert queue.decide(rec, ME, ids, "register", clue_id="XS-1") == 2
    with pytest.raises(queue.DecisionError, match="不能重复研判"):
        queue.decide(rec, ME, ids[:1], "attach", clue_id="XS-2")
    assert sorted(queue.ticket_ids(rec, ids)) == ["T01", "T02", "T03", "T13", "T16"]
    for sql in ("DELETE FROM queue_decisions", "UPDATE queue_decisions SET reason = 'x'",
                "DELETE FROM screening_hits", "DELETE FROM queue_items", "DELETE FROM screening_rule_versions"):
        with pytest.raises(sqlite3.IntegrityError):
            rec.execute(sql)
    acts = audit.search(rec, action="queue_decision")
    assert len(acts) == 1 and acts.iloc[0]["actor"] == "t_prosecutor"


def test_items_outside_the_scope_read_as_not_found(tiny_con, rec):
    library.save(rec, ME, manhole())
    run.screen(tiny_con, rec, ME, Target())
    items, _ = queue.items(rec)
    chaoyang = int(items.loc[items["district"] == "朝阳区", "item_id"].iloc[0])
    dongcheng = int(items.loc[items["district"] == "东城区", "item_id"].iloc[0])
    scope = Scope(districts=("朝阳区",))
    assert list(queue.items(rec, scope)[0]["item_id"]) == [chaoyang]
    assert queue.item(rec, dongcheng, scope) is None
    with pytest.raises(queue.DecisionError, match="不存在"):
        queue.decide(rec, ME, [dongcheng], "dismiss", reason="x", scope=scope)
    assert queue.queue_summary(rec, scope).waiting == 1


def test_rule_too_broad_is_reported_not_queued(tiny_con, rec, monkeypatch):
    monkeypatch.setenv("HOTLINE_SCREEN_MAX_HITS", "3")
    library.save(rec, ME, manhole())
    res = run.screen(tiny_con, rec, ME, Target())
    assert "manhole" in res.errors and "规则过宽" in res.errors["manhole"]
    assert queue.items(rec)[1] == 0


def test_inactive_rules_do_not_run(tiny_con, rec):
    library.save(rec, ME, manhole())
    library.set_active(rec, ME, "manhole", False, "暂停")
    assert run.screen(tiny_con, rec, ME, Target()).rules == 0
    assert not library.table(rec)["active"].iloc[0]


def test_import_screens_new_and_changed_tickets(tiny_db_path, tmp_path, monkeypatch):
    from data import generations
    from data.ingest import ingest_files

    db = tmp_path / "store.duckdb"
    shutil.copy(tiny_db_path, db)
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    with records.session() as rec:
        library.save(rec, ME, manhole(repeat={"min_tickets": 3, "radius_m": 100, "days": 60}))
    f = tmp_path / "new.csv"
    f.write_text("工单编号,受理时间,诉求类型,一级分类,二级分类,三级分类,专项,诉求内容,所属区,街道,详细地址,经度,纬度\n"
                 "N01,2025-04-02 09:00:00,投诉,城乡建设,市政设施,井盖破损,井盖,建国门路口井盖又破损了,东城区,建国门街道,"
                 "建国门内大街与朝阳门南小街路口,116.42062,39.90879\n"
                 "N02,2025-04-03 09:00:00,投诉,城乡建设,市政设施,井盖破损,井盖,望京井盖松动,朝阳区,望京街道,望京西园,"
                 "116.4607,39.9831\n", encoding="utf-8")
    with generations.write(db, purpose="test") as gen:
        (rep,) = ingest_files(gen.con, [f])
    assert rep.ok and rep.inserted == 2
    after = gen.after
    assert after.error == "" and len(after.import_ids) == 1
    # N01 (2 April) makes four at the crossing within 60 days (T13 on 10 February, T01 and T02 in March);
    # N02 is alone at 望京.
    assert after.result.hits == 4 and after.result.new_hits == 4
    with records.session() as rec:
        hits = dict(rec.execute("SELECT ticket_id, trigger FROM screening_hits").fetchall())
        assert hits == {"N01": 1, "T01": 0, "T02": 0, "T13": 0}
        runs = rec.execute("SELECT trigger, status FROM screening_runs").fetchall()
        assert [tuple(r) for r in runs] == [("import", "ok")]


def test_register_a_clue_from_a_batch_of_items_and_attach_another(tiny_con, rec):
    from data import ledger
    from data.scope import CITY

    library.save(rec, ME, manhole())
    run.screen(tiny_con, rec, ME, FEB)
    (first,) = [int(i) for i in queue.items(rec)[0]["item_id"]]
    run.screen(tiny_con, rec, ME, MARCH)
    second = [int(i) for i in queue.items(rec)[0]["item_id"] if int(i) != first]
    with pytest.raises(queue.DecisionError, match="检察职能"):
        queue.register(rec, ME, [first], function="民政", summary="x")
    assert queue.item(rec, first)["state"] == "waiting"          # nothing half-done
    clue = queue.register(rec, ME, [first], function="公益诉讼", department="第八检察部",
                          summary="建国门路口井盖反复破损")
    got = ledger.get_clue(rec, clue.clue_no, CITY)
    assert got.source == "rule" and got.district == "东城区" and got.topic == "井盖"
    assert sorted(got.ticket_ids) == ["T01", "T02", "T13"]
    assert got.source_ref["queue_items"] == [first] and got.source_ref["rule_version"] == 1
    assert queue.item(rec, first)["state"] == "register" and queue.item(rec, first)["clue_id"] == clue.clue_no
    queue.attach(rec, ME, second, clue.clue_no, reason="同属城区井盖专项")
    assert sorted(ledger.get_clue(rec, clue.clue_no, CITY).ticket_ids) == ["T01", "T02", "T03", "T13"]
    assert queue.clues_at(rec, first)["clue_id"].tolist() == [clue.clue_no]


def test_a_screening_failure_after_an_import_keeps_the_import(tiny_db_path, tmp_path, monkeypatch):
    from data import generations, store
    from data.ingest import ingest_files

    db = tmp_path / "store.duckdb"
    shutil.copy(tiny_db_path, db)
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    with records.session() as rec:
        library.save(rec, ME, manhole())

    def broken(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(run, "screen", broken)
    f = tmp_path / "new.csv"
    f.write_text("工单编号,受理时间,诉求内容,所属区\nN09,2025-04-02 09:00:00,井盖破损,东城区\n", encoding="utf-8")
    with generations.write(db, purpose="test") as gen:
        (rep,) = ingest_files(gen.con, [f])
    assert rep.ok and "OSError：disk full" in gen.after.error and "导入已完成" in gen.after.describe()
    con = store.connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM tickets WHERE ticket_id = 'N09'").fetchone()[0] == 1
    con.close()
