"""Load the other pages' heavy modules in the background once the dashboard has started.

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

import importlib
import threading
import time

# In the order a user usually visits the pages.
MODULES = (
    "analytics.figures", "ui.charts", "ui.drill", "analytics.export", "analytics.tables",
    "analytics.topics", "analytics.topic_figures",
    "analytics.funnel", "analytics.tickets",
    "analytics.maps", "analytics.hotspots", "analytics.visits",
)
# Not here: streamlit_folium and analytics.mapviz (folium). Imported from this thread before the map page,
# the map page opened by URL never drew its Leaflet map (seen in Chromium at 25 M); the map page imports them.
DELAY_S = 1.0   # let the first page's charts reach the browser first

_lock = threading.Lock()
_started = False
done = threading.Event()


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
