"""The dashboard as an ASGI app: `streamlit run serve.py` (what `make run` starts).

At start-up, before the first browser session: on a store whose records have no
account yet, the first administrator is created and its password printed once
(docs/security.md); then the early warm-up starts.

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


def first_admin() -> None:
    """On a store whose records have no account yet, create `admin` and print its password once."""
    from data import people, records

    with records.session() as con:
        password = people.ensure_first_admin(con)
    if password:
        bar = "=" * 64
        print(f"{bar}\n首个管理员账号已创建（仅显示这一次，请登录后在“用户”页为同事建账号）：\n"
              f"  账号：admin\n  密码：{password}\n"
              f"忘记密码：python manage.py users reset-password admin\n{bar}", flush=True)


@asynccontextmanager
async def _lifespan(_app):
    from ui import warmup

    first_admin()
    warmup.start_early()
    yield


app = st.App("app.py", lifespan=_lifespan)
