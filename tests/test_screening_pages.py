"""The 规则 and 研判 pages (AppTest, signed in, on a private copy of the tiny store)."""

from __future__ import annotations

from data import audit, ledger, records
from data.scope import CITY
from data.screening import library, queue
from data.screening import rule as R
from tests.conftest import app_test


def _text(at) -> str:
    return " ".join(str(getattr(e, "value", "")) for e in at.main if hasattr(e, "value"))


def test_rule_form_counts_live_and_saves_a_version(app_db):
    at = app_test(role="prosecutor")
    at.run()
    at.switch_page("views/rules.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "尚无规则" in _text(at)
    at.radio(key="ru_view").set_value("编写规则").run()
    at.text_input(key="ru_f_key").set_value("manhole")
    at.text_input(key="ru_f_name").set_value("井盖反复")
    at.multiselect(key="ru_f_topics").set_value(["井盖"])
    at.run()
    # The try-out period is the last 90 days of data (1 January - 31 March 2025): T01, T02, T03, T13.
    assert "命中 4 件工单，2 处地点" in _text(at)
    at.checkbox(key="ru_f_repeat_on").check()
    at.number_input(key="ru_f_repeat_n").set_value(3)
    at.number_input(key="ru_f_repeat_radius").set_value(100.0)
    at.number_input(key="ru_f_repeat_days").set_value(60)
    at.run()
    assert "命中 3 件工单，1 处地点" in _text(at)
    at.text_input(key="ru_note").set_value("第一版")
    at.button(key="ru_save").click().run()
    assert not at.exception
    assert "已保存规则 manhole，版本 1" in _text(at)
    with records.session() as rec:
        s = library.get(rec, "manhole")
    assert s.rule.conditions.repeat.min_tickets == 3 and s.active


def test_malformed_rule_in_the_form_shows_its_message(app_db):
    at = app_test(role="prosecutor")
    at.run()
    at.switch_page("views/rules.py").run()
    at.radio(key="ru_view").set_value("编写规则").run()
    at.text_input(key="ru_f_key").set_value("井盖")
    at.text_input(key="ru_f_name").set_value("x")
    at.run()
    assert any("规则编号（key）“井盖”无效" in w.value for w in at.warning)


def test_queue_page_registers_a_clue_from_an_item(app_db):
    me = audit.Actor("t_prosecutor", "prosecutor")
    with records.session() as rec:
        library.save(rec, me, R.parse({"key": "manhole", "name": "井盖", "project": "井盖", "function": "公益诉讼",
                                       "conditions": {"topics": ["井盖"]}}))
    at = app_test(role="prosecutor")
    at.run()
    at.switch_page("views/rules.py").run()
    at.radio(key="ru_view").set_value("运行筛查").run()
    at.button(key="ru_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # The last 30 days of data (2-31 March 2025): T01, T02 at the 建国门 crossing, T03 at 八里庄.
    assert any("命中 3 件（新增 3 件），新增待研判 2 项" in s.value for s in at.success)
    at.switch_page("views/queue.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "共 2 项" in _text(at)
    with records.session() as rec:
        items, _ = queue.items(rec)
    crossing = int(items.loc[items["district"] == "东城区", "item_id"].iloc[0])
    at.selectbox(key="qu_open").set_value(crossing).run()
    assert "建国门内大街与朝阳门南小街路口" in _text(at)
    assert "为何命中" in _text(at) and "专项：井盖" in " ".join(t.value for t in at.text)
    at.text_area(key="qu_summary").set_value("建国门路口井盖反复破损")
    at.button(key="qu_register").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (ok,) = [s.value for s in at.success if "已登记线索" in s.value]
    clue_no = ok.split("已登记线索 ")[1].split("（")[0]
    with records.session() as rec:
        clue = ledger.get_clue(rec, clue_no, CITY)
        assert clue.summary == "建国门路口井盖反复破损" and sorted(clue.ticket_ids) == ["T01", "T02"]
        assert queue.item(rec, crossing)["state"] == "register"
        assert queue.queue_summary(rec).waiting == 1


def test_overview_says_how_many_items_wait(app_db):
    from data import store
    from data.screening import run
    from data.screening.compile import Target

    me = audit.Actor("t_prosecutor", "prosecutor")
    with records.session() as rec:
        library.save(rec, me, R.parse({"key": "manhole", "name": "井盖", "conditions": {"topics": ["井盖"]}}))
        con = store.connect(app_db, read_only=True)
        run.screen(con, rec, me, Target())
        con.close()
    at = app_test(role="leader")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("筛查待研判 **2** 项，最久已等待 0 天" in c.value for c in at.caption)
