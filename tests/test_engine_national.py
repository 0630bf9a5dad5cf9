"""A national database on the engine: several cities' stores in the same tables, told apart by the city column
(data/engine/layout.py CITY), each read alone through a connection limited to its city (issue 21).

Two cities (two copies of the tiny store, one changed) are shipped into one chdb database. Shipping a city keeps
the other's rows (whole and by month); a connection with `city=` reads only its city's rows of every table, and
every analytics function answers there exactly as that city's own DuckDB store does.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from data import derived
from data.engine import clickhouse, layout, ship
from tests.test_engine_golden import FILTERS, _compare
from tests.test_scope import _functions

A, B = "甲市", "乙市"


@pytest.fixture(scope="module")
def national(tiny_db_path, engine_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("national")
    a = shutil.copy(tiny_db_path, d / "a.duckdb")
    b = shutil.copy(tiny_db_path, d / "b.duckdb")
    con = duckdb.connect(str(b))    # city B has no 平谷区 tickets: its answers differ from A's
    con.execute("DELETE FROM clue_tickets WHERE ticket_id IN (SELECT ticket_id FROM tickets WHERE district = '平谷区')")
    con.execute("DELETE FROM tickets WHERE district = '平谷区'")
    derived.refresh(con)
    con.close()
    engine = clickhouse.connect(f"chdb:{engine_dir}?database=national")
    assert ship.ship(a, engine, city=A)["rows"]["tickets"] == 20
    assert ship.ship(b, engine, city=B)["rows"]["tickets"] == 15
    return a, b, engine


def _city(engine, city):
    return clickhouse.connect(f"{engine.target.describe()}&city={city}")


def test_both_cities_are_kept_and_read_apart(national):
    _a, _b, engine = national
    assert engine.execute("SELECT count(*) FROM tickets").fetchone() == (35,)
    assert _city(engine, A).execute("SELECT count(*) FROM tickets").fetchone() == (20,)
    assert _city(engine, B).execute("SELECT count(*) FROM tickets").fetchone() == (15,)
    # the city column is the engine's own: not among the columns a query or the catalog sees
    cols = [d[0] for d in _city(engine, A).execute("SELECT * FROM tickets LIMIT 1").description]
    assert layout.CITY not in cols
    assert engine.execute("SELECT count(*) FROM information_schema.columns WHERE column_name = 'city'").fetchone() == (0,)


@pytest.mark.parametrize("city", [A, B])
def test_a_city_reads_as_its_own_store(national, city):
    a, b, engine = national
    duck = duckdb.connect(str(a if city == A else b), read_only=True)
    try:
        ids = [t for (t,) in duck.execute("SELECT ticket_id FROM tickets ORDER BY ticket_id").fetchall()]
        diffs, failed, same = _compare(duck, _city(engine, city), _functions(ids), FILTERS)
        assert diffs == {} and failed == {}
        assert same >= 60
    finally:
        duck.close()


def test_shipping_a_month_of_one_city_keeps_the_others(national, tmp_path):
    a, _b, engine = national
    a2 = shutil.copy(a, tmp_path / "a2.duckdb")
    con = duckdb.connect(str(a2))
    con.execute("DELETE FROM tickets WHERE ticket_id = 'T12'")     # 2025-03-31, 朝阳区
    derived.refresh(con)
    con.close()
    ship.ship(a2, engine, months=[202503], city=A)
    assert _city(engine, A).execute("SELECT count(*) FROM tickets").fetchone() == (19,)
    assert _city(engine, B).execute("SELECT count(*) FROM tickets").fetchone() == (15,)
    march = "SELECT count(*) FROM tickets WHERE received_at >= '2025-03-01' AND received_at < '2025-04-01'"
    assert _city(engine, B).execute(march).fetchone() == duckdb.connect(str(_b)).execute(march).fetchone()


def test_each_city_keeps_its_own_clue_ledger(tiny_db_path, engine_dir, tmp_path):
    """Each city's app ledger (its records store) is laid over as that city's rows: a city reads its own clues
    only, a ship of one city keeps the other's ledger, and a connection to the whole national database must name
    the city whose ledger it lays (the ledger belongs to one city)."""
    from data import engine as engines
    from data import records, scope
    from data.engine import ledger as engine_ledger
    from tests.test_ledger_funnel import _act

    a = shutil.copy(tiny_db_path, tmp_path / "a.duckdb")
    b = shutil.copy(tiny_db_path, tmp_path / "b.duckdb")
    _act(a)                                   # A's app registered clues and acted on imported ones; B's app none
    engine = clickhouse.connect(f"chdb:{engine_dir}?database=national_ledger")
    assert ship.ship(a, engine, city=A)["ledger_version"] > 0
    assert ship.ship(b, engine, city=B)["ledger_version"] is None    # no records store beside B

    def clues(city):
        cur = scope.scoped_cursor(_city(engine, city), scope.CITY, ledger=True)
        return cur.execute("SELECT count(*) FROM clues").fetchone()[0]

    def own(path):
        duck = duckdb.connect(str(path), read_only=True)
        try:
            return duck.execute("SELECT count(*) FROM clues").fetchone()[0]
        finally:
            duck.close()

    assert clues(B) == own(b)                 # B reads none of A's app clues
    assert clues(A) > own(a)                  # A reads its own
    with_a = clues(A)
    ship.ship(b, engine, city=B)              # B shipped again: A's ledger stays
    assert clues(A) == with_a and clues(B) == own(b)
    # the whole database holds two cities: laying "the" ledger without naming one is refused plainly
    with records.session(a) as rc, pytest.raises(engine_ledger.LedgerCityUnknown, match=r"\?city="):
        engine_ledger.lay_over(engine, rc, engines.load_key(engine))
    # a city's dashboard lays its own ledger by itself (nothing changed since the ship: nothing pushed)
    limited = _city(engine, A)
    with records.session(a) as rc:
        v = engine_ledger.lay_over(limited, rc, engines.load_key(limited))
    assert engine_ledger.state(limited) == (engines.load_key(limited), v)
    assert clues(A) == with_a
