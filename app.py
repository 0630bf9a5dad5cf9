"""12345 热线检察监督分析平台: the Streamlit entry point.

Only layout lives here: page registry, shared sidebar filters, navigation.
"""

from __future__ import annotations

import streamlit as st

from ui import db, filters

st.set_page_config(page_title="12345热线检察监督分析平台", layout="wide")

# Material icons ship with Streamlit (offline); emoji need an emoji font the server's users may lack.
PAGES = [
    st.Page("pages/overview.py", title="总览", icon=":material/dashboard:", url_path="overview", default=True),
    st.Page("pages/topics.py", title="热点", icon=":material/local_fire_department:", url_path="topics"),
    st.Page("pages/funnel.py", title="漏斗", icon=":material/filter_alt:", url_path="funnel"),
    st.Page("pages/tickets.py", title="工单", icon=":material/list_alt:", url_path="tickets"),
    st.Page("pages/map.py", title="地图", icon=":material/map:", url_path="map"),
    st.Page("pages/import_data.py", title="导入", icon=":material/upload_file:", url_path="import"),
]

page = st.navigation(PAGES)
if page.url_path != "import":
    cur = db.require_cursor()
    filters.sidebar(cur)
page.run()
