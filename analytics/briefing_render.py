"""The briefing pack rendered: one self-contained HTML document printed to an A4 PDF by the local headless
Chromium (figures drawn by the page's own plotly.js, or by kaleido), and the same pack as 16:9 PPTX slides.

Nothing is fetched from the network: every request the printing page makes is blocked unless it is
local. The content (numbers, captions, figures) is analytics/briefing_content.py.
"""

from __future__ import annotations

import base64
import html
import io
import json
import threading
import time

import pandas as pd

from analytics import export, theme
from analytics.briefing_content import PACK_TITLE, TOPICS_MAPPED, Briefing, Section, fmt_change, fmt_n, fmt_pct

CSS = """
@page { size: A4; margin: 14mm 15mm 16mm 15mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif; color: #212121; margin: 0; font-size: 10.5pt; }
.page { height: 265mm; overflow: hidden; page-break-after: always; position: relative; }
.page.last { page-break-after: auto; }
h1 { font-size: 26pt; color: #B71C1C; margin: 0 0 6mm 0; letter-spacing: 1px; }
h2 { font-size: 14pt; color: #B71C1C; border-left: 5px solid #B71C1C; padding-left: 3mm; margin: 0 0 2mm 0; }
.caption { font-size: 10.5pt; margin: 0 0 3mm 0; line-height: 1.5; }
.fig { width: 100%; display: block; }
.cover { display: flex; flex-direction: column; justify-content: center; padding: 0 8mm; }
.cover .band { height: 6mm; background: #B71C1C; margin-bottom: 22mm; }
.cover .meta { font-size: 13pt; line-height: 2; color: #424242; }
.cover .headline { margin-top: 16mm; font-size: 14pt; font-weight: bold; line-height: 1.6; }
.cover ul { font-size: 11pt; line-height: 1.8; padding-left: 5mm; color: #424242; }
.cover .source { position: absolute; bottom: 4mm; font-size: 9pt; color: #757575; }
.kpis { display: grid; grid-template-columns: repeat(5, 1fr); gap: 3mm; margin: 2mm 0 3mm 0; }
.kpi { border: 1px solid #E0E0E0; border-top: 3px solid #B71C1C; padding: 2.5mm; }
.kpi .v { font-size: 17pt; font-weight: bold; }
.kpi .l { font-size: 9.5pt; color: #616161; }
.kpi .c { font-size: 8.5pt; color: #616161; margin-top: 1mm; }
.up { color: #C62828; } .down { color: #2E7D32; }
.rates { display: flex; gap: 6mm; font-size: 10pt; margin-bottom: 5mm; color: #424242; }
.section { margin-bottom: 5mm; }
.section:last-child { margin-bottom: 0; }
.maprow { display: flex; gap: 4mm; align-items: flex-start; }
.maprow img { width: 112mm; }
.maprow .side { flex: 1; font-size: 9.5pt; line-height: 1.7; }
table { border-collapse: collapse; width: 100%; font-size: 8.3pt; table-layout: fixed; }
table.hot col.c-rank { width: 5%; } table.hot col.c-topic { width: 10%; } table.hot col.c-d { width: 8%; }
table.hot col.c-s { width: 12%; } table.hot col.c-addr { width: 35%; } table.hot col.c-n { width: 7%; }
table.hot col.c-days { width: 7%; } table.hot col.c-date { width: 8%; }
td.date { white-space: nowrap; }
.compact .maprow img { width: 92mm; } .compact .caption { font-size: 9.5pt; } .compact table { font-size: 7.6pt; }
th { background: #F5F5F5; font-weight: bold; }
th, td { border: 1px solid #E0E0E0; padding: 1.3mm 1.6mm; text-align: left; }
td.n { text-align: right; }
.note { font-size: 8.5pt; color: #757575; margin-top: 2mm; }
"""

FOOTER = ('<div style="width:100%;font-size:8px;color:#757575;font-family:\'Noto Sans CJK SC\',sans-serif;'
          'padding:0 15mm;display:flex;justify-content:space-between;">'
          '<span>{title} · {period}</span><span>第 <span class="pageNumber"></span> 页 / 共 '
          '<span class="totalPages"></span> 页</span></div>')

PAGES = 6


def _img(data: bytes, fmt: str, cls: str = "fig") -> str:
    mime = export.MIME[fmt]
    return f'<img class="{cls}" src="data:{mime};base64,{base64.b64encode(data).decode()}"/>'


def _e(x) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x))


def _day(v, short: bool = False) -> str:
    if v is None or pd.isna(v):
        return ""
    return f"{pd.Timestamp(v):%m-%d}" if short else f"{pd.Timestamp(v):%Y-%m-%d}"


def _cut(v, n: int) -> str:
    s = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def _kpi_cards(b: Briefing) -> str:
    cards = []
    for _, r in b.kpis.iterrows():
        if r["key"] == "located":
            continue
        bits = []
        for col, word in (("prev_pct", "环比"), ("yoy_pct", "同比")):
            p = r[col]
            cls = "" if p is None or pd.isna(p) else ("up" if p > 0 else "down" if p < 0 else "")
            bits.append(f'<span class="{cls}">{_e(fmt_change(p, word))}</span>')
        cards.append(f'<div class="kpi"><div class="l">{_e(r["label"])}</div><div class="v">{_e(fmt_n(r["value"]))}'
                     f'</div><div class="c">{"<br>".join(bits)}</div></div>')
    rates = " ".join(
        f"<span>{_e(r['label'])}：<b>{_e(fmt_pct(r['rate']) if pd.notna(r['rate']) else '—')}</b>"
        f"（{int(r['numerator']):,}/{int(r['denominator']):,}）</span>" for _, r in b.rates.iterrows())
    return f'<div class="kpis">{"".join(cards)}</div><div class="rates">{rates}</div>'


def _fig(s: Section, images: dict[str, bytes], cls: str = "fig") -> str:
    """The figure as an inline image, or a placeholder the print page fills with plotly.js (see render_pdf)."""
    if s.key in images:
        return _img(images[s.key], s.fmt, cls)
    if s.figure is None:
        return ""
    return f'<img class="{cls}" data-fig="{_e(s.key)}" alt=""/>'


def _section(s: Section, images: dict[str, bytes]) -> str:
    fig = _fig(s, images)
    return f'<div class="section"><h2>{_e(s.heading)}</h2><p class="caption">{_e(s.caption)}</p>{fig}</div>'


def _map_section(s: Section, images: dict[str, bytes]) -> str:
    side = "".join(f"<div>{_e(a)}</div>" for a in s.aside) or "<div>无</div>"
    return (f'<div class="section"><h2>{_e(s.heading)}</h2><p class="caption">{_e(s.caption)}</p>'
            f'<div class="maprow">{_fig(s, images, "")}<div class="side"><b>工单最多的地区</b>{side}'
            f'<div class="note">底图为区/街乡边界，颜色越深工单越多；蓝色圆点为 1 公里网格，圆点越大工单越多。</div>'
            f'</div></div></div>')


def _cells_table(b: Briefing) -> str:
    s = b.sections["cells"]
    if b.cells.empty:
        body = '<p class="note">无。</p>'
    else:
        rows = "".join(
            f"<tr><td>{i + 1}</td><td>{_e(r['topic'])}</td><td>{_e(r['district'])}</td><td>{_e(r['street'])}</td>"
            f"<td>{_e(_cut(r['address'], 40))}</td><td class='n'>{int(r['n']):,}</td><td class='n'>{int(r['days']):,}</td>"
            f"<td class='date'>{_day(r['first_day'], short=True)}</td>"
            f"<td class='date'>{_day(r['last_day'], short=True)}</td></tr>"
            for i, (_, r) in enumerate(b.cells.iterrows()))
        cols = "".join(f'<col class="{c}">' for c in ("c-rank", "c-topic", "c-d", "c-s", "c-addr", "c-n", "c-days",
                                                         "c-date", "c-date"))
        body = (f'<table class="hot"><colgroup>{cols}</colgroup><tr><th>序号</th><th>专项</th><th>区</th><th>街道/乡镇</th>'
                f"<th>主要地址</th><th>工单量</th><th>涉及天数</th><th>首次</th><th>最近</th></tr>{rows}</table>"
                f'<p class="note">按 250 米网格内的专项工单数排序（不是地图页的统计热点或重复点位）；首次、最近为本期内该网格第一件和最后一件工单的受理日期（{_e(b.filters.date_from)} 起）。</p>')
    return f'<div class="section"><h2>{_e(s.heading)}</h2><p class="caption">{_e(s.caption)}</p>{body}</div>'


def render_images(b: Briefing) -> dict[str, bytes]:
    """Every figure of the pack as SVG (vector, small) through the shared kaleido server."""
    out = {}
    for key, s in b.sections.items():
        if s.figure is not None:
            out[key] = export.figure_bytes(s.figure, s.fmt, width=s.width, height=s.height, scale=1)
    return out


def to_html(b: Briefing, images: dict[str, bytes]) -> str:
    """The pack as one self-contained HTML document (figures inline), PAGES A4 pages."""
    sec = b.sections
    summary = "".join(f"<li>{_e(sec[k].caption)}</li>" for k in ("kpis", "ranking", "topics", "funnel"))
    cover = (f'<div class="page cover"><div class="band"></div><h1>{_e(b.title)}</h1>'
             f'<div class="meta">统计期间：{_e(b.period)}<br>统计范围：{_e(b.scope)}<br>'
             f'生成日期：{b.generated:%Y年%-m月%-d日}</div>'
             f'<div class="headline">{_e(b.headline)}</div><ul>{summary}</ul>'
             f'<div class="source">{_e(theme.SOURCE_LINE)}。个人信息已脱敏。</div></div>')
    p2 = (f'<div class="page"><div class="section"><h2>{_e(sec["kpis"].heading)}</h2>'
          f'<p class="caption">{_e(sec["kpis"].caption)}</p>{_kpi_cards(b)}</div>{_section(sec["trend"], images)}</div>')
    p3 = f'<div class="page">{_section(sec["ranking"], images)}{_section(sec["topics"], images)}</div>'
    p4 = f'<div class="page">{_section(sec["funnel"], images)}{_funnel_table(b)}</div>'
    m = [_map_section(sec[f"map_{t}"], images) for t in TOPICS_MAPPED]
    p5 = f'<div class="page">{m[0]}{m[1]}</div>'
    p6 = f'<div class="page last">{m[2]}{_cells_table(b)}</div>'
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{_e(b.title)}</title>'
            f'<style>{CSS}</style></head><body>{cover}{p2}{p3}{p4}{p5}{p6}</body></html>')


def _funnel_table(b: Briefing) -> str:
    k = b.kpis.set_index("key")

    def cell(v) -> str:
        return "—" if v is None or pd.isna(v) else f"{int(v):,}"

    rows = "".join(
        f"<tr><td>{_e(k.loc[key, 'label'])}</td><td class='n'>{cell(k.loc[key, 'value'])}</td>"
        f"<td class='n'>{cell(k.loc[key, 'prev'])}</td><td class='n'>{cell(k.loc[key, 'yoy'])}</td></tr>"
        for key in ("tickets", "clues", "cases", "rectified"))
    return ('<div class="section"><h2>附：主要指标对比</h2><table><tr><th>指标</th><th>本期</th><th>上一周期</th>'
            f'<th>去年同期</th></tr>{rows}</table><p class="note">线索、立案、整改按本期受理工单关联统计。'
            '上一周期为紧邻本期、等长的时间段。</p></div>')


# 1-based numbers of the pages whose content is taller than the A4 page box (it would be cut off).
OVERFLOW_JS = """() => Array.from(document.querySelectorAll('.page'))
    .map((p, i) => p.scrollHeight > p.clientHeight + 1 ? i + 1 : 0).filter(i => i > 0)"""


def _is_local(url: str) -> bool:
    return url.startswith(("data:", "about:", "blob:")) or url.startswith(("http://127.0.0.1", "http://localhost"))


# Fill every <img data-fig> with an SVG drawn by the page's own plotly.js (the same SVG kaleido would make).
FILL_FIGURES_JS = """async (figs) => {
    const imgs = Array.from(document.querySelectorAll('img[data-fig]'));
    for (const img of imgs) {
        const f = figs[img.dataset.fig];
        const url = await Plotly.toImage({data: f.data, layout: f.layout}, {format: 'svg', width: f.width,
                                                                            height: f.height});
        await new Promise((ok, bad) => { img.onload = ok; img.onerror = bad; img.src = url; });
    }
    return imgs.length;
}"""


def _figure_specs(b: Briefing) -> dict:
    return {k: {**json.loads(s.figure.to_json()), "width": s.width, "height": s.height}
            for k, s in b.sections.items() if s.figure is not None}


def render_pdf(doc_html: str, *, title: str = PACK_TITLE, period: str = "", report: dict | None = None,
               figures: dict | None = None) -> bytes:
    """Print the HTML to an A4 PDF with page numbers, in headless Chromium, all network requests blocked.

    Pages whose content would be cut off are retried in a compact layout; `report["overflow"]` lists
    the pages still too tall afterwards (empty when everything fits).
    """
    result: dict = {}

    def work() -> None:
        try:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=export.chromium_path(), headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--disable-sync", "--no-first-run"])
                try:
                    # the A4 content width (210 - 2 x 15 mm = 680 px), so the overflow check sees the printed layout
                    page = browser.new_page(viewport={"width": 680, "height": 1000})
                    page.emulate_media(media="print")
                    page.route("**/*", lambda route: route.continue_() if _is_local(route.request.url)
                               else route.abort())
                    page.set_content(doc_html, wait_until="load")
                    if figures:  # plotly.js from the local package, injected as text: no request at all
                        page.add_script_tag(path=str(export.plotlyjs_path()))
                        page.evaluate(FILL_FIGURES_JS, figures)
                    page.evaluate("document.fonts.ready")
                    over = page.evaluate(OVERFLOW_JS)
                    if over:  # something would be cut off: shrink maps and type, then check again
                        page.evaluate("document.body.classList.add('compact')")
                        over = page.evaluate(OVERFLOW_JS)
                    result["overflow"] = over
                    result["pdf"] = page.pdf(
                        format="A4", print_background=True, display_header_footer=True,
                        header_template="<div></div>",
                        footer_template=FOOTER.format(title=html.escape(title), period=html.escape(period)),
                        margin={"top": "14mm", "bottom": "16mm", "left": "15mm", "right": "15mm"})
                finally:
                    browser.close()
        except Exception as exc:  # reported in the caller's thread
            result["error"] = exc

    # Playwright's sync API refuses to run inside an asyncio loop; a thread of its own is always safe.
    t = threading.Thread(target=work, name="briefing-pdf")
    t.start()
    t.join()
    if "error" in result:
        exc = result["error"]
        if isinstance(exc, export.ExportError):
            raise exc
        raise export.ExportError(f"简报 PDF 生成失败：{type(exc).__name__}: {exc}") from exc
    if report is not None:
        report["overflow"] = result.get("overflow", [])
    return export.fix_pdf_unicode(result["pdf"])


def to_pdf(b: Briefing, *, kaleido: bool = False) -> bytes:
    """The pack as an A4 PDF. Figures are drawn by plotly.js inside the printing Chromium (one browser,
    no kaleido start); kaleido=True renders them with the shared kaleido server first instead."""
    t0 = time.perf_counter()
    images = render_images(b) if kaleido else {}
    b.timings["images"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    report: dict = {}
    pdf = render_pdf(to_html(b, images), title=b.title, period=b.period, report=report,
                     figures=None if kaleido else _figure_specs(b))
    b.overflow = report.get("overflow", [])
    b.timings["pdf"] = time.perf_counter() - t0
    return pdf


# ---------------------------------------------------------------- PPTX

def to_pptx(b: Briefing) -> bytes:
    """The same pack as 16:9 slides: cover, KPIs, one figure per slide with its caption, the busiest cells."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.util import Emu, Pt

    font = theme.font_family().split(",")[0].strip()
    red = RGBColor(0xB7, 0x1C, 0x1C)
    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(12192000), Emu(6858000)
    blank = prs.slide_layouts[6]
    W = prs.slide_width

    def text(slide, x, y, w, h, s, size=14, bold=False, color=None):
        box = slide.shapes.add_textbox(x, y, w, h)
        tf = box.text_frame
        tf.word_wrap = True
        lines = s if isinstance(s, list) else [s]
        for i, line in enumerate(lines):
            para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            run = para.add_run()
            run.text = line
            run.font.size = Pt(size)
            run.font.bold = bold
            run.font.name = font
            if color is not None:
                run.font.color.rgb = color
        return box

    emu = 12192000 / 13.333  # EMU per inch on a 13.333" slide
    inch = int(emu)
    s = prs.slides.add_slide(blank)
    bar = s.shapes.add_shape(1, 0, 0, W, int(0.25 * inch))
    bar.fill.solid()
    bar.fill.fore_color.rgb = red
    bar.line.fill.background()
    text(s, inch, int(1.8 * inch), W - 2 * inch, inch, b.title, 36, True, red)
    text(s, inch, int(3.0 * inch), W - 2 * inch, int(1.2 * inch),
         [f"统计期间：{b.period}", f"统计范围：{b.scope}", f"生成日期：{b.generated:%Y年%-m月%-d日}"], 18)
    text(s, inch, int(4.6 * inch), W - 2 * inch, inch, b.headline, 20, True)
    text(s, inch, int(6.8 * inch), W - 2 * inch, int(0.4 * inch), theme.SOURCE_LINE, 11)

    s = prs.slides.add_slide(blank)
    text(s, int(0.5 * inch), int(0.3 * inch), W - inch, int(0.6 * inch), b.sections["kpis"].heading, 24, True, red)
    text(s, int(0.5 * inch), int(1.0 * inch), W - inch, int(0.9 * inch), b.sections["kpis"].caption, 14)
    cards = [r for _, r in b.kpis.iterrows() if r["key"] != "located"]
    cw = int((W - inch) / len(cards))
    for i, r in enumerate(cards):
        x = int(0.5 * inch) + i * cw
        text(s, x, int(2.3 * inch), cw, int(0.5 * inch), str(r["label"]), 14)
        text(s, x, int(2.8 * inch), cw, int(0.8 * inch), fmt_n(r["value"]), 32, True, red)
        text(s, x, int(3.7 * inch), cw, int(0.8 * inch),
             [fmt_change(r["prev_pct"], "环比"), fmt_change(r["yoy_pct"], "同比")], 12)
    rates = "；".join(f"{r['label']} {fmt_pct(r['rate']) if pd.notna(r['rate']) else '—'}"
                     for _, r in b.rates.iterrows())
    text(s, int(0.5 * inch), int(5.0 * inch), W - inch, int(0.5 * inch), rates, 14)

    order = ["trend", "ranking", "topics", "funnel"] + [f"map_{t}" for t in TOPICS_MAPPED]
    for key in order:
        sec = b.sections[key]
        png = export.figure_bytes(sec.figure, "png", width=sec.width, height=sec.height, scale=2)
        s = prs.slides.add_slide(blank)
        text(s, int(0.5 * inch), int(0.25 * inch), W - inch, int(0.6 * inch), sec.heading, 24, True, red)
        text(s, int(0.5 * inch), int(0.9 * inch), W - inch, int(0.7 * inch), sec.caption, 14)
        max_w, max_h = W - inch, int(5.6 * inch)
        ratio = sec.width / sec.height
        h = max_h
        w = int(h * ratio)
        if w > max_w:
            w, h = max_w, int(max_w / ratio)
        s.shapes.add_picture(io.BytesIO(png), int((W - w) / 2), int(1.65 * inch), w, h)

    s = prs.slides.add_slide(blank)
    sec = b.sections["cells"]
    text(s, int(0.5 * inch), int(0.25 * inch), W - inch, int(0.6 * inch), sec.heading, 24, True, red)
    text(s, int(0.5 * inch), int(0.9 * inch), W - inch, int(0.7 * inch), sec.caption, 14)
    if len(b.cells):
        cols = ["专项", "区", "街道/乡镇", "主要地址", "工单量", "涉及天数", "最近"]
        tbl = s.shapes.add_table(len(b.cells) + 1, len(cols), int(0.5 * inch), int(1.7 * inch), W - inch,
                                 int(0.4 * inch) * (len(b.cells) + 1)).table
        for j, c in enumerate(cols):
            tbl.cell(0, j).text = c
        for i, (_, r) in enumerate(b.cells.iterrows(), start=1):
            vals = [r["topic"], r["district"], r["street"], r["address"], f"{int(r['n']):,}", f"{int(r['days']):,}",
                    _day(r["last_day"])]
            for j, v in enumerate(vals):
                tbl.cell(i, j).text = "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
        for row in tbl.rows:
            for cell in row.cells:
                for para in cell.text_frame.paragraphs:
                    for run in para.runs:
                        run.font.size = Pt(11)
                        run.font.name = font
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()
