"""Single sign-on through an OpenID Connect provider (issue 17), as a user does it in headless Chromium.

A real OpenID Connect provider runs on loopback (`oidc-provider-mock`, a test provider built on Authlib, the
library Streamlit's `st.login` uses), and the app is set up for it in its secrets file exactly as
docs/security.md tells an administrator. Then:

- an identity mapped to an account (`users add … --sso`) clicks "使用单位统一身份认证登录", signs in at the
  provider and lands in the app as that account: its name, its role's pages, its district's scope; the
  sign-in is in the audit trail "via sso";
- an identity the procuratorate never mapped gets no page at all: it is told it has no account, and the
  refusal is in the audit trail;
- the app's own pages made no request outside 127.0.0.1 (the provider's own page is the provider's: it
  asks a CDN for a stylesheet, which the test blocks like every other outside request).
"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.browser.helpers import block_external, free_port, serve_app, wait_for_app
from tests.conftest import build_tiny

MAPPED, UNMAPPED = "zhang.san@procuratorate.example", "stranger@example.org"


@pytest.fixture(scope="module")
def sso_app(tmp_path_factory):
    import oidc_provider_mock

    from data import audit, people, records

    d = tmp_path_factory.mktemp("sso")
    db = build_tiny(d / "sso.duckdb")
    with records.session(db) as con:
        people.add(con, audit.Actor("pytest"), "zhangsan", "prosecutor", password=None, districts=("东城区",),
                   display_name="张三", sso_subject=MAPPED)
    users = [oidc_provider_mock.User(sub=s, claims={"email": s}) for s in (MAPPED, UNMAPPED)]
    with oidc_provider_mock.run_server_in_thread(user_claims=users) as provider:
        issuer = f"http://127.0.0.1:{provider.server_port}"
        port = free_port()
        secrets = d / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            'cookie_secret = "a-long-random-string-for-the-test-only-0123456789"\n'
            'client_id = "hotline"\n'
            'client_secret = "hotline-secret"\n'
            f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n', encoding="utf-8")
        with serve_app(db, d / "streamlit.log", port=port,
                       extra_args=("--secrets.files", str(secrets))) as (url, _proc):
            yield url, db, issuer


def _app_requests_outside(page) -> list[str]:
    """Requests outside 127.0.0.1 that the app's pages attempted (the provider's stylesheet excluded)."""
    return [u for u in page.external_requests if not u.startswith("https://cdn.jsdelivr.net/")]


def _sign_in_with_sso(browser, url: str, issuer: str, subject: str):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    block_external(page)
    page.set_default_timeout(90_000)
    page.goto(url + "/tickets")
    page.get_by_role("button", name="使用单位统一身份认证登录").click()
    page.wait_for_url(f"{issuer}/**")                      # at the provider's sign-in form
    page.locator("input[name='sub']").fill(subject)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{url}/**")                         # back in the app
    return context, page


def _audit_rows(db, action: str) -> list[dict]:
    from data import audit, records

    with records.session(db) as con:
        df = audit.search(con, action=action).sort_values("seq")
    return [{"actor": r.actor, "target": r.target, "details": json.loads(r.details or "{}")} for r in df.itertuples()]


def test_a_mapped_identity_signs_in_as_its_account(browser, sso_app):
    url, db, issuer = sso_app
    context, page = _sign_in_with_sso(browser, url, issuer, MAPPED)
    try:
        page.get_by_text("当前用户").first.wait_for()
        wait_for_app(page)
        sidebar = page.locator("[data-testid='stSidebar']").inner_text()
        assert "张三" in sidebar, sidebar
        assert "检察官" in sidebar, sidebar
        links = page.locator("[data-testid='stSidebar'] a").all_inner_texts()
        assert "工单" in links and "导入" not in links and "用户" not in links, links
        main = page.locator("[data-testid='stMain']").inner_text()
        assert "东城区" in main and "朝阳区" not in main, main[:500]     # its district's scope only
        assert not _app_requests_outside(page), page.external_requests
        signed = [r for r in _audit_rows(db, "sign_in") if r["details"].get("via") == "sso"]
        assert [r["actor"] for r in signed] == ["zhangsan"], signed
        assert urllib.parse.urlparse(page.url).path in ("/tickets", "/"), page.url
    finally:
        context.close()


def test_an_unmapped_identity_is_refused(browser, sso_app):
    url, db, issuer = sso_app
    context, page = _sign_in_with_sso(browser, url, issuer, UNMAPPED)
    try:
        page.get_by_text("登录").first.wait_for()
        wait_for_app(page)
        main = page.locator("[data-testid='stMain']").inner_text()
        assert "当前用户" not in page.locator("body").inner_text()
        assert page.get_by_label("密码").count() == 1            # still the sign-in form, with the reason
        assert "账号" in main and UNMAPPED in main, main[:500]
        page.get_by_label("账号").fill("x")                      # a rerun of the sign-in page: not a new refusal
        page.wait_for_timeout(1500)
        wait_for_app(page)
        failed = [r for r in _audit_rows(db, "sign_in_failed") if r["details"].get("via") == "sso"]
        assert [r["target"] for r in failed] == [UNMAPPED], failed    # once, not on every rerun
        page.get_by_role("button", name="切换统一身份认证账号").click()   # signs out of the provider's identity:
        page.wait_for_url(f"{issuer}/**")                                 # the provider confirms the sign-out
        page.get_by_role("button", name="End session").click()
        page.wait_for_url(f"{url}/**")
        page.get_by_role("button", name="使用单位统一身份认证登录").wait_for()   # a fresh start, nobody signed in
        assert not _app_requests_outside(page), page.external_requests
    finally:
        context.close()
