"""Switching engines changes no number on any page of the tiny store (issue 21).

Each dashboard page runs headless (AppTest) on the tiny store twice: on the embedded DuckDB store
(HOTLINE_ENGINE=duckdb) and on the same store shipped to ClickHouse in process (HOTLINE_ENGINE=clickhouse,
chdb). What a user reads — every metric, text, table and chart's data — must be the same. Every page that reads
the ticket store is compared: the five analytics pages, the clue ledger, the screening queue, the rule library
(its live counts), the collision page and the wall screen; the pages that read only the records store (users,
audit, letters) or write (import) do not depend on the engine. The map page is compared with its default view;
the hotspot statistics are compared function by function in tests/test_engine_golden.py.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, app_test
from tests.test_pages_apptest import _decode

APP = str(ROOT / "app.py")
PAGES = ["views/overview.py", "views/topics.py", "views/funnel.py", "views/tickets.py", "views/map.py", "views/ledger.py",
         "views/queue.py", "views/rules.py", "views/collide.py", "views/screen.py"]


def _digits(x):
    """Floats to 10 significant digits (as the tables' JSON and far past what a chart shows): the engines'
    exact quantiles interpolate in a different order and may differ in the last bit."""
    if isinstance(x, float):
        return float(f"{x:.10g}")
    if isinstance(x, dict):
        return {k: _digits(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_digits(v) for v in x]
    return x


def _seen(at) -> dict:
    """Everything a user reads on the page (not the widgets' internal ids)."""
    assert not at.exception, [e.value for e in at.exception]
    out = {
        "metrics": [(m.label, m.value, m.delta) for m in at.metric],
        "text": [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                                       "error", "success") for e in at.get(kind)],
        "tables": [e.value.to_json(force_ascii=False, date_format="iso") for e in at.dataframe],
        "charts": [_digits(_decode(json.loads(e.proto.spec)).get("data")) for e in at.get("plotly_chart")],
    }
    return out


def _page(page: str, monkeypatch, engine: str, url: str) -> dict:
    monkeypatch.setenv("HOTLINE_ENGINE", engine)
    monkeypatch.setenv("HOTLINE_ENGINE_URL", url)
    at = app_test(APP, timeout=180)
    at.query_params["from"] = "2025-03-01"
    at.query_params["to"] = "2025-03-31"
    at.run()
    at.switch_page(page).run()
    return _seen(at)


@pytest.mark.parametrize("page", PAGES)
def test_switching_engines_changes_nothing_a_user_reads(page, app_db, tiny_engine, monkeypatch):
    url = tiny_engine.target.describe()
    duck = _page(page, monkeypatch, "duckdb", url)
    engine = _page(page, monkeypatch, "clickhouse", url)
    assert any(duck.values()), "the page showed nothing at all"
    for part in ("metrics", "text", "tables", "charts"):
        if engine[part] != duck[part]:
            pairs = [(a, b) for a, b in zip(duck[part], engine[part], strict=False) if a != b]
            raise AssertionError(f"{part} differ: {str(pairs[:1])[:3000]}")
