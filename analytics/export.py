"""Static export of plotly figures (PNG/SVG/PDF) in the house style, offline.

Press officers paste our charts into newsletters and briefings, so every chart
must leave the app as a clean image with a Chinese title, the period and
filters, a source line and the export date. Exports run on the procuratorate's
internal network, so nothing may be fetched from the internet: kaleido renders
with the local Chromium and the plotly.js shipped inside the plotly package,
MathJax off. Starting Chromium costs about 2 s, so one kaleido server is started
per process and reused by every export (calls are serialised with a lock,
because kaleido's server queue is not safe for concurrent Streamlit sessions).

Chinese text needs a CJK font; without one Chromium silently draws boxes. We
check fontconfig first and raise `FontMissingError` with the install command.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import threading
import time
import unicodedata
import warnings
from datetime import date
from pathlib import Path

import plotly.graph_objects as go

from analytics import theme
from data import settings

FORMATS = ("png", "svg", "pdf")
DEFAULT_WIDTH = 1000
DEFAULT_HEIGHT = 560
MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}

# Families that carry Simplified Chinese glyphs; any one of them is enough.
CJK_FAMILIES = ("Noto Sans CJK", "Noto Serif CJK", "Source Han Sans", "Source Han Serif",
                "WenQuanYi", "Droid Sans Fallback", "AR PL")

FONT_INSTALL_HELP = (
    "未找到中文字体，导出的图片中汉字会显示为方框。请先安装中文字体："
    "sudo apt-get install -y fonts-noto-cjk（或 fonts-wqy-zenhei），或在项目目录运行 make sysdeps，"
    "然后重新启动程序。"
)


class ExportError(RuntimeError):
    """An export could not be produced; the message is Chinese and shown to the user."""


class FontMissingError(ExportError):
    """No CJK font is installed, so Chinese would render as boxes."""


_lock = threading.RLock()
_server_started = False
_font_ok: bool | None = None


# ---------------------------------------------------------------- fonts

def _fc_list_output() -> str:
    """The output of `fc-list : family` (empty if fontconfig is missing)."""
    exe = shutil.which("fc-list")
    if not exe:
        return ""
    try:
        done = subprocess.run([exe, ":", "family"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def cjk_font_available(fc_list_output: str | None = None) -> bool:
    """True if fontconfig lists a font family with Chinese glyphs."""
    out = _fc_list_output() if fc_list_output is None else fc_list_output
    low = out.lower()
    return any(f.lower() in low for f in CJK_FAMILIES)


def check_fonts(*, fc_list_output: str | None = None) -> None:
    """Raise FontMissingError (with install instructions) if no CJK font is installed.

    The positive answer is cached for the process; a negative one is re-checked
    so that installing the font does not need a restart of a long-running app.
    """
    global _font_ok
    if fc_list_output is None and _font_ok:
        return
    ok = cjk_font_available(fc_list_output)
    if fc_list_output is None:
        _font_ok = ok
    if not ok:
        raise FontMissingError(FONT_INSTALL_HELP)


# ---------------------------------------------------------------- kaleido server

def chromium_path() -> str:
    """The Chromium used for exports: HOTLINE_CHROMIUM, else BROWSER_PATH, else chromium on PATH."""
    candidates = [os.environ.get("HOTLINE_CHROMIUM"), os.environ.get("BROWSER_PATH"),
                  str(settings.get("HOTLINE_CHROMIUM")), shutil.which("chromium"),
                  shutil.which("chromium-browser"), shutil.which("google-chrome")]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    raise ExportError(
        "未找到 Chromium 浏览器，无法导出图片或简报。请安装：sudo apt-get install -y chromium"
        "（或运行 make sysdeps），或用 HOTLINE_CHROMIUM 指定其路径。"
    )


def plotlyjs_path() -> Path:
    import plotly

    p = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not p.is_file():  # pragma: no cover - broken install
        raise ExportError(f"本地 plotly.js 缺失：{p}。请重新安装 plotly。")
    return p


def server_kwargs() -> dict:
    """How the kaleido server is started: local Chromium, local plotly.js, MathJax off (no CDN)."""
    return {"path": chromium_path(), "mathjax": False, "plotlyjs": str(plotlyjs_path())}


def _start_server() -> None:
    global _server_started
    import kaleido

    kw = server_kwargs()
    os.environ.setdefault("BROWSER_PATH", kw["path"])
    kaleido.start_sync_server(**kw, silence_warnings=True)
    _server_started = True


def _stop_server() -> None:
    global _server_started
    import kaleido

    kaleido.stop_sync_server(silence_warnings=True)
    _server_started = False


def start_server() -> None:
    """Start the shared kaleido server now (non-blocking: Chromium boots in the background),
    so a batch job can overlap its queries with the browser start. Errors surface at export."""
    try:
        check_fonts()
        with _lock:
            if not _server_started:
                _start_server()
    except ExportError:
        pass


def server_running() -> bool:
    return _server_started


def _render(fig_dict: dict, opts: dict) -> bytes:
    import kaleido

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")
        return kaleido.calc_fig_sync(fig_dict, opts=opts)


def figure_bytes(fig: go.Figure | dict, fmt: str = "png", *, width: int | None = None,
                 height: int | None = None, scale: float = 2) -> bytes:
    """Render a figure to PNG, SVG or PDF bytes with the shared kaleido server.

    width/height default to the figure's own size, else 1000×560 CSS pixels;
    `scale` multiplies PNG pixels (2 = print quality). Raises FontMissingError
    without a CJK font and ExportError with a Chinese message on other failures.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if scale <= 0:
        raise ValueError("scale must be positive")
    check_fonts()
    fig_dict = fig.to_dict() if hasattr(fig, "to_dict") else copy.deepcopy(fig)
    layout = fig_dict.get("layout", {})
    opts = {"format": fmt, "width": int(width or layout.get("width") or DEFAULT_WIDTH),
            "height": int(height or layout.get("height") or DEFAULT_HEIGHT), "scale": scale}
    with _lock:
        for attempt in (1, 2):
            if not _server_started:
                _start_server()
            try:
                data = _render(fig_dict, opts)
                return fix_pdf_unicode(data) if fmt == "pdf" else data
            except ExportError:
                raise
            except Exception as exc:  # a dead Chromium: restart once, then report
                try:
                    _stop_server()
                except Exception:
                    pass
                if attempt == 2:
                    raise ExportError(f"图表导出失败：{type(exc).__name__}: {exc}") from exc
    raise AssertionError("unreachable")  # pragma: no cover


def warm_up() -> float:
    """Start the server and render a tiny figure; return the seconds it took."""
    t0 = time.perf_counter()
    figure_bytes(go.Figure(go.Bar(x=["甲"], y=[1])), "png", width=100, height=80, scale=1)
    return time.perf_counter() - t0


# ---------------------------------------------------------------- house-style decoration

def export_subtitle(filters=None, extra: str | None = None) -> str:
    """Period and filters in one Chinese line (Filters.describe()), plus optional extra text."""
    bits = []
    if filters is not None:
        bits.append(filters.describe())
    if extra:
        bits.append(extra)
    return "；".join(b for b in bits if b)


def decorate(fig: go.Figure, title: str, filters=None, *, subtitle: str | None = None,
             export_date: date | None = None, source: str | None = None) -> go.Figure:
    """A copy of `fig` ready for export: house style, Chinese title, subtitle
    with period + filters, the source line and the export date at the bottom.

    The on-screen figure is not modified.
    """
    out = go.Figure(fig)
    sub = subtitle if subtitle is not None else export_subtitle(filters)
    theme.style(out, title=title, subtitle=sub or None, legend=out.layout.showlegend is not False)
    day = (export_date or date.today()).isoformat()
    margin_b = max(int(out.layout.margin.b or 50), 50) + 40
    out.update_layout(margin={"b": margin_b, "t": max(int(out.layout.margin.t or 80), 90 if sub else 70)})
    note_font = {"family": theme.font_family(), "size": 11, "color": "#757575"}
    out.add_annotation(text=source or theme.SOURCE_LINE, xref="paper", yref="paper", x=0, y=0,
                       xanchor="left", yanchor="top", yshift=-margin_b + 22, showarrow=False,
                       font=note_font, align="left")
    out.add_annotation(text=f"导出日期：{day}", xref="paper", yref="paper", x=1, y=0,
                       xanchor="right", yanchor="top", yshift=-margin_b + 22, showarrow=False,
                       font=note_font, align="right")
    # Keep a legend placed above the plot from colliding with the two-line title.
    if out.layout.showlegend is not False and sub:
        out.update_layout(legend={"y": 1.0, "yanchor": "bottom"})
    return out


def export_figure(fig: go.Figure, fmt: str, title: str, filters=None, *, width: int | None = None,
                  height: int | None = None, scale: float = 2, subtitle: str | None = None) -> bytes:
    """decorate() then figure_bytes(): what the download buttons call."""
    return figure_bytes(decorate(fig, title, filters, subtitle=subtitle), fmt, width=width,
                        height=height, scale=scale)


def safe_filename(name: str, ext: str) -> str:
    """A file name from a Chinese title: keep letters/digits/CJK, replace the rest with _."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in (name or "导出")).strip("_")
    return f"{cleaned[:60] or '导出'}.{ext}"


# ---------------------------------------------------------------- searchable Chinese in PDFs

_RADICALS = {chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0x2E80, 0x2FE0)}
_RADICALS = {k: v for k, v in _RADICALS.items() if len(v) == 1 and v != k}
# CJK Radicals Supplement forms with no NFKC mapping whose glyph Noto CJK SC shares with an ideograph
# (seen in our PDFs: 市⺠ 建国⻔ ⻄城): radical -> the character that was written.
_RADICALS.update(dict(zip(
    "⺅⺆⺉⺕⺖⺘⺝⺠⺡⺣⺤⺦⺨⺩⺫⺭⺹⺼⺾⻂⻄⻅⻈⻉⻋⻌⻏⻐⻓⻔⻖⻘⻚⻛⻜⻝⻢⻣⻤⻥⻦⻨⻩⻬⻮⻰",
    "亻冂刂彐忄扌月民氵灬爫丬犭王罒礻耂月艹衤西见讠贝车辶阝钅长门阝青页风飞食马骨鬼鱼鸟麦黄齐齿龙", strict=True)))
_HEX = r"<([0-9A-Fa-f]+)>"
_BFCHAR_RE = re.compile(r"(beginbfchar)(.*?)(endbfchar)", re.S)
_BFRANGE_RE = re.compile(r"(beginbfrange)(.*?)(endbfrange)", re.S)
_PAIR_RE = re.compile(_HEX + r"\s*" + _HEX)
_RANGE_RE = re.compile(_HEX + r"\s*" + _HEX + r"\s*" + _HEX)


def _utf16(hexstr: str) -> str:
    return bytes.fromhex(hexstr).decode("utf-16-be", errors="surrogatepass")


def _hex16(text: str) -> str:
    return text.encode("utf-16-be", errors="surrogatepass").hex().upper()


def _fix_cmap(cmap: str) -> tuple[str, int]:
    """Map Kangxi/CJK radicals in a ToUnicode CMap back to the ideographs (⼯ -> 工)."""
    changed = 0

    def fix_dst(h: str) -> str:
        nonlocal changed
        s = _utf16(h)
        t = "".join(_RADICALS.get(ch, ch) for ch in s)
        if t != s:
            changed += 1
            return _hex16(t)
        return h

    def chars(m: re.Match) -> str:
        body = _PAIR_RE.sub(lambda p: f"<{p.group(1)}> <{fix_dst(p.group(2))}>", m.group(2))
        return m.group(1) + body + m.group(3)

    def ranges(m: re.Match) -> str:
        def one(r: re.Match) -> str:
            lo, hi, dst = r.group(1), r.group(2), r.group(3)
            n = int(hi, 16) - int(lo, 16)
            start = _utf16(dst)
            if len(start) != 1 or n < 0:
                return r.group(0)
            run = [chr(ord(start) + i) for i in range(n + 1)]
            if not any(ch in _RADICALS for ch in run):
                return r.group(0)
            items = " ".join(f"<{fix_dst(_hex16(ch))}>" for ch in run)  # array form, one entry per code
            return f"<{lo}> <{hi}> [{items}]"

        return m.group(1) + _RANGE_RE.sub(one, m.group(2)) + m.group(3)

    out = _BFCHAR_RE.sub(chars, cmap)
    out = _BFRANGE_RE.sub(ranges, out)
    return out, changed


_TOUNICODE_RE = re.compile(rb"/ToUnicode\s+(\d+)\s+0\s+R")
_OBJ_RE = re.compile(rb"(?<![0-9])(\d+) 0 obj")
_TRAILER_RE = re.compile(rb"trailer\s*<<(.*?)>>\s*startxref\s+(\d+)\s+%%EOF\s*$", re.S)


def fix_pdf_unicode(pdf: bytes) -> bytes:
    """Make Chinese in a Chromium-printed PDF searchable and copyable as the right characters.

    Noto CJK shares one glyph between an ideograph and its Kangxi radical
    (工 U+5DE5 and ⼯ U+2F2F); Chromium's PDF writer records the radical in the
    font's ToUnicode map, so copy/paste and search give ⼯单 instead of 工单.
    The fixed ToUnicode streams are appended as a PDF incremental update (the
    original bytes stay as they are, readers take the newer objects), which is
    milliseconds where re-writing the document with pypdf takes seconds. PDFs
    without a classic trailer, or with nothing to fix, are returned unchanged.
    """
    import zlib

    tail = _TRAILER_RE.search(pdf[-4096:])
    if tail is None:
        return pdf
    trailer, prev = tail.group(1), int(tail.group(2))
    updates: list[tuple[int, bytes]] = []
    wanted = {int(n) for n in _TOUNICODE_RE.findall(pdf)}
    offsets = {int(m.group(1)): m.end() for m in _OBJ_RE.finditer(pdf) if int(m.group(1)) in wanted}
    for num in sorted(offsets):
        pos = offsets[num]
        begin = pdf.find(b"stream", pos)
        end = pdf.find(b"endstream", begin)
        if begin < 0 or end < 0 or pdf.find(b"endobj", pos, begin) >= 0:
            continue  # not a stream object
        header = pdf[pos:begin]
        data_start = begin + len(b"stream")
        data_start += 2 if pdf[data_start:data_start + 2] == b"\r\n" else 1
        raw = pdf[data_start:end].rstrip(b"\r\n")
        flate = b"/FlateDecode" in header
        try:
            text = (zlib.decompress(raw) if flate else raw).decode("latin-1")
        except zlib.error:
            continue
        new, n = _fix_cmap(text)
        if n:
            body = zlib.compress(new.encode("latin-1"))
            updates.append((num, b"%d 0 obj\n<</Length %d /Filter /FlateDecode>>\nstream\n" % (num, len(body))
                            + body + b"\nendstream\nendobj\n"))
    if not updates:
        return pdf
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    xref = [b"xref\n"]
    for num, obj in updates:
        xref.append(b"%d 1\n%010d 00000 n \n" % (num, len(out)))
        out += obj
    keep = b"".join(m.group(0) + b"\n" for m in re.finditer(rb"/(?:Size|Root|Info|ID)\s*(?:\[[^\]]*\]|\d+\s+\d+\s+R|\d+)",
                                                              trailer))
    start = len(out)
    out += b"".join(xref)
    out += b"trailer\n<<" + keep + b"/Prev %d>>\nstartxref\n%d\n%%%%EOF\n" % (prev, start)
    return bytes(out)
