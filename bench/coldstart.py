"""Cold start and dashboard memory, measured on the real app in headless Chromium.

A user's browser is already open when the dashboard starts, so Chromium is
launched first; the clock starts when the app is started (as `make run` does:
`streamlit run serve.py`) on a free port against the database and stops when the first page's KPI tiles are
drawn (the frame that drew them, recorded inside the page: tests/browser/helpers.watch_paint). Then every
page is visited and the Streamlit process's peak resident memory (VmHWM) is read.

`python -m bench.coldstart DB [DB ...] [--how launch|streamlit]` prints where the
time goes: server start (until /_stcore/health answers), page load (Streamlit's
HTML and JavaScript), the first script run until the title, and until the KPI
tiles, and the server's CPU seconds until then (the load-independent part, for
a busy machine). `--browser fresh` (default) times a browser that has never
opened the dashboard (a brand-new Chromium profile: no HTTP cache, no compiled
code); `--browser returning` a user whose
browser opened it before: a persistent Chromium profile first opens the pages
of an earlier server on the same port (twice, so Chromium's HTTP cache and V8's
code cache hold Streamlit's JavaScript), then the app is restarted and timed.
Both send non-loopback requests to a dead proxy and record them (the run fails
if one was attempted). `--how launch` (default) starts the app as `make run` does,
`streamlit run serve.py` (the first page's modules are imported in the background
once the server is up, docs/performance.md); `--how streamlit` as plain
`streamlit run app.py`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from tests.browser.helpers import APP_COMMANDS, serve_app

PAGES = ("/", "/topics", "/funnel", "/tickets", "/map")
HOW = APP_COMMANDS   # launch: what `make run` starts; streamlit: plain `streamlit run app.py`


BROWSERS = ("fresh", "returning")
TITLE, TILES = "h1", "[data-testid='stMetric']"
# --browser returning: every non-loopback request goes to this dead proxy (nothing listens on port 9) and fails,
# without request routing (which would turn Chromium's HTTP cache off); Chromium reaches 127.0.0.1 directly.
DEAD_PROXY = "--proxy-server=http://127.0.0.1:9"


def serve(db: Path, log: Path, *, how: str = "launch", timeout: float = 60, port: int | None = None):
    """Start the dashboard against `db` on `port` (default: a free loopback port) the `how` way; yields (base
    URL, process)."""
    return serve_app(db, log, how=how, timeout=timeout, port=port)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far: a load-independent measure."""

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _browser(pw, profile: str):
    """Chromium on the profile directory `profile` (a new directory: a browser that never opened the dashboard),
    every non-loopback request sent to the dead proxy and recorded in `page.external_requests`; (context, page)."""
    from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, is_external

    ctx = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, DEAD_PROXY],
                                                headless=True, viewport={"width": 1600, "height": 1000})
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.external_requests = []
    ctx.on("request", lambda r: page.external_requests.append(r.url) if is_external(r.url) else None)
    return ctx, page


def _returning_browser(pw, db: Path, profile: str, how: str, port: int, timeout: float):
    """A persistent-profile browser that has opened every page of the app on `port` twice; (context, page)."""
    from tests.browser.helpers import wait_for_app

    ctx, page = _browser(pw, profile)
    with serve(db, Path(profile) / "earlier-server.log", how=how, timeout=timeout, port=port) as (url, _proc):
        for _ in range(2):
            for path in PAGES:
                page.goto(url + path, wait_until="domcontentloaded")
                wait_for_app(page, timeout=timeout * 1000)
    page.goto("about:blank")
    return ctx, page


def cold_start(db: Path, timeout: float = 120, marks: dict[str, float] | None = None,
               how: str = "launch", browser: str = "fresh") -> tuple[float, float]:
    """(seconds from process start to the first page's KPI tiles, peak RSS MB after all pages).

    `marks`, if given, receives the seconds from process start to each step (server up, page loaded,
    title drawn, KPI tiles drawn) and the CPU seconds the server used until the KPI tiles. `browser`:
    "fresh" (never opened the dashboard) or "returning" (see the module docstring).
    """
    import tempfile

    from playwright.sync_api import sync_playwright

    from tests.browser.helpers import drawn_at, free_port, wait_for_app, watch_paint

    if browser not in BROWSERS:
        raise ValueError(f"browser must be one of {BROWSERS}")
    marks = {} if marks is None else marks
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        if browser == "returning":
            ctx, page = _returning_browser(pw, db, str(Path(tmp) / "profile"), how, port, timeout)
        else:  # an empty profile: no HTTP cache, no compiled code (not Playwright's request routing, which adds a
            # round trip to this process for each of the page's ~60 requests, a cost no user's browser has)
            ctx, page = _browser(pw, str(Path(tmp) / "fresh-profile"))
            page.goto("about:blank")
        watch_paint(page, (TITLE, TILES))
        t0, e0 = time.perf_counter(), time.time()
        with serve(db, Path(tmp) / "streamlit.log", how=how, timeout=timeout, port=port) as (url, proc):
            marks["server answers"] = time.perf_counter() - t0
            page.goto(url + "/", wait_until="domcontentloaded")
            marks["page loaded"] = time.perf_counter() - t0
            for name, selector in (("title drawn", TITLE), ("KPI tiles drawn", TILES)):
                marks[name] = drawn_at(page, selector, timeout * 1000) - e0   # the frame that drew it
            first = marks["KPI tiles drawn"]
            marks["server CPU until then"] = _cpu_s(proc.pid)
            for path in PAGES[1:]:
                page.goto(url + path, wait_until="domcontentloaded")
                wait_for_app(page, timeout=timeout * 1000)
            if page.external_requests:
                raise RuntimeError(f"external requests attempted: {page.external_requests[:3]}")
            rss = _peak_rss_mb(proc.pid)
        ctx.close()
    return first, rss


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Cold start to the first page's KPI tiles in headless Chromium.")
    ap.add_argument("db", nargs="+")
    ap.add_argument("--how", choices=sorted(HOW), default="launch",
                    help="launch: streamlit run serve.py (make run); streamlit: plain streamlit run app.py")
    ap.add_argument("--browser", choices=BROWSERS, default="fresh",
                    help="fresh: a browser that never opened the dashboard; returning: one that did (HTTP and code cache)")
    args = ap.parse_args(argv)
    for db in args.db:
        marks: dict[str, float] = {}
        first, rss = cold_start(Path(db), marks=marks, how=args.how, browser=args.browser)
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in marks.items())
        print(f"{db} ({args.how}, {args.browser} browser): first page {first:.1f} s ({steps}); peak RSS {rss:.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
