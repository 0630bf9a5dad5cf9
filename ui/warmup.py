"""Import the dashboard's heavy modules in a background thread, before a page needs them.

Plain imports only: nothing here touches Streamlit's caches, the store or the
garbage collector. Two phases, each once per process:

- `start_early()` (serve.py's st.App lifespan hook, once Streamlit's runtime has
  started and before the first browser session): a thread imports what the
  first page (总览) needs: pandas, duckdb, pyarrow, plotly and our modules, while
  the browser loads the page. Without it the first page's first run imports
  them while the user waits. The first script run waits for the thread
  (`wait_early()` in app.py), so no module is imported by two threads at once.
- `start()` (app.py, after a page ran to its end): the other pages' modules
  (scipy for 热点, geopandas, shapely and folium for 地图, the export code) and
  the boundary files, so a later first visit of each page only runs its queries.

A module that fails to import is skipped: the page itself shows the error when
it is visited.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time

# What the first page (总览) needs, in the order its first run would import it. The upgrade check of
# store.connect (data.derived.outdated) imports data.positions and with it geo.grid (geopandas, shapely).
EARLY_MODULES = (
    "pandas", "pyarrow", "duckdb", "numpy",
    "data.settings", "data.store", "data.derived", "data.links", "data.positions", "data.words",
    "analytics.filters", "analytics.options", "analytics.overview",
    "plotly.graph_objects", "analytics.theme", "analytics.figures",
    "ui.db", "ui.filters", "ui.charts", "ui.drill",
)

# The other pages' modules, in the order a user usually visits the pages.
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
# map page imports it itself.

_lock = threading.Lock()
_started = False
done = threading.Event()
_early_started = False
early_done = threading.Event()
early_seconds: float | None = None   # how long the early imports took (for bench/coldstart.py and the docs)


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # a broken optional page must not break the others
            continue


def _run_early() -> None:
    global early_seconds
    t0 = time.perf_counter()
    try:
        _import_all(EARLY_MODULES)
    finally:
        early_seconds = round(time.perf_counter() - t0, 3)
        early_done.set()
        print(f"hotline warm-up before the first page: imports {early_seconds:.2f} s", file=sys.stderr, flush=True)


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


def _run() -> None:
    try:
        _import_all(MODULES)
        try:
            from geo import boundaries

            boundaries.streets()
            boundaries.districts()
        except Exception:  # the map page reports missing boundary files itself
            pass
    finally:
        done.set()


def start() -> bool:
    """Start the warm-up thread once per process; True if this call started it."""
    global _started
    with _lock:
        if _started:
            return False
        _started = True
    threading.Thread(target=_run, name="hotline-warmup", daemon=True).start()
    return True
