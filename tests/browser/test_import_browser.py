"""The 导入 page in a real browser: upload a file, see the cleaned preview, import it, read the report.

Runs its own Streamlit (its own database, which this test writes to) so the
shared browser app's tiny database is never changed.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import assert_no_external_requests, block_external, serve_app, sign_in, wait_for_app
from tests.conftest import ROOT, TEST_PASSWORD, account, build_tiny

FILES = ROOT / "tests" / "data" / "import"


@pytest.fixture(scope="module")
def import_app(tmp_path_factory):
    d = tmp_path_factory.mktemp("import-app")
    db = build_tiny(d / "import.duckdb")
    account("admin", db_path=db)
    with serve_app(db, d / "streamlit.log") as (url, _proc):
        yield url, db


def test_upload_preview_import_report(browser, import_app):
    url, db = import_app
    context = browser.new_context(viewport={"width": 1600, "height": 1200}, locale="zh-CN")
    page = context.new_page()
    block_external(page)
    page.set_default_timeout(60_000)
    try:
        # the overview first (signed in as the administrator): this process now holds the store read-only
        sign_in(page, url + "/", "t_admin", TEST_PASSWORD)
        page.goto(url + "/import")
        wait_for_app(page)
        page.get_by_text("导入记录", exact=True).wait_for()
        uploader = page.locator("[data-testid=stFileUploader]").filter(has_text="数据文件")
        uploader.locator("input").set_input_files(str(FILES / "tickets_defects.csv"))
        page.get_by_text("识别为").wait_for()
        assert "工单" in page.get_by_text("识别为").inner_text()
        page.get_by_role("button", name="开始导入").click()
        page.get_by_text("导入完成：tickets_defects.csv").wait_for()
        wait_for_app(page)
        body = page.locator("[data-testid='stMain']").inner_text()
        assert "隔离的行（共 7 行）" in body
        metrics = [m.inner_text() for m in page.locator("[data-testid='stMetric']").all()]
        assert any("新增" in m and "17" in m for m in metrics), metrics
        assert_no_external_requests(page)
    finally:
        context.close()
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        # 20 tiny tickets + 17 new ones
        assert con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 37
    finally:
        con.close()
