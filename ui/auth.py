"""Sign-in in place: every page and every URL asks who you are first, then shows what was asked for.

`gate()` runs at the top of app.py, before navigation. Without a signed-in principal it draws the sign-in
form (account name, password; Enter submits) — or, where an internal OpenID Connect provider is configured
in `.streamlit/secrets.toml` ([auth]), Streamlit's own `st.login` button — and stops the run; the URL,
including its page path and query (`/tickets?id=...`), is left as it was, so the next run after signing in
opens it. The session itself lives in the records store (data/people.py, table `sessions`) under a random
token the browser keeps in a session cookie: a reload or a new tab stays signed in, a session idle longer
than HOTLINE_SESSION_IDLE_MINUTES ends (the wall-screen account excepted: it shows aggregates only and
refreshes by itself), and the account is re-read on every run, so a disabled account or a changed role takes
effect at the next click.

The audit trail (data/audit.py) gets every sign-in, failure, sign-out and expiry; `audited()` wraps the
bytes of a download so the download itself is recorded when it is made.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
import streamlit.components.v1 as components

from data import audit, people, records
from data.people import Principal

KEY = "auth_principal"
TOKEN = "auth_token"
NOTICE = "auth_notice"
SSO_REFUSED = "auth_sso_refused"   # the OpenID Connect identity refused in this session (no account)
COOKIE = "hotline_session"
_WHY = {
    "idle": "长时间未操作，已自动退出，请重新登录。",
    "disabled": "账号已停用，请联系管理员。",
}


def principal() -> Principal | None:
    """The signed-in principal of this session, or None (also outside a session, e.g. a warm-up thread)."""
    try:
        p = st.session_state.get(KEY)
        token = st.session_state.get(TOKEN)
    except Exception:   # no script run context: nobody is signed in here
        return None
    if p is None and token:   # a page run on its own (not through app.py's gate) in a signed-in session
        with records.session() as con:
            p, _why = people.resume_session(con, token)
        if p is not None:
            st.session_state[KEY] = p
    return p


def require() -> Principal:
    """The signed-in principal; stops the run if there is none."""
    p = principal()
    if p is None:
        st.error("请先登录。")
        st.stop()
    return p


def signed_in() -> Principal | None:
    """The principal of this session's live sign-in, or None (then `sign_in_page` asks who you are).

    The session lives in the records store (data/people.py) under a random token that the browser keeps in
    a session cookie, so a reload or a new tab of the same browser stays signed in, and the idle timeout
    and a disabled account are enforced by the server on every run.
    """
    token = st.session_state.get(TOKEN) or _cookie_token()
    p, why = None, "none"
    if token:
        with records.session() as con:
            p, why = people.resume_session(con, token)
    if p is None:
        if st.session_state.get(KEY) is not None and why in _WHY:
            st.session_state[NOTICE] = _WHY[why]
        _clear()
        if why in ("idle", "disabled", "ended"):
            _forget_cookie()
            if _sso_signed_in():
                st.logout()   # the provider's identity must not sign the session straight back in
        p = _sso_principal()
    else:
        st.session_state[KEY] = p
        st.session_state[TOKEN] = token
    return p


def gate() -> Principal:
    """The signed-in principal, or draw the sign-in form and stop the run."""
    p = signed_in()
    if p is None:
        sign_in_page()
        st.stop()
    return p


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:   # no browser request behind this run
        return None
    return value if isinstance(value, str) and value else None


def _start(p: Principal) -> None:
    """Signed in: a new session, its token in this session's state and in the browser's session cookie."""
    with records.session() as con:
        token = people.open_session(con, p)
    st.session_state[KEY] = p
    st.session_state[TOKEN] = token


def cookie_writer() -> None:
    """Write the session cookie after signing in (a zero-height component: a cookie set by script).

    Written on every run until the browser's own request carries it: a component drawn only once could be
    taken off the page by the next run before its script ran (the wall screen reruns by itself within
    seconds), and then a reload or a new tab would ask to sign in again. An unchanged component stays as it
    is between runs, so repeating it costs nothing."""
    token = st.session_state.get(TOKEN)
    if token and _cookie_token() != token:
        components.html(f"<script>document.cookie = '{COOKIE}={token}; path=/; SameSite=Strict';</script>",
                        height=0)


def _forget_cookie() -> None:
    components.html(f"<script>document.cookie = '{COOKIE}=; path=/; max-age=0; SameSite=Strict';</script>",
                    height=0)


def sign_out() -> None:
    p = principal()
    token = st.session_state.get(TOKEN)
    with records.session() as con:
        people.end_session(con, token)
    if p is not None:
        audit.record(p, "sign_out", p.name)
    _clear()
    st.session_state["auth_signed_out"] = True
    if _sso_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def _clear() -> None:
    for k in (KEY, TOKEN):
        st.session_state.pop(k, None)


def sign_in_page() -> None:
    """The sign-in form (and the single sign-on button where it is set up); a success reruns the app."""
    if st.session_state.pop("auth_signed_out", False):
        _forget_cookie()
    st.title("12345热线检察监督分析平台")
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.warning(notice)
    with st.form("sign_in", clear_on_submit=True, enter_to_submit=True, border=True):
        st.subheader("登录")
        name = st.text_input("账号", key="sign_in_name", autocomplete="username")
        password = st.text_input("密码", type="password", key="sign_in_password", autocomplete="current-password")
        submitted = st.form_submit_button("登录", type="primary")
    if _sso_configured():
        refused = st.session_state.get(SSO_REFUSED)
        if refused and _sso_signed_in():
            st.error(f"统一身份认证账号“{refused}”在本系统中没有对应的账号（或账号已停用），请联系管理员开通。")
            st.button("切换统一身份认证账号", on_click=st.logout)
        else:
            st.button("使用单位统一身份认证登录", on_click=st.login)
    if submitted:
        try:
            with records.session() as con:
                p = people.authenticate(con, name, password)
        except (people.SignInError, records.RecordsError) as exc:
            st.error(str(exc))
            return
        _start(p)
        st.rerun()
    else:
        st.caption("请使用管理员分配的账号登录。忘记密码请联系管理员重置。")


def _sso_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:   # no secrets file: single sign-on is not set up
        return False


def _sso_signed_in() -> bool:
    return _sso_configured() and bool(getattr(st.user, "is_logged_in", False))


def _sso_principal() -> Principal | None:
    """The account mapped to the OpenID Connect identity Streamlit signed in, if single sign-on is set up.

    An identity with no enabled account is refused once per session (one audit row, not one per rerun);
    the sign-in page then names it and offers to switch to another identity (st.logout)."""
    if not _sso_signed_in():
        return None
    subject = str(st.user.get("email") or st.user.get("sub") or "")
    if st.session_state.get(SSO_REFUSED) == subject:
        return None
    try:
        with records.session() as con:
            p = people.principal_for_sso(con, subject)
    except people.SignInError:
        st.session_state[SSO_REFUSED] = subject
        return None
    st.session_state.pop(SSO_REFUSED, None)
    _start(p)
    return p


def sidebar_identity(p: Principal) -> None:
    """Who is signed in, and the sign-out button (in the sidebar)."""
    with st.sidebar:
        st.caption(f"当前用户：{p.label}")
        st.button("退出登录", key="auth_sign_out", on_click=sign_out, type="tertiary")


def audited(p: Principal, action: str, target: str, details: dict | None, make: Callable[[], bytes]) -> Callable[[], bytes]:
    """`make`, recording `action` in the audit trail when it is called (a download's bytes are made on click)."""
    def run() -> bytes:
        data = make()
        audit.record(p, action, target, {**(details or {}), "bytes": len(data)})
        return data
    return run


def denied(p: Principal, what: str) -> None:
    """The message for a page or action the role may not use (and stop)."""
    st.error(f"无权访问：{what}需要相应权限，当前角色为“{p.role_label}”。如需使用请联系管理员。")
    st.stop()
