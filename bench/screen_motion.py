"""The wall screen's motion as a viewer sees it: does a chart go blank when the rotation changes the frame?

Starts the app (as `make run` does) on a private copy of a store (default: the tiny test store), signs a display
account in from headless Chromium at 1920×1080 (every non-loopback request blocked), sets a short refresh and
rotation, and watches the screen from inside the page every 50 ms for `--seconds` (tests/browser/screen_watch.py):
every blank moment of the map, the trend or the ranking (no drawn chart visible in its panel) with its length,
and every chart drawn in front of the viewer instead of out of sight. Nothing is asserted (the browser test
asserts "never blank"); the figures go to docs/performance.md and docs/screen.md.

    python -m bench.screen_motion [--db DB] [--seconds 90] [--refresh 3] [--rotate 6] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, block_external, serve_app
from tests.browser.screen_watch import CHARTS, WATCH_JS, WATCHED_JS

ROOT = Path(__file__).resolve().parents[1]


def _store(db: str | None, into: Path) -> Path:
    if db is None:
        from tests.conftest import build_tiny

        return build_tiny(into / "tiny.duckdb")
    dst = into / Path(db).name
    shutil.copy(db, dst)
    for suffix in (".records.sqlite", ".records.sqlite.audit-key"):
        if Path(db + suffix).exists():
            shutil.copy(db + suffix, str(dst) + suffix)
    return dst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="a store to copy (default: the tiny test store)")
    ap.add_argument("--seconds", type=float, default=90)
    ap.add_argument("--refresh", type=int, default=3)
    ap.add_argument("--rotate", type=int, default=6)
    ap.add_argument("--json", help="write the watcher's record here")
    a = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from tests.conftest import TEST_PASSWORD, account

    with tempfile.TemporaryDirectory(prefix="screen-motion-") as tmp:
        db = _store(a.db, Path(tmp))
        os.environ["HOTLINE_DB"] = str(db)
        account("display", name="motion_wall", db_path=db)
        password = TEST_PASSWORD
        env = {"HOTLINE_SCREEN_REFRESH_SECONDS": str(a.refresh), "HOTLINE_SCREEN_ROTATE_SECONDS": str(a.rotate),
               "HOTLINE_MIN_COMPARE_BASE": "1"}
        with serve_app(db, Path(tmp) / "streamlit.log", extra_env=env) as (url, _proc), sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
            block_external(page)
            page.set_default_timeout(240_000)
            page.goto(url + "/screen")
            page.get_by_label("账号").fill("motion_wall")
            page.get_by_label("密码").fill(password)
            page.get_by_label("密码").press("Enter")
            page.wait_for_function("() => document.querySelectorAll('.st-key-scr_root .js-plotly-plot').length >= 3")
            page.wait_for_timeout(3000)
            page.evaluate(WATCH_JS)
            load0 = os.getloadavg()
            t0 = time.monotonic()
            while time.monotonic() - t0 < a.seconds:
                page.wait_for_timeout(1000)
            w = page.evaluate(WATCHED_JS)
            load1 = os.getloadavg()
            browser.close()
    steps = max(0, len(w["frames"]) - 1)
    print(f"watched {a.seconds:.0f} s, {w['samples']} samples, {steps} rotation steps "
          f"({' → '.join(f['name'] or '?' for f in w['frames'])}); load average {load0[0]:.1f} → {load1[0]:.1f}")
    for c in CHARTS:
        b = [x["ms"] for x in w["blanks"] if x["chart"] == c]
        u = sum(1 for x in w["unprepared"] if x["chart"] == c)
        print(f"  {c:6s} blank {len(b):3d} times, total {sum(b):6d} ms, longest {max(b, default=0):5d} ms; "
              f"drawn in front of the viewer {u} times")
    print(f"  panels never missing: {w['minPanels']}, map positions: {w['tops']}, same screen element: {w['same']}")
    if a.json:
        Path(a.json).write_text(json.dumps(w, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
