"""Issue 18 as a prosecutor does it: build a rule in the form and watch its count, save it, screen, open the
queue, register a clue from an item, and find the clue in the ledger. Offline throughout."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import (
    assert_no_errors,
    assert_no_external_requests,
    block_external,
    goto,
    sign_in,
    wait_for_app,
)
from tests.conftest import TEST_PASSWORD, account, build_tiny


@pytest.fixture(scope="module")
def screening_app(tmp_path_factory):
    from tests.browser.helpers import serve_app

    d = tmp_path_factory.mktemp("screening-app")
    db = build_tiny(d / "screening.duckdb")
    account("prosecutor", db_path=db)
    with serve_app(db, d / "streamlit.log") as (url, _proc):
        yield url, db


def _main(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def _fill(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter" if box.evaluate("e => e.tagName") == "INPUT" else "Tab")
    wait_for_app(page)


def test_rule_to_queue_to_clue(browser, screening_app):
    url, db = screening_app
    ctx = browser.new_context(viewport={"width": 1600, "height": 1200}, locale="zh-CN")
    page = ctx.new_page()
    block_external(page)
    page.set_default_timeout(60_000)
    try:
        sign_in(page, url + "/rules", "t_prosecutor", TEST_PASSWORD)
        page.get_by_role("radiogroup").get_by_text("编写规则").click()
        wait_for_app(page)
        _fill(page, "规则编号（小写字母、数字、-）", "manhole")
        _fill(page, "规则名称", "井盖反复投诉")
        _fill(page, "关键词：任一包含（OR）", "井盖")
        # the try-out period is the last 90 days of data: T01, T02, T03 and T13 mention 井盖, at two places
        page.get_by_text("命中 4 件工单，2 处地点").wait_for()
        _fill(page, "排除词（NOT）", "缺失")          # T03 (八里庄: 井盖缺失) drops out
        page.get_by_text("命中 3 件工单，1 处地点").wait_for()
        _fill(page, "排除词（NOT）", "")
        page.get_by_text("命中 4 件工单，2 处地点").wait_for()
        _fill(page, "修改说明（记入版本）", "浏览器测试")
        page.get_by_role("button", name="保存（生成新版本）").click()
        page.get_by_text("已保存规则 manhole，版本 1（启用）").wait_for()

        page.get_by_role("radiogroup").get_by_text("运行筛查").click()
        wait_for_app(page)
        page.get_by_role("button", name="运行已启用的规则").click()
        # the last 30 days of data: T01 and T02 at the 建国门 crossing, T03 at 八里庄
        page.get_by_text(re.compile("命中 3 件（新增 3 件），新增待研判 2 项")).wait_for()
        assert_no_errors(page)

        goto(page, url, "/queue")
        assert "共 2 项" in _main(page)
        assert "建国门内大街与朝阳门南小街路口" in _main(page)       # the busiest item opens first
        summary = page.get_by_label("线索摘要", exact=True)
        summary.fill("建国门路口井盖反复破损，两件工单")
        page.get_by_role("button", name="登记线索").click()
        done = page.get_by_text(re.compile(r"已登记线索 X-\d{4}-\d+"))
        done.wait_for()
        clue_no = re.search(r"X-\d{4}-\d+", done.inner_text()).group(0)
        assert_no_errors(page)
        assert_no_external_requests(page)
    finally:
        ctx.close()

    from data import ledger, records
    from data.scope import CITY

    with records.session(db) as con:
        clue = ledger.get_clue(con, clue_no, CITY)
        assert clue is not None and clue.source == "rule" and clue.created_by == "t_prosecutor"
        assert sorted(clue.ticket_ids) == ["T01", "T02"] and clue.summary.startswith("建国门路口井盖反复破损")
        assert clue.source_ref["rule_key"] == "manhole" and clue.source_ref["rule_version"] == 1
