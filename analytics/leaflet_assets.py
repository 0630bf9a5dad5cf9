"""Folium classes that load Leaflet and its plugins from the app itself, never from a CDN.

folium lists each element's JavaScript and CSS in the class attributes
`default_js` / `default_css` (Leaflet, jQuery, Bootstrap and fontawesome from
CDNs for a `folium.Map`), and renders them into the map's header. Offline those
URLs fail and the map stays empty. Subclassing with our own lists is the way
folium's plugins declare theirs, so the map builders (analytics/mapviz.py) use
these subclasses and folium's own classes are left as they are: another map in
the same process still gets folium's defaults, and nothing here depends on the
order in which modules were imported.

The files are the copies `scripts/vendor_assets.sh` takes from the npm registry
at setup time into static/vendor/, served by Streamlit's static serving at
/app/static/vendor/. jQuery, Bootstrap and the awesome-markers assets are not
listed: the maps use no folium.Icon and no branca colormap (legends are our own
HTML).
"""

from __future__ import annotations

from typing import ClassVar

import folium
import folium.plugins

STATIC_PREFIX = "/app/static/vendor"
LEAFLET_JS = f"{STATIC_PREFIX}/leaflet/leaflet.js"
LEAFLET_CSS = f"{STATIC_PREFIX}/leaflet/leaflet.css"
CLUSTER_JS = f"{STATIC_PREFIX}/leaflet.markercluster/leaflet.markercluster.js"
CLUSTER_CSS = f"{STATIC_PREFIX}/leaflet.markercluster/MarkerCluster.css"
CLUSTER_DEFAULT_CSS = f"{STATIC_PREFIX}/leaflet.markercluster/MarkerCluster.Default.css"
HEAT_JS = f"{STATIC_PREFIX}/leaflet.heat/leaflet-heat.js"


class Map(folium.Map):
    """A folium map whose header loads only the app's own Leaflet."""

    default_js: ClassVar[list[tuple[str, str]]] = [("leaflet", LEAFLET_JS)]
    default_css: ClassVar[list[tuple[str, str]]] = [("leaflet_css", LEAFLET_CSS)]


class FastMarkerCluster(folium.plugins.FastMarkerCluster):
    """folium's FastMarkerCluster with the app's own MarkerCluster plugin."""

    default_js: ClassVar[list[tuple[str, str]]] = [("markerclusterjs", CLUSTER_JS)]
    default_css: ClassVar[list[tuple[str, str]]] = [("markerclustercss", CLUSTER_CSS), ("markerclusterdefaultcss", CLUSTER_DEFAULT_CSS)]


class HeatMap(folium.plugins.HeatMap):
    """folium's HeatMap with the app's own heat plugin."""

    default_js: ClassVar[list[tuple[str, str]]] = [("leaflet-heat.js", HEAT_JS)]
    default_css: ClassVar[list[tuple[str, str]]] = []
