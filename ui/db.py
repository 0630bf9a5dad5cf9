"""The dashboard's read-only handle on the store, with a cursor per session.

DuckDB allows one writer process or many readers, and one connection must not
be shared by threads; Streamlit runs each session in its own thread, so each
session gets its own cursor of one cached read-only connection.
"""

from __future__ import annotations

import streamlit as st

from data import scope, settings, store


@st.cache_resource(show_spinner=False)
def _connection(path: str, mtime: float):
    return store.connect(path, read_only=True)


def db_version() -> str:
    """Part of every cache key at the UI edge: changes when the store file changes, and differs by scope.

    Cached answers are shared by sessions with the same key, so the signed-in user's scope is in it: a
    district user never gets an answer computed for the whole city (or for another district).
    """
    p = settings.db_path()
    try:
        v = f"{p}:{p.stat().st_mtime_ns}"
    except FileNotFoundError:
        v = f"{p}:missing"
    from ui import auth

    who = auth.principal()
    return f"{v}|{_scope_key(who.scope) if who is not None else 'nobody'}"


def _scope_key(s: scope.Scope) -> str:
    where = "city" if s.districts is None else "d:" + ",".join(sorted(s.districts))
    return f"{where};texts={int(s.texts)}"


def shared_connection():
    """The process's read-only connection (opened once, upgrade check included), or raises store.StoreError."""
    p = settings.db_path()
    if not p.exists():
        raise store.StoreError(
            f"数据库文件不存在：{p}。请先运行 `make demo` 生成演示数据，或在“导入”页导入工单数据。"
        )
    return _connection(str(p), p.stat().st_mtime)


def cursor():
    """This session's cursor on the store, limited to the signed-in user's scope (data/scope.py).

    Raises store.StoreError with a user message when the store cannot be opened. Without a signed-in
    user (the sign-in gate in app.py has not passed) nothing may be read: PermissionError.
    """
    from ui import auth

    p = auth.principal()
    if p is None:
        raise PermissionError("no signed-in user: the store is not readable")
    key = db_version()
    cur = st.session_state.get("_db_cursor")
    if cur is None or st.session_state.get("_db_key") != key:
        con = shared_connection()
        cur = scope.scoped_cursor(con, p.scope)
        st.session_state["_db_cursor"] = cur
        st.session_state["_db_key"] = key
    return cur


def release() -> None:
    """Close the cached read-only handle so this process can write (import page)."""
    _connection.clear()
    st.session_state.pop("_db_cursor", None)
    st.session_state.pop("_db_key", None)


def require_cursor():
    """The session cursor, or stop the page with a clear message."""
    try:
        return cursor()
    except store.StoreError as exc:
        st.error(str(exc))
        st.stop()
