"""Issue 17 as a user sees it: a 朝阳区 prosecutor signs in, opens every page and another district's ticket
by URL, sees nothing of any other district, unmasks one ticket with a reason; the administrator then finds
the ticket view and the unmask in the audit trail. Offline throughout (the page fixtures block the rest)."""

from __future__ import annotations

import pytest

from tests.browser.helpers import (
    assert_no_errors,
    assert_no_external_requests,
    block_external,
    goto,
    map_frame,
    serve_app,
    sign_in,
    wait_for_app,
)
from tests.conftest import TEST_PASSWORD, account, build_tiny

OTHERS = ("东城区", "西城区", "海淀区", "平谷区", "丰台区", "通州区", "建国门街道", "兴谷街道")
PAGES = ("/", "/topics", "/funnel", "/tickets", "/map")


@pytest.fixture(scope="module")
def people_app(tmp_path_factory):
    d = tmp_path_factory.mktemp("people-app")
    db = build_tiny(d / "people.duckdb")
    account("prosecutor", ("朝阳区",), db_path=db)
    account("admin", db_path=db)
    with serve_app(db, d / "streamlit.log") as (url, _proc):
        yield url, db


def _visible_text(page) -> str:
    texts = [page.locator("body").inner_text()]
    for fr in page.frames[1:]:
        try:
            texts.append(fr.evaluate("() => document.body ? document.body.innerText + ' ' + "
                                     "[...document.querySelectorAll('[title]')].map(e => e.title).join(' ') : ''"))
        except Exception:   # a frame navigating away
            pass
    return "\n".join(texts)


def test_a_district_prosecutor_sees_only_their_district_and_leaves_a_trace(browser, people_app):
    url, db = people_app
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    block_external(page)
    page.set_default_timeout(30_000)
    try:
        # a deep link asks for sign-in first, then shows what it asked for
        sign_in(page, url + "/tickets?id=T08", "t_prosecutor_朝阳区", TEST_PASSWORD)   # T08 is 海淀区's
        assert "/tickets" in page.url
        main = page.locator("[data-testid='stMain']").inner_text()
        assert "未找到工单 T08" in main
        for path in PAGES:
            goto(page, url, path)
            if path == "/map":
                map_frame(page)
            assert_no_errors(page)
            text = _visible_text(page)
            leaked = [n for n in OTHERS if n in text]
            assert not leaked, (path, leaked)
            assert "朝阳区" in text or path in ("/topics",), path
        # unmask one of 朝阳区's tickets, with a reason
        goto(page, url, "/tickets?id=T03")
        assert "个人信息已脱敏显示" in page.locator("[data-testid='stMain']").inner_text()
        page.get_by_text("查看个人信息（需说明理由，记入审计日志）").click()
        page.get_by_label("查看理由").fill("核实诉求人身份，准备现场回访")
        page.get_by_role("button", name="查看", exact=True).click()
        wait_for_app(page)
        page.get_by_text("本次查看显示了个人信息").wait_for()   # the fields grid (a canvas) shows 王五 (AppTest checks)
        assert_no_external_requests(page)
    finally:
        ctx.close()

    # the administrator finds the view and the unmask in the audit trail
    ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    block_external(page)
    page.set_default_timeout(30_000)
    try:
        sign_in(page, url + "/audit", "t_admin", TEST_PASSWORD)
        page.get_by_label("账号").fill("t_prosecutor_朝阳区")
        page.get_by_label("账号").press("Enter")
        wait_for_app(page)
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.wait_for()
        csv = page.locator("[data-testid='stMain']").inner_text()
        assert "审计日志" in csv
        # the grid is drawn on a canvas: check the page's count line against the trail itself
        from data import audit, records

        with records.session(db) as con:
            rows = audit.search(con, user="t_prosecutor_朝阳区")
        assert {"sign_in", "ticket_view", "unmask"} <= set(rows["action"])
        assert "核实诉求人身份" in rows[rows["action"] == "unmask"]["details"].iloc[0]
        assert f"共 {len(rows):,} 条" in csv
        assert_no_external_requests(page)
    finally:
        ctx.close()
