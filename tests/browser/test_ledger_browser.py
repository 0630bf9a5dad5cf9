"""Issue 19 as a prosecutor does it, in Chromium: register a clue (entered late, from a paper register 120 days
ago) with a ticket of March 2025, move it through filing, an urgent suggestion, the body's late reply and the
rectification with its counted result on its own page; then see it in the funnel (one more clue, case and
rectification than the imported ledger's March) and in the ledger's overdue list (the follow-up check is
overdue). Offline throughout."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from data import ledger, records
from data.scope import Scope
from tests.browser.helpers import (
    assert_no_errors,
    assert_no_external_requests,
    block_external,
    goto,
    serve_app,
    sign_in,
    wait_for_app,
)
from tests.conftest import TEST_PASSWORD, account, build_tiny

TODAY = date.today()


def _day(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)


@pytest.fixture(scope="module")
def ledger_app(tmp_path_factory):
    d = tmp_path_factory.mktemp("ledger-app")
    db = build_tiny(d / "ledger.duckdb")
    account("prosecutor", db_path=db)
    with serve_app(db, d / "streamlit.log") as (url, _proc):
        yield url, db


def _main(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def _funnel(page) -> list[int]:
    """The funnel page's four stage tiles: tickets, clues, cases, rectified."""
    text = _main(page)
    return [int(re.search(rf"{label}\s+([\d,]+)\s", text).group(1).replace(",", ""))
            for label in ("诉求工单", "线索", "立案", "整改")]


def _set_date(page, label: str, value: date) -> None:
    """Type a date into st.date_input (its year, month and day fields, in that order)."""
    field = page.locator("[data-testid='stDateInput']").filter(has_text=label)
    field.get_by_role("spinbutton").first.click()
    page.keyboard.type(value.strftime("%Y%m%d"))
    page.keyboard.press("Tab")


def _step(page, name: str, when: str, fill=None) -> None:
    """Record the clue's next step `name` dated `when` on its page."""
    page.get_by_role("tab", name="记录下一环节").click()
    page.get_by_role("radiogroup", name="记录下一环节").get_by_role("radio", name=name, exact=True).click()
    wait_for_app(page)
    _set_date(page, f"{name}日期", when)
    if fill:
        fill(page)
    page.get_by_role("button", name=f"记录“{name}”").click()
    wait_for_app(page)
    page.get_by_text(f"已记录“{name}”").wait_for()
    assert_no_errors(page)


def test_register_move_and_see_it_in_the_funnel_and_the_overdue_list(browser, ledger_app):
    url, db = ledger_app
    ctx = browser.new_context(viewport={"width": 1600, "height": 1100}, locale="zh-CN")
    page = ctx.new_page()
    block_external(page)
    page.set_default_timeout(40_000)
    try:
        sign_in(page, url + "/funnel", "t_prosecutor", TEST_PASSWORD)
        assert _funnel(page) == [12, 5, 2, 2]      # March 2025 on the tiny store: the imported ledger

        goto(page, url, "/ledger")
        page.get_by_role("tab", name="登记线索").click()
        form = page.locator("[data-testid='stForm']").first
        form.get_by_label("所属区").click()
        page.get_by_role("option", name="海淀区").click()
        form.get_by_label("承办部门").fill("第八检察部")
        form.get_by_label("被监督对象（行政机关或企业）").fill("海淀区生态环境局")
        form.get_by_label("地点").fill("八里庄工地")
        _set_date(page, "登记日期（补录纸质登记时填写当时日期）", _day(120))
        form.get_by_label("线索摘要").fill("八里庄工地夜间施工噪声扰民，反复投诉")
        form.get_by_label("关联工单编号（可粘贴多个，用逗号、空格或换行分隔）").fill("T12, T17")
        page.get_by_role("button", name="登记线索").click()
        wait_for_app(page)
        page.get_by_text("已登记线索 X-").wait_for()
        clue_no = next(w for w in _main(page).split() if w.startswith("X-"))[:13]
        page.get_by_role("link", name=f"打开线索 {clue_no}").click()
        wait_for_app(page)
        page.get_by_text(f"{clue_no} · 八里庄工地夜间施工噪声扰民").wait_for()

        _step(page, "审查决定", _day(118))
        _step(page, "检察建议", _day(115), lambda p: (
            p.get_by_text("紧急（十五日回复期）").click(),
            p.get_by_label("建议对象（被建议单位）").fill("海淀区生态环境局")))
        assert "紧急检察建议回复已逾期" in _main(page)      # due 100 days ago, no reply yet
        _step(page, "回复", _day(90))
        _step(page, "整改", _day(80), lambda p: (
            p.get_by_label("成效项目").first.click(), p.get_by_role("option", name="督促整改公益损害问题").click(),
            p.get_by_label("数量").first.fill("2")))
        text = _main(page)
        assert re.search(r"当前环节\s+整改\s", text) and "回头看已逾期" in text   # rectified 80 days ago, look-back after 60
        # What the page wrote (its tables are drawn on a canvas): every step with its date, who, the result.
        with records.session(db) as rc:
            c = ledger.get_clue(rc, clue_no, Scope())
        assert {k: (TODAY - s.at.date()).days for k, s in c.stages.items()} == {
            "register": 120, "decide": 118, "suggest": 115, "reply": 90, "rectify": 80}
        assert all(s.recorded_by == "t_prosecutor" for k, s in c.stages.items())
        assert c.stages["decide"].details["outcome"] == "file" and c.stages["suggest"].details["urgent"] is True
        assert c.stages["rectify"].outcomes == (("督促整改公益损害问题", 2.0, "处"),)
        assert c.ticket_ids == ("T12", "T17") and (c.next_due.rule, c.next_due.state) == ("follow_up", "overdue")

        goto(page, url, "/ledger")                # 到期提醒: most urgent first
        grid = page.locator("[data-testid='stDataFrame']").first
        # the grid draws its rows after the run; its cells are an accessibility table under the canvas (hidden)
        grid.locator("[role='gridcell']", has_text=clue_no).first.wait_for(state="attached")
        cells = [(c.text_content() or "").strip() for c in grid.locator("[role='gridcell']").all()]
        assert clue_no in cells, cells
        row = cells[cells.index(clue_no):cells.index(clue_no) + 9]
        assert "回头看" in row and "已逾期" in row and "海淀区" in row, cells

        goto(page, url, "/funnel")
        assert _funnel(page) == [12, 6, 3, 3]      # + the clue (its ticket T12 is of March), its case, its rectification
        assert_no_errors(page)
        assert_no_external_requests(page)
    finally:
        ctx.close()
