"""The browser fixtures themselves: offline guard and app start-up."""

from __future__ import annotations

from tests.browser.helpers import assert_no_errors, goto, is_external


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
