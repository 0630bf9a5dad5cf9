"""The speed helpers of the pages: the house template as plotly's default, the warm-up threads (plain imports)."""

from __future__ import annotations

import gc
import json
import sys

import plotly.graph_objects as go

from analytics import theme
from ui import warmup


def _slow_style(fig: go.Figure) -> go.Figure:
    """theme.style() as it was: the template set through the public, validating path."""
    fig.update_layout(template="plotly_white")
    return theme.style(fig, title="标题", subtitle="副标题", legend=False, height=400)


def test_style_gives_the_same_figure_as_the_validating_template_path():
    a = theme.style(go.Figure(go.Bar(x=[1, 2], y=[3, 4])), title="标题", subtitle="副标题", legend=False, height=400)
    b = _slow_style(go.Figure(go.Bar(x=[1, 2], y=[3, 4])))
    assert json.loads(a.to_json()) == json.loads(b.to_json())
    assert a.layout.template.layout.plot_bgcolor == "white"
    assert theme.empty_figure().layout.template.layout.plot_bgcolor == "white"


def test_style_does_not_share_the_template_between_figures():
    a = theme.style(go.Figure())
    b = theme.style(go.Figure())
    a.layout.template.layout.font.size = 99
    assert b.layout.template.layout.font.size != 99
    assert theme.style(go.Figure()).layout.template.layout.font.size != 99


def test_warmup_imports_the_other_pages_modules_once(monkeypatch):
    monkeypatch.setattr(warmup, "_started", False)
    monkeypatch.setattr(warmup, "done", warmup.threading.Event())
    assert warmup.start() is True
    assert warmup.start() is False          # once per process
    assert warmup.done.wait(120)
    for name in ("analytics.topics", "analytics.topic_figures", "analytics.funnel", "ui.charts", "folium"):
        assert name in sys.modules, name
    assert gc.get_freeze_count() == 0       # plain imports: the collector is left alone


def test_the_early_warm_up_imports_the_first_page_modules_once(monkeypatch):
    monkeypatch.setattr(warmup, "_early_started", False)
    monkeypatch.setattr(warmup, "early_done", warmup.threading.Event())
    monkeypatch.setattr(warmup, "early_seconds", None)
    assert warmup.start_early() is True
    assert warmup.start_early() is False                  # once per process
    warmup.wait_early(120)
    assert warmup.early_done.is_set() and warmup.early_seconds is not None
    for name in ("pandas", "duckdb", "plotly.graph_objects", "analytics.overview", "analytics.figures"):
        assert name in sys.modules, name


def test_wait_early_returns_at_once_without_the_launcher(monkeypatch):
    import time

    monkeypatch.setattr(warmup, "_early_started", False)
    monkeypatch.setattr(warmup, "early_done", warmup.threading.Event())
    t0 = time.monotonic()
    warmup.wait_early(5)                                   # would block 5 s if it waited on the unset event
    assert time.monotonic() - t0 < 1 and not warmup.early_done.is_set()


def _tree(n1: int, n2: int, n3: int):
    import pandas as pd

    rows = []
    for a in range(n1):
        rows.append({"level": 1, "id": f"A{a}", "parent": "", "label": f"A{a}", "n": n2 * n3})
        for b in range(n2):
            rows.append({"level": 2, "id": f"A{a}/B{b}", "parent": f"A{a}", "label": f"B{b}", "n": n3})
            for c in range(n3):
                rows.append({"level": 3, "id": f"A{a}/B{b}/C{c}", "parent": f"A{a}/B{b}", "label": f"C{c}", "n": 1})
    return pd.DataFrame(rows)


def test_a_large_category_treemap_draws_two_levels_at_a_time(tiny_con):
    from datetime import date

    from analytics import topic_figures as tf
    from analytics import topics
    from analytics.filters import Filters

    small = topics.category_tree(tiny_con, Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31)))
    assert len(small) == 16 and tf.category_treemap(small).data[0].maxdepth == 3
    big = _tree(5, 3, 3)                                    # 5 + 15 + 45 = 65 cells
    fig = tf.category_treemap(big)
    assert fig.data[0].maxdepth == 2
    assert list(fig.data[0].ids) == big["id"].tolist()     # every cell is still there, one click away
    assert tf.category_treemap(_tree(2, 3, 5)).data[0].maxdepth == 3   # 2 + 6 + 30 = 38 cells
