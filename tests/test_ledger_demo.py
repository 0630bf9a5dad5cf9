"""The demo's ledger (data/synth/ledger_demo.py): a seeded 12309 export imported through the letters import,
and clues worked in the app through the ledger's API; deterministic, idempotent, and counted by the funnel."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from analytics import funnel
from analytics.filters import Filters
from data import records, scope, store
from data.ledger import letters, overlay
from data.synth import ledger_demo

END = dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from data.synth.build import build_database

    d = tmp_path_factory.mktemp("ledger_demo")
    p = d / "demo.duckdb"
    build_database(p, tickets=6000, years=1, seed=11, end=END, parallel=False)
    return d, p


def _populate(p, out):
    return ledger_demo.populate(p, seed=11, end=END, start=dt.date(2025, 1, 1), tickets=6000, out_dir=out)


def test_letters_and_clues(demo, monkeypatch):
    d, p = demo
    monkeypatch.setenv("HOTLINE_DB", str(p))
    r = _populate(p, d / "out")
    assert r.letters == 200 and r.clues >= 5 and r.steps >= r.clues // 2
    with records.session(p) as rc:
        df = letters.current(rc, scope.CITY, today=END)
        assert len(df) == 200
        c = letters.compliance(df).set_index("key")
        assert 0.9 <= c.loc["reply", "compliance"] < 1.0       # mostly in time, not a constant 100%
        assert 0.85 <= c.loc["result", "compliance"] < 1.0
        kinds = [k for (k,) in rc.execute("SELECT DISTINCT kind FROM ledger_events")]
        assert {"register", "decide", "suggest"} <= set(kinds)
        assert rc.execute("SELECT count(*) FROM ledger_clues WHERE origin = 'app'").fetchone()[0] == r.clues
        # Running it again adds nothing (a demo rebuilt over the same records store).
        again = _populate(p, d / "out2")
        assert (again.clues, rc.execute("SELECT count(*) FROM letters").fetchone()[0]) == (0, 200)
    # The same seed writes the same export.
    assert (d / "out" / ledger_demo.LETTERS_FILE).read_bytes() == (d / "out2" / ledger_demo.LETTERS_FILE).read_bytes()
    # The funnel counts the app's clues.
    con = store.connect(p, read_only=True)
    try:
        plain = funnel.stages(scope.scoped_cursor(con, scope.CITY), Filters())["n"].tolist()
        cur = overlay.ledger_cursor(con, db_path=p)
        both = funnel.stages(cur, Filters())["n"].tolist()
        assert both[0] == plain[0] and both[1] == plain[1] + r.clues
    finally:
        con.close()


def test_same_seed_same_clues(demo, tmp_path):
    _d, p = demo
    copy = shutil.copy(p, tmp_path / "copy.duckdb")
    _populate(copy, tmp_path / "o")
    with records.session(p) as a, records.session(copy) as b:
        q = "SELECT clue_no, district, topic, summary, created_at FROM ledger_clues ORDER BY serial"
        assert [tuple(r) for r in a.execute(q)] == [tuple(r) for r in b.execute(q)]
        q = "SELECT clue_no, kind, stage_at, details FROM ledger_events WHERE kind <> 'register' ORDER BY event_id"
        assert [tuple(r) for r in a.execute(q)] == [tuple(r) for r in b.execute(q)]
