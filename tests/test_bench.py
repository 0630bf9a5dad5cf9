"""The benchmark runs end to end at a small size and prints its table (numbers are not asserted)."""

from __future__ import annotations

import re
import shutil
from datetime import datetime

import pandas as pd
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
    rc = manage.main(["bench", "--tickets", "40", "--repeats", "1", "--no-browser", "--db-dir", str(bench_dir),
                      "--import-rows", "3000"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "| page | DuckDB p50 ms" in out
    for page in ("overview", "topics", "funnel", "tickets", "map", "hotspots", "all pages together"):
        assert re.search(rf"\| \**{page}\** \| [\d,.]+ \| [\d,.]+ \| [\d,.]+ \| [\d,.]+ \| [\d.]+× \|", out), page
    assert "pandas side peak RSS" in out
    assert "pandas baseline: **full load" in out and "| pandas (full) p50 ms |" in out   # auto: full fits at 40
    assert "Largest map payload" in out
    assert re.search(r"\| parquet \| 3,000 \| [\d,]+ \| [\d,]+ \|", out)
    assert re.search(r"\| csv \| 1,000 \| [\d,]+ \| [\d,]+ \|", out)


def test_bench_runs_the_slim_pandas_load_and_says_so(bench_dir):
    from bench import run as bench_run

    shutil.copy(bench_dir / "demo_tiny.duckdb", bench_dir / "demo_slim.duckdb")
    (res,) = bench_run.run([("slim", 20, 1)], repeats=1, browser=False, db_dir=bench_dir, pandas_mode="slim",
                           log=lambda m: None)
    assert res.pandas_mode == "slim" and res.pandas_error is None
    assert set(res.pandas["pages"]) == set(res.duck["pages"]) and res.pandas["pages"]["topics"]["n"] == 8
    text = bench_run.report([res], "test")
    assert "| pandas (slim) p50 ms |" in text and "pandas baseline: **slim load (no ticket text" in text
    assert "(slim load in " in text


def test_auto_pandas_mode_is_full_where_it_fits_and_slim_where_not():
    from bench.run import choose_pandas_mode

    assert choose_pandas_mode(1_000_000, mem_gb=24) == "full"
    assert choose_pandas_mode(5_000_000, mem_gb=24) == "full"     # 11 GB expected: fits in half of 24
    assert choose_pandas_mode(6_000_000, mem_gb=24) == "slim"
    assert choose_pandas_mode(25_000_000, mem_gb=24) == "slim"    # the full load was killed at 22.9 GB
    assert choose_pandas_mode(25_000_000, mem_gb=128) == "full"


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


def test_five_year_store_is_the_year_and_four_shifted_copies(tiny_db_path, tmp_path):
    from bench.extend import five_years
    from data import derived, store, summaries

    one_year = tmp_path / "one_year.duckdb"
    shutil.copy(tiny_db_path, one_year)
    con = store.connect(one_year)
    # The tiny store without its March 2024 tickets (T16-T20) spans 2025-01-29 .. 2025-03-31: one year at most.
    con.execute("DELETE FROM ticket_words WHERE ticket_id IN (SELECT ticket_id FROM tickets "
                "WHERE received_at < DATE '2025-01-01')")
    con.execute("DELETE FROM clue_tickets WHERE ticket_id IN (SELECT ticket_id FROM tickets "
                "WHERE received_at < DATE '2025-01-01')")
    con.execute("DELETE FROM tickets WHERE received_at < DATE '2025-01-01'")
    derived.refresh(con)
    base = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("tickets", "ticket_words", "clues", "clue_tickets", "cases", "rectifications")}
    words_base = con.execute("SELECT sum(n) FROM word_daily").fetchone()[0]
    first = con.execute("SELECT min(received_at)::DATE FROM tickets").fetchone()[0]
    con.close()
    assert base["tickets"] == 15

    out = tmp_path / "five.duckdb"
    five_years(one_year, out, log=lambda m: None)
    con = store.connect(out, read_only=True)
    try:
        for t, n in base.items():
            assert con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 5 * n, t
        assert con.execute("SELECT count(DISTINCT ticket_id) FROM tickets").fetchone()[0] == 75
        lo, hi = con.execute("SELECT min(received_at)::DATE, max(received_at)::DATE FROM tickets").fetchone()
        assert (lo, str(hi)) == (first.replace(year=first.year - 4), "2025-03-31")
        by_year = con.execute("SELECT year(day), sum(n) FROM ticket_daily GROUP BY 1 ORDER BY 1").fetchall()
        assert by_year == [(2021, 15), (2022, 15), (2023, 15), (2024, 15), (2025, 15)]
        for table, _ in summaries.SUMMARY_TABLES:
            assert con.execute(f"SELECT sum(n) FROM {table}").fetchone()[0] == 75, table
        assert con.execute("SELECT sum(n) FROM word_daily").fetchone()[0] == 5 * words_base
        # A shifted copy keeps its funnel: every link joins a clue and a ticket of the same copy.
        (orphans,) = con.execute("SELECT count(*) FROM clue_tickets ct LEFT JOIN tickets t USING (ticket_id) "
                                 "LEFT JOIN clues c USING (clue_id) WHERE t.ticket_id IS NULL "
                                 "OR c.clue_id IS NULL").fetchone()
        assert orphans == 0
        assert derived.outdated(con) == []   # every derived table built from the five years, none stale
        # ticket_daily, built a year at a time, is the one a single rebuild gives
        whole = f"({summaries.DAILY_PART_SQL})"
        sql = (f"SELECT (SELECT count(*) FROM ({whole} EXCEPT ALL (SELECT * FROM ticket_daily))), "
               f"(SELECT count(*) FROM ((SELECT * FROM ticket_daily) EXCEPT ALL {whole})), "
               "(SELECT count(*) FROM ticket_daily)")
        every_day = {"lo": datetime(1900, 1, 1), "hi": datetime(2100, 1, 1)}
        assert con.execute(sql, every_day).fetchone()[:2] == (0, 0) and con.execute(sql, every_day).fetchone()[2] > 0
    finally:
        con.close()

    # A build interrupted while building the cubes resumes there: nothing is copied twice, and only the
    # summaries not marked as built are built again.
    out.rename(out.with_suffix(".building"))
    con = store.connect(out.with_suffix(".building"))
    con.execute("DROP TABLE ticket_daily_core")
    con.execute("DELETE FROM meta WHERE key = 'five_year_summary:the smaller cubes'")
    con.close()
    logs = []
    five_years(one_year, out, log=logs.append)
    assert any("resuming" in m for m in logs) and not any("copied" in m for m in logs)
    assert any(m.startswith("  the smaller cubes rebuilt") for m in logs)
    assert sum("built before" in m for m in logs) == 4
    con = store.connect(out, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 75
        assert con.execute("SELECT sum(n) FROM ticket_daily_core").fetchone()[0] == 75
    finally:
        con.close()


def test_pandas_baseline_counts_the_same_words(tiny_con):
    from datetime import date

    from analytics import topics
    from analytics.filters import Filters
    from bench import pandas_side

    d = pandas_side.load(tiny_con)
    for f in (Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31)),
              Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31), districts=("平谷区",))):
        tw = topics.top_words(tiny_con, f, kind="word", limit=10)
        pw = pandas_side.topics(d, f)["top_words"]
        assert not tw.empty
        assert {w: int(n) for w, n in zip(tw["word"], tw["n"], strict=True)} == {w: int(pw[w]) for w in tw["word"]}


def test_pandas_lite_baseline_skips_words_only(tiny_con):
    from datetime import date

    from analytics.filters import Filters
    from bench import pandas_side

    f = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    lite = pandas_side.load(tiny_con, words=False)
    assert "words" not in lite
    out = pandas_side.topics(lite, f)
    assert "top_words" not in out and int(out["tree"].sum()) == 12
    assert pandas_side.overview(lite, f)["n"] == 12


def test_compact_pandas_load_gives_the_same_answers_on_every_page(tiny_con):
    """The lite baseline's categoricals must not change what any page computes (only its memory)."""
    from bench import pandas_side
    from bench.states import filter_states

    plain = pandas_side.load(tiny_con, words=False)
    compact = pandas_side.load(tiny_con, words=False, compact=True)
    assert isinstance(compact["tickets"]["district"].dtype, pd.CategoricalDtype)
    assert not isinstance(plain["tickets"]["district"].dtype, pd.CategoricalDtype)
    for _name, f in filter_states(tiny_con):
        for page, fn in pandas_side.PAGES.items():
            a, b = fn(plain, f), fn(compact, f)
            assert _comparable(a) == _comparable(b), page


def test_slim_pandas_load_gives_the_same_answers_on_every_page(tiny_con):
    """The slim baseline (no ticket text loaded, the address as a categorical, int row keys, day numbers for the
    words) computes what the full one computes, page by page and state by state, words and the hotspot table
    included; the ticket list's rows carry the same ids and text, read from the store."""
    from bench import pandas_side
    from bench.states import filter_states

    full = pandas_side.load(tiny_con)
    slim = pandas_side.load(tiny_con, slim=True)
    t = slim["tickets"]
    assert "content" not in t.columns and isinstance(t["address"].dtype, pd.CategoricalDtype)
    assert t["address"].cat.categories.is_monotonic_increasing   # text order: modes break ties as the product
    assert t["ticket_id"].dtype == "int32" and slim["clue_tickets"]["ticket_id"].dtype == "int32"
    assert slim["words"]["day"].dtype == "int16" and isinstance(slim["words"]["word"].dtype, pd.CategoricalDtype)
    assert len(slim["words"]) == len(full["words"]) > 0
    states = filter_states(tiny_con)
    compared = 0
    for _name, f in states:
        for page, fn in pandas_side.PAGES.items():
            a, b = fn(full, f), fn(slim, f)
            assert _comparable(a) == _comparable(b), page
            compared += 1
    assert compared == 8 * 6
    # The words are really compared: March 2025 has top words, the same both ways.
    from datetime import date

    from analytics.filters import Filters

    f = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
    top = pandas_side.topics(slim, f)["top_words"]
    assert len(top) > 0 and top.to_dict() == pandas_side.topics(full, f)["top_words"].to_dict()
    n, rows = pandas_side.tickets_page(slim, f)
    assert n == 12 and rows["ticket_id"].str.startswith("T").all() and rows["content"].notna().all()
    with pytest.raises(ValueError, match="text"):
        pandas_side.overview(slim, f.replace(text="井盖"))


def test_slim_words_fall_back_to_one_join_when_a_word_day_is_not_its_ticket_day(tiny_db_path, tmp_path):
    """The slim load joins the words a month at a time (a word's day is its ticket's received day); a store
    where that does not hold still gets every word, counted as the full load counts it."""
    from bench import pandas_side
    from data import store

    db = tmp_path / "odd_words.duckdb"
    shutil.copy(tiny_db_path, db)
    con = store.connect(db)
    (moved,) = con.execute("UPDATE ticket_words SET day = day - INTERVAL 40 DAY WHERE ticket_id = 'T01'").fetchone()
    con.close()
    assert moved > 0
    con = store.connect(db, read_only=True)
    try:
        full, slim = pandas_side.load(con), pandas_side.load(con, slim=True)
        assert len(slim["words"]) == len(full["words"])
        per_day = full["words"]["day"].dt.normalize().value_counts().sort_index()
        slim_days = (pandas_side.EPOCH + pd.to_timedelta(slim["words"]["day"].astype(int), unit="D")).value_counts()
        assert slim_days.sort_index().to_dict() == per_day.to_dict()
    finally:
        con.close()


def _comparable(out):
    """A page's output as plain Python values (categoricals and object strings compare equal)."""
    if isinstance(out, tuple):
        return tuple(_comparable(x) for x in out)
    if isinstance(out, dict):
        return {k: _comparable(v) for k, v in out.items()}
    if isinstance(out, pd.DataFrame):
        return {str(c): [_value(v) for v in out[c].tolist()] for c in out.columns}
    if isinstance(out, pd.Series):
        return {str(k): _value(v) for k, v in out.items()}
    return _value(out)


def _value(v) -> str:
    """Missing is missing (None in an object column, <NA> in a nullable one); anything else as text."""
    try:
        if v is None or v is pd.NA or (not isinstance(v, str) and bool(pd.isna(v))):
            return "<missing>"
    except (TypeError, ValueError):
        pass
    return str(v)


def test_worker_replays_only_the_pages_asked_for(bench_dir):
    """`python -m bench.worker SIDE DB REPEATS hotspots` times one page (how the 25 M hotspot page was measured)."""
    from bench import worker

    db = str(bench_dir / "demo_tiny.duckdb")
    for side in ("duck", "pandas-slim"):
        out = worker.run(side, db, 1, ["hotspots"])
        assert list(out["pages"]) == ["hotspots"] and out["pages"]["hotspots"]["n"] == 8, side
    with pytest.raises(SystemExit, match="unknown page"):
        worker.run("duck", db, 1, ["hotspot"])
