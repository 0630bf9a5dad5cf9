"""The visit list XLSX: opens with openpyxl, holds the places, masked texts, both coordinate systems,
the print set-up and the map image; `python manage.py visits` writes it."""

from __future__ import annotations

import io

import openpyxl
import pytest

from analytics import visits
from analytics.filters import Filters
from geo import crs
from geo.crs import haversine_m

HEADER_ROW = 5  # 1-based row of the column headers


def _rows(ws):
    head = [c.value for c in ws[HEADER_ROW]]
    out = []
    for r in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True):
        if r[0] is None:
            continue
        out.append(dict(zip(head, r, strict=True)))
    return head, out


def _all_text(wb) -> str:
    return "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value)


@pytest.fixture(scope="module")
def full_list(tiny_db_path):
    from data import store

    con = store.connect(tiny_db_path, read_only=True)
    v = visits.build(con, Filters())
    con.close()
    return v


def test_visit_rows_hold_places_coordinates_and_masked_texts(full_list):
    rows = full_list.rows
    assert len(rows) == 4 and full_list.total_hotspots == 4
    # ranked by tickets, ties by repeat flag then latest ticket: 望京 (last 03-10) before 建国门 (03-04)
    # (滨河's two wage tickets are a year apart: neither a hotspot nor a repeat place)
    assert list(rows["street"]) == ["望京街道", "建国门街道", "兴谷街道", "八里庄街道"]  # 兴谷 is a repeat place
    first = rows.iloc[1]
    assert first["street"] == "建国门街道" and first["n"] == 4 and first["repeat"] == "是"
    assert first["clues"] == "C01" and first["first"] == "2024-03-05" and first["last"] == "2025-03-04"
    # GCJ-02 is the published forward transform of the WGS84 point, 300-600 m away in Beijing
    glon, glat = crs.wgs84_to_gcj02(first["lon_wgs84"], first["lat_wgs84"])
    assert first["lon_gcj02"] == pytest.approx(glon, abs=1e-6) and first["lat_gcj02"] == pytest.approx(glat, abs=1e-6)
    assert 200 < haversine_m(first["lon_wgs84"], first["lat_wgs84"], first["lon_gcj02"], first["lat_gcj02"]) < 800
    # the three latest texts, newest first, masked
    lines = first["texts"].split("\n")
    assert len(lines) == 3 and lines[0].startswith("2025-03-04 T02") and lines[1].startswith("2025-03-03 T01")
    assert "138****1234" in lines[1] and "13812341234" not in first["texts"] and "张*" in lines[1]


def test_workbook_opens_with_print_setup_and_rows(full_list):
    data = visits.to_xlsx(full_list, image=None)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["走访清单", "点位地图", "说明"]
    ws = wb["走访清单"]
    assert ws["A1"].value == "全市全部问题走访清单"
    head, rows = _rows(ws)
    assert head[:6] == ["序号", "类型", "区", "街道/乡镇", "地址（最常见）", "工单量"]
    assert {"经度 WGS84", "纬度 WGS84", "经度 GCJ-02", "纬度 GCJ-02", "最近诉求（已脱敏）", "关联线索"} <= set(head)
    assert [r["序号"] for r in rows] == [1, 2, 3, 4]
    assert [r["工单量"] for r in rows] == [4, 4, 3, 3]
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    assert ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    # one page wide (OOXML default 1 when absent), as many pages tall as needed
    assert ws.sheet_properties.pageSetUpPr.fitToPage and (ws.page_setup.fitToWidth or 1) == 1
    assert ws.page_setup.fitToHeight == 0
    assert ws.freeze_panes == f"A{HEADER_ROW + 1}"
    text_col = head.index("最近诉求（已脱敏）") + 1
    cell = ws.cell(HEADER_ROW + 1, text_col)
    assert cell.alignment.wrap_text and ws.column_dimensions[cell.column_letter].width >= 50
    all_text = _all_text(wb)
    assert "13812341234" not in all_text and "110105198001011234" not in all_text
    assert "Getis-Ord Gi*" in all_text


def test_workbook_carries_the_map_image(tiny_db_path, tmp_path):
    from data import store

    con = store.connect(tiny_db_path, read_only=True)
    data, v = visits.visit_xlsx(con, Filters(topics=("井盖",)), with_image=True)
    con.close()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    images = wb["点位地图"]._images
    assert len(images) == 1
    png = images[0]._data()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert len(v.rows) == 1 and v.rows.iloc[0]["street"] == "建国门街道"


def test_empty_selection_says_so(tiny_db_path):
    from data import store

    con = store.connect(tiny_db_path, read_only=True)
    data, v = visits.visit_xlsx(con, Filters(topics=("两卡",)), with_image=True)
    con.close()
    assert v.rows.empty
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert "没有发现热点或重复点位" in _all_text(wb)
    assert wb["点位地图"]._images == []


def test_manage_visits_command(tiny_db_path, tmp_path, capsys):
    import manage

    out = tmp_path / "pinggu.xlsx"
    rc = manage.main(["visits", "--db", str(tiny_db_path), "--topic", "假冒伪劣", "--district", "平谷区",
                      "--from", "2025-03-01", "--to", "2025-03-31", "--no-image", "--out", str(out)])
    assert rc == 0
    assert "清单 1 处" in capsys.readouterr().out
    wb = openpyxl.load_workbook(out)
    _, rows = _rows(wb["走访清单"])
    assert len(rows) == 1
    r = rows[0]
    assert (r["街道/乡镇"], r["地址（最常见）"], r["工单量"], r["办结后再诉"], r["关联线索"]) == (
        "兴谷街道", "兴谷农贸市场", 2, 1, "C03、C05")  # T11 came 13 days after T06's close: back (7-90 days)
    assert wb["走访清单"]["A1"].value == "平谷区假冒伪劣走访清单"
    assert manage.main(["visits", "--db", str(tiny_db_path), "--from", "2025-13-01", "--out", str(out)]) == 2
    assert manage.main(["visits", "--db", str(tmp_path / "missing.duckdb"), "--out", str(out)]) == 1
