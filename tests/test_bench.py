"""The benchmark runs end to end at a small size and prints its table (numbers are not asserted)."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import build_tiny


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench")
    build_tiny(d / "demo_tiny.duckdb")
    return d


def test_bench_states_cover_the_eight_combinations(tiny_con):
    from bench.states import filter_states

    states = filter_states(tiny_con)
    assert len(states) == 8
    assert len({f for _, f in states}) == 8
    assert sum(1 for _, f in states if f.topics == ("井盖",)) == 4


def test_bench_runs_both_sides_and_prints_a_table(bench_dir, capsys):
    import manage

    shutil.copy(bench_dir / "demo_tiny.duckdb", bench_dir / "demo_40.duckdb")
    rc = manage.main(["bench", "--tickets", "40", "--repeats", "1", "--no-browser", "--db-dir", str(bench_dir)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "| page | DuckDB p50 ms" in out
    for page in ("overview", "topics", "funnel", "tickets", "map", "hotspots", "all pages together"):
        assert re.search(rf"\| \**{page}\** \| [\d,.]+ \| [\d,.]+ \| [\d,.]+ \| [\d,.]+ \| [\d.]+× \|", out), page
    assert "pandas side peak RSS" in out
    assert "Largest map payload" in out


def test_pandas_baseline_computes_what_the_pages_show(tiny_con):
    """The baseline must do the product's work, not less: same KPIs and funnel counts on the tiny store."""
    from datetime import date

    from analytics import funnel, overview
    from analytics.filters import Filters
    from bench import pandas_side

    d = pandas_side.load(tiny_con)
    f = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    kpis = overview.kpis(tiny_con, f).set_index("key")["value"]
    ov = pandas_side.overview(d, f)
    assert (ov["n"], ov["located"]) == (kpis["tickets"], kpis["located"]) == (12, 11)
    assert ov["funnel"] == (kpis["clues"], kpis["cases"], kpis["rectified"]) == (5, 2, 2)
    assert ov["prev"] == 3
    fu = pandas_side.funnel(d, f)
    st = funnel.stages(tiny_con, f).set_index("key")["n"]
    assert (fu["tickets"], fu["clues"], fu["cases"], fu["rectified"]) == tuple(st[k] for k in st.index)
    n, page = pandas_side.tickets_page(d, f)
    assert n == 12 and len(page) == 12 and page["received_at"].is_monotonic_decreasing
    assert int(pandas_side.topics(d, f)["tree"].sum()) == 12
