"""Make the browser load plotly.js before a chart needs it (issue 4: a new tab's first chart page).

Streamlit's frontend loads its plotly chart code (one ≈ 4.7 MB JavaScript chunk,
`PlotlyChart.<hash>.js`) only when the first chart of a browser tab arrives, and
holds every element that arrives with that chart until the chunk is fetched,
compiled and run: a 2.3-3.2 s main-thread task in a fresh tab on a 2-core VM
(0.15-0.35 s once the same browser process has compiled it). So the first chart
page of a tab is the slow one. On a page without charts (工单, 地图, 导入),
`plotly_chunk()` emits, hidden in the sidebar, a few lines of JavaScript that
import that same chunk once the page is drawn and the browser is idle
(`requestIdleCallback` after `IDLE_DELAY_MS`); the browser keeps one module per
URL, so the next chart page's own import finds it ready and only draws.

Not on chart pages: they load the chunk themselves. Started there at once
(tried), the compile blocked the tab's main thread just when the KPI tiles
arrived and they were drawn no sooner; instead the first chart of a tab is sent
a moment after the rest of the page (ui/charts.py), so the tab draws the rest
while plotly loads. Only a loopback URL is built (the chunk Streamlit itself
serves, found next to its index script), and nothing is shown.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st

KEY = "hotline-preload"          # st.container key: class "st-key-hotline-preload", hidden by CSS
IDLE_DELAY_MS = 1500

_JS = """<script>
(() => {
  if (window.__hotlinePlotly) return;
  window.__hotlinePlotly = "waiting";
  const idx = document.querySelector('script[type="module"][src*="/static/js/index."]');
  const base = idx ? idx.src : new URL("static/js/", document.baseURI).href;
  const url = new URL(%(chunk)s, base).href;
  const load = () => {
    window.__hotlinePlotly = "loading";
    import(url).then(() => { window.__hotlinePlotly = "loaded"; },
                     (e) => { window.__hotlinePlotly = "failed: " + e; });
  };
  const delay = %(delay)d;
  if (delay <= 0) { load(); return; }
  setTimeout(() => ("requestIdleCallback" in window ? requestIdleCallback(load, {timeout: 4000}) : load()), delay);
})();
</script>"""

_CSS = f"<style>.st-key-{KEY} {{ display: none !important; }}</style>"


@functools.cache
def chunk_name() -> str | None:
    """File name of Streamlit's plotly chart chunk (content-hashed per Streamlit release), or None."""
    import streamlit as st_pkg

    js = Path(st_pkg.__file__).parent / "static" / "static" / "js"
    found = sorted(p.name for p in js.glob("PlotlyChart.*.js"))
    return found[0] if found else None


def script(delay_ms: int = IDLE_DELAY_MS) -> str | None:
    """The hidden element's HTML: an import of the plotly chunk when idle after `delay_ms` (0: at once)."""
    name = chunk_name()
    if name is None:   # a Streamlit release without that chunk: the charts load it themselves
        return None
    return _JS % {"chunk": json.dumps(name), "delay": int(delay_ms)}


def plotly_chunk() -> None:
    """Emit the hidden preload into the sidebar (every run; the browser acts once per tab)."""
    html = script()
    if html is None:
        return
    with st.sidebar.container(key=KEY):
        st.html(_CSS)
        st.html(html, unsafe_allow_javascript=True)
