"""Time the map page in headless Chromium: cold and warm, the 点位 (grid) layer, the 井盖 preset, its hotspots.

Usage: .venv/bin/python scripts/time_map_browser.py DB
Starts `streamlit run app.py` on a free loopback port against DB, blocks every request outside 127.0.0.1
and lists any attempt. "cold" is the first page of a fresh server; "warm" a new page on the same server
(Streamlit's caches filled). Each step waits until the Leaflet map holds its layers. A step includes about
1 s of waiting for the app to stay idle (`wait_for_app`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

def choose(page, label: str) -> None:
    page.locator("[data-testid='stButtonGroup'] button").filter(has_text=label).first.click()


def run(page, url: str, label: str) -> None:
    from tests.browser.helpers import map_frame, wait_for_app

    t0 = time.monotonic()
    page.goto(url + "/map", wait_until="domcontentloaded")
    fr = map_frame(page, 30, timeout=300)
    print(f"{label} /map (default view): map drawn {time.monotonic() - t0:.1f} s, "
          f"frame {len(fr.content()) / 1e3:.0f} KB", flush=True)
    wait_for_app(page)
    steps = (("点位", 361, "点位 layer"), ("井盖", 300, "井盖 preset"), ("热点与走访清单", 300, "井盖 hotspots (12 months)"))
    for button, layers, name in steps:
        t0 = time.monotonic()
        choose(page, button)
        page.wait_for_timeout(300)
        if button == "热点与走访清单":
            page.wait_for_selector("text=Getis-Ord Gi*", timeout=300_000)
        wait_for_app(page, timeout=300_000)
        fr = map_frame(page, layers, timeout=300)
        print(f"{label} {name}: {time.monotonic() - t0:.1f} s, frame {len(fr.content()) / 1e3:.0f} KB", flush=True)
    print(f"{label} requests outside 127.0.0.1: {page.external_requests}", flush=True)


def main() -> int:
    import tempfile

    from playwright.sync_api import sync_playwright

    from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, block_external, serve_app

    with tempfile.TemporaryDirectory() as tmp, serve_app(Path(sys.argv[1]), Path(tmp) / "app.log",
                                                         timeout=120) as (url, _proc):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for label in ("cold", "warm"):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                block_external(page)
                run(page, url, label)
                page.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
