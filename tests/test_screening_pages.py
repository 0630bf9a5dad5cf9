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


def _screen_city(app_db, **conditions):
    """Save a 井盖 rule and screen the whole tiny store as the city (T01, T02, T13, T16 at the 建国门 crossing
    in 东城区; T03 at 八里庄 in 朝阳区)."""
    from data import store
    from data.screening import run
    from data.screening.compile import Target

    me = audit.Actor("t_prosecutor", "prosecutor")
    with records.session() as rec:
        library.save(rec, me, R.parse({"key": "manhole", "name": "井盖", "project": "井盖",
                                       "conditions": {"topics": ["井盖"], **conditions}}))
        con = store.connect(app_db, read_only=True)
        run.screen(con, rec, me, Target())
        con.close()
        items, _ = queue.items(rec)
    return {d: int(i) for d, i in zip(items["district"], items["item_id"], strict=True)}


def test_a_district_prosecutor_sees_only_the_items_of_the_district(app_db):
    ids = _screen_city(app_db)
    at = app_test(role="prosecutor", districts=("朝阳区",))
    at.run()
    at.switch_page("views/queue.py").run()
    assert not at.exception, [e.value for e in at.exception]
    text = _text(at)
    assert "共 1 项" in text and "朝阳路八里庄路口" in text and "建国门" not in text
    assert [m.value for m in at.metric][:1] == ["1"]
    assert at.selectbox(key="qu_open").options == [f"#{ids['朝阳区']} 井盖 · 朝阳路八里庄路口（1 件）"]
    # the overview counts the district's items only
    at2 = app_test(role="prosecutor", districts=("东城区",))
    at2.run()
    assert any("筛查待研判 **1** 项" in c.value for c in at2.caption)


def test_a_district_prosecutors_screening_finds_only_the_districts_tickets(app_db):
    me = audit.Actor("t_prosecutor", "prosecutor")
    with records.session() as rec:
        library.save(rec, me, R.parse({"key": "manhole", "name": "井盖", "conditions": {"topics": ["井盖"]}}))
    at = app_test(role="prosecutor", districts=("朝阳区",))
    at.run()
    at.switch_page("views/rules.py").run()
    at.radio(key="ru_view").set_value("运行筛查").run()
    at.button(key="ru_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # the last 30 days in 朝阳区: T03 only (T01 and T02 are in 东城区, outside this user's store)
    assert any("命中 1 件（新增 1 件），新增待研判 1 项" in s.value for s in at.success)
    with records.session() as rec:
        assert sorted(r[0] for r in rec.execute("SELECT ticket_id FROM screening_hits")) == ["T03"]


def test_a_dismissed_place_comes_back_after_an_import_marked_seen_before(app_db, tmp_path, capsys):
    import manage

    ids = _screen_city(app_db)
    me = audit.Actor("t_prosecutor", "prosecutor")
    with records.session() as rec:
        queue.decide(rec, me, [ids["东城区"]], "dismiss", reason="已修复")
    f = tmp_path / "day.csv"
    f.write_text("工单编号,受理时间,诉求类型,一级分类,二级分类,三级分类,专项,诉求内容,所属区,街道,详细地址,经度,纬度\n"
                 "N01,2025-04-02 09:00:00,投诉,城乡建设,市政设施,井盖破损,井盖,建国门路口井盖又破损了,东城区,建国门街道,"
                 "建国门内大街与朝阳门南小街路口,116.42062,39.90879\n", encoding="utf-8")
    assert manage.main(["ingest", str(f), "--db", str(app_db)]) == 0
    # the import screened its one new ticket: it joined the dismissed item, which returned
    assert "导入后筛查：筛查 1 条规则：命中 1 件（新增 1 件），新增待研判 0 项，1 项因新工单重回队列" in capsys.readouterr().out
    at = app_test(role="prosecutor")
    at.run()
    at.switch_page("views/queue.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.metric][:3] == ["2", "0 天", "1"]     # waiting, oldest, of which returned
    at.selectbox(key="qu_open").set_value(ids["东城区"]).run()
    assert "此地点曾研判，因新工单重回队列" in " ".join(c.value for c in at.caption)
    (hist,) = [d.value for d in at.dataframe if "决定" in d.value.columns]      # the item's decisions
    assert list(hist["决定"]) == ["排除", "有新工单，重回队列"] and hist["理由"].iloc[0] == "已修复"
    with records.session() as rec:
        assert queue.item(rec, ids["东城区"])["n"] == 5        # T16, T13, T01, T02 and the new N01


_DAY = ("工单编号,受理时间,诉求类型,一级分类,二级分类,三级分类,专项,诉求内容,所属区,街道,详细地址,经度,纬度\n"
        "N01,2025-04-02 09:00:00,投诉,城乡建设,市政设施,井盖破损,井盖,建国门路口井盖又破损了,东城区,建国门街道,"
        "建国门内大街与朝阳门南小街路口,116.42062,39.90879\n"
        "N02,2025-04-03 09:00:00,投诉,城乡建设,市政设施,井盖破损,井盖,望京井盖松动,朝阳区,望京街道,望京西园,"
        "116.4607,39.9831\n")


def test_a_day_imported_on_the_import_page_is_screened_into_the_queue(app_db):
    """The 导入 page's import runs the active rules over the day's new tickets and says what they found."""
    me = audit.Actor("t_prosecutor", "prosecutor")
    with records.session() as rec:
        library.save(rec, me, R.parse({"key": "manhole", "name": "井盖", "conditions": {"topics": ["井盖"]}}))
    at = app_test(role="admin")
    at.run()
    at.switch_page("views/import_data.py").run()
    at.file_uploader(key="imp_file").upload("day.csv", _DAY.encode("utf-8"), "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="imp_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    # only the import's two tickets are screened (T01... were never screened): two new places
    assert any("导入后筛查：筛查 1 条规则：命中 2 件（新增 2 件），新增待研判 2 项" in i.value for i in at.info)
    with records.session() as rec:
        items, n = queue.items(rec)
        runs = [tuple(r) for r in rec.execute("SELECT trigger, actor, hits FROM screening_runs")]
    assert n == 2 and sorted(items["label"]) == ["建国门内大街与朝阳门南小街路口", "望京西园"]
    assert runs == [("import", "system:screening", 2)]


def test_rule_files_are_checked_imported_as_new_versions_and_exported_on_the_page(app_db):
    at = app_test(role="prosecutor")
    at.run()
    at.switch_page("views/rules.py").run()
    at.radio(key="ru_view").set_value("导入导出").run()
    bad = "key: manhole\nname: 井盖\nconditions:\n  repeat: {min_tickets: 3}\n"
    at.file_uploader(key="ru_upload").upload("bad.yaml", bad.encode("utf-8"), "application/x-yaml").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value.replace("\\", "") for e in at.error] == ["规则有误：规则文件 bad.yaml 的筛查条件的重复条件（repeat）缺少 days、radius_m。"]
    assert "ru_import" not in [b.key for b in at.button]         # nothing to import from a malformed file
    good = "key: manhole\nname: 井盖\nconditions:\n  topics: [井盖]\n"
    at.file_uploader(key="ru_upload").upload("good.yaml", good.encode("utf-8"), "application/x-yaml").run()
    assert any("检查通过：1 条规则（manhole）" in s.value for s in at.success)
    at.button(key="ru_import").click().run()
    assert any("已导入：manhole（版本 1）" in s.value for s in at.success)
    at.file_uploader(key="ru_upload").upload(
        "v2.json", b'{"key": "manhole", "name": "\\u4e95\\u76d6", "conditions": {"topics": ["\\u4e95\\u76d6"], '
                   b'"keywords": {"none": ["\\u54a8\\u8be2"]}}}', "application/json").run()
    at.button(key="ru_import").click().run()
    assert any("已导入：manhole（版本 2）" in s.value for s in at.success)
    with records.session() as rec:
        assert list(library.versions(rec, "manhole")["version"]) == [2, 1]
        exported = library.export_text(rec, None, "yaml")       # what 导出全部规则 downloads
        latest = library.get(rec, "manhole").rule
    assert R.loads(exported, "导出文件 ") == [latest] and "咨询" in exported
