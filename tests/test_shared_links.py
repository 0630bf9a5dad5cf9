"""Odd and hostile shared links: unknown values show nothing and say so, odd dates never crash, and a keyword
search for personal numbers is refused (issue 22 items 4, 7 and 8)."""

from __future__ import annotations

from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from analytics.filters import DATE_MAX, DATE_MIN, Filters
from analytics.options import FilterOptions, describe_unknown, unknown_values
from tests.conftest import ROOT, app_test
from ui import filters as ui_filters
from ui.plain import shown

APP = str(ROOT / "app.py")


def _open(page: str | None = None, **query) -> AppTest:
    at = app_test(APP)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_extreme_dates_in_a_link_are_read_within_the_data():
    f, notes = Filters.from_query_checked({"from": "0001-01-01", "to": "9999-12-31"})
    assert (f.date_from, f.date_to) == (DATE_MIN, DATE_MAX) and len(notes) == 2
    assert f.previous_period() is None                     # no period before 1900: no comparison, no overflow
    assert Filters(date_from=date(1900, 6, 1), date_to=date(1900, 6, 30)).year_ago() is None
    f, notes = Filters.from_query_checked({"from": "2025-02-30", "to": "abc"})
    assert f.date_from is None and f.date_to is None and len(notes) == 2 and "2025-02-30" in notes[0]
    with pytest.raises(ValueError, match="超出可查询的范围"):
        Filters(date_from=date(1, 1, 1))


def test_overview_with_dates_from_year_one_to_9999(app_db):
    at = _open(**{"from": "0001-01-01", "to": "9999-12-31"})
    assert any("超出数据覆盖的范围" in i.value and "2024" in i.value for i in at.info), [i.value for i in at.info]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["工单量"] == "20"                         # every ticket of the tiny store, no error


def test_unknown_values_are_named():
    opts = FilterOptions(min_date=date(2025, 1, 1), max_date=date(2025, 3, 31), districts=("东城区",),
                         streets=(("东城区", "建国门街道"),), categories=(("城乡建设", "市政设施", "井盖破损"),),
                         topics=("井盖",), channels=("电话",), appeal_types=())
    f = Filters(districts=("东城区", "不存在区"), categories=("城乡建设/市政设施", "假/分类"), topics=("（无专项）",),
                functions=("刑事", "魔法"), appeal_types=("投诉",))
    unknown = unknown_values(f, opts)
    assert unknown == {"districts": ("不存在区",), "categories": ("假/分类",), "functions": ("魔法",)}
    assert describe_unknown(unknown) == "区：不存在区；问题分类：假/分类；检察职能：魔法"


@pytest.mark.parametrize(("query", "named"), [
    ({"district": "不存在区"}, "区：不存在区"),
    ({"category": "城乡建设/不存在"}, "问题分类：城乡建设/不存在"),
    ({"topic": "不存在专项"}, "专项：不存在专项"),
    ({"function": "魔法"}, "检察职能：魔法"),
])
def test_a_link_with_an_unknown_value_says_so_and_shows_nothing(app_db, query, named):
    # Before: /?district=不存在区 showed the whole city with no notice.
    at = _open(**{"from": "2025-03-01", "to": "2025-03-31", **query})
    assert any(named in shown(w.value) and "不显示数据" in w.value for w in at.warning), [w.value for w in at.warning]
    assert not at.metric                                      # no KPI tiles: nothing to show
    assert any("所选条件下没有工单" in w.value for w in at.warning)
    at.switch_page("views/tickets.py").run()
    assert not at.exception
    assert any(named in shown(w.value) for w in at.warning)
    assert not [d for d in at.dataframe if "工单编号" in d.value.columns]


def test_an_unknown_value_stays_visible_in_the_sidebar_until_removed(app_db):
    at = _open(**{"from": "2025-03-01", "to": "2025-03-31", "district": "不存在区"})
    box = at.sidebar.multiselect(key=ui_filters.K["districts"])
    assert box.value == ["不存在区"] and "不存在区" in box.options[-1]
    box.set_value([]).run()
    assert not at.exception and not at.warning
    assert {m.label: m.value for m in at.metric}["工单量"] == "12"


def _refusals() -> list[tuple[str, str, dict]]:
    import json

    from data import records

    with records.session() as con:
        rows = con.execute("SELECT actor, target, details FROM audit WHERE action = 'search_refused' ORDER BY seq")
        return [(a, t, json.loads(d)) for a, t, d in rows.fetchall()]


@pytest.mark.parametrize("q", ["13812341234", "138 1234 5678", "110105 19800101", "井盖 138 1234"])
def test_a_keyword_search_for_a_phone_or_id_number_is_refused(app_db, q):
    # Before: searching a phone number found the one ticket holding it ("共 1 条") even though it was masked.
    at = _open("views/tickets.py", **{"from": "2025-03-01", "to": "2025-03-31", "q": q})
    assert any("为保护个人信息" in e.value for e in at.error)
    assert not [d for d in at.dataframe if "工单编号" in d.value.columns]
    assert all("共 1 条" not in m.value for m in at.markdown)
    masked = "".join("*" if c.isdigit() else c for c in q)
    (row,) = _refusals()                                      # audited once, without the digits
    assert row[0] == "t_leader" and row[1] == "keyword" and row[2]["text"] == masked
    assert not any(c.isdigit() for c in row[2]["text"])
    at.run()                                                  # a rerun of the same search is not recorded again
    assert len(_refusals()) == 1


def test_an_ordinary_keyword_still_searches(app_db):
    at = _open("views/tickets.py", **{"from": "2025-03-01", "to": "2025-03-31", "q": "井盖"})
    assert not at.error
    assert any("共 3 条" in m.value for m in at.markdown), [m.value for m in at.markdown]


def test_a_district_user_s_link_outside_the_scope_is_left_out_with_a_note(app_db):
    at = app_test(APP, role="leader", districts=("朝阳区",))
    for k, v in {"from": "2025-03-01", "to": "2025-03-31", "district": "东城区,不存在区"}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert any("2 个区或街道/乡镇不在您的辖区内" in shown(i.value) for i in at.info), [i.value for i in at.info]
    assert not any("东城区" in x.value or "不存在区" in x.value for x in [*at.info, *at.warning, *at.caption])
    assert {m.label: m.value for m in at.metric}["工单量"] == "4"   # 朝阳区's March tickets: T03, T04, T05, T10
