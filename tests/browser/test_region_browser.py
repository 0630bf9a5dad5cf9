"""Another city in headless Chromium (issue 20): a Nanyang (新野县) store built by the demo on its region
pack, every page opened by a prosecutor and the administrator, the map drawn with Nanyang's counties, the
hotspot view and visit list, nothing of Beijing on screen, and not one request outside 127.0.0.1."""

from __future__ import annotations

from datetime import date

import pytest

from tests.browser.helpers import (
    CHROMIUM,
    assert_no_errors,
    assert_no_external_requests,
    block_external,
    goto,
    map_frame,
    serve_app,
    sign_in,
    wait_for_app,
)
from tests.conftest import TEST_PASSWORD, account

PAGES = ("/", "/topics", "/funnel", "/tickets", "/map")


@pytest.fixture(scope="module")
def nanyang_url(tmp_path_factory):
    from data.synth.build import build_database
    from geo import regions

    db = tmp_path_factory.mktemp("nanyang") / "nanyang.duckdb"
    build_database(db, tickets=3000, years=1, seed=5, end=date(2025, 6, 30), fmt="csv", parallel=False,
                   region="nanyang")
    regions.activate(regions.DEFAULT)
    for role in ("prosecutor", "admin"):
        account(role, db_path=db)
    log = tmp_path_factory.mktemp("nanyang-log") / "streamlit.log"
    with serve_app(db, log) as (url, _proc):
        yield url


def _choose(page, label: str) -> None:
    page.locator("[data-testid='stButtonGroup'] button").filter(has_text=label).first.click()
    wait_for_app(page)


def test_every_page_of_another_city(browser, nanyang_url):
    assert CHROMIUM
    context = browser.new_context(locale="zh-CN", viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    block_external(page)
    try:
        sign_in(page, nanyang_url, "t_prosecutor", TEST_PASSWORD)
        for path in PAGES:
            goto(page, nanyang_url, path)
            assert_no_errors(page)
            text = page.inner_text("[data-testid='stMain']")
            assert "北京" not in text, (path, text[:400])
            assert "None" not in text, path
        # the overview: Nanyang's counties ranked, no per-10,000 ranking without population, the default month
        goto(page, nanyang_url, "/")
        text = page.inner_text("[data-testid='stMain']")
        assert "2025-06-01 至 2025-06-30" in text and "默认显示最近一个完整月" in text
        assert "本区域包没有人口数据" in text
        # the map: the counties' outlines (13) drawn offline, points inside them
        goto(page, nanyang_url, "/map")
        fr = map_frame(page, min_layers=10)
        assert fr.evaluate("() => L.version") == "1.9.4"
        text = page.inner_text("[data-testid='stMain']")
        assert "不在南阳市范围内" not in text
        # hotspots and the visit list of the region
        _choose(page, "热点与走访清单")
        page.get_by_text("走访清单").first.wait_for(timeout=120_000)
        assert_no_errors(page)
        assert "北京" not in page.inner_text("[data-testid='stMain']")
        assert_no_external_requests(page)
    finally:
        context.close()
    # the administrator's import page on the same store
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    block_external(page)
    try:
        sign_in(page, nanyang_url, "t_admin", TEST_PASSWORD)
        goto(page, nanyang_url, "/import")
        assert_no_errors(page)
        assert_no_external_requests(page)
    finally:
        context.close()
