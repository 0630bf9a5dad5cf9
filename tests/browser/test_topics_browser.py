"""The 热点 page in headless Chromium: offline, no error, and clicks that drill down."""

from __future__ import annotations

import re

from tests.browser.helpers import assert_no_errors, goto, wait_for_app


def _charts(page):
    return page.locator("[data-testid='stPlotlyChart']")


def _click_bar(page, chart, index: int = -1) -> None:
    bars = chart.locator("g.trace.bars g.point path")
    bars.first.wait_for()
    bar = bars.nth(index if index >= 0 else bars.count() - 1)
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(500)
    wait_for_app(page)


def test_topics_page_offline_and_a_word_click_shows_its_tickets(page, app_url):
    goto(page, app_url, "/topics")
    assert page.locator("h1").first.inner_text().endswith("热点")
    assert_no_errors(page)
    page.get_by_text("共 12 件工单", exact=False).first.wait_for()
    assert _charts(page).count() >= 4
    # The treemap drew its cells (plotly ran, all assets local).
    assert _charts(page).nth(0).locator("g.slice").count() == 16 + 1      # 16 categories + the root
    page.get_by_text("示例工单：“井盖”").wait_for()
    words_chart = _charts(page).nth(2)
    # Bars are drawn bottom-up: the second bar from the top is 路口 (3 tickets).
    bars = words_chart.locator("g.trace.bars g.point path")
    bars.first.wait_for()
    _click_bar(page, words_chart, bars.count() - 2)
    page.get_by_text("示例工单：“路口”").wait_for()
    assert_no_errors(page)


def test_click_a_category_bar_narrows_the_filters_and_can_be_undone(page, app_url):
    goto(page, app_url, "/topics")
    cat_chart = _charts(page).nth(1)
    _click_bar(page, cat_chart)            # top bar: 城乡建设/市政设施/井盖破损 (3 tickets)
    page.get_by_text("已应用：分类 = 城乡建设/市政设施/井盖破损").wait_for()
    page.get_by_text("共 3 件工单", exact=False).first.wait_for()
    assert re.search(r"category=", page.url)
    page.get_by_role("button", name="撤销").click()
    wait_for_app(page)
    page.get_by_text("共 12 件工单", exact=False).first.wait_for()
    assert_no_errors(page)
