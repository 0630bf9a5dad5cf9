"""The dashboard in a real headless Chromium: every page offline and error-free, and a drill-down click.

A click on 朝阳区's bar in the overview's district ranking must open the ticket
list narrowed to 朝阳区's tickets (tiny store, March 2025: T03, T04, T05, T10).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import assert_no_errors, assert_no_external_requests, goto, wait_for_app

PAGES = ["/", "/topics", "/funnel", "/tickets", "/map"]   # the leader's pages (the `page` fixture's account)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_opens_offline_without_errors(page, app_url, path):
    goto(page, app_url, path)
    assert page.locator("[data-testid='stMain'] h1").count() >= 1, f"{path}: no page title shown"
    assert_no_errors(page)
    assert_no_external_requests(page)


def test_another_roles_page_by_url_says_no_access(page, app_url):
    goto(page, app_url, "/import")
    assert "无权访问" in page.locator("[data-testid='stMain']").inner_text()
    assert page.locator("[data-testid='stSidebar'] a").filter(has_text="导入").count() == 0
    assert_no_external_requests(page)


def _chart(page, title: str):
    chart = page.locator("[data-testid='stPlotlyChart']").filter(has_text=title)
    chart.first.wait_for(state="visible")
    return chart.first


def test_click_district_bar_opens_its_tickets(page, app_url):
    goto(page, app_url, "/")
    chart = _chart(page, "各区工单量排名")
    chart.scroll_into_view_if_needed()
    bars = chart.locator("g.barlayer g.point path")
    page.wait_for_function("n => document.querySelectorAll('.js-plotly-plot').length >= n", arg=5)
    assert bars.count() == 16
    # Bars are drawn bottom-up; the top one (the last point) is 朝阳区 with 4 tickets. Wait until the
    # layout stops moving (other charts still drawing on a loaded machine), then click its centre.
    top_bar = bars.nth(bars.count() - 1)
    box, prev = None, None
    for _ in range(50):
        box = top_bar.bounding_box()
        if box and prev == box and box["width"] > 0:
            break
        prev = box
        page.wait_for_timeout(200)
    assert box and box["width"] > 0
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(re.compile(r".*/tickets.*"), timeout=60_000)
    wait_for_app(page)
    assert "district=%E6%9C%9D%E9%98%B3%E5%8C%BA" in page.url or "district=朝阳区" in page.url
    main = page.locator("[data-testid='stMain']")
    assert "显示第 1-4 条，共 4 条" in main.inner_text()
    assert "已应用：区 = 朝阳区" in main.inner_text()
    cells = main.locator("[data-testid='stDataFrame']").last.locator("[role='gridcell']")
    texts = [cells.nth(i).inner_text().strip() for i in range(cells.count())]
    assert sorted(t for t in texts if re.fullmatch(r"T\d\d", t)) == ["T03", "T04", "T05", "T10"]
    assert texts.count("朝阳区") == 4
    assert not {"东城区", "平谷区", "海淀区"} & set(texts)
    assert_no_errors(page)
    # The undo button brings the month's 12 tickets back.
    page.get_by_role("button", name="撤销").click()
    wait_for_app(page)
    assert "共 12 条" in page.locator("[data-testid='stMain']").inner_text()
