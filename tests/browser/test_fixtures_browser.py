"""The browser fixtures themselves: offline guard and app start-up."""

from __future__ import annotations

from tests.browser.helpers import (
    arm_next,
    assert_no_errors,
    drawn_at,
    goto,
    is_external,
    next_drawn_after,
    wait_for_app,
    watch_paint,
)


def test_is_external_classifies_hosts():
    assert not is_external("http://127.0.0.1:8501/_stcore/health")
    assert not is_external("ws://localhost:8501/_stcore/stream")
    assert not is_external("data:image/png;base64,AAAA")
    assert is_external("https://cdn.jsdelivr.net/npm/leaflet.js")
    assert is_external("https://fonts.googleapis.com/css")


def test_external_request_is_blocked_and_recorded(page, app_url):
    goto(page, app_url, "/")
    page.evaluate("() => fetch('https://example.com/x').catch(() => null)")
    page.wait_for_timeout(500)
    assert any("example.com" in u for u in page.external_requests)
    page.external_requests.clear()  # this test provoked it on purpose


def test_app_serves_overview(page, app_url):
    goto(page, app_url, "/")
    assert page.locator("[data-testid='stSidebar']").count() == 1
    assert_no_errors(page)


def test_drawn_at_is_the_frame_that_drew_the_element(page, app_url):
    """The benchmarks' clock (helpers.watch_paint / drawn_at): after the navigation started, no later than
    Playwright sees the element, and unset for a selector not on the page."""
    import time

    watch_paint(page, ("[data-testid='stMetric']", "h1", "#not-on-this-page"))
    t0 = time.time()
    page.goto(app_url + "/", wait_until="domcontentloaded")
    page.wait_for_selector("[data-testid='stMetric']", timeout=120_000)
    seen = time.time()
    tiles = drawn_at(page, "[data-testid='stMetric']")
    title = drawn_at(page, "h1")
    assert t0 < title <= tiles <= seen + 0.05     # the title is drawn before or with the tiles under it
    assert page.evaluate("window.__hotlinePaint['#not-on-this-page']") is None
    wait_for_app(page)


def test_next_drawn_after_times_the_new_page_of_a_sidebar_click(page, app_url):
    """helpers.arm_next / next_drawn_after: the tickets table drawn after the click, no later than Playwright
    sees it."""
    import time

    goto(page, app_url, "/")
    arm_next(page, "[data-testid='stDataFrame']")
    t0 = time.monotonic()
    page.locator("[data-testid='stSidebar'] a").filter(has_text="工单").first.click()
    page.wait_for_selector("[data-testid='stDataFrame']", timeout=120_000)
    seen = time.monotonic() - t0
    assert 0 < next_drawn_after(page) <= seen + 0.05
    wait_for_app(page)
