"""What broke when we tried to break it (issue 22), in a real browser.

- A ticket whose words hold Markdown images, links and HTML is shown literally, and no request leaves
  127.0.0.1 (a Markdown image in a ticket used to make the browser fetch an outside address).
- An import from the 导入 page while two other sessions are open: no error in either, and both show the new
  data after a refresh (the import used to close every session's connection).

Runs its own Streamlit on a private copy of the tiny store with one hostile ticket (tests/hostile.py); the
import test writes to it, so it runs last.
"""

from __future__ import annotations

import re

import pytest

from analytics import privacy
from tests.browser.helpers import (
    assert_no_errors,
    assert_no_external_requests,
    block_external,
    goto,
    serve_app,
    sign_in,
    wait_for_app,
)
from tests.conftest import TEST_PASSWORD, account
from tests.hostile import HOSTILE, HOSTILE_ID, build_hostile

MARCH = "from=2025-03-01&to=2025-03-31"
NEW_TICKETS = ("工单编号,受理时间,所属区,街道,问题分类,诉求内容\n"
               "NEW1,2025-03-26 09:00:00,西城区,,城乡建设/市政设施/井盖破损,西单路口井盖松动\n"
               "NEW2,2025-03-27 10:00:00,西城区,,城乡建设/市政设施/井盖破损,金融街井盖缺失\n"
               "NEW3,2025-03-28 11:00:00,朝阳区,,生态环境/水污染/污水排放,望京河道发黑发臭\n")


@pytest.fixture(scope="module")
def hostile_app(tiny_db_path, tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile-app")
    db = build_hostile(tiny_db_path, d / "hostile.duckdb")
    account("leader", db_path=db)   # reads the tickets and their texts
    account("admin", db_path=db)    # imports
    tmp = d / "tmp"   # the server's temporary folder: where uploads would be left behind
    tmp.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TMPDIR", str(tmp))
        with serve_app(db, d / "streamlit.log") as (url, _proc):
            yield url, d


def _page(browser, url: str, who: str = "t_leader", path: str = "/"):
    """A new browser (context) signed in as `who`, showing `path`."""
    context = browser.new_context(viewport={"width": 1600, "height": 1100}, locale="zh-CN")
    page = context.new_page()
    block_external(page)
    page.set_default_timeout(60_000)
    sign_in(page, url + path, who, TEST_PASSWORD)
    return context, page


def _kpi(page, label: str) -> str:
    tile = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return tile.locator("[data-testid='stMetricValue']").inner_text().strip()


def test_a_hostile_ticket_is_shown_literally_and_offline(browser, hostile_app):
    url, _ = hostile_app
    context, page = _page(browser, url)
    try:
        for path in ("/", "/topics", f"/tickets?{MARCH}"):   # its category in charts, its words, the list
            goto(page, url, path if "?" in path else f"{path}?{MARCH}")
            assert_no_errors(page)
        goto(page, url, f"/tickets?id={HOSTILE_ID}&{MARCH}")
        main = page.locator("[data-testid='stMain']")
        words = main.locator("[data-testid='stText']").filter(has_text="井盖丢了").first
        words.wait_for()
        text = words.inner_text()
        assert text == privacy.mask_text(HOSTILE)              # every character as written, numbers masked
        assert "110105 ******** 1234" in text and "138 **** 5678" in text
        # nothing of it became an image, a link, bold text, an icon or a formula
        for sel in ("img[src*='evil.example']", "a[href*='evil.example']",
                    "[data-testid='stMain'] strong:has-text('加粗')", ".katex"):
            assert page.locator(sel).count() == 0, sel
        assert page.locator("[data-testid='stMain'] [translate='no']:has-text('home')").count() == 0
        assert_no_errors(page)
        assert_no_external_requests(page)                      # zero requests left 127.0.0.1
    finally:
        context.close()


def test_an_import_while_two_sessions_are_open_breaks_neither(browser, hostile_app, tmp_path):
    url, server_dir = hostile_app
    readers = [_page(browser, url) for _ in range(2)]
    importer = _page(browser, url, "t_admin", "/import")
    try:
        for _, page in readers:
            goto(page, url, "/")
            assert _kpi(page, "工单量") == "13"                  # March 2025: 12 tiny tickets + the hostile one
        _, imp = importer
        goto(imp, url, "/import")
        csv = tmp_path / "三张新工单.csv"
        csv.write_text(NEW_TICKETS, encoding="utf-8")
        imp.locator("[data-testid=stFileUploader]").filter(has_text="数据文件").locator("input").set_input_files(str(csv))
        imp.get_by_text("识别为").wait_for()
        imp.get_by_role("button", name="开始导入").click()
        imp.get_by_text(re.compile("导入完成")).wait_for(timeout=120_000)
        wait_for_app(imp)
        assert_no_errors(imp)
        # the upload (names and phones) is gone from the server's disk once the run that imported it ended
        left = [p.name for p in (server_dir / "tmp").iterdir() if p.name.startswith(("hotline-upload", "hotline-import"))]
        assert left == []
        for _, page in readers:
            # the open sessions: still working (a rerun by a click), no error box, old data until a refresh
            page.get_by_role("button", name="重置筛选").click()
            wait_for_app(page)
            assert_no_errors(page)
            page.reload()
            wait_for_app(page)
            assert_no_errors(page)
            assert _kpi(page, "工单量") == "16"
            assert_no_external_requests(page)
        assert_no_external_requests(imp)
    finally:
        for context, _ in (*readers, importer):
            context.close()
