"""Time every page in headless Chromium: when its first content is drawn ("usable") and when the app is idle.

Usage: .venv/bin/python scripts/time_pages_browser.py DB [--rounds N] [--pages /,/topics,...] [--read S]
       [--keep-cache] [--new-tabs N [--profile DIR]] [--how launch|streamlit]
Starts the app (`streamlit run app.py`, as `make run`; `--how launch`: serve.py, what `make run` starts) against DB on a free loopback port, blocks every
request outside 127.0.0.1 (and fails if one is attempted), opens the overview once to start the server's
caches and Chromium, then
opens every page: round 1 by URL in the same tab (a new Streamlit session each time: page reload, plotly.js
parsed again, the page's queries run), later rounds by clicking the sidebar navigation (one session, as a
user moves between pages; Streamlit's caches hold the results). "usable" is when the page's first content
is drawn (KPI tiles, a chart, the ticket table, the Leaflet map), "idle" when the script has finished and
the page stayed quiet for 0.7 s (`wait_for_app`, the 0.7 s included). A page opened by URL is timed from
inside the page (`helpers.watch_paint`: the frame that first drew the content; Playwright's own wait
answers only once the main thread is free, up to 1-2 s later while plotly draws the other charts), a sidebar
click likewise (`helpers.arm_next`: the first new element after the click); the Leaflet map in its frame by
Playwright's wait.

How requests are blocked matters: Playwright's request routing (`page.route`, the default here and in the
browser tests) turns off the browser's HTTP cache, so every URL open downloads Streamlit's JavaScript again
and the browser cannot reuse its compiled code, unlike a user's browser (Streamlit serves its hashed
chunks as immutable). `--keep-cache` blocks instead with a dead proxy for every non-loopback URL
(Chromium reaches 127.0.0.1 directly) and records every request that is not loopback, so the cache works.

`--new-tabs N`: the "new tab" case. After the server is warm, N times: start Chromium, open 总览 by URL in
a new tab, then 热点 by URL in another tab, close Chromium. Each start uses a brand-new profile, or with
`--profile DIR` the same persistent profile (`launch_persistent_context`: HTTP cache and V8's code cache
kept across starts, as for a user who has opened the dashboard before). Implies --keep-cache.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST_CONTENT = {
    "/": "[data-testid='stMetric']",
    "/topics": ".js-plotly-plot",
    "/funnel": ".js-plotly-plot",
    "/tickets": "[data-testid='stDataFrame']",
    "/map": "iframe",
}
TITLES = {"/": "总览", "/topics": "热点", "/funnel": "漏斗", "/tickets": "工单", "/map": "地图"}
NEW_TAB_PAGES = ("/", "/topics")


def watch_requests(target, sink: list) -> None:
    """Record in `sink` every non-loopback request of a page or a whole context (and a page's WebSockets)."""
    from tests.browser.helpers import is_external

    target.on("request", lambda r: sink.append(r.url) if is_external(r.url) else None)
    if not hasattr(target, "pages"):   # a page, not a context: WebSockets are reported per page
        target.on("websocket", lambda ws: sink.append(ws.url) if is_external(ws.url) else None)


def wait_for_map(page) -> None:
    """Until the Leaflet map is drawn inside its frame (timed by Playwright: the frame is another document)."""
    from tests.browser.helpers import map_frame

    page.wait_for_selector(FIRST_CONTENT["/map"], timeout=600_000)
    map_frame(page, 21, timeout=600)


def first_content(page, path: str, t0: float) -> float:
    """Seconds from `t0` (epoch) until the first content of `path` was drawn in the page opened by URL."""
    from tests.browser.helpers import drawn_at

    if path == "/map":
        wait_for_map(page)
        return time.time() - t0
    return drawn_at(page, FIRST_CONTENT[path]) - t0


def new_tabs(pw, url: str, visits: int, profile: str | None) -> tuple[list, list]:
    """(rows of (visit, path, usable s), external requests) for `visits` browser starts (see --new-tabs)."""
    from bench.coldstart import DEAD_PROXY
    from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, wait_for_app, watch_paint

    rows, external = [], []
    for visit in range(1, visits + 1):
        with tempfile.TemporaryDirectory() as fresh:
            ctx = pw.chromium.launch_persistent_context(
                profile or fresh, executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, DEAD_PROXY], headless=True,
                viewport={"width": 1600, "height": 1000})
            watch_requests(ctx, external)
            watch_paint(ctx, FIRST_CONTENT.values())
            for path in NEW_TAB_PAGES:
                page = ctx.new_page()
                watch_requests(page, external)
                t0 = time.time()
                page.goto(url + path, wait_until="domcontentloaded")
                usable = first_content(page, path, t0)
                wait_for_app(page, timeout=600_000)
                rows.append((visit, path, usable))
                print(f"visit {visit} {path:8s} new tab by URL: usable {usable:5.1f} s", flush=True)
            ctx.close()
    return rows, external


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    from bench.coldstart import DEAD_PROXY, HOW, serve
    from tests.browser.helpers import (
        CHROMIUM,
        CHROMIUM_ARGS,
        arm_next,
        block_external,
        next_drawn_after,
        wait_for_app,
        watch_paint,
    )

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--keep-cache", action="store_true",
                    help="block non-loopback requests with a dead proxy, not request routing (keeps the HTTP cache)")
    ap.add_argument("--new-tabs", type=int, default=0, metavar="N",
                    help="instead of the rounds: N browser starts, each opening 总览 and 热点 by URL in new tabs")
    ap.add_argument("--profile", help="with --new-tabs: one persistent Chromium profile for every start")
    ap.add_argument("--how", choices=sorted(HOW), default="streamlit", help="how the app is started (bench/coldstart.py)")
    ap.add_argument("--pages", default=",".join(FIRST_CONTENT), help="comma-separated paths, in this order")
    ap.add_argument("--read", type=float, default=0.0, metavar="S",
                    help="seconds the user reads each page before the next sidebar click (default 0: click once idle)")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, serve(Path(args.db), Path(tmp) / "app.log", how=args.how) as (url, _proc):
        with sync_playwright() as pw:
            keep = args.keep_cache or args.new_tabs
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *([DEAD_PROXY] if keep else [])],
                                         headless=True)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            watch_paint(page, FIRST_CONTENT.values())
            if keep:
                page.external_requests, page.console_errors = [], []
                watch_requests(page, page.external_requests)
            else:
                block_external(page)
            t0 = time.monotonic()
            page.goto(url + "/", wait_until="domcontentloaded")
            wait_for_app(page, timeout=600_000)
            print(f"server warm-up (first overview, cold): {time.monotonic() - t0:.1f} s", flush=True)
            if args.new_tabs:
                browser.close()
                tab_rows, external = new_tabs(pw, url, args.new_tabs, args.profile)
                print(f"| visit | profile | {' | '.join(NEW_TAB_PAGES)} |\n|---|---|{'---:|' * len(NEW_TAB_PAGES)}")
                kind = "persistent" if args.profile else "brand-new"
                for v in range(1, args.new_tabs + 1):
                    cells = " | ".join(f"{u:.1f}" for vv, _p, u in tab_rows if vv == v)
                    print(f"| {v} | {kind} | {cells} |")
                if external:
                    print(f"EXTERNAL REQUESTS ATTEMPTED: {external[:5]}", flush=True)
                    return 1
                return 0
            for rnd in range(1, args.rounds + 1):
                for path in args.pages.split(","):
                    selector = FIRST_CONTENT[path]
                    t0 = time.monotonic()
                    if rnd == 1:
                        e0 = time.time()
                        page.goto(url + path, wait_until="domcontentloaded")
                        usable = first_content(page, path, e0)
                    else:
                        if args.read:
                            page.wait_for_timeout(args.read * 1000)
                            t0 = time.monotonic()
                        arm_next(page, selector)
                        nav = page.locator("[data-testid='stSidebar'] a")
                        nav.filter(has_text=TITLES[path]).first.click()
                        if path == "/map":
                            page.wait_for_timeout(150)   # let the old page's frame go
                            wait_for_map(page)
                            usable = time.monotonic() - t0
                        else:
                            usable = next_drawn_after(page)
                    wait_for_app(page, timeout=600_000)
                    idle = time.monotonic() - t0
                    rows.append((rnd, path, usable, idle))
                    print(f"round {rnd} {path:9s} usable {usable:5.1f} s  idle {idle:5.1f} s", flush=True)
            if page.external_requests:
                print(f"EXTERNAL REQUESTS ATTEMPTED: {page.external_requests[:5]}", flush=True)
                return 1
            browser.close()
    print("| round | how | page | usable s | idle s |\n|---|---|---|---:|---:|")
    for rnd, path, usable, idle in rows:
        how = "URL (new session)" if rnd == 1 else "sidebar click"
        print(f"| {rnd} | {how} | {path} | {usable:.1f} | {idle:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
