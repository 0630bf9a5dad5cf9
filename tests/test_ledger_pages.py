"""The ledger's pages as a district clue administrator and a prosecutor use them (AppTest on the tiny store):
own district only, a registration with who and when, a step on a clue's page, another district's clue reads
"not found", 12309 compliance shown as "—" with its reason when nothing was due.

The tiny store's imported clues: C01 东城区, C02 朝阳区, C03/C04/C05 平谷区.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from data import audit, ledger, records, scope
from tests.conftest import app_test

LETTERS = Path(__file__).parent / "data" / "letters" / "letters_12309.csv"
PINGGU = ("平谷区",)


@pytest.fixture()
def clock(monkeypatch):
    monkeypatch.setattr(records, "now", lambda: datetime(2025, 4, 1, 9, 30))


class _Page:
    """An AppTest of app.py, signed in, that opens `path` (with query parameters) on run()."""

    def __init__(self, path: str, role: str, districts, params: dict):
        self.at = app_test(role=role, districts=districts).run()
        for k, v in params.items():
            self.at.query_params[k] = v
        self.path = path

    def run(self):
        return self.at.switch_page(self.path).run()


def _page(path: str, role: str = "clue_admin", districts=PINGGU, **params) -> _Page:
    return _Page(path, role, districts, params)


def _text(at) -> str:
    """What the page says (text, messages, metrics; not the widgets' values), Markdown escapes removed."""
    parts = [str(e.value) for kind in (at.title, at.subheader, at.markdown, at.caption, at.success, at.info,
                                      at.warning, at.error) for e in kind]
    parts += [f"{m.label} {m.value} {m.help or ''}" for m in at.metric]
    return " ".join(parts).replace("\\", "")


def test_a_district_admin_sees_and_registers_in_own_district_only(app_db, clock):
    at = _page("views/ledger.py").run()
    assert not at.exception, [e.value for e in at.exception]
    m = {x.label: x.value for x in at.metric}
    assert m["台账线索"] == "3" and m["本系统登记"] == "0"          # C03, C04, C05 (平谷区)
    at.session_state["lg_tab"] = "台账"
    at.run()
    shown = at.dataframe[0].value
    assert sorted(shown["线索编号"]) == ["C03", "C04", "C05"]

    at.session_state["lg_tab"] = "登记线索"
    at.run()
    assert at.selectbox(key="lg_new_district").options == ["平谷区"]     # no other district to choose
    at.selectbox(key="lg_new_source").set_value("liaison")
    at.text_input(key="lg_new_ref").input("兴谷街道联络点")
    at.text_area(key="lg_new_summary").input("兴谷市场周边占道经营")
    at.text_area(key="lg_new_tickets").input("T06, T11")
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "已登记线索 X-2025-000001" in _text(at)
    assert at.text_area(key="lg_new_summary").value == ""             # the form is empty again
    assert {x.label: x.value for x in at.metric}["本系统登记"] == "1"
    with records.session() as con:
        c = ledger.get_clue(con, "X-2025-000001", scope.Scope(PINGGU))
        trail = audit.search(con, action="ledger_change")
    assert (c.district, c.source, c.source_ref, c.ticket_ids) == ("平谷区", "liaison", {"liaison": "兴谷街道联络点"},
                                                                 ("T06", "T11"))
    assert c.created_by == "t_clue_admin_平谷区" and c.created_at == datetime(2025, 4, 1, 9, 30)
    assert trail["actor"].tolist() == ["t_clue_admin_平谷区"] and trail["target"].tolist() == ["X-2025-000001"]


def test_another_districts_clue_reads_not_found(app_db, clock):
    at = _page("views/clue.py", no="C01").run()                       # C01 is 东城区's
    assert not at.exception
    assert [w.value for w in at.warning] == ["未找到线索 C01（编号不存在或不在您的辖区内）。"]
    assert not at.dataframe
    at = _page("views/clue.py", no="C99").run()                       # unknown: the same answer
    assert [w.value for w in at.warning] == ["未找到线索 C99（编号不存在或不在您的辖区内）。"]


def test_a_prosecutor_files_an_imported_clue_on_its_page(app_db, clock):
    at = _page("views/clue.py", role="prosecutor", no="C04").run()   # 平谷区, 待审查 in the files
    assert not at.exception, [e.value for e in at.exception]
    m = {x.label: x.value for x in at.metric}
    # Registered Thu Mar 20: review due Thu Mar 27, not decided by Apr 1: overdue.
    assert m["当前环节"] == "待审查" and m["下一期限：线索审查决定"] == "2025-03-27" and m["期限状态"] == "已逾期"
    at.button_group(key="cl_step").set_value("decide").run()
    at.date_input(key="cl_on_decide").set_value(date(2025, 3, 31))
    at.radio(key="cl_outcome").set_value("file")
    at.button(key="FormSubmitter:cl_step_decide-记录“审查决定”").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "已记录“审查决定”" in _text(at)
    # A correction of the decision's date with a reason: a new entry; the form is empty again after it.
    at.date_input(key="cl_fix_on_decide").set_value(date(2025, 3, 28))
    at.text_input(key="cl_fix_reason_decide").input("以决定书落款日期为准")
    at.button(key="FormSubmitter:cl_fix_decide-保存更正").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.text_input(key="cl_fix_reason_decide").value == ""
    m = {x.label: x.value for x in at.metric}
    assert m["当前环节"] == "已立案"
    with records.session() as con:
        history = con.execute("SELECT kind, stage_at, recorded_by, recorded_at FROM ledger_events "
                              "WHERE clue_no = 'C04' ORDER BY event_id").fetchall()
    assert [tuple(r) for r in history] == [
        ("baseline", None, "t_prosecutor_平谷区", "2025-04-01 09:30:00"),
        ("decide", "2025-03-31 00:00:00", "t_prosecutor_平谷区", "2025-04-01 09:30:00"),
        ("correct", "2025-03-28 00:00:00", "t_prosecutor_平谷区", "2025-04-01 09:30:00")]


def test_letters_page_shows_a_dash_with_its_reason_when_nothing_was_due(app_db, monkeypatch):
    from data.ledger import letters

    monkeypatch.setattr(records, "now", lambda: datetime(2025, 7, 1, 9, 0))
    with records.session() as con:
        letters.import_file(con, audit.Actor("pytest"), LETTERS)
    # 平谷区: L04 (Mar 10, no reply: overdue) and L05 (Sat Jun 28, not yet due).
    at = _page("views/letters.py", role="clue_admin", districts=PINGGU).run()
    assert not at.exception, [e.value for e in at.exception]
    m = {x.label: x for x in at.metric}
    assert m["收到信访"].value == "2" and m["7日内程序性回复率"].value == "0.0%"   # one due, overdue: a real 0%
    # Only June's letter: nothing has fallen due yet, so no rate, and the help says why.
    at.date_input(key="lt_period").set_value((date(2025, 6, 1), date(2025, 6, 30))).run()
    m = {x.label: x for x in at.metric}
    assert m["收到信访"].value == "1" and m["7日内程序性回复率"].value == "—"
    assert "没有已到期的信访件" in m["7日内程序性回复率"].help
    assert "None" not in _text(at) and "nan" not in _text(at)


def test_the_overviews_counts_read_both_kinds_of_clue(app_db, clock):
    """On Tue Apr 1 2025 平谷区's imported C04 (registered Thu Mar 20, not decided) is overdue; a clue registered
    in the app on paper date Fri Mar 21 (review due Fri Mar 28) is overdue too, and so is one of Sat Mar 22 (due
    Sat Mar 29 -> Mon Mar 31); one of Thu Mar 27 (due Thu Apr 3, in 2 days) is due soon."""
    from data.people import Principal

    me = Principal("zhou", "prosecutor", PINGGU, "周")
    with records.session() as con:
        for day in (21, 27, 22):
            ledger.register_clue(con, me, source="other", district="平谷区", function="民事",
                                 summary=f"3月{day}日纸质登记", ticket_ids=[],
                                 registered_at=datetime(2025, 3, day, 9, 0))
    at = _page("views/overview.py", role="clue_admin", districts=PINGGU).run()
    assert not at.exception, [e.value for e in at.exception]
    m = {x.label: x.value for x in at.metric}
    assert (m["线索已逾期"], m["线索即将到期"]) == ("3", "1")
