"""The wall screen over a long run: memory of the server and of the browser across many refreshes.

A wall screen stays up for days, refreshing by itself and taking every new import. This starts the app (as
`make run` does) on a private copy of a store, signs a display account in from headless Chromium at 1920×1080
(every non-loopback request blocked and counted), sets the refresh and the rotation to every second, and
counts the screen's refreshes (its "刷新于" time changing). Every `--every` refreshes it records:

- the server's resident memory (VmRSS of the Streamlit process) and its peak (VmHWM);
- the page's JavaScript heap in use and its DOM nodes after a garbage collection (Chromium's
  `HeapProfiler.collectGarbage` and `Performance.getMetrics` over CDP);
- whether an error box was ever shown.

`--import-every K` imports three new tickets (a CSV through `manage.py ingest`) every K refreshes, so the
screen also takes a new generation of the store again and again, as a wall does after each day's import.

    python -m bench.screen_memory DB [--refreshes 500] [--every 25] [--import-every 100] [--json OUT]

The first `--warmup` refreshes (default 50: one rotation through every project and the caches filled) are the
baseline; the report gives the growth after it and a least-squares slope per 100 refreshes. Nothing is
asserted: the figures go to docs/performance.md ("Wall screen over a long run").
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, block_external, serve_app

ROOT = Path(__file__).resolve().parents[1]
FRESH_JS = "() => { const e = document.querySelector('.scr-fresh'); return e ? e.innerText : null; }"
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"


def _status(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


def _copy_store(db: Path, into: Path) -> Path:
    """The store and its records store (accounts, rules, ledger) copied to `into`."""
    dst = into / db.name
    shutil.copy(db, dst)
    for suffix in (".records.sqlite", ".records.sqlite.audit-key"):   # `<stem>.records.sqlite` (data/records)
        src = db.with_name(db.stem + suffix)
        if src.exists():
            shutil.copy(src, dst.with_name(dst.stem + suffix))
    return dst


def _manage(db: Path, *args: str, stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, input=stdin, text=True, check=True,
                   env={**os.environ, "HOTLINE_DB": str(db)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _import_three(db: Path, n: int, day: str, folder: Path) -> float:
    csv = folder / f"new-{n}.csv"
    csv.write_text("工单编号,受理时间,所属区,街道,问题分类,诉求内容\n" + "".join(
        f"BENCH{n:04d}{i},{day} 1{i}:00:00,西城区,,城乡建设/市政设施/井盖破损,路口井盖松动\n" for i in range(3)),
        encoding="utf-8")
    t0 = time.perf_counter()
    _manage(db, "ingest", "--db", str(db), str(csv))
    return time.perf_counter() - t0


def _slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else float("nan")


class Trace:
    """The page's console and its websocket messages (Streamlit's protobufs, by type), kept in memory and written
    to a JSONL file at a stall or at the end: what the browser asked for and what the server sent."""

    def __init__(self, path: Path):
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.path, self.events, self.t0 = path, collections.deque(maxlen=100_000), time.monotonic()
        self._fwd, self._back = ForwardMsg, BackMsg

    def add(self, kind: str, **what) -> None:
        self.events.append({"t": round(time.monotonic() - self.t0, 3), "kind": kind, **what})

    def _decode(self, cls, payload) -> dict:
        if isinstance(payload, str):
            return {"text": payload[:200]}
        m = cls()
        try:
            m.ParseFromString(payload)
        except Exception as exc:   # a trace never stops the run
            return {"undecoded": len(payload), "error": str(exc)[:100]}
        try:
            return self._describe(m, len(payload))
        except Exception as exc:   # a trace never stops the run
            return {"undescribed": len(payload), "error": str(exc)[:100]}

    def _describe(self, m, size: int) -> dict:
        kind = m.WhichOneof("type")
        out = {"type": kind, "bytes": size}
        if kind == "rerun_script":
            out.update(fragment=m.rerun_script.fragment_id, auto=m.rerun_script.is_auto_rerun)
        elif kind == "script_finished":
            out.update(status=self._fwd.ScriptFinishedStatus.Name(m.script_finished))
        elif kind == "session_status_changed":
            out.update(running=m.session_status_changed.script_is_running)
        elif kind in ("auto_rerun", "stop_auto_rerun"):
            out.update(detail=str(getattr(m, kind)).replace("\n", " ")[:200])
        elif kind == "delta":
            out.update(path=list(m.metadata.delta_path), what=m.delta.WhichOneof("type"))
        if kind != "rerun_script" and m.HasField("metadata") and m.metadata.HasField("run"):
            out.update(run=m.metadata.run.script_run_id[:8], fragments=list(m.metadata.run.fragment_ids))
        return out

    def attach(self, page) -> None:
        page.on("console", lambda msg: self.add("console", level=msg.type, text=msg.text[:300]))
        page.on("pageerror", lambda e: self.add("pageerror", text=str(e)[:300]))

        def _ws(ws):
            self.add("ws_open", url=ws.url)
            ws.on("framesent", lambda p: self.add("sent", **self._decode(self._back, p)))
            ws.on("framereceived", lambda p: self.add("received", **self._decode(self._fwd, p)))
            ws.on("close", lambda _ws: self.add("ws_close"))
            ws.on("socketerror", lambda e: self.add("ws_error", text=str(e)[:200]))

        page.on("websocket", _ws)

    def write(self) -> None:
        with self.path.open("w", encoding="utf-8") as fh:
            for e in self.events:
                fh.write(json.dumps(e, ensure_ascii=False) + "\n")


def run(db: Path, refreshes: int, every: int, import_every: int, warmup: int, refresh_s: int,
        stall_s: float = 90, shots: Path | None = None, trace_path: Path | None = None,
        log_level: str | None = None, minutes: float = 0) -> dict:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="screen-memory-"))
    try:
        store = _copy_store(db, work)
        password = secrets.token_urlsafe(12)
        _manage(store, "users", "add", "bench_wall", "--role", "display", "--password-stdin", stdin=password + "\n")
        import duckdb

        with duckdb.connect(str(store), read_only=True) as con:
            (last,) = con.execute("SELECT max(CAST(received_at AS DATE)) FROM tickets").fetchone()
        env = {"HOTLINE_SCREEN_REFRESH_SECONDS": str(refresh_s), "HOTLINE_SCREEN_ROTATE_SECONDS": str(refresh_s)}
        samples, imports, errors, error_texts = [], [], 0, []
        trace = Trace(trace_path) if trace_path else None
        log = (trace_path.with_suffix(".server.log") if trace_path else work / "streamlit.log")
        extra = ("--logger.level", log_level) if log_level else ()
        with serve_app(store, log, how="launch", extra_env=env, timeout=120, extra_args=extra) as (url, proc), \
                sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
            page = context.new_page()
            block_external(page)
            if trace:
                trace.attach(page)
            page.set_default_timeout(180_000)
            page.goto(url + "/screen")
            page.get_by_label("账号").fill("bench_wall")
            page.get_by_label("密码").fill(password)
            page.get_by_label("密码").press("Enter")
            page.wait_for_selector(".st-key-scr_root .js-plotly-plot")
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            load0 = [round(x, 1) for x in os.getloadavg()]
            seen, last_text, t0 = 0, page.evaluate(FRESH_JS), time.monotonic()
            changed, stalls, reloads = t0, [], []
            # the screen's watchdog reloading the page (ui/screen_clock.py): a recovery, counted and reported
            page.on("framenavigated", lambda f: reloads.append(seen) if f == page.main_frame else None)
            while seen < refreshes and (not minutes or time.monotonic() - t0 < minutes * 60):
                page.wait_for_timeout(150)
                try:
                    text = page.evaluate(FRESH_JS)
                except PlaywrightError:   # the page reloading (the watchdog): nothing to read this moment
                    text = None
                if page.locator(ERRORS).count():
                    errors += 1
                    what = page.locator(ERRORS).first.inner_text()[:300]
                    if what not in error_texts and len(error_texts) < 5:   # say what it was, once each
                        error_texts.append(what)
                        print(f"error box after refresh {seen}: {what}", flush=True)
                if text is None or text == last_text:
                    if time.monotonic() - changed > stall_s:   # no refresh for a long time: say what is shown
                        stalls.append({"after_refresh": seen, "text": text,
                                       "body": page.locator("body").inner_text()[:300]})
                        print("stalled:", json.dumps(stalls[-1], ensure_ascii=False), flush=True)
                        if shots:
                            page.screenshot(path=str(shots / f"stall-{seen}.png"))
                        if trace:
                            trace.write()
                        changed = time.monotonic()
                    continue
                seen, last_text, changed = seen + 1, text, time.monotonic()
                if import_every and seen % import_every == 0:
                    imports.append(round(_import_three(store, seen, str(last), work), 2))
                if seen % every == 0 or seen == 1:
                    cdp.send("HeapProfiler.collectGarbage")   # what the page keeps, not what awaits collection
                    m = {x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]}
                    st = _status(proc.pid)
                    samples.append({"refresh": seen, "seconds": round(time.monotonic() - t0, 1),
                                    "load": round(os.getloadavg()[0], 1),
                                    "server_rss_mb": round(st["VmRSS"], 1), "server_peak_mb": round(st["VmHWM"], 1),
                                    "js_heap_mb": round(m["JSHeapUsedSize"] / 2**20, 1), "dom_nodes": int(m["Nodes"]),
                                    "imports": len(imports)})
                    print(json.dumps(samples[-1]), flush=True)
            external = list(page.external_requests)
            browser.close()
        if trace:
            trace.write()
        after = [s for s in samples if s["refresh"] >= warmup]
        base = after[0] if after else samples[0]
        end = samples[-1]
        xs = [s["refresh"] for s in after]
        summary = {
            "store": str(db), "refreshes": refreshes, "refresh_seconds": refresh_s, "imports": imports,
            "error_boxes_seen": errors, "error_texts": error_texts, "external_requests": external, "stalls": stalls,
            "reloads_after_refresh": reloads, "refreshes_seen": seen, "minutes": round((time.monotonic() - t0) / 60, 1),
            "load_average": [load0, [round(x, 1) for x in os.getloadavg()]],
            "baseline_at": base["refresh"],
            "server_rss_mb": [base["server_rss_mb"], end["server_rss_mb"]],
            "server_rss_slope_mb_per_100": round(100 * _slope(xs, [s["server_rss_mb"] for s in after]), 2),
            "js_heap_mb": [base["js_heap_mb"], end["js_heap_mb"]],
            "js_heap_slope_mb_per_100": round(100 * _slope(xs, [s["js_heap_mb"] for s in after]), 2),
            "dom_nodes": [base["dom_nodes"], end["dom_nodes"]],
            "samples": samples,
        }
        return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--refreshes", type=int, default=500)
    ap.add_argument("--every", type=int, default=25, help="sample every N refreshes")
    ap.add_argument("--import-every", type=int, default=100, help="import 3 new tickets every N refreshes (0: never)")
    ap.add_argument("--warmup", type=int, default=50, help="refreshes before the baseline sample")
    ap.add_argument("--refresh-seconds", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write the summary and every sample here")
    ap.add_argument("--stall", type=float, default=90, help="report when the screen has not refreshed this long (s)")
    ap.add_argument("--shots", type=Path, help="a folder for screenshots of stalls")
    ap.add_argument("--trace", type=Path, help="write the page's console and websocket messages here (JSONL; "
                    "the server's log beside it, .server.log)")
    ap.add_argument("--log-level", help="the server's log level (Streamlit's --logger.level), e.g. debug")
    ap.add_argument("--minutes", type=float, default=0, help="stop after this long even if fewer refreshes came")
    a = ap.parse_args(argv)
    s = run(a.db, a.refreshes, a.every, a.import_every, a.warmup, a.refresh_seconds, a.stall, a.shots,
            a.trace, a.log_level, a.minutes)
    print(json.dumps({k: v for k, v in s.items() if k != "samples"}, ensure_ascii=False, indent=1))
    if a.json:
        a.json.write_text(json.dumps(s, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if not (s["external_requests"] or s["error_boxes_seen"] or s["stalls"] or s["reloads_after_refresh"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
