"""Re-importing the case system's clues never silently overwrites what the app recorded (issue 19).

On a copy of the tiny store a 平谷区 prosecutor files the imported clue C04 (待审查 in the files) on Wed Mar 26
2025. Then the case system's clue export is imported again through the real import (data/ingest):
- unchanged: no conflict;
- C04 changed (the case system says 不立案, reviewed Mar 27): a conflict; the ledger keeps the app's 立案 and the
  funnel counts it; the clue is listed under 导入冲突; C03 (never touched in the app) takes the new values at once;
- 保留台账记录 (keep_app), with who, when and a reason: the conflict is gone, the app's values stand;
- a later change again, then 采用导入数据 (take_import): the imported values replace the app's decision, which
  stays in the history marked superseded; both decisions are in the audit log.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime

import pytest

from analytics import funnel
from analytics import ledger as lsheet
from analytics.filters import Filters
from data import audit, ledger, records, scope, store
from data.ingest import ingest_files
from data.ledger import LedgerError, overlay
from data.people import Principal

PINGGU = Principal("zhou", "prosecutor", ("平谷区",), "周")
HEAD = "线索编号,登记时间,所属院,检察职能,承办部门,专项,线索来源,线索状态,审查时间,线索摘要,关联工单\n"
C03 = "C03,2025-03-20 09:00:00,平谷区,刑事,第二检察部,假冒伪劣,12345热线,{status},2025-03-25 09:00:00,兴谷市场销售假冒运动鞋,T06\n"
C04 = "C04,2025-03-20 10:00:00,平谷区,民事,第七检察部,欠薪,12345热线,{status},{reviewed},滨河工地拖欠农民工工资,T07\n"
MARCH = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))


@pytest.fixture()
def world(tiny_db_path, tmp_path, monkeypatch):
    p = shutil.copy(tiny_db_path, tmp_path / "conflict.duckdb")
    monkeypatch.setattr(records, "now", lambda: datetime(2025, 3, 26, 9, 0))
    ro = store.connect(p, read_only=True)
    with records.session(p) as rc:
        ledger.record_stage(rc, PINGGU, "C04", "decide", details={"outcome": "file"}, store=ro)
    ro.close()
    return p, tmp_path


def _import(p, tmp_path, name: str, c03_status: str, c04_status: str, c04_reviewed: str) -> None:
    f = tmp_path / name
    f.write_text(HEAD + C03.format(status=c03_status) + C04.format(status=c04_status, reviewed=c04_reviewed),
                 encoding="utf-8")
    con = store.connect(p)
    try:
        (rep,) = ingest_files(con, [f], kind="clues")
        assert rep.ok and rep.rows_read == 2 and rep.quarantined == 0, rep.message
    finally:
        con.close()


def _read(p, no: str):
    ro = store.connect(p, read_only=True)
    try:
        with records.session(p) as rc:
            return ledger.get_clue(rc, no, scope.CITY, store=ro, today=date(2025, 4, 1))
    finally:
        ro.close()


def _funnel_and_conflicts(p) -> tuple[list[int], list[str]]:
    con = store.connect(p, read_only=True)
    try:
        cur = scope.scoped_cursor(con, scope.CITY, ledger=True)
        with records.session(p) as rc:
            overlay.sync(cur, overlay.frames(con.cursor(), rc))
        stages = funnel.stages(cur, MARCH)["n"].tolist()
        conflicts = lsheet.clue_list(cur, lsheet.LedgerFilters(conflict=True), date(2025, 4, 1))["clue_id"].tolist()
        return stages, conflicts
    finally:
        con.close()


def test_a_reimport_that_changes_an_edited_clue_is_a_conflict(world):
    p, tmp = world
    # The same rows again: nothing to decide.
    _import(p, tmp, "same.csv", "不立案", "待审查", "")
    c = _read(p, "C04")
    assert not c.conflict and c.outcome == "file" and c.stages["decide"].recorded_by == "zhou"
    before, conflicts = _funnel_and_conflicts(p)
    assert conflicts == []

    # The case system now says C04 was not filed (and C03, never touched here, was filed after all).
    _import(p, tmp, "changed.csv", "已立案", "不立案", "2025-03-27 09:00:00")
    c = _read(p, "C04")
    assert c.conflict
    assert c.outcome == "file" and c.stages["decide"].at == datetime(2025, 3, 26, 9, 0)   # the app's, kept
    assert _read(p, "C03").outcome == "file" and not _read(p, "C03").conflict          # flows through
    after, conflicts = _funnel_and_conflicts(p)
    assert conflicts == ["C04"]
    assert after == before      # C04 still counts as filed through the overlay; C03 has no case in the files

    # Someone decides: keep the ledger's entries (who, when, why).
    with records.session(p) as rc:
        ro = store.connect(p, read_only=True)
        with pytest.raises(LedgerError, match="理由"):
            ledger.decide_conflict(rc, PINGGU, "C04", "keep_app", reason=" ", store=ro)
        c = ledger.decide_conflict(rc, PINGGU, "C04", "keep_app", reason="以检察院立案决定书为准", store=ro)
        ro.close()
    assert not c.conflict and c.outcome == "file"
    assert _funnel_and_conflicts(p)[1] == []

    # The case system changes C04 again (reviewed a day later): a conflict again; this time take the import.
    _import(p, tmp, "again.csv", "已立案", "不立案", "2025-03-28 09:00:00")
    assert _read(p, "C04").conflict
    with records.session(p) as rc:
        ro = store.connect(p, read_only=True)
        c = ledger.decide_conflict(rc, PINGGU, "C04", "take_import", reason="案件系统已更正", store=ro)
        ro.close()
        trail = audit.search(rc, action="ledger_change")
    assert not c.conflict and c.outcome == "not_file" and c.stages["decide"].at == datetime(2025, 3, 28, 9, 0)
    assert c.stages["decide"].event_id is None                      # the imported value
    kinds = [(e.kind, e.superseded, e.recorded_by) for e in c.history]
    assert kinds == [("baseline", False, "zhou"), ("decide", True, "zhou"), ("baseline", False, "zhou"),
                     ("baseline", False, "zhou")]
    assert [e.reason for e in c.history if e.kind == "baseline"][1:] == ["以检察院立案决定书为准", "案件系统已更正"]
    decisions = [d for d in trail["details"] if '"conflict"' in str(d)]
    assert len(decisions) == 2
    assert _funnel_and_conflicts(p)[1] == []
