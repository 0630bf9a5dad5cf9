"""Reusable Playwright fixtures: the real app in headless Debian Chromium, offline.

`app_server` starts `streamlit run app.py` once per session on a free port
against a copy of the tiny database; `page` gives each test a fresh browser
page that blocks every request leaving 127.0.0.1 and records it, and the test
fails at teardown if one was attempted. Other helpers' browser tests use
`app_url`, `page`, `wait_for_app(page)` and `assert_no_external_requests(page)`
(import them from tests.browser.helpers).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    assert_no_external_requests,
    block_external,
    serve_app,
    signed_in_state,
)
from tests.conftest import TEST_PASSWORD, account, build_tiny


@pytest.fixture(scope="session")
def browser_db_path(tmp_path_factory) -> Path:
    """The database the browser session's app reads: a private copy of the tiny DB.

    Override this fixture in a test module's conftest to serve another database.
    """
    return build_tiny(tmp_path_factory.mktemp("browser-db") / "tiny.duckdb")


@pytest.fixture(scope="session")
def app_server(browser_db_path, tmp_path_factory):
    """A running `streamlit run app.py` on a free loopback port; yields its base URL.

    The store's records hold one account per role (tests.conftest.account: `t_<role>`, TEST_PASSWORD).
    """
    for role in ("leader", "prosecutor", "clue_admin", "press", "admin", "display"):
        account(role, db_path=browser_db_path)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make sysdeps`")
    log = tmp_path_factory.mktemp("streamlit-log") / "streamlit.log"
    # The tiny store's periods hold 3 to 12 tickets: let the pages compare them (HOTLINE_MIN_COMPARE_BASE).
    with serve_app(browser_db_path, log, extra_env={"HOTLINE_MIN_COMPARE_BASE": "1"}) as (url, _proc):
        yield url


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    """Base URL of the running app, e.g. http://127.0.0.1:43123 (pages at /, /topics, /funnel …)."""
    return app_server


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def leader_state(browser, app_url) -> dict:
    """Cookies of a browser signed in as the city-wide leader account (signed in once per session)."""
    return signed_in_state(browser, app_url, "t_leader", TEST_PASSWORD)


@pytest.fixture()
def page(browser, app_url, leader_state):
    """A fresh page (1600x1000, zh-CN), signed in as the city-wide leader, with every non-loopback request
    blocked and recorded.

    Fails the test at teardown if any request left 127.0.0.1; `page.external_requests`
    lists them and `page.console_errors` collects console errors and page exceptions.
    """
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN",
                                  storage_state=leader_state)
    pg = context.new_page()
    block_external(pg)
    pg.set_default_timeout(20_000)
    yield pg
    try:
        assert_no_external_requests(pg)
    finally:
        context.close()


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
