"""Load the dashboard's heavy modules in the background: before the first page, and after it.

Two phases, each once per process:

- `start_early()` (called by the launcher, ui/launch.py, before Streamlit starts):
  a thread does what the first page's first script run would otherwise do while
  the user waits: import pandas, duckdb, plotly and the overview's modules, open
  the store (with its upgrade check) and load the sidebar's filter options into
  their cache. It starts once Streamlit's server is up and runs while the browser
  loads the page; the first script run waits for it (`wait_early()` in app.py)
  so no module is imported by two threads at once.
- `start()` (app.py, after a page ran to its end): the other pages' modules; then
  everything alive is frozen out of the garbage collector's reach (`gc.freeze`).

The first run of each page in a fresh server process pays for its imports
(scipy for 热点, geopandas, shapely, folium and the boundary files for 地图,
the export code under every chart): 1–3 s that the user would otherwise wait
through on the first visit of each page. Once a page has run to its end
(app.py), one daemon thread imports them (and reads the boundaries) so later
first visits only run their queries. Nothing here
touches Streamlit or the store; a module that fails to import is skipped (the
page itself will show the error when visited).
"""

from __future__ import annotations

import gc
import importlib
import sys
import threading
import time

# In the order a user usually visits the pages.
MODULES = (
    "analytics.figures", "ui.charts", "ui.drill", "analytics.export", "analytics.tables",
    "analytics.topics", "analytics.topic_figures",
    "analytics.funnel", "analytics.tickets",
    "analytics.maps", "analytics.hotspots", "analytics.visits",
    "folium", "folium.plugins", "analytics.mapviz",   # ~1 s of the map page's first run (folium compiles ~100
    # Jinja templates)
)
# Not here: streamlit_folium. Imported from this thread before the map page (with folium), the map page opened
# by URL never drew its Leaflet map (seen in Chromium at 25 M); it registers its component when imported, so the
# map page imports it itself. folium and analytics.mapviz are plain Python: with them here the map page opened
# by URL right after the first page still draws its map (docs/performance.md, "Session 7").
DELAY_S = 1.0   # let the first page's charts reach the browser first

# What the first page (总览) needs, in the order its first run would import it. The upgrade check of
# store.connect (data.derived.outdated) imports data.positions and with it geo.grid (geopandas, shapely).
EARLY_MODULES = (
    "pandas", "pyarrow", "duckdb", "numpy",
    "data.settings", "data.store", "data.derived", "data.links", "data.positions", "data.words",
    "analytics.filters", "analytics.options", "analytics.overview",
    "plotly.graph_objects", "analytics.theme", "analytics.figures",
    "streamlit.emojis",   # segmented_control's first call compiles its emoji regex (0.4-1 s)
    "ui.db", "ui.filters", "ui.charts", "ui.drill",
)
RUNTIME_WAIT_S = 60.0
SWITCH_INTERVAL_S = 0.0005
_DEFAULT_SWITCH_S = sys.getswitchinterval()

_lock = threading.Lock()
_started = False
done = threading.Event()
_early_started = False
early_done = threading.Event()
early_steps: dict[str, float] = {}   # step -> seconds it took (for bench/coldstart.py and the docs)


def _step(name: str, t0: float) -> float:
    now = time.perf_counter()
    early_steps[name] = round(now - t0, 3)
    return now


def _runtime_started(timeout: float) -> bool:
    """True once Streamlit's runtime has started (server listening; its data caches live there)."""
    from streamlit import runtime

    deadline = time.monotonic() + timeout
    while not (runtime.exists() and runtime.get_instance().state.name != "INITIAL"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _run_early() -> None:
    try:
        # Let Streamlit start its server first (the thread would slow it down, both need the GIL): the
        # work below then overlaps the browser loading the page, when the server has nothing to do.
        if not _runtime_started(RUNTIME_WAIT_S):
            return
        # The server serves the page's ~60 JavaScript files meanwhile: hand it the GIL sooner (0.5 ms, not 5 ms).
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        t = time.perf_counter()
        for name in EARLY_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # the page reports a broken module itself
                continue
        t = _step("imports", t)
        from data import store
        from ui import db, filters

        try:
            with db.borrow() as (cur, version):   # opens the process's read-only handle, upgrade check included
                t = _step("store open", t)
                # The sidebar's choices, into the same st.cache_data entry the first run reads.
                filters.options(cur, version)
                _step("filter options", t)
        except store.StoreError:
            return   # missing or outdated store: the first page says so
    except Exception:  # never let the warm-up break the app: the first run does the same work itself
        pass
    finally:
        sys.setswitchinterval(_DEFAULT_SWITCH_S)
        early_done.set()
        steps = ", ".join(f"{k} {v:.2f} s" for k, v in early_steps.items())
        print(f"hotline warm-up before the first page: {steps or 'skipped'}", file=sys.stderr, flush=True)


def start_early() -> bool:
    """Start the early warm-up thread once per process; True if this call started it."""
    global _early_started
    with _lock:
        if _early_started:
            return False
        _early_started = True
    threading.Thread(target=_run_early, name="hotline-warmup-early", daemon=True).start()
    return True


def wait_early(timeout: float = 60.0) -> None:
    """Let the first script run wait for the early thread (if one was started), so imports do not race."""
    if _early_started:
        early_done.wait(timeout)


def _run(delay: float) -> None:
    time.sleep(delay)
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # a broken optional page must not break the others
            continue
    try:
        from geo import boundaries

        boundaries.streets()
        boundaries.districts()
    except Exception:  # the map page reports missing boundary files itself
        pass
    # What is alive now (modules, boundary frames, the first page's caches) stays for the life of the process:
    # move it out of the collector's reach. Otherwise every full collection, which allocation-heavy page runs
    # trigger every second or third run, walks these ~2*10^5 objects again (0.1 s on this VM, docs/performance.md).
    gc.collect()
    gc.freeze()
    done.set()


def start(delay: float = DELAY_S) -> bool:
    """Start the warm-up thread once per process; True if this call started it."""
    global _started
    with _lock:
        if _started:
            return False
        _started = True
    threading.Thread(target=_run, args=(delay,), name="hotline-warmup", daemon=True).start()
    return True
