"""The dashboard as an ASGI app: `streamlit run serve.py` (what `make run` starts).

Streamlit runs nothing of ours until the first browser session arrives: the
first script run of app.py would then import pandas, duckdb, pyarrow and plotly
while the user waits. `st.App`'s lifespan hook (public API) runs once the
server's runtime has started, before the first session: it starts a background
thread that imports those modules while the browser loads the page
(ui/warmup.start_early; app.py's first run waits for it).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def _lifespan(_app):
    from ui import warmup

    warmup.start_early()
    yield


app = st.App("app.py", lifespan=_lifespan)
