"""The briefing pack on the tiny store: exact numbers, captions, a 6-page A4 PDF, PPTX, the command."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date

import pytest
from pypdf import PdfReader

from analytics import briefing

MARCH = briefing.pack_filters(date(2025, 3, 1), date(2025, 3, 31))
TODAY = date(2025, 4, 2)


@pytest.fixture(scope="module")
def pack(tiny_db_path):
    from data import store

    con = store.connect(tiny_db_path, read_only=True)
    with pytest.MonkeyPatch.context() as mp:
        # the tiny store's periods hold 3-12 tickets: let the pack compare them (the floor is test_honest_screens')
        mp.setenv("HOTLINE_MIN_COMPARE_BASE", "1")
        b = briefing.build(con, MARCH, today=TODAY)
    con.close()
    return b


@pytest.fixture(scope="module")
def pdf(pack):
    return briefing.to_pdf(pack)


def _pdftext(data: bytes, tmp_path) -> str:
    p = tmp_path / "b.pdf"
    p.write_bytes(data)
    out = subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True, check=True).stdout
    # export.fix_pdf_unicode maps Kangxi radicals back (Chromium writes ⼯ for 工): none may be left.
    assert not [ch for ch in out if 0x2E80 <= ord(ch) <= 0x2FDF]
    return _norm(out)


def _norm(s: str) -> str:
    """Without whitespace (pdftotext breaks lines), applied alike to the PDF text and the needles."""
    return "".join(s.split())


def test_numbers_of_march_2025(pack, tiny_con):
    k = pack.kpis.set_index("key")["value"]
    assert (k["tickets"], k["clues"], k["cases"], k["rectified"]) == (12, 5, 2, 2)
    stages = briefing.funnel_stages(tiny_con, MARCH)
    assert stages["n"].tolist() == [12, 7, 5, 2, 2]  # T01 T02 T04 T05 T06 T07 T11 feed clues
    hot = pack.cells
    assert hot[["topic", "district", "n", "days"]].values.tolist() == [
        ["假冒伪劣", "平谷区", 2, 2], ["污水", "朝阳区", 2, 2], ["井盖", "东城区", 2, 2]]


def test_topic_places(tiny_con):
    areas, cells = briefing.topic_places(tiny_con, MARCH, "井盖")
    assert areas.values.tolist() == [["东城区", 2], ["朝阳区", 1]]
    assert int(cells["n"].sum()) == 3 and cells["n"].max() == 2
    areas, _ = briefing.topic_places(tiny_con, MARCH, "井盖", by_street=True)
    assert areas.values.tolist() == [["建国门街道", 2], ["八里庄街道", 1]]


def test_street_ranking_of_one_district(tiny_con):
    f = briefing.pack_filters(date(2025, 3, 1), date(2025, 3, 31), "朝阳区")
    r = briefing.street_ranking(tiny_con, f)
    top = r[r["n"] > 0][["district", "n"]].values.tolist()
    assert top == [["八里庄街道", 2], ["望京街道", 2]]  # Haidian's 八里庄 (T08, T12) not counted


def test_captions_state_the_numbers(pack):
    assert pack.headline == "本期共受理工单 12 件，同比上升 140.0%，朝阳区居首。"
    s = pack.sections
    assert s["kpis"].caption == ("2025年3月1日至2025年3月31日全市共受理工单 12 件，环比上升 300.0%，同比上升 140.0%；"
                                 "关联登记线索 5 条，立案 2 件，完成整改 2 件。")
    assert s["ranking"].caption.startswith("朝阳区工单量居首（4 件，占 33.3%）")
    assert s["topics"].caption == "专项工单共 8 件，占全部工单 66.7%；井盖最多（3 件）。"
    assert s["funnel"].caption == ("12 件工单中 7 件形成线索（58.33%），登记线索 5 条，立案 2 件（线索立案率 40.0%），"
                                   "完成整改 2 件。")
    assert s["map_井盖"].caption.startswith("井盖类工单 3 件，东城区最多（2 件）")
    assert s["map_污水"].caption.startswith("污水类工单 2 件，朝阳区最多（2 件）")
    assert s["map_假冒伪劣"].caption.startswith("假冒伪劣类工单 2 件，平谷区最多（2 件）")
    assert s["trend"].caption == "日均受理 0.4 件，2025年3月3日最多（1 件）；去年同期共 5 件。"


def test_formatting():
    assert briefing.fmt_n(123_456) == "12.3 万"
    assert briefing.fmt_n(2345) == "2,345"
    assert briefing.fmt_change(0.081, "同比") == "同比上升 8.1%"
    assert briefing.fmt_change(-0.5, "环比") == "环比下降 50.0%"
    assert briefing.fmt_change(None, "同比") == "无同比数据"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_pdf_has_six_a4_pages_and_the_captions(pdf, pack, tmp_path):
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == briefing.PAGES == 6
    assert pack.overflow == []  # nothing cut off at the bottom of a page
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(595.3, abs=1.5)  # A4 in points (Chromium rounds to pixels)
    assert float(box.height) == pytest.approx(841.9, abs=1.5)
    text = _pdftext(pdf, tmp_path)
    for needle in [pack.title, "统计期间：2025年3月1日至2025年3月31日", pack.headline, "第6页/共6页"]:
        assert _norm(needle) in text
    for key in ("kpis", "trend", "ranking", "topics", "funnel", "map_井盖", "map_污水", "map_假冒伪劣", "cells"):
        assert _norm(pack.sections[key].caption) in text, key
    assert "兴谷农贸市场" in text  # the busiest cell's address in the table


def test_command_district_pptx_and_errors(tiny_db_path, tmp_path, capsys, monkeypatch):
    from pptx import Presentation

    monkeypatch.setenv("HOTLINE_MIN_COMPARE_BASE", "1")   # the tiny store's periods: 1-4 tickets

    import manage

    out = tmp_path / "chaoyang.pptx"
    rc = manage.main(["briefing", "--from", "2025-03-01", "--to", "2025-03-31", "--district", "朝阳",
                      "--db", str(tiny_db_path), "--out", str(out)])
    assert rc == 0
    headline = "本期共受理工单 4 件，同比上升 300.0%，八里庄街道居首。"  # T03 T04 T05 T10 against T19
    assert headline in capsys.readouterr().out
    prs = Presentation(str(out))
    assert len(prs.slides) == 2 + 4 + 3 + 1  # cover, KPIs, 4 charts, 3 maps, busiest cells
    texts = ["".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame) for slide in prs.slides]
    assert headline in texts[0] and "统计范围：朝阳区" in texts[0]
    assert "三、各街道（乡镇）工单量排名" in texts[3]
    assert "污水类工单 2 件，望京街道最多（2 件）" in "".join(texts)
    assert sum(1 for slide in prs.slides for sh in slide.shapes if sh.shape_type == 13) == 7  # pictures
    assert manage.main(["briefing", "--from", "2025-03-01", "--to", "2025-03-31", "--district", "火星区",
                        "--db", str(tiny_db_path), "--out", str(out)]) == 2
    assert "未知的区" in capsys.readouterr().out
    assert manage.main(["briefing", "--from", "2025-03-31", "--to", "2025-03-01",
                        "--db", str(tiny_db_path), "--out", str(out)]) == 2
    assert manage.main(["briefing", "--from", "2025-03-01", "--to", "2025-03-31",
                        "--db", str(tiny_db_path), "--out", str(tmp_path / "x.docx")]) == 2


def test_empty_store_gives_a_pack_that_says_so(empty_db_path, tmp_path):
    from data import store

    con = store.connect(empty_db_path, read_only=True)
    b = briefing.build(con, MARCH, today=TODAY)
    con.close()
    assert b.headline == "本期无工单。"
    assert b.sections["cells"].caption == "本期没有两件以上专项工单的 250 米网格。"
    assert b.cells.empty
    html = briefing.to_html(b, briefing.render_images(b))
    assert "本期无井盖类工单。" in html


def test_figures_are_the_pages_builders_in_the_print_style(pack, tiny_con):
    """The pack draws with analytics/figures.py (no figures of its own), printed without chart titles."""
    from analytics import figures, overview

    trend = pack.sections["trend"].figure
    page = figures.trend_figure(overview.trend(tiny_con, MARCH, "day"), "day")
    assert [t.name for t in trend.data] == [t.name for t in page.data] == ["本期", "去年同期"]
    assert list(trend.data[0].y) == list(page.data[0].y)
    for key in ("trend", "ranking", "topics", "funnel"):
        fig = pack.sections[key].figure
        assert fig.layout.title.text is None and fig.layout.clickmode == "none", key
    funnel = pack.sections["funnel"].figure.data[0]
    assert list(funnel.y) == ["受理工单", "形成线索的工单", "登记线索", "立案", "完成整改"]
    assert list(funnel.x) == [12, 7, 5, 2, 2]
    ranking = pack.sections["ranking"].figure.data[0]
    assert list(ranking.y)[-1] == "朝阳区" and list(ranking.x)[-1] == 4   # biggest on top


def test_the_busiest_cells_are_not_called_hotspots(pack):
    """One meaning of 热点: the pack's busiest 250 m cells are 工单密集网格, not the map's Gi* 统计热点 or 重复点位."""
    s = pack.sections["cells"]
    assert s.heading == "七、工单密集网格（250 米）"
    assert "热点" not in s.heading + s.caption and "点位" not in s.heading + s.caption
    html = briefing.to_html(pack, {})
    assert "重点点位" not in html and "不是地图页的统计热点或重复点位" in html
