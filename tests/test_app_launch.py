"""The launcher `python -m ui.launch` (what `make run` starts) serves the app and warms it up first."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request

from tests.browser.helpers import _wait_http, free_port
from tests.conftest import ROOT


def test_the_launcher_starts_the_app_and_runs_the_early_warm_up(tiny_db_path, tmp_path):
    db = tmp_path / "app.duckdb"
    shutil.copy(tiny_db_path, db)
    log = tmp_path / "launch.log"
    port = free_port()
    env = {**os.environ, "HOTLINE_DB": str(db), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "ui.launch", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url, proc, log, 60)
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
        deadline = time.monotonic() + 90
        while "hotline warm-up before the first page" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        text = log.read_text()
        # The early thread ran once the server was up, without a browser session: it imported the first
        # page's modules, opened the store and read the filter options.
        assert "hotline warm-up before the first page: imports" in text, text[-2000:]
        assert "store open" in text and "filter options" in text
        assert "Traceback" not in text, text[-2000:]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
