"""The one-click briefing pack: an A4 PDF (and PPTX) for press officers and leadership.

`make(con, f, "pdf"|"pptx")` builds the pack's content (analytics/briefing_content.py: numbers, captions,
figures in the print style) and renders it (analytics/briefing_render.py: HTML printed to PDF by the local
headless Chromium, or 16:9 slides). The names callers use are importable from here.
"""

from __future__ import annotations

from datetime import date

import duckdb

from analytics.briefing_content import (
    PACK_TITLE,
    TOPICS_MAPPED,
    Briefing,
    Section,
    build,
    busiest_cells,
    fmt_change,
    fmt_n,
    fmt_pct,
    funnel_stages,
    pack_filters,
    period_label,
    scope_label,
    street_ranking,
    topic_places,
)
from analytics.briefing_render import PAGES, render_images, render_pdf, to_html, to_pdf, to_pptx
from analytics.filters import Filters

__all__ = [
    "PACK_TITLE", "PAGES", "TOPICS_MAPPED", "Briefing", "Section", "build", "busiest_cells", "fmt_change", "fmt_n",
    "fmt_pct", "funnel_stages", "make", "pack_filters", "period_label", "render_images", "render_pdf", "scope_label",
    "street_ranking", "to_html", "to_pdf", "to_pptx", "topic_places",
]


def make(con: duckdb.DuckDBPyConnection, f: Filters, fmt: str = "pdf", *, today: date | None = None) -> bytes:
    """Build the pack for `f` and render it as PDF or PPTX bytes."""
    if fmt not in ("pdf", "pptx"):
        raise ValueError("fmt must be pdf or pptx")
    b = build(con, f, today=today)
    return to_pdf(b) if fmt == "pdf" else to_pptx(b)
