"""Chart export: real files from the shared kaleido server, house-style decoration, font check."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date

import openpyxl
import plotly.graph_objects as go
import pytest
from PIL import Image
from pypdf import PdfReader

from analytics import export, theme
from analytics.filters import Filters
from tests.conftest import app_test

F = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31), districts=("朝阳区",))


def _bar() -> go.Figure:
    fig = go.Figure(go.Bar(x=["朝阳区", "海淀区", "东城区"], y=[4, 2, 3], name="工单量"))
    return theme.style(fig, title="屏幕标题")


def test_decorate_adds_title_subtitle_source_and_date_without_touching_the_original():
    fig = _bar()
    before = fig.to_json()
    out = export.decorate(fig, "各区工单量", F, export_date=date(2025, 4, 2))
    assert fig.to_json() == before
    title = out.layout.title.text
    assert "<b>各区工单量</b>" in title
    assert "2025-03-01 至 2025-03-31；区：朝阳区" in title
    notes = [a.text for a in out.layout.annotations]
    assert theme.SOURCE_LINE in notes
    assert "导出日期：2025-04-02" in notes
    assert out.layout.font.family.startswith(theme.font_family().split(",")[0])
    assert list(out.layout.colorway) == theme.PALETTE


def test_decorate_without_filters_uses_given_subtitle():
    out = export.decorate(_bar(), "标题", None, subtitle="按月统计")
    assert "按月统计" in out.layout.title.text


def test_png_decodes_at_requested_size_times_scale():
    png = export.figure_bytes(export.decorate(_bar(), "各区工单量", F), "png", width=600, height=300, scale=2)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    assert img.size == (1200, 600)


def test_png_default_size_is_figure_size_or_house_default():
    png = export.figure_bytes(_bar(), "png", scale=1)
    assert Image.open(io.BytesIO(png)).size == (export.DEFAULT_WIDTH, export.DEFAULT_HEIGHT)
    fig = _bar().update_layout(width=400, height=250)
    assert Image.open(io.BytesIO(export.figure_bytes(fig, "png", scale=2))).size == (800, 500)


def test_svg_keeps_chinese_as_text():
    svg = export.figure_bytes(export.decorate(_bar(), "各区工单量", F), "svg").decode("utf-8")
    assert svg.lstrip().startswith("<svg")
    for text in ("各区工单量", "朝阳区", "导出日期", "数据来源"):
        assert text in svg


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_pdf_is_one_page_and_pdftotext_reads_the_chinese(tmp_path):
    pdf = export.export_figure(_bar(), "pdf", "各区工单量排名", F)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    p = tmp_path / "c.pdf"
    p.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True, check=True).stdout
    assert "工单" in text and "⼯" not in text  # fix_pdf_unicode undid Chromium's Kangxi radical (⼯ for 工)
    assert "各区工单量排名" in text
    assert "朝阳区" in text


def test_server_started_once_and_reused(monkeypatch):
    export.figure_bytes(_bar(), "png", width=100, height=80, scale=1)
    assert export.server_running()
    starts = []
    monkeypatch.setattr(export, "_start_server", lambda: starts.append(1))
    for fmt in export.FORMATS:
        assert export.figure_bytes(_bar(), fmt, width=200, height=150, scale=1)
    assert starts == []


def test_server_uses_local_plotlyjs_and_no_mathjax():
    from kaleido import PageGenerator

    kw = export.server_kwargs()
    assert kw["mathjax"] is False
    page = PageGenerator(plotly=kw["plotlyjs"], mathjax=kw["mathjax"]).generate_index()
    assert "http" not in page  # no CDN: every script is a local file


def test_bad_arguments():
    with pytest.raises(ValueError):
        export.figure_bytes(_bar(), "gif")
    with pytest.raises(ValueError):
        export.figure_bytes(_bar(), "png", scale=0)


def test_font_check_reads_fc_list():
    assert export.cjk_font_available("DejaVu Sans\nNoto Sans CJK SC,Noto Sans CJK SC Regular\n")
    assert export.cjk_font_available("WenQuanYi Zen Hei\n")
    assert not export.cjk_font_available("DejaVu Sans\nLiberation Serif\n")
    assert export.cjk_font_available()  # this machine has fonts-noto-cjk (make sysdeps)


def test_missing_font_raises_install_message(monkeypatch):
    with pytest.raises(export.FontMissingError) as err:
        export.check_fonts(fc_list_output="DejaVu Sans\n")
    assert "fonts-noto-cjk" in str(err.value) and "make sysdeps" in str(err.value)
    # The export itself refuses (rather than drawing boxes) when fontconfig lists no CJK font.
    monkeypatch.setattr(export, "_font_ok", None)
    monkeypatch.setattr(export, "_fc_list_output", lambda: "DejaVu Sans\n")
    with pytest.raises(export.FontMissingError):
        export.figure_bytes(_bar(), "png")


def test_missing_chromium_gives_install_message(monkeypatch, tmp_path):
    monkeypatch.setenv("HOTLINE_CHROMIUM", str(tmp_path / "nope"))
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setattr(export.shutil, "which", lambda name: None)
    with pytest.raises(export.ExportError) as err:
        export.chromium_path()
    assert "apt-get install -y chromium" in str(err.value)


def test_fix_cmap_maps_kangxi_radicals_back():
    cmap = ("2 beginbfchar\n<01> <2F2F>\n<02> <5355>\nendbfchar\n"
            "1 beginbfrange\n<03> <05> <2F2E>\nendbfrange\n1 beginbfrange\n<06> <07> <0041>\nendbfrange\n")
    fixed, n = export._fix_cmap(cmap)
    assert "<01> <5DE5>" in fixed and "<02> <5355>" in fixed  # ⼯ -> 工, 单 untouched
    assert "<03> <05> [<5DDB> <5DE5> <5DF1>]" in fixed  # ⼮⼯⼰ -> 巛工己, as an explicit array
    assert "<06> <07> <0041>" in fixed
    assert n == 4
    assert export.fix_pdf_unicode(b"%PDF-1.4 no trailer") == b"%PDF-1.4 no trailer"


def test_safe_filename():
    assert export.safe_filename("各区工单量/排名 2025", "png") == "各区工单量_排名_2025.png"
    assert export.safe_filename("", "pdf") == "导出.pdf"


# ---------------------------------------------------------------- the buttons on the pages

@pytest.fixture()
def app_downloads(tiny_db_path, monkeypatch):
    """Run the app on the tiny store; collect every download button's deferred callable by file name."""
    from streamlit.runtime import media_file_manager as mfm

    monkeypatch.setenv("HOTLINE_DB", str(tiny_db_path))
    made: dict = {}
    original = mfm.MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        made[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kw)

    monkeypatch.setattr(mfm.MediaFileManager, "add_deferred", add_deferred)
    at = app_test()
    return at, made


def _buttons(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_every_chart_and_table_on_the_pages_has_download_buttons(app_downloads):
    at, made = app_downloads
    at.run()
    seen = {}
    for page in (None, "views/topics.py", "views/funnel.py", "views/tickets.py"):
        if page:
            at.switch_page(page).run()
        assert not at.exception, page
        labels = _buttons(at)
        charts_n, tables_n = len(at.get("plotly_chart")), len(at.dataframe)
        assert labels.count("⬇ PNG") == labels.count("⬇ SVG") == labels.count("⬇ PDF") == charts_n, page
        assert labels.count("⬇ 数据") == charts_n, page
        assert labels.count("⬇ XLSX") == labels.count("⬇ CSV") == tables_n, page
        seen[page or "overview"] = (charts_n, tables_n)
    assert seen["overview"][0] >= 4 and seen["views/funnel.py"][1] >= 1 and seen["views/tickets.py"][1] == 1
    # A chart's PNG is rendered on click with the house decoration, at 2x scale.
    png_name = next(n for n in made if n.endswith(".png"))
    img = Image.open(io.BytesIO(made[png_name]()))
    assert img.format == "PNG" and img.size[0] == 2 * export.DEFAULT_WIDTH
    # A chart's numbers as XLSX (read back from the figure): the overview's district ranking.
    ws = openpyxl.load_workbook(io.BytesIO(made["各区排名.xlsx"]())).active
    cells = {(r[0], r[1]) for r in ws.iter_rows(values_only=True) if len(r) > 1}
    assert ("朝阳区", 4) in cells and ("海淀区", 2) in cells
    # The ticket list exports masked: T01's phone never appears in clear.
    csv_name = next(n for n in made if n.endswith(".csv") and n.startswith("工单清单"))
    data = made[csv_name]()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "13812341234" not in text and "T01" in text
