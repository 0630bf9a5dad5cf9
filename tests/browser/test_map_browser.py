"""The map page in headless Chromium: Leaflet from the app itself, features drawn, clicks drill down,
and not one request outside 127.0.0.1 (the `page` fixture fails the test if one is attempted)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import openpyxl

from tests.browser.helpers import assert_no_errors, goto, map_frame, wait_for_app

LAYER_COUNT_JS = "() => { let n = 0; window.map.eachLayer(() => n++); return n; }"


def _choose(page, label: str) -> None:
    page.locator("[data-testid='stButtonGroup'] button").filter(has_text=label).first.click()
    wait_for_app(page)


def test_map_page_draws_offline_and_drills_down(page, app_url):
    t0 = time.monotonic()
    goto(page, app_url, "/map")
    fr = map_frame(page)
    first_map_s = time.monotonic() - t0
    assert_no_errors(page)
    # Leaflet came from the app's own static files, not a CDN
    assert fr.evaluate("() => L.version") == "1.9.4"
    scripts = fr.evaluate("() => [...document.scripts].map(s => s.src).filter(Boolean)")
    assert any(s.endswith("/app/static/vendor/leaflet/leaflet.js") for s in scripts), scripts
    assert fr.evaluate("() => window.map.getMaxZoom()") == 18
    # the tiny DB's March 2025 has 11 located tickets: auto layer = clustered points
    assert "显示全部 11 个点位" in page.inner_text("body")
    fr.wait_for_selector(".marker-cluster, .leaflet-marker-icon", timeout=15_000)
    clusters = fr.evaluate("() => document.querySelectorAll('.marker-cluster').length")
    assert clusters >= 1
    assert fr.evaluate("() => document.querySelector('.leaflet-container').offsetHeight") >= 500
    assert fr.evaluate(LAYER_COUNT_JS) > 300  # 343 street + 16 district outlines + the cluster layer

    # district choropleth, then a click in the city centre opens the street under it
    _choose(page, "分区着色")
    fr = map_frame(page)
    assert "每万人" in fr.evaluate("() => document.body.innerHTML") or fr.evaluate(LAYER_COUNT_JS) >= 16
    # click where Leaflet itself puts 建国门 (T01's coordinates)
    frame_el = fr.frame_element()
    frame_el.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    pt = fr.evaluate("() => { const p = window.map.latLngToContainerPoint([39.908785, 116.420606]);"
                     " return {x: p.x, y: p.y}; }")
    box = frame_el.bounding_box()
    page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
    wait_for_app(page)
    page.wait_for_selector("text=点击位置", timeout=20_000)
    body = page.inner_text("body")
    assert "点击位置：东城区 建国门街道 — 东城区工单 3 件" in body
    assert page.get_by_role("button", name="在工单页查看该街道的工单").count() == 1

    # hotspots: the method is named on screen and the hotspot map draws
    _choose(page, "热点与走访清单")
    page.wait_for_selector("text=Getis-Ord Gi*", timeout=30_000)
    fr = map_frame(page)
    assert fr.evaluate(LAYER_COUNT_JS) > 300
    # the visit list is built on click (own read-only connection, map image via kaleido) and downloads
    button = page.get_by_role("button", name="⬇ 下载走访清单（XLSX，含地图）")
    assert button.count() == 1
    with page.expect_download(timeout=180_000) as dl:
        button.click()
    assert dl.value.suggested_filename.endswith("走访清单.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()))
    assert wb.sheetnames == ["走访清单", "点位地图", "说明"]
    assert wb["走访清单"]["A1"].value.endswith("走访清单")
    assert_no_errors(page)
    print(f"first map drawn after {first_map_s:.1f} s")
