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


def _pick(page, label: str, option) -> None:
    """Choose `option` (text or pattern) in the selectbox labelled `label`."""
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option).click()
    wait_for_app(page)


def _grid_cells(page, key_text: str) -> list[str]:
    """The cells of the data grid that holds a cell with `key_text`, once drawn (grids draw after the run; their
    cells are an accessible table behind the canvas, attached but not visible)."""
    grid = page.locator("[data-testid='stDataFrame']").filter(
        has=page.locator("[role='gridcell']", has_text=key_text)).first
    grid.wait_for(state="attached")
    return [c.text_content() for c in grid.locator("[role='gridcell']").all()]


def test_rule_to_queue_to_clue(browser, screening_app):
    """Sign in, write a rule (live count, examples), save, run, then triage its three items: dismiss one with a
    reason, attach one to an existing clue, register a clue from the third, and find that clue in the ledger."""
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
        page.get_by_text("示例工单（显示 4 / 4）").wait_for()
        _fill(page, "排除词（NOT）", "缺失")          # T03 (八里庄: 井盖缺失) drops out
        page.get_by_text("命中 3 件工单，1 处地点").wait_for()
        _fill(page, "排除词（NOT）", "")
        _fill(page, "关键词：任一包含（OR）", "井盖、污水")   # + T04, T05, T15 at the 望京 river
        page.get_by_text("命中 7 件工单，3 处地点").wait_for()
        page.get_by_text("示例工单（显示 5 / 7）").wait_for()
        _fill(page, "修改说明（记入版本）", "浏览器测试")
        page.get_by_role("button", name="保存（生成新版本）").click()
        page.get_by_text("已保存规则 manhole，版本 1（启用）").wait_for()

        page.get_by_role("radiogroup").get_by_text("运行筛查").click()
        wait_for_app(page)
        page.get_by_role("button", name="运行已启用的规则").click()
        # the last 30 days of data: T01 and T02 at the 建国门 crossing, T03 at 八里庄, T04 and T05 at the river
        page.get_by_text(re.compile("命中 5 件（新增 5 件），新增待研判 3 项")).wait_for()
        assert_no_errors(page)

        goto(page, url, "/queue")
        assert "共 3 项" in _main(page)
        assert re.search(r"待研判事项\s+3\s", _main(page))

        # 1. dismiss 八里庄: a reason is required, then it is recorded
        _pick(page, "打开事项", re.compile("朝阳路八里庄路口"))
        page.get_by_role("radiogroup").get_by_text("排除", exact=True).click()
        wait_for_app(page)
        page.get_by_role("button", name="排除", exact=True).click()
        page.get_by_text("排除时请写明理由。").wait_for()
        _fill(page, "排除理由", "单次投诉，已修复，不属于监督事项")
        page.get_by_role("button", name="排除", exact=True).click()
        page.get_by_text(re.compile("已排除。")).wait_for()

        # 2. attach the river to the imported clue C02 (望京河反复污水排放), found by a word of its summary
        goto(page, url, "/queue")
        assert "共 2 项" in _main(page)
        _pick(page, "打开事项", re.compile("望京河边"))
        page.get_by_role("radiogroup").get_by_text("并入已有线索", exact=True).click()
        wait_for_app(page)
        _fill(page, "查找线索（编号、摘要、地点）", "望京")
        _fill(page, "并入理由", "同一河段再次排污")
        page.get_by_role("button", name="并入", exact=True).click()
        page.get_by_text("已并入线索 C02。").wait_for()

        # 3. register a new clue from the 建国门 crossing
        goto(page, url, "/queue")
        assert "共 1 项" in _main(page)
        _pick(page, "打开事项", re.compile("建国门内大街与朝阳门南小街路口"))
        page.get_by_label("线索摘要", exact=True).fill("建国门路口井盖反复破损，两件工单")
        page.get_by_role("button", name="登记线索").click()
        page.get_by_text("请选择检察职能。").wait_for()       # the rule names none: no silent default
        _pick(page, "检察职能", "公益诉讼")
        page.get_by_label("线索摘要", exact=True).fill("建国门路口井盖反复破损，两件工单")
        page.get_by_role("button", name="登记线索").click()
        done = page.get_by_text(re.compile(r"已登记线索 X-\d{4}-\d+"))
        done.wait_for()
        clue_no = re.search(r"X-\d{4}-\d+", done.inner_text()).group(0)
        assert_no_errors(page)

        # the queue is empty now; what was decided is under its state, with who decided
        goto(page, url, "/queue")
        assert "没有符合条件的事项" in _main(page)
        _pick(page, "状态", "已排除")
        assert "共 1 项" in _main(page)
        history = _grid_cells(page, "单次投诉，已修复，不属于监督事项")      # the item's decisions
        assert "排除" in history and "t_prosecutor" in history, history

        # the clue is in the ledger: find it by its number, open it
        goto(page, url, "/ledger")
        page.get_by_role("tab", name="台账").click()
        _fill(page, "编号或摘要包含", clue_no)
        cells = _grid_cells(page, clue_no)
        assert clue_no in cells and "东城区" in cells, cells
        goto(page, url, f"/clue?no={clue_no}")
        page.get_by_text(f"{clue_no} · 建国门路口井盖反复破损").wait_for()
        assert "T02" in _grid_cells(page, "T01")
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
        decided = con.execute("SELECT i.label, d.decision, d.reason, d.clue_id, d.actor FROM queue_decisions d "
                              "JOIN queue_items i USING (item_id) ORDER BY d.decision_id").fetchall()
        assert [tuple(r) for r in decided] == [
            ("朝阳路八里庄路口", "dismiss", "单次投诉，已修复，不属于监督事项", None, "t_prosecutor"),
            ("望京河边", "attach", "同一河段再次排污", "C02", "t_prosecutor"),
            ("建国门内大街与朝阳门南小街路口", "register", "建国门路口井盖反复破损，两件工单", clue_no, "t_prosecutor")]
        hits = con.execute("SELECT DISTINCT version FROM screening_hits").fetchall()
        assert [r[0] for r in hits] == [1]
