"""Sign-in, the role matrix, scope and audit as the app shows them (AppTest on the tiny store)."""

from __future__ import annotations

import pytest

from data import audit, records, roles
from tests.conftest import TEST_PASSWORD, account, app_test

PAGE_FILES = {"overview": "views/overview.py", "topics": "views/topics.py", "funnel": "views/funnel.py",
              "tickets": "views/tickets.py", "map": "views/map.py", "import": "views/import_data.py",
              "users": "views/users.py", "audit": "views/audit.py", "rules": "views/rules.py",
              "queue": "views/queue.py", "collide": "views/collide.py", "ledger": "views/ledger.py",
              "clue": "views/clue.py", "letters": "views/letters.py",
              "screen": "views/screen.py"}


@pytest.fixture()
def app_db(app_db):
    return app_db   # a private copy of the tiny store (its records store beside it is private too)


def _main_text(at) -> str:
    return " ".join(str(getattr(e, "value", "")) for e in at.main if hasattr(e, "value"))


def test_every_page_asks_for_sign_in_first_and_keeps_the_url(app_db):
    account("prosecutor", ("朝阳区",))
    at = app_test(signed_in=False)
    at.query_params["id"] = "T03"
    at.run()
    assert [t.label for t in at.text_input] == ["账号", "密码"]
    assert not at.dataframe and not at.metric   # nothing of the store before signing in
    at.text_input[0].input("t_prosecutor_朝阳区")
    at.text_input[1].input(TEST_PASSWORD)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("views/tickets.py").run()
    assert at.title[0].value == "工单"
    assert any("工单 T03" in s.value for s in at.subheader)   # the ticket the URL asked for
    with records.session() as con:
        rows = audit.search(con, user="t_prosecutor_朝阳区")
    assert {"sign_in", "ticket_view"} <= set(rows["action"])


def test_a_wrong_password_is_refused_and_audited(app_db):
    account("leader")
    at = app_test(signed_in=False).run()
    at.text_input[0].input("t_leader")
    at.text_input[1].input("not the password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["账号或密码错误。"]
    assert [t.label for t in at.text_input] == ["账号", "密码"]
    with records.session() as con:
        assert list(audit.search(con, action="sign_in_failed")["target"]) == ["t_leader"]


@pytest.mark.parametrize("role", list(roles.ROLES))
def test_the_role_matrix_of_pages(app_db, role):
    at = app_test(role=role).run()
    assert not at.exception, [e.value for e in at.exception]
    links = [p.proto.label for p in at.get("page_link")]
    allowed = [p for p, perm in roles.PAGES.items() if roles.allowed(role, perm)]
    titles = {"overview": "总览", "topics": "热点", "funnel": "漏斗", "tickets": "工单", "map": "地图",
              "import": "导入", "users": "用户", "audit": "审计", "rules": "规则", "queue": "研判", "collide": "碰撞",
              "ledger": "线索台账", "clue": "线索详情", "letters": "12309信访", "screen": "大屏"}
    # the wall screen (the display role's home) covers the window: no menu there
    assert links == ([] if roles.home_page(role) == "screen" else [titles[p] for p in allowed])
    for page, file in PAGE_FILES.items():
        at.switch_page(file).run()
        assert not at.exception, (role, page, [e.value for e in at.exception])
        denied = [e.value for e in at.error if "无权访问" in e.value]
        if page in allowed:
            assert not denied, (role, page)
        else:
            assert denied, (role, page)
            assert not at.dataframe and not at.get("plotly_chart"), (role, page)


def test_a_district_user_cannot_open_another_districts_ticket(app_db):
    at = app_test(role="prosecutor", districts=("朝阳区",))
    at.query_params["id"] = "T01"   # 东城区
    at.run()
    at.switch_page("views/tickets.py").run()
    assert any("未找到工单 T01" in w.value for w in at.warning)
    shown = at.dataframe[-1].value
    assert set(shown["区"]) == {"朝阳区"}


@pytest.mark.parametrize("query", [{"district": "东城区"}, {"district": "东城区,朝阳区"}, {"street": "建国门街道"}])
def test_url_parameters_cannot_widen_the_scope(app_db, query):
    at = app_test(role="leader", districts=("朝阳区",))
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    text = _main_text(at) + " ".join(m.value for m in at.metric)
    assert "东城区" not in text.replace("东城区,朝阳区", "")
    at.switch_page("views/tickets.py").run()
    if at.dataframe:
        assert set(at.dataframe[-1].value.get("区", [])) <= {"朝阳区"}


def test_unmask_needs_a_reason_is_audited_and_lasts_one_view(app_db):
    at = app_test(role="prosecutor", districts=("东城区",))
    at.query_params["id"] = "T01"
    at.run()
    at.switch_page("views/tickets.py").run()

    def fields():
        df = at.dataframe[0].value
        return dict(zip(df["字段"], df["内容"], strict=True))

    assert fields()["诉求人"] == "张*"
    form_input = next(t for t in at.text_input if t.label == "查看理由")
    form_input.input("核实")
    next(b for b in at.button if b.label == "查看").click().run()
    assert any("至少 4 个字" in e.value for e in at.error)
    assert fields()["诉求人"] == "张*"
    form_input = next(t for t in at.text_input if t.label == "查看理由")
    form_input.input("核实诉求人身份以便回访")
    next(b for b in at.button if b.label == "查看").click().run()
    assert fields()["诉求人"] == "张三" and fields()["联系电话"] == "13812341234"
    with records.session() as con:
        rows = audit.search(con, action="unmask")
    assert list(rows["target"]) == ["T01"] and "核实诉求人身份以便回访" in rows["details"].iloc[0]
    at.run()   # any next run: masked again
    assert fields()["诉求人"] == "张*"


def test_roles_without_texts_never_get_ticket_texts(app_db):
    at = app_test(role="press").run()
    assert not at.exception
    at.switch_page("views/topics.py").run()
    assert not at.exception, [e.value for e in at.exception]
    texts = _main_text(at)
    assert "建国门内大街路口井盖破损" not in texts


def test_a_download_is_audited_with_who_and_what(app_db, monkeypatch):
    from streamlit.runtime import media_file_manager as mfm

    made: dict = {}
    original = mfm.MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        made[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kw)

    monkeypatch.setattr(mfm.MediaFileManager, "add_deferred", add_deferred)
    at = app_test(role="prosecutor", districts=("朝阳区",)).run()
    at.switch_page("views/tickets.py").run()
    csv_name = next(n for n in made if n.endswith(".csv") and n.startswith("工单清单"))
    text = made[csv_name]().decode("utf-8-sig")
    assert "T03" in text and "T01" not in text   # the export is in the user's scope
    with records.session() as con:
        rows = audit.search(con, action="download")
    assert list(rows["target"]) == [csv_name] and list(rows["actor"]) == ["t_prosecutor_朝阳区"]


def test_admin_creates_an_account_and_its_password_is_shown_once(app_db):
    at = app_test(role="admin").run()
    at.switch_page("views/users.py").run()
    assert not at.exception, [e.value for e in at.exception]
    form = [t for t in at.text_input if t.label in ("账号", "姓名")]
    form[0].input("wangwu")
    form[1].input("王五")
    next(s for s in at.selectbox if s.label == "角色").select("prosecutor")
    next(m for m in at.multiselect if m.label == "辖区（空 = 全市）").select("海淀区")
    next(b for b in at.button if b.label == "创建账号").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("仅显示这一次" in s.value for s in at.success)
    password = at.code[0].value
    from data import people

    with records.session() as con:
        p = people.authenticate(con, "wangwu", password)
        assert (p.role, p.districts) == ("prosecutor", ("海淀区",))
        change = audit.search(con, action="user_change")
    assert change["actor"].iloc[0] == "t_admin" and change["target"].iloc[0] == "wangwu"
    at.run()
    assert not at.code   # shown once


def test_after_a_sign_out_the_next_person_lands_on_their_own_home(app_db):
    account("prosecutor", ("朝阳区",))
    at = app_test(role="admin").run()
    at.switch_page("views/users.py").run()
    next(b for b in at.button if b.label == "退出登录").click().run()
    assert [t.label for t in at.text_input] == ["账号", "密码"]
    at.text_input[0].input("t_prosecutor_朝阳区")
    at.text_input[1].input(TEST_PASSWORD)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "无权访问" in e.value]
    assert at.title[0].value == "总览"
