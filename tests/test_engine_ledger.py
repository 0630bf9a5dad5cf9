"""The app's own clue ledger on the engine (issue 21): the engine's counts include the app's clues.

A copy of the tiny store where the app registered three clues and acted on two imported ones
(tests/test_ledger_funnel.py `_act`) is shipped to ClickHouse in process (chdb); `ship` lays the ledger of the
records store beside it over the engine's clue tables (data/engine/ledger.py). Every analytics function read
through the engine's ledger cursor must equal the DuckDB ledger cursor (the dashboard's), for the city and for a
district; a change of the ledger afterwards is laid over from the engine store itself (the dashboard's path,
no DuckDB file needed) and read the same way.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime

import pytest

from analytics import overview
from analytics.filters import Filters
from data import ledger, records, scope, store
from data.engine import clickhouse, ship
from data.engine import ledger as engine_ledger
from data.ledger import overlay
from tests.test_engine_golden import _answer
from tests.test_ledger_funnel import ME, _act
from tests.test_scope import _functions

MARCH = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
YEARS = Filters(date_from=date(2024, 1, 1), date_to=date(2025, 12, 31))


@pytest.fixture(scope="module")
def app_store(tiny_db_path, engine_dir, tmp_path_factory):
    """(DuckDB path, engine connection) of the tiny store with the app's ledger, shipped with it."""
    p = shutil.copy(tiny_db_path, tmp_path_factory.mktemp("engine_ledger") / "app.duckdb")
    _act(p)
    con = clickhouse.connect(f"chdb:{engine_dir}?database=ledger")
    result = ship.ship(p, con)
    assert result["ledger_version"] is not None and result["ledger_version"] > 0
    return p, con


def _same_everywhere(p, engine, sc, f) -> dict:
    """Functions whose answer differs between the DuckDB and the engine ledger cursors (name -> both answers)."""
    duck = store.connect(p, read_only=True)
    try:
        d = overlay.ledger_cursor(duck, sc, db_path=p)
        e = scope.scoped_cursor(engine, sc, ledger=True)
        ids = [t for (t,) in duck.execute("SELECT ticket_id FROM tickets ORDER BY ticket_id").fetchall()]
        out = {}
        for name, fn, required, fill in _functions(ids):
            kw = {r: (f if fill[r] is None else fill[r]) for r in required}
            a, b = _answer(fn, d, kw), _answer(fn, e, kw)
            if a != b:
                out[name] = (str(a)[:300], str(b)[:300])
        return out
    finally:
        duck.close()


def _clues(con, f) -> tuple:
    return tuple(int(x) for x in overview.funnel_totals(con, f))


@pytest.mark.parametrize("sc", [scope.CITY, scope.Scope(("朝阳区",))], ids=["city", "朝阳区"])
def test_every_function_counts_the_apps_clues_on_the_engine_too(app_store, sc):
    p, engine = app_store
    assert _same_everywhere(p, engine, sc, YEARS) == {}
    assert _same_everywhere(p, engine, sc, MARCH) == {}


def test_the_overlay_changes_the_engines_numbers(app_store):
    """The engine's ledger cursor counts the app's clues; a cursor without the ledger does not."""
    p, engine = app_store
    plain = _clues(engine, MARCH)
    laid = _clues(scope.scoped_cursor(engine, scope.CITY, ledger=True), MARCH)
    assert laid != plain
    duck = store.connect(p, read_only=True)
    try:
        assert laid == _clues(overlay.ledger_cursor(duck, db_path=p), MARCH)
    finally:
        duck.close()


def test_a_new_clue_is_laid_over_from_the_engine_store(app_store):
    """The dashboard's path: the ledger changes, `lay_over` builds the rows from the engine store (no DuckDB)
    and the engine's counts follow; a second call with nothing changed writes nothing."""
    p, engine = app_store
    gen = "engine:" + __import__("data.engine", fromlist=["generation"]).generation(engine)
    with records.session(p) as rc:
        before = engine_ledger.lay_over(engine, rc, gen)
    real = records.now
    records.now = lambda: datetime(2025, 3, 30, 9, 0)
    try:
        with records.session(p) as rc:
            ledger.register_clue(rc, ME, source="12309", district="平谷区", function="民事",
                                 summary="兴谷农贸市场假冒伪劣", ticket_ids=["T06", "T11"])
    finally:
        records.now = real
    with records.session(p) as rc:
        after = engine_ledger.lay_over(engine, rc, gen)
        assert after > before
        assert engine_ledger.state(engine) == (gen, after)
        assert engine_ledger.lay_over(engine, rc, gen) == after     # nothing changed: nothing pushed
    assert _same_everywhere(p, engine, scope.CITY, MARCH) == {}
    assert _same_everywhere(p, engine, scope.Scope(("平谷区",)), MARCH) == {}


@pytest.mark.parametrize("page", ["views/funnel.py", "views/overview.py"])
def test_the_pages_show_the_apps_clues_on_the_engine(app_store, page, monkeypatch):
    """What a user reads on the funnel and overview pages of the store with the app's ledger: the same on the
    embedded store and on the engine (the dashboard lays the ledger over the engine itself, ui/db.py)."""
    from tests.test_engine_pages import _page

    p, engine = app_store
    monkeypatch.setenv("HOTLINE_DB", str(p))
    monkeypatch.setenv("HOTLINE_MIN_COMPARE_BASE", "1")
    url = engine.target.describe()
    duck = _page(page, monkeypatch, "duckdb", url)
    on_engine = _page(page, monkeypatch, "clickhouse", url)
    assert any(duck.values())
    assert on_engine == duck
    assert not any("未能把本系统登记的线索台账" in t for t in on_engine["text"])


def test_an_engine_store_without_the_ledger_state_gets_one(app_store):
    """An engine store shipped before the overlay had its state table (session 2): the first lay-over makes it."""
    from data import engine as engines

    p, engine = app_store
    engine._backend.command(f"DROP TABLE `{engine.database}`.`{engine_ledger.STATE}`")
    engine_ledger._LAID.clear()
    assert engine_ledger.state(engine) is None
    gen = "engine:" + engines.generation(engine)
    with records.session(p) as rc:
        v = engine_ledger.lay_over(engine, rc, gen)
    assert engine_ledger.state(engine) == (gen, v)
    assert _same_everywhere(p, engine, scope.CITY, MARCH) == {}
