"""The plotly preload (ui/preload.py) and the early warm-up of the launcher (ui/warmup.start_early)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import SimpleNamespace

import plotly.graph_objects as go
import streamlit
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from ui import preload, warmup

APP = str(ROOT / "app.py")


def test_the_chunk_named_is_the_plotly_chunk_streamlit_serves():
    name = preload.chunk_name()
    assert name is not None and name.startswith("PlotlyChart.") and name.endswith(".js")
    served = Path(streamlit.__file__).parent / "static" / "static" / "js" / name
    assert served.is_file() and served.stat().st_size > 1_000_000   # the whole plotly.js bundle


def test_the_script_imports_only_that_chunk_relative_to_the_app():
    js = preload.script()
    assert f'"{preload.chunk_name()}"' in js
    assert "://" not in js            # no absolute URL: the chunk comes from the app's own server
    assert "requestIdleCallback" in js and f"const delay = {preload.IDLE_DELAY_MS};" in js
    assert "const delay = 0;" in preload.script(0)
    assert js.count("import(") == 1 and "window.__hotlinePlotly" in js   # once per browser tab


def _preload_html(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html") if "import(" in h.proto.body]


def _mark_html(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html") if "__hotlineMark" in h.proto.body]


def test_pages_without_charts_carry_the_hidden_preload_and_chart_pages_do_not(app_db):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception and not at.error
    assert _preload_html(at) == []                        # 总览 loads plotly.js itself
    assert len(_mark_html(at)) == 1                       # ... and marks the browser once it has
    assert len(at.get("plotly_chart")) >= 4
    at.switch_page("views/tickets.py").run()
    assert not at.exception and not at.error
    assert len(_preload_html(at)) == 1
    assert len(_mark_html(at)) == 1
    # In the sidebar, inside the keyed container that the CSS next to it hides.
    first = next(iter(at.sidebar.children.values()))
    assert first.proto.id.endswith(preload.KEY)
    css = [h.proto.body for h in at.get("html") if f".st-key-{preload.KEY}" in h.proto.body]
    assert css and "display: none" in css[0]
    assert at.dataframe, "the ticket list is still drawn"


def test_the_early_warm_up_opens_the_store_and_loads_the_first_page_modules(app_db, monkeypatch):
    monkeypatch.setattr(warmup, "_early_started", False)
    monkeypatch.setattr(warmup, "early_done", warmup.threading.Event())
    monkeypatch.setattr(warmup, "early_steps", {})
    monkeypatch.setattr(warmup, "_runtime_started", lambda timeout: True)   # no Streamlit server in this test
    assert warmup.start_early() is True
    assert warmup.start_early() is False                  # once per process
    warmup.wait_early(120)
    assert warmup.early_done.is_set()
    assert list(warmup.early_steps) == ["imports", "store open", "filter options"]
    for name in ("pandas", "duckdb", "plotly.graph_objects", "analytics.overview", "analytics.figures"):
        assert name in sys.modules, name


def test_the_early_warm_up_gives_up_quietly_on_a_missing_store(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(tmp_path / "missing.duckdb"))
    monkeypatch.setattr(warmup, "_early_started", False)
    monkeypatch.setattr(warmup, "early_done", warmup.threading.Event())
    monkeypatch.setattr(warmup, "early_steps", {})
    monkeypatch.setattr(warmup, "_runtime_started", lambda timeout: True)
    warmup.start_early()
    warmup.wait_early(120)
    assert warmup.early_done.is_set() and "store open" not in warmup.early_steps


def test_wait_early_returns_at_once_without_the_launcher(monkeypatch):
    monkeypatch.setattr(warmup, "_early_started", False)
    monkeypatch.setattr(warmup, "early_done", warmup.threading.Event())
    t0 = time.monotonic()
    warmup.wait_early(5)                                   # would block 5 s if it waited on the unset event
    assert time.monotonic() - t0 < 1 and not warmup.early_done.is_set()


class _Ctx:
    def __init__(self, headers: dict):
        self.headers = headers


class _St:
    """The two parts of streamlit that charts._let_the_tab_draw_first reads."""

    def __init__(self, headers: dict):
        self.session_state: dict = {}
        self.context = _Ctx(headers)


def _pauses(monkeypatch, fake: _St, runs: int) -> list[float]:
    from ui import charts

    slept: list[float] = []
    monkeypatch.setattr(charts, "st", fake)
    monkeypatch.setattr(charts, "time", SimpleNamespace(sleep=slept.append))
    for _ in range(runs):
        charts._let_the_tab_draw_first()
    return slept


def test_the_first_chart_of_a_browser_tab_waits_once(monkeypatch):
    from ui import charts

    # a browser's first visit (no cookie): the longer pause, once per session
    tab = _St({"Host": "127.0.0.1:8501"})
    assert _pauses(monkeypatch, tab, 3) == [charts.FIRST_VISIT_PAUSE_S]
    assert _pauses(monkeypatch, _St({"Host": "127.0.0.1:8501"}), 1) == [charts.FIRST_VISIT_PAUSE_S]   # a new tab
    assert charts.FIRST_VISIT_PAUSE_S > charts.FIRST_CHART_PAUSE_S


def test_no_pause_without_a_browser(monkeypatch):
    assert _pauses(monkeypatch, _St({}), 2) == []     # AppTest, scripts: no headers, no pause


def _chart_pauses(monkeypatch, fake: _St, n_charts: int, *, seen: bool) -> list:
    """What `chart()` does, in order, for `n_charts` charts of one run: pauses (seconds) and charts sent."""
    from ui import charts

    events: list = []
    monkeypatch.setattr(preload, "seen_before", lambda: seen)
    monkeypatch.setattr(charts, "st", SimpleNamespace(session_state=fake.session_state, context=fake.context,
                                                     plotly_chart=lambda fig, **kw: events.append(kw["key"])))
    monkeypatch.setattr(charts, "time", SimpleNamespace(sleep=events.append))
    for i in range(n_charts):
        charts.chart(go.Figure(), key=f"c{i}", downloads=False)
    return events


def test_the_first_chart_of_a_tab_is_drawn_alone_before_the_others_are_sent(monkeypatch):
    from ui import charts

    alone = charts.FIRST_CHART_ALONE_S
    # a browser that has run plotly.js: no pause before the first chart, one after it, none later
    assert _chart_pauses(monkeypatch, _St({"Host": "h"}), 3, seen=True) == ["c0", alone, "c1", "c2"]
    # a first visit: the pause before (the rest of the page first), then the one after
    assert _chart_pauses(monkeypatch, _St({"Host": "h"}), 2, seen=False) == [
        charts.FIRST_VISIT_PAUSE_S, "c0", alone, "c1"]
    # the next run of the same tab (a rerun, another page): no pause at all
    tab = _St({"Host": "h"})
    _chart_pauses(monkeypatch, tab, 1, seen=True)
    assert _chart_pauses(monkeypatch, tab, 2, seen=True) == ["c0", "c1"]
    # no browser (AppTest): never
    assert _chart_pauses(monkeypatch, _St({}), 2, seen=False) == ["c0", "c1"]


class _CookieSt:
    def __init__(self, cookies: dict):
        self.context = SimpleNamespace(cookies=cookies)


def test_the_mark_sets_a_cookie_named_after_the_chunk_once_plotly_has_run():
    js = preload.mark_script()
    assert f'const name = "{preload.chunk_name()}";' in js and f"`{preload.COOKIE}=" in js
    assert ".js-plotly-plot" in js and 'window.__hotlinePlotly === "loaded"' in js
    assert f"max-age={preload.COOKIE_DAYS * 86400}" in js and "path=/" in js
    assert "import(" not in js and "://" not in js     # it loads nothing


def test_a_browser_that_ran_this_plotly_chunk_is_seen_before(monkeypatch):
    monkeypatch.setattr(preload, "st", _CookieSt({preload.COOKIE: preload.chunk_name()}))
    assert preload.seen_before()
    monkeypatch.setattr(preload, "st", _CookieSt({preload.COOKIE: "PlotlyChart.older.js"}))   # another release
    assert not preload.seen_before()
    monkeypatch.setattr(preload, "st", _CookieSt({}))
    assert not preload.seen_before()


def test_no_pause_for_a_browser_that_ran_plotly_before_unless_tiles_come_first(monkeypatch):
    from ui import charts

    monkeypatch.setattr(preload, "seen_before", lambda: True)
    tab = _St({"Host": "127.0.0.1:8501"})
    assert _pauses(monkeypatch, tab, 2) == []
    assert tab.session_state                           # the tab is still marked: later charts never pause
    tiles = _St({"Host": "127.0.0.1:8501"})
    monkeypatch.setattr(charts, "st", tiles)
    charts.tiles_first()                               # 总览: its KPI tiles are drawn before any chart
    assert _pauses(monkeypatch, tiles, 2) == [charts.FIRST_CHART_PAUSE_S]
