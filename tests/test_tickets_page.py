"""The ticket list page (AppTest on a copy of the tiny store), now that the rows are drawn before the
total is counted: the label and the pager, a page number beyond the last page (left from a larger
selection) goes back to page 1, a text search with no match says so.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, app_test

APP = str(ROOT / "app.py")
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}


def _run(**query) -> AppTest:
    at = app_test(APP)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("views/tickets.py").run()
    return at


def _label(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**显示第") or m.value.startswith("**共"))


def _ids(at: AppTest) -> list[str]:
    return list(next(d.value for d in at.dataframe if "诉求人" in d.value.columns)["工单编号"])


def test_rows_label_and_pager(app_db):
    at = _run(**MARCH)
    assert not at.exception and not at.error
    assert _label(at) == "**显示第 1-12 条，共 12 条**"
    assert at.number_input(key="tk_page").label == "页码（共 1 页）"
    at = _run(**MARCH, q="工地")  # T07 (15th), T12 (31st), newest first
    assert _ids(at) == ["T12", "T07"] and _label(at) == "**显示第 1-2 条，共 2 条**"


def test_page_beyond_the_last_goes_back_to_page_one(app_db):
    at = _run(**MARCH)
    at.session_state["tk_page"] = 2  # a page number left from a larger selection
    at.run()
    assert not at.exception and not at.error
    assert at.number_input(key="tk_page").value == 1
    assert _label(at) == "**显示第 1-12 条，共 12 条**"
    assert len(_ids(at)) == 12


def test_text_without_match_says_so(app_db):
    at = _run(**MARCH, q="不存在的词")
    assert not at.exception
    assert any("没有工单" in w.value for w in at.warning)
