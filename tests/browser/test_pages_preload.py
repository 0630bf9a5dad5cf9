"""The plotly preload in a real browser: invisible, offline, and the next chart page finds plotly.js loaded."""

from __future__ import annotations

from tests.browser.helpers import assert_no_errors, goto, wait_for_app
from ui import preload

STATE_JS = "() => window.__hotlinePlotly || null"
COOKIE_JS = f"() => document.cookie.split('; ').includes('{preload.COOKIE}=' + encodeURIComponent('{preload.chunk_name()}'))"
BOX_JS = f"""() => {{
    const el = document.querySelector('.st-key-{preload.KEY}');
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return [r.width, r.height, getComputedStyle(el).display];
}}"""


def test_a_page_without_charts_loads_plotly_when_idle_and_shows_nothing(page, app_url):
    goto(page, app_url, "/tickets")
    assert_no_errors(page)
    assert page.locator("[data-testid='stDataFrame']").count() >= 1
    assert page.evaluate(BOX_JS) == [0, 0, "none"]        # the preload takes no room and shows nothing
    page.wait_for_function("() => window.__hotlinePlotly === 'loaded'", timeout=60_000)
    # The chunk it loaded is the one the chart page imports: a sidebar click draws the charts.
    page.locator("[data-testid='stSidebar'] a").filter(has_text="总览").first.click()
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    wait_for_app(page)
    assert_no_errors(page)
    assert page.evaluate(BOX_JS) == [0, 0, "none"]        # chart pages carry only the hidden mark
    assert page.evaluate(STATE_JS) == "loaded"            # same tab, same module: not loaded twice
    assert page.evaluate(COOKIE_JS)                       # the browser is marked: its next tabs do not wait


def test_a_chart_page_opened_first_has_no_preload_and_marks_the_browser(page, app_url):
    goto(page, app_url, "/funnel")
    assert_no_errors(page)
    assert page.evaluate(BOX_JS) == [0, 0, "none"] and page.evaluate(STATE_JS) is None   # nothing imported
    assert page.locator(".js-plotly-plot").count() >= 1
    page.wait_for_function(COOKIE_JS, timeout=10_000)     # plotly.js ran here: the cookie is set
