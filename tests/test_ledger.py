"""The ledger's contract (register, attach, get, find) and its rules, on a records store beside the tiny store.

Times are fixed by replacing records.now; every date below can be checked by hand against a calendar
(2025-03-10 is a Monday).
"""

from __future__ import annotations

import shutil
from datetime import date, datetime

import pytest

from data import audit, ledger, records
from data.ledger import LedgerError
from data.people import Principal
from data.scope import Scope

NOW = datetime(2025, 3, 10, 10, 0, 0)   # Monday


@pytest.fixture()
def clock(monkeypatch):
    """records.now() returns clock.now (tests move it)."""
    class Clock:
        now = NOW
    c = Clock()
    monkeypatch.setattr(records, "now", lambda: c.now)
    return c


@pytest.fixture()
def rec(tmp_path, tiny_db_path, monkeypatch, clock):
    p = tmp_path / "ledger.duckdb"
    shutil.copy(tiny_db_path, p)
    monkeypatch.setenv("HOTLINE_DB", str(p))
    with records.session(p) as con:
        yield con


CHAOYANG = Principal("zhang", "prosecutor", ("朝阳区",), "张三")
CITY_ADMIN = Principal("li", "clue_admin", (), "李四")


def _register(con, actor=CHAOYANG, **kw):
    args = dict(source="rule", source_ref={"rule_id": 7, "rule_version": 3, "queue_items": [41, 42]},
                district="朝阳区", function="公益诉讼", department="第八检察部", topic="污水",
                place="望京河边", lon=116.4607, lat=39.983, summary="望京河反复偷排污水",
                ticket_ids=["T04", "T05"])
    args.update(kw)
    return ledger.register_clue(con, actor, **args)


def test_register_numbers_and_audits(rec):
    c = _register(rec)
    assert c.clue_no == "X-2025-000001"
    assert c.origin == "app" and c.district == "朝阳区" and c.source == "rule"
    assert c.source_ref == {"rule_id": 7, "rule_version": 3, "queue_items": [41, 42]}
    assert c.ticket_ids == ("T04", "T05")
    assert c.stage == "register" and c.stage_label == "待审查"
    assert c.created_at == NOW and c.created_by == "zhang"
    # Review due 7 days after Monday Mar 10: Monday Mar 17.
    assert (c.next_due.rule, c.next_due.due, c.next_due.state) == ("clue_review", date(2025, 3, 17), "pending")
    assert _register(rec, summary="第二条").clue_no == "X-2025-000002"
    rows = audit.search(rec, action="ledger_change")
    assert rows["target"].tolist() == ["X-2025-000002", "X-2025-000001"]
    assert audit.verify(rec).ok


def test_numbers_restart_each_year(rec, clock):
    _register(rec)
    clock.now = datetime(2026, 1, 2, 9, 0)
    assert _register(rec).clue_no == "X-2026-000001"


@pytest.mark.parametrize("kw, message", [
    ({"source": "hotline"}, "线索来源"),
    ({"function": "公益"}, "检察职能"),
    ({"summary": "  "}, "线索摘要"),
    ({"district": ""}, "辖区"),
    ({"lon": "east", "lat": 39.9}, "经纬度"),
    ({"ticket_ids": "T01"}, "列表"),
])
def test_register_refuses_bad_input(rec, kw, message):
    with pytest.raises(LedgerError, match=message):
        _register(rec, **kw)
    assert ledger.version(rec) == 0   # nothing written


def test_scope_on_write_and_read(rec):
    with pytest.raises(LedgerError, match="其他辖区"):
        _register(rec, district="东城区")
    c = _register(rec)
    assert ledger.get_clue(rec, c.clue_no, Scope(("东城区",))) is None        # another district: not found
    assert ledger.get_clue(rec, "X-2025-999999", Scope()) is None             # unknown: the same
    assert ledger.get_clue(rec, c.clue_no, Scope(("朝阳区",))).clue_no == c.clue_no
    press = Principal("p", "press")
    with pytest.raises(LedgerError, match="无权"):
        _register(rec, actor=press)


def test_register_joins_the_callers_transaction(rec):
    with records.transaction(rec):
        c = _register(rec)
        rec.execute("SELECT 1")
    assert ledger.get_clue(rec, c.clue_no, Scope()) is not None
    # A failure after registering inside the caller's transaction leaves nothing behind.
    with pytest.raises(RuntimeError):
        with records.transaction(rec):
            _register(rec, summary="回滚")
            raise RuntimeError("queue decision failed")
    assert [x.summary for x in ledger.find_clues(rec, Scope())] == ["望京河反复偷排污水"]


def test_attach_tickets(rec):
    c = _register(rec)
    c2 = ledger.attach_tickets(rec, CHAOYANG, c.clue_no, ["T05", "T15"], "同一河段新增工单")
    assert c2.ticket_ids == ("T04", "T05", "T15")         # T05 already linked: skipped
    link = next(e for e in c2.history if e.kind == "link")
    assert link.details == {"ticket_ids": ["T15"]} and link.reason == "同一河段新增工单"
    with pytest.raises(LedgerError, match="理由"):
        ledger.attach_tickets(rec, CHAOYANG, c.clue_no, ["T14"], "")
    c3 = ledger.detach_tickets(rec, CHAOYANG, c.clue_no, ["T04"], "误关联")
    assert c3.ticket_ids == ("T05", "T15")


def test_find_clues(rec):
    a = _register(rec)
    b = _register(rec, summary="八里庄路口井盖缺失", topic="井盖", ticket_ids=["T03"])
    ledger.record_stage(rec, CHAOYANG, a.clue_no, "decide", details={"outcome": "not_file"})
    assert [c.clue_no for c in ledger.find_clues(rec, Scope())] == [b.clue_no, a.clue_no]
    assert [c.clue_no for c in ledger.find_clues(rec, Scope(), text="井盖")] == [b.clue_no]
    assert [c.clue_no for c in ledger.find_clues(rec, Scope(), open_only=True)] == [b.clue_no]
    assert [c.clue_no for c in ledger.find_clues(rec, Scope(), ticket_id="T04")] == [a.clue_no]
    assert ledger.find_clues(rec, Scope(("东城区",))) == []
    assert len(ledger.find_clues(rec, Scope(), limit=1)) == 2    # limit + 1: the caller can say it was cut


def test_find_includes_imported_clues_with_the_store(rec, tiny_con):
    _register(rec)
    got = ledger.find_clues(rec, Scope(("平谷区",)), store=tiny_con)
    assert [c.clue_no for c in got] == ["C05", "C04", "C03"]
    assert [c.clue_no for c in ledger.find_clues(rec, Scope(), text="井盖", store=tiny_con)] == ["C01"]
    assert [c.clue_no for c in ledger.find_clues(rec, Scope(), ticket_id="T11", store=tiny_con)] == ["C05"]


def test_append_only(rec):
    _register(rec)
    import sqlite3
    for sql in ("UPDATE ledger_clues SET summary = 'x'", "DELETE FROM ledger_events",
                "UPDATE ledger_links SET ticket_id = 'T99'", "DELETE FROM ledger_clues"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            rec.execute(sql)


def test_stages_with_exact_dates_and_weekends(rec, clock):
    """Registered Mon Mar 10; review due Mar 17 (Mon). Decided Fri Mar 14 (filed); a non-urgent suggestion on
    Wed Mar 19 is due 60 days later, Sun May 18, which moves to Mon May 19; the reply comes Mon May 19 (on time);
    rectified Fri May 23, the follow-up is due 60 days later, Tue Jul 22."""
    c = _register(rec)
    clock.now = datetime(2025, 3, 14, 16, 0)
    c = ledger.record_stage(rec, CHAOYANG, c.clue_no, "decide", details={"outcome": "file"})
    assert c.stage_label == "已立案" and c.next_due is None      # nothing due until the suggestion
    clock.now = datetime(2025, 3, 19, 9, 30)
    c = ledger.record_stage(rec, CHAOYANG, c.clue_no, "suggest",
                            details={"kind": "pre_litigation", "urgent": False, "addressee": "朝阳区水务局"})
    assert (c.next_due.rule, c.next_due.start, c.next_due.due) == ("suggestion_reply", date(2025, 3, 19),
                                                                   date(2025, 5, 19))
    clock.now = datetime(2025, 5, 16, 9, 0)     # Friday: due on Monday, within 3 days -> due soon
    assert ledger.get_clue(rec, c.clue_no, Scope()).next_due.state == "due_soon"
    clock.now = datetime(2025, 5, 20, 9, 0)     # Tuesday: one day over
    assert ledger.get_clue(rec, c.clue_no, Scope()).next_due.state == "overdue"
    c = ledger.record_stage(rec, CHAOYANG, c.clue_no, "reply", on=date(2025, 5, 19), note="已书面回复")
    assert c.stages["reply"].at == datetime(2025, 5, 19)
    from data.ledger import deadlines
    items = {i.rule: i for i in deadlines.clue_items(c.stages, c.source, date(2025, 5, 20))}
    assert (items["clue_review"].done, items["clue_review"].state) == (date(2025, 3, 14), "on_time")
    assert (items["suggestion_reply"].done, items["suggestion_reply"].state) == (date(2025, 5, 19), "on_time")
    clock.now = datetime(2025, 5, 23, 15, 0)
    c = ledger.record_stage(rec, CHAOYANG, c.clue_no, "rectify", details={"result": "整改到位"},
                            outcomes=[("截断污水直排", 120, "吨"), {"item": "清理河道垃圾", "value": 3.5, "unit": "吨"}])
    assert c.stages["rectify"].outcomes == (("截断污水直排", 120.0, "吨"), ("清理河道垃圾", 3.5, "吨"))
    assert (c.next_due.rule, c.next_due.due) == ("follow_up", date(2025, 7, 22))
    clock.now = datetime(2025, 7, 25, 10, 0)
    c = ledger.record_stage(rec, CHAOYANG, c.clue_no, "follow_up", note="未反弹")
    c = ledger.record_stage(rec, CHAOYANG, c.clue_no, "close")
    assert c.stage == "close" and c.stage_label == "已结案" and c.next_due is None and c.next_steps == []
    assert [e.kind for e in c.history] == ["register", "decide", "suggest", "reply", "rectify", "follow_up", "close"]
    assert all(e.recorded_by == "zhang" for e in c.history)


def test_urgent_suggestion_and_a_clue_with_no_reply(rec, clock):
    """Urgent: 15 days from Thu Mar 20 is Fri Apr 4 (no move). No reply by Apr 10: overdue 6 days."""
    c = _register(rec)
    clock.now = datetime(2025, 3, 20, 9, 0)
    ledger.record_stage(rec, CHAOYANG, c.clue_no, "decide", details={"outcome": "file"})
    c = ledger.record_stage(rec, CHAOYANG, c.clue_no, "suggest",
                            details={"kind": "pre_litigation", "urgent": True, "addressee": "朝阳区城管委"})
    assert (c.next_due.rule, c.next_due.due) == ("urgent_reply", date(2025, 4, 4))
    clock.now = datetime(2025, 4, 10, 9, 0)
    c = ledger.get_clue(rec, c.clue_no, Scope())
    assert c.next_due.state == "overdue" and c.stage_label == "检察建议"


def test_review_deadline_moves_off_the_weekend(rec, clock):
    clock.now = datetime(2025, 3, 15, 11, 0)        # Saturday: +7 = Saturday Mar 22 -> Monday Mar 24
    c = _register(rec)
    assert c.next_due.due == date(2025, 3, 24)
    clock.now = datetime(2025, 3, 24, 18, 0)
    assert ledger.get_clue(rec, c.clue_no, Scope()).next_due.state == "due_soon"   # due today
    clock.now = datetime(2025, 3, 25, 8, 0)
    assert ledger.get_clue(rec, c.clue_no, Scope()).next_due.state == "overdue"


def test_notify_deadline_for_reported_clues(rec, clock):
    """A clue from 12309 has someone to notify: 3 days after the decision (Thu Mar 13 -> Sun Mar 16 -> Mon Mar 17)."""
    c = _register(rec, source="12309", source_ref={"letter_id": "L001"}, ticket_ids=[])
    clock.now = datetime(2025, 3, 13, 9, 0)
    c = ledger.record_stage(rec, CHAOYANG, c.clue_no, "decide", details={"outcome": "transfer", "transfer_to": "区水务局"})
    assert (c.next_due.rule, c.next_due.due) == ("notify", date(2025, 3, 17))
    assert c.stage_label == "已移送" and "suggest" not in c.next_steps


def test_stage_order_and_dates_are_checked(rec, clock):
    c = _register(rec)
    with pytest.raises(LedgerError, match="需先完成"):
        ledger.record_stage(rec, CHAOYANG, c.clue_no, "reply")
    with pytest.raises(LedgerError, match="晚于今天"):
        ledger.record_stage(rec, CHAOYANG, c.clue_no, "decide", on=date(2025, 3, 11), details={"outcome": "file"})
    with pytest.raises(LedgerError, match="早于上一环节"):
        ledger.record_stage(rec, CHAOYANG, c.clue_no, "decide", on=date(2025, 3, 9), details={"outcome": "file"})
    with pytest.raises(LedgerError, match="移送单位"):
        ledger.record_stage(rec, CHAOYANG, c.clue_no, "decide", details={"outcome": "transfer"})
    ledger.record_stage(rec, CHAOYANG, c.clue_no, "decide", details={"outcome": "file"})
    with pytest.raises(LedgerError, match="更正"):
        ledger.record_stage(rec, CHAOYANG, c.clue_no, "decide", details={"outcome": "file"})
    with pytest.raises(LedgerError, match="整改结果"):
        ledger.record_stage(rec, CHAOYANG, c.clue_no, "rectify", details={"result": "好"})
    with pytest.raises(LedgerError, match="数量应为数字"):
        ledger.record_stage(rec, CHAOYANG, c.clue_no, "rectify", details={"result": "整改到位"},
                            outcomes=[("更换井盖", "三", "个")])
    assert [e.kind for e in ledger.get_clue(rec, c.clue_no, Scope()).history] == ["register", "decide"]


def test_corrections_are_new_entries_with_a_reason(rec, clock):
    c = _register(rec)
    clock.now = datetime(2025, 3, 20, 9, 0)
    c = ledger.record_stage(rec, CHAOYANG, c.clue_no, "decide", details={"outcome": "not_file"})
    with pytest.raises(LedgerError, match="理由"):
        ledger.correct_stage(rec, CHAOYANG, c.clue_no, "decide", reason=" ", details={"outcome": "file"})
    c = ledger.correct_stage(rec, CHAOYANG, c.clue_no, "decide", on=date(2025, 3, 14), details={"outcome": "file"},
                             reason="误选，集体讨论决定立案")
    assert c.stages["decide"].details["outcome"] == "file" and c.stages["decide"].at == datetime(2025, 3, 14)
    kinds = [(e.kind, e.superseded) for e in c.history]
    assert kinds == [("register", False), ("decide", True), ("correct", False)]
    assert c.history[-1].reason == "误选，集体讨论决定立案" and c.history[-1].replaces == c.history[1].event_id
    c = ledger.void_stage(rec, CITY_ADMIN, c.clue_no, "decide", reason="重复登记的决定")
    assert "decide" not in c.stages and c.stage_label == "待审查"
    assert c.history[-1].recorded_by == "li"
    c = ledger.edit_clue(rec, CHAOYANG, c.clue_no, {"handler": "wang", "subject": "朝阳区水务局"}, reason="改派")
    assert (c.handler, c.subject) == ("wang", "朝阳区水务局")


def test_imported_clue_as_stages(rec, tiny_con):
    """C01 in tests/data/tiny/load.sql: registered Mar 8, reviewed (filed) Mar 12, K01 urgent 诉前检察建议 Mar 15,
    replied Mar 28, rectified Mar 27 (整改到位, 更换井盖3个 = 3 个), followed up May 20."""
    assert ledger.get_clue(rec, "C01", Scope()) is None                   # without the store: unknown here
    c = ledger.get_clue(rec, "C01", Scope(), store=tiny_con)
    assert c.origin == "import" and c.district == "东城区" and c.source == "12345热线"
    assert c.ticket_ids == ("T01", "T02", "T13")
    assert {k: s.at.strftime("%m-%d") for k, s in c.stages.items()} == {
        "register": "03-08", "decide": "03-12", "suggest": "03-15", "reply": "03-28", "rectify": "03-27",
        "follow_up": "05-20"}
    assert c.stages["decide"].details == {"outcome": "file", "case_id": "K01"}
    assert c.stages["suggest"].details["urgent"] is True
    assert c.stages["rectify"].outcomes == (("更换井盖3个", 3.0, "个"),)
    assert c.stage_label == "回头看" and c.next_steps == ["close"]
    assert ledger.get_clue(rec, "C01", Scope(("朝阳区",)), store=tiny_con) is None
    c4 = ledger.get_clue(rec, "C04", Scope(), store=tiny_con)              # 待审查, no review yet
    assert c4.stage_label == "待审查" and c4.next_due.rule == "clue_review" and c4.next_due.due == date(2025, 3, 27)
    c5 = ledger.get_clue(rec, "C05", Scope(), store=tiny_con)
    assert c5.stage_label == "已移送"


def test_acting_on_an_imported_clue(rec, tiny_con, clock):
    pinggu = Principal("zhou", "prosecutor", ("平谷区",), "周")
    with pytest.raises(LedgerError, match="未找到"):
        ledger.record_stage(rec, pinggu, "C04", "decide", details={"outcome": "file"})   # no store: unknown
    clock.now = datetime(2025, 3, 26, 9, 0)
    c = ledger.record_stage(rec, pinggu, "C04", "decide", details={"outcome": "file"}, store=tiny_con)
    assert c.origin == "import" and c.stage_label == "已立案" and c.ticket_ids == ("T07",)
    assert [e.kind for e in c.history] == ["baseline", "decide"]
    assert not c.conflict
    c = ledger.attach_tickets(rec, pinggu, "C04", ["T20"], "同一工地", store=tiny_con)
    assert c.ticket_ids == ("T07", "T20")
    assert [x.clue_no for x in ledger.all_clues(rec, store=tiny_con)] == ["C04"]
