"""`streamlit run serve.py` (what `make run` starts) serves the app and warms it up first (st.App lifespan)."""

from __future__ import annotations

import shutil
import time
import urllib.request

from tests.browser.helpers import serve_app


def test_the_launcher_starts_the_app_and_runs_the_early_warm_up(tiny_db_path, tmp_path):
    db = tmp_path / "app.duckdb"
    shutil.copy(tiny_db_path, db)
    log = tmp_path / "launch.log"
    with serve_app(db, log, how="launch") as (url, _proc):
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
        deadline = time.monotonic() + 90
        while "hotline warm-up before the first page" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        text = log.read_text()
        # The early thread ran without a browser session: it imported the first page's modules.
        assert "hotline warm-up before the first page: imports" in text, text[-2000:]
        assert "Traceback" not in text, text[-2000:]
