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

Every page also carries a mark (`_MARK_JS`): once plotly.js has run in the tab
(a chart is drawn, or the preload's import is done), a cookie records the chunk's
name. A later tab of that browser sends it, and `seen_before()` tells the chart
code (ui/charts.py) that this browser holds the chunk in its HTTP cache (served
immutable) with its compiled code, so the first chart is not held back.

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
COOKIE = "hotline_plotly"        # its value: the name of the plotly chunk this browser has run
COOKIE_DAYS = 30

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

_MARK_JS = """<script>
(() => {
  if (window.__hotlineMark) return;
  window.__hotlineMark = true;
  const name = %(chunk)s;
  const cookie = `%(cookie)s=${encodeURIComponent(name)}`;
  if (document.cookie.split("; ").includes(cookie)) return;
  let tries = 0;
  const check = () => {
    if (document.querySelector(".js-plotly-plot") || window.__hotlinePlotly === "loaded") {
      document.cookie = `${cookie}; path=/; max-age=%(age)d; SameSite=Strict`;
    } else if (++tries < 240) {
      setTimeout(check, 500);
    }
  };
  check();
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


def mark_script() -> str | None:
    """The hidden mark's HTML: the cookie set once plotly.js has run in the tab."""
    name = chunk_name()
    if name is None:
        return None
    return _MARK_JS % {"chunk": json.dumps(name), "cookie": COOKIE, "age": COOKIE_DAYS * 86400}


def seen_before() -> bool:
    """True when the browser of this session has run this Streamlit release's plotly chunk before (its cookie)."""
    name = chunk_name()
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # outside a script run
        return False
    return name is not None and value == name


def plotly_chunk(load: bool = True) -> None:
    """Emit the hidden elements into the sidebar (every run; the browser acts once per tab): the mark, and with
    `load` (pages without charts) the preload."""
    mark = mark_script()
    if mark is None:   # a Streamlit release without that chunk: the charts load it themselves
        return
    with st.sidebar.container(key=KEY):
        st.html(_CSS)
        st.html(mark, unsafe_allow_javascript=True)
        if load:
            st.html(script(), unsafe_allow_javascript=True)
