"""Downloads in the real app, offline: a chart's PNG and the briefing pack PDF from the overview page."""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfReader

from tests.browser.helpers import assert_no_errors, goto


def _download(page, name: str, timeout: float = 120_000) -> tuple[bytes, str]:
    button = page.get_by_role("button", name=name).first
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=timeout) as info:
        button.click()
    path = info.value.path()
    return open(path, "rb").read(), info.value.suggested_filename


def test_chart_png_and_briefing_pdf_download(page, app_url):
    goto(page, app_url, "/")
    assert_no_errors(page)
    assert page.get_by_role("button", name="⬇ PNG").count() >= 4
    data, name = _download(page, "⬇ PNG")
    assert name.endswith(".png")
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG" and img.size[0] == 2000  # 1000 CSS px at 2x

    data, name = _download(page, "⬇ 生成简报（PDF）")
    assert name == "简报_2025-03-01_2025-03-31.pdf"
    assert len(PdfReader(io.BytesIO(data)).pages) == 6
    assert_no_errors(page)
