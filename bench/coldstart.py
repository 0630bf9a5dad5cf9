"""Cold start and dashboard memory, measured on the real app in headless Chromium.

Starts `streamlit run app.py` on a free port against the database, times the
first page until its KPI tiles are drawn, visits every page, then reads the
Streamlit process's peak resident memory (VmHWM).
"""

from __future__ import annotations

import time
from pathlib import Path

PAGES = ("/", "/topics", "/funnel", "/tickets", "/map")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_start(db: Path, timeout: float = 120) -> tuple[float, float]:
    """(seconds from process start to the first page drawn, peak RSS MB after all pages)."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, block_external, serve_app, wait_for_app

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, serve_app(db, Path(tmp) / "streamlit.log", timeout=timeout) as (url, proc):
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            block_external(page)
            page.goto(url + "/", wait_until="domcontentloaded")
            page.wait_for_selector("[data-testid='stMetric']", timeout=timeout * 1000)
            first = time.perf_counter() - t0
            for path in PAGES[1:]:
                page.goto(url + path, wait_until="domcontentloaded")
                wait_for_app(page, timeout=timeout * 1000)
            if page.external_requests:
                raise RuntimeError(f"external requests attempted: {page.external_requests[:3]}")
            browser.close()
        return first, _peak_rss_mb(proc.pid)
