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
import shutil
import subprocess
import threading
import time
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


def _plotlyjs_path() -> Path:
    import plotly

    p = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not p.is_file():  # pragma: no cover - broken install
        raise ExportError(f"本地 plotly.js 缺失：{p}。请重新安装 plotly。")
    return p


def server_kwargs() -> dict:
    """How the kaleido server is started: local Chromium, local plotly.js, MathJax off (no CDN)."""
    return {"path": chromium_path(), "mathjax": False, "plotlyjs": str(_plotlyjs_path())}


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
                return _render(fig_dict, opts)
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
