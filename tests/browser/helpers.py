"""Helpers for browser tests: offline guard, waiting for Streamlit, reading the page.

Import in browser tests: `from tests.browser.helpers import wait_for_app, assert_no_external_requests`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LOCAL_SCHEMES = {"data", "blob", "about", "chrome", "chrome-extension", "devtools"}


def is_external(url: str) -> bool:
    """True when a request would leave the machine (anything not loopback, data:, blob: …)."""
    u = urlparse(url)
    if u.scheme in LOCAL_SCHEMES:
        return False
    return (u.hostname or "") not in LOCAL_HOSTS


def block_external(page) -> None:
    """Abort every non-loopback request of `page` and record it in `page.external_requests`.

    Also records console errors and uncaught page exceptions in `page.console_errors`.
    """
    page.external_requests = []
    page.console_errors = []

    def _route(route):
        url = route.request.url
        if is_external(url):
            page.external_requests.append(url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", _route)
    # Websocket connections do not go through page.route: watch them too.
    page.on("websocket", lambda ws: page.external_requests.append(ws.url) if is_external(ws.url) else None)
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(f"pageerror: {e}"))


def assert_no_external_requests(page) -> None:
    """Fail if the page attempted any request outside 127.0.0.1."""
    ext = getattr(page, "external_requests", None)
    assert ext is not None, "page was not set up with block_external()"
    assert not ext, f"requests outside 127.0.0.1 were attempted: {ext[:10]}"


# When an element is first drawn, seen from inside the page: the frame after it entered the document
# (`requestAnimationFrame`), in epoch milliseconds. Playwright's wait_for_selector sees it only when the page's
# main thread is next free, which on this VM can be 1-2 s later while plotly.js draws a page's other charts
# (seen in CDP screencast frames: docs/performance.md, "Session 7"); the benchmarks report this instead.
_PAINT_JS = """(() => {
  const sels = %s;
  const seen = window.__hotlinePaint = {};
  const check = () => {
    for (const s of sels) {
      if (!(s in seen) && document.querySelector(s)) {
        seen[s] = null;
        requestAnimationFrame(() => { seen[s] = performance.timeOrigin + performance.now(); });
      }
    }
  };
  new MutationObserver(check).observe(document, {childList: true, subtree: true});
})();"""


def watch_paint(target, selectors) -> None:
    """Record, in every document `target` (a page or a context) opens from now on, when each of `selectors`
    is first drawn (`drawn_at`)."""
    target.add_init_script(_PAINT_JS % json.dumps(list(selectors)))


def drawn_at(page, selector: str, timeout: float = 600_000) -> float:
    """Wait until `selector` is drawn in the page's current document (watched by `watch_paint`); the epoch
    seconds of the frame that first drew it."""
    drawn = page.wait_for_function("(s) => (window.__hotlinePaint || {})[s] ?? null", arg=selector, timeout=timeout)
    return drawn.json_value() / 1000


# The same for content that replaces a page's in the same document (a sidebar click): elements matching the
# selector that were not there when armed (the old page's are removed a moment after the click).
_ARM_JS = """(sel) => {
  const old = new WeakSet(document.querySelectorAll(sel));
  const mark = window.__hotlineNext = {t0: performance.timeOrigin + performance.now(), at: null};
  const mo = new MutationObserver(() => {
    for (const el of document.querySelectorAll(sel)) {
      if (!old.has(el)) {
        mo.disconnect();
        requestAnimationFrame(() => { mark.at = performance.timeOrigin + performance.now(); });
        return;
      }
    }
  });
  mo.observe(document.body, {childList: true, subtree: true});
}"""


def arm_next(page, selector: str) -> None:
    """Before an action that replaces the page's content in the same document: watch for a new `selector`."""
    page.evaluate(_ARM_JS, selector)


def next_drawn_after(page, timeout: float = 600_000) -> float:
    """Seconds from `arm_next` until the frame that first drew a new element of its selector (waits for it)."""
    m = "window.__hotlineNext"
    after = page.wait_for_function(f"() => {m} && {m}.at !== null && {{ms: {m}.at - {m}.t0}}", timeout=timeout)
    return after.json_value()["ms"] / 1000


_READY_JS = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app) return "no-app";
    const state = app.getAttribute("data-test-script-state");
    if (state !== "notRunning") return state || "unknown";
    if (app.getAttribute("data-test-connection-state") !== "CONNECTED") return "disconnected";
    if (document.querySelector("[data-testid='stSpinner'], [data-testid='stSkeleton']")) return "busy";
    return "ready";
}"""


def wait_for_app(page, timeout: float = 120_000, settle_ms: int = 700) -> None:
    """Wait until Streamlit finished running the script and stayed idle for `settle_ms`.

    The quiet window matters: a run may end with st.rerun() or switch_page, and a
    brief idle state between two runs is not "ready". The generous default timeout
    is for a loaded 2-core CI machine, where plotly.js alone can take 30 s to parse;
    it costs nothing when the app is quick.
    """
    import time

    page.wait_for_selector("[data-testid='stApp']", timeout=timeout)
    deadline = time.monotonic() + timeout / 1000
    ready_since = None
    last = None
    while time.monotonic() < deadline:
        last = page.evaluate(_READY_JS)
        now = time.monotonic()
        if last == "ready":
            ready_since = ready_since or now
            if (now - ready_since) * 1000 >= settle_ms:
                return
        else:
            ready_since = None
        page.wait_for_timeout(100)
    raise AssertionError(f"app not ready after {timeout / 1000:.0f}s (last state: {last})")


def goto(page, app_url: str, path: str = "/", timeout: float = 120_000) -> None:
    """Open `app_url + path` and wait for the app to settle."""
    page.goto(app_url.rstrip("/") + path, wait_until="domcontentloaded", timeout=timeout)
    wait_for_app(page, timeout=timeout)


_MAP_LAYERS_JS = ("() => !!document.querySelector('.leaflet-container') && !!window.map"
                  " ? (() => { let n = 0; window.map.eachLayer(() => n++); return n; })() : -1")


def map_frame(page, min_layers: int = 0, timeout: float = 30.0):
    """The st_folium iframe once Leaflet has drawn its map with at least `min_layers` layers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for fr in page.frames:
            if "streamlit_folium" in fr.url:
                try:
                    if fr.evaluate(_MAP_LAYERS_JS) >= min_layers:
                        return fr
                except Exception:  # frame navigating
                    pass
        page.wait_for_timeout(100)
    raise AssertionError("the folium map was not drawn")


def error_texts(page) -> list[str]:
    """Texts of Streamlit error/exception elements shown on the page."""
    loc = page.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
    return [loc.nth(i).inner_text() for i in range(loc.count())]


def assert_no_errors(page) -> None:
    """Fail if an error or exception element is shown."""
    errs = error_texts(page)
    assert not errs, f"error shown on page: {errs}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"streamlit did not answer within {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


# How the app is started: plain Streamlit, or as `make run` does (serve.py: st.App, whose lifespan hook imports
# the first page's modules in the background once the server is up).
APP_COMMANDS = {
    "streamlit": ["-m", "streamlit", "run", "app.py"],
    "launch": ["-m", "streamlit", "run", "serve.py"],
}


@contextmanager
def serve_app(db: Path, log: Path, *, how: str = "streamlit", timeout: float = 60, port: int | None = None,
              extra_env: dict | None = None, extra_args: tuple[str, ...] = ()):
    """Start the app (`APP_COMMANDS[how]`) against `db` on `port` (default: a free loopback port); yields
    (base URL, process). `extra_env`: settings for this app only; `extra_args`: Streamlit options."""
    root = Path(__file__).resolve().parents[2]
    port = port or free_port()
    env = {**os.environ, "HOTLINE_DB": str(db), "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    cmd = [sys.executable, *APP_COMMANDS[how], "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
           *extra_args]
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url, proc, log, timeout)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def sign_in(page, url: str, name: str, password: str) -> None:
    """Sign in through the form at `url` (Enter submits it) and wait until the page asked for is shown."""
    page.goto(url)
    page.get_by_label("账号").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_label("密码").press("Enter")
    page.get_by_text("当前用户").first.wait_for()
    wait_for_app(page)


def signed_in_state(browser, url: str, name: str, password: str) -> dict:
    """The cookies of a browser context signed in as `name`: new contexts made with it start signed in."""
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        block_external(page)
        sign_in(page, url, name, password)
        assert_no_external_requests(page)
        return context.storage_state()
    finally:
        context.close()
