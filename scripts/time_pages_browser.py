"""Time every page in headless Chromium: when its first content is drawn ("usable") and when the app is idle.

Usage: .venv/bin/python scripts/time_pages_browser.py DB [--rounds N]
Starts `streamlit run app.py` against DB on a free loopback port, blocks every request outside 127.0.0.1
(and fails if one is attempted), opens the overview once to start the server's caches and Chromium, then
opens every page: round 1 by URL in the same tab (a new Streamlit session each time: page reload, plotly.js
parsed again, the page's queries run), later rounds by clicking the sidebar navigation (one session, as a
user moves between pages; Streamlit's caches hold the results). "usable" is when the page's first content
is drawn (KPI tiles, a chart, the ticket table, the Leaflet map), "idle" when the script has finished and
the page stayed quiet for 0.7 s (`wait_for_app`, the 0.7 s included).
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


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, block_external, map_frame, serve_app, wait_for_app

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, serve_app(Path(args.db), Path(tmp) / "app.log") as (url, _proc):
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            block_external(page)
            t0 = time.monotonic()
            page.goto(url + "/", wait_until="domcontentloaded")
            wait_for_app(page, timeout=600_000)
            print(f"server warm-up (first overview, cold): {time.monotonic() - t0:.1f} s", flush=True)
            for rnd in range(1, args.rounds + 1):
                for path, selector in FIRST_CONTENT.items():
                    t0 = time.monotonic()
                    if rnd == 1:
                        page.goto(url + path, wait_until="domcontentloaded")
                    else:
                        nav = page.locator("[data-testid='stSidebarNav'] a")
                        nav.filter(has_text=TITLES[path]).first.click()
                        page.wait_for_timeout(150)   # let the old page's elements go
                    page.wait_for_selector(selector, timeout=600_000)
                    if path == "/map":
                        map_frame(page, 21, timeout=600)
                    usable = time.monotonic() - t0
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
