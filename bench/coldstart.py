"""Cold start and dashboard memory, measured on the real app in headless Chromium.

Starts `streamlit run app.py` on a free port against the database, times the
first page until its KPI tiles are drawn, visits every page, then reads the
Streamlit process's peak resident memory (VmHWM).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from data import settings

PAGES = ("/", "/topics", "/funnel", "/tickets", "/map")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_start(db: Path, timeout: float = 120) -> tuple[float, float]:
    """(seconds from process start to the first page drawn, peak RSS MB after all pages)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, block_external, wait_for_app

    port = _free_port()
    env = {**os.environ, "HOTLINE_DB": str(db)}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=settings.PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("streamlit did not start") from None
                time.sleep(0.1)
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
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
