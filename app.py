"""12345 热线检察监督分析平台: the Streamlit entry point.

Only layout lives here: page registry, shared sidebar filters, navigation.
"""

from __future__ import annotations

import streamlit as st

from ui import warmup

# Started by serve.py (`make run`) once the server is up, a thread may still be importing the first page's modules and
# opening the store: wait for it rather than import the same modules from two threads (at once without it).
warmup.wait_early()

from ui import db, filters  # noqa: E402

st.set_page_config(page_title="12345热线检察监督分析平台", layout="wide")

# No page icons: emoji need an emoji font the users may lack, and Streamlit's dynamic Material icons
# are fetched from fonts.gstatic.com when its icon font has not loaded yet (seen on a cold start).
PAGES = [
    st.Page("views/overview.py", title="总览", url_path="overview", default=True),
    st.Page("views/topics.py", title="热点", url_path="topics"),
    st.Page("views/funnel.py", title="漏斗", url_path="funnel"),
    st.Page("views/tickets.py", title="工单", url_path="tickets"),
    st.Page("views/map.py", title="地图", url_path="map"),
    st.Page("views/import_data.py", title="导入", url_path="import"),
]

page = st.navigation(PAGES)
if page.url_path != "import":
    cur = db.require_cursor()
    filters.sidebar(cur)
page.run()
# Once per process, after a page ran to its end (so its own imports are complete and the thread
# cannot import the same packages concurrently): load the other pages' heavy modules (ui/warmup.py).
warmup.start()
