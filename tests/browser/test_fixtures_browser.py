"""The browser fixtures themselves: the offline guard, and the benchmarks' clock (one page session for both).

That every page opens offline is tests/browser/test_dashboard_browser.py's job.
"""

from __future__ import annotations

import time

from tests.browser.helpers import (
    arm_next,
    assert_no_errors,
    drawn_at,
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


def test_the_guard_records_external_requests_and_the_clock_times_what_was_drawn(page, app_url):
    """- An external request is blocked and recorded (the `page` fixture fails a test that makes one).
    - helpers.watch_paint / drawn_at: the frame that drew an element, after the navigation started and no later
      than Playwright sees it; unset for a selector not on the page.
    - helpers.arm_next / next_drawn_after: the tickets table drawn after a sidebar click, no later than
      Playwright sees it."""
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
    assert page.locator("[data-testid='stSidebar']").count() == 1
    assert_no_errors(page)

    page.evaluate("() => fetch('https://example.com/x').catch(() => null)")
    page.wait_for_timeout(500)
    assert any("example.com" in u for u in page.external_requests)
    page.external_requests.clear()  # this test provoked it on purpose

    arm_next(page, "[data-testid='stDataFrame']")
    t1 = time.monotonic()
    page.locator("[data-testid='stSidebar'] a").filter(has_text="工单").first.click()
    page.wait_for_selector("[data-testid='stDataFrame']", timeout=120_000)
    after = time.monotonic() - t1
    assert 0 < next_drawn_after(page) <= after + 0.05
    wait_for_app(page)
