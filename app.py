"""12345 热线检察监督分析平台: the Streamlit entry point.

Only layout lives here: sign-in, the page registry (each page shown to the roles that may use it),
shared sidebar filters, navigation.
"""

from __future__ import annotations

import streamlit as st

from ui import warmup

# Started by serve.py (`make run`) once the server is up, a thread may still be importing the first page's modules:
# wait for it rather than import the same modules from two threads at once.
warmup.wait_early()

from data import roles  # noqa: E402
from ui import auth, db, filters  # noqa: E402

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
    ("views/rules.py", "规则", "rules"),
    ("views/queue.py", "研判", "queue"),
    ("views/collide.py", "碰撞", "collide"),
    ("views/ledger.py", "线索台账", "ledger"),
    ("views/clue.py", "线索详情", "clue"),
    ("views/letters.py", "12309信访", "letters"),
    ("views/import_data.py", "导入", "import"),
    ("views/users.py", "用户", "users"),
    ("views/audit.py", "审计", "audit"),
    ("views/screen.py", "大屏", "screen"),
]
NO_FILTER_PAGES = {"import", "users", "audit", "rules", "queue", "collide", "ledger", "clue", "letters",
                   "screen"}
FULL_SCREEN_PAGES = {"screen"}   # no sidebar at all: the page covers the window

principal = auth.signed_in()
if principal is None:
    # Resolve the page the URL asks for (a page's identity is its URL path), so that after signing in the
    # rerun opens that page with its query (`/tickets?id=...`); until then every page is the sign-in form.
    asked = st.navigation([st.Page(auth.sign_in_page, title=t, url_path=u, default=(i == 0))
                           for i, (_f, t, u) in enumerate(PAGES)], position="hidden")
    # "/" means "my home page", whatever the role; so does the page someone else signed out from
    if asked.url_path == "" or st.session_state.get("auth_signed_out", False):
        st.session_state["app_asked_home"] = True
    asked.run()
    st.stop()
auth.cookie_writer()

home = roles.home_page(principal.role)
allowed = [(f, t, u) for f, t, u in PAGES if principal.can(roles.PAGES[u])]
# Every page is registered (so any URL resolves to its page), the menu lists only the role's own, and a page
# of another role opened by URL answers "无权访问" under its own address instead of running.
page = st.navigation([st.Page(f, title=t, url_path=u, default=(u == (home or PAGES[0][2]))) for f, t, u in PAGES],
                     position="hidden")
page_path = page.url_path or home or PAGES[0][2]
may_open = principal.can(roles.PAGES[page_path])
if not may_open and st.session_state.pop("app_asked_home", False) and allowed:
    st.switch_page(allowed[0][0])   # signed in at "/": the role's own first page, not another role's
st.session_state.pop("app_asked_home", None)
if page_path not in FULL_SCREEN_PAGES or not may_open:
    with st.sidebar:
        for f, t, _u in allowed:
            st.page_link(f, label=t)
    auth.sidebar_identity(principal)
if not may_open:
    auth.denied(principal, f"“{page.title}”页面")   # stops the run
if page_path not in NO_FILTER_PAGES:
    cur = db.require_cursor()
    filters.sidebar(cur)
db.engine_note()
page.run()
db.release_retired()   # an old generation a session just left closes now (ui/db.py)
# Once per process, after a page ran to its end (so its own imports are complete and the thread
# cannot import the same packages concurrently): load the other pages' heavy modules (ui/warmup.py).
warmup.start()
