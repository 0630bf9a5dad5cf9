"""12345 热线检察监督分析平台: the Streamlit entry point.

Only layout lives here: sign-in, the page registry (each page shown to the roles that may use it),
shared sidebar filters, navigation.
"""

from __future__ import annotations

import streamlit as st

from ui import warmup

# Started by the launcher (ui/launch.py), a thread may still be importing the first page's modules and
# opening the store: wait for it rather than import the same modules from two threads (at once without it).
warmup.wait_early()

from data import roles  # noqa: E402
from ui import auth, db, filters, preload  # noqa: E402

st.set_page_config(page_title="12345热线检察监督分析平台", layout="wide")

# Every page: (file, title, URL path). Who may open it is data/roles.PAGES; app.py never decides that.
# No page icons: emoji need an emoji font the users may lack, and Streamlit's dynamic Material icons
# are fetched from fonts.gstatic.com when its icon font has not loaded yet (seen on a cold start).
PAGES = [
    ("views/overview.py", "总览", "overview"),
    ("views/topics.py", "热点", "topics"),
    ("views/funnel.py", "漏斗", "funnel"),
    ("views/tickets.py", "工单", "tickets"),
    ("views/map.py", "地图", "map"),
    ("views/import_data.py", "导入", "import"),
    ("views/users.py", "用户", "users"),
    ("views/audit.py", "审计", "audit"),
]
CHART_PAGES = {"overview", "topics", "funnel", ""}   # "" is the default page's path
NO_FILTER_PAGES = {"import", "users", "audit"}

principal = auth.gate()   # the sign-in form until someone is signed in; the URL asked for is kept
auth.cookie_writer()


def _denied(title: str, url_path: str):
    def page() -> None:
        auth.denied(principal, f"“{title}”页面")
    page.__name__ = f"denied_{url_path}"
    return st.Page(page, title=title, url_path=url_path)


home = roles.home_page(principal.role)
allowed = [(f, t, u) for f, t, u in PAGES if principal.can(roles.PAGES[u])]
pages = [st.Page(f, title=t, url_path=u, default=(u == home)) for f, t, u in allowed]
if not pages:   # e.g. the wall-screen account before its page exists: say so rather than show an empty app
    pages = [st.Page(lambda: auth.denied(principal, "本系统的页面"), title="无权访问", url_path="none", default=True)]
# A page of another role opened by URL answers "无权访问" under its own address (not the home page silently).
hidden = [_denied(t, u) for f, t, u in PAGES if (f, t, u) not in allowed]
denied_paths = {p.url_path for p in hidden}
page = st.navigation(pages + hidden, position="hidden")
with st.sidebar:
    for p in pages:
        st.page_link(p, label=p.title)
auth.sidebar_identity(principal)
# A page without charts: once it is drawn and the browser is idle, load plotly.js, so the tab's next chart page
# only draws its charts; chart pages load it themselves. Every page marks the browser once plotly.js has run in
# it, so its later tabs do not hold their first chart back (ui/preload.py, ui/charts.py, issue 4).
preload.plotly_chunk(load=page.url_path not in CHART_PAGES)
if page.url_path not in NO_FILTER_PAGES | denied_paths:
    cur = db.require_cursor()
    filters.sidebar(cur)
page.run()
# Once per process, after a page ran to its end (so its own imports are complete and the thread
# cannot import the same packages concurrently): load the other pages' heavy modules (ui/warmup.py).
warmup.start()
