"""Same seed, same database; small chunks stay small; the default end date; the synth command."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from data.synth import timeline
from data.synth.build import build_database, content_hash, generate

END = dt.date(2025, 6, 30)


def _build(path, seed, parallel):
    from data import store

    build_database(path, tickets=3000, years=2, seed=seed, end=END, fmt="csv", chunk_rows=1000, parallel=parallel)
    con = store.connect(path, read_only=True)
    try:
        return content_hash(con)
    finally:
        con.close()


def test_same_seed_same_database_other_seed_differs(tmp_path):
    """Same seed: equal content hash, whether chunks are generated in a worker process or not."""
    a = _build(tmp_path / "a.duckdb", 11, parallel=True)
    b = _build(tmp_path / "b.duckdb", 11, parallel=False)
    c = _build(tmp_path / "c.duckdb", 12, parallel=True)
    assert a == b
    assert a != c


def test_small_chunks_bound_each_file(tmp_path):
    res = generate(tmp_path, tickets=3000, years=2, seed=5, end=END, fmt="parquet", chunk_rows=400)
    sizes = [len(pd.read_parquet(p)) for p in res.ticket_files]
    assert len(res.ticket_files) >= 8
    assert max(sizes) <= 400 and sum(sizes) == 3000
    ids = pd.concat([pd.read_parquet(p, columns=["工单编号"]) for p in res.ticket_files])["工单编号"]
    assert ids.is_unique
    days = pd.concat([pd.read_parquet(p, columns=["受理时间"]) for p in res.ticket_files])["受理时间"]
    assert days.is_monotonic_increasing   # chunks are consecutive day ranges
    assert days.min() >= "2023-07-01" and days.max() < "2025-07-01"


def test_default_end_is_last_day_of_last_full_month():
    assert timeline.default_end(dt.date(2026, 11, 22)) == dt.date(2026, 10, 31)
    assert timeline.default_end(dt.date(2024, 3, 1)) == dt.date(2024, 2, 29)
    assert timeline.default_end(dt.date(2026, 1, 15)) == dt.date(2025, 12, 31)


def test_synth_command_writes_files(tmp_path, capsys):
    import manage

    rc = manage.main(["synth", "--tickets", "1500", "--years", "1", "--seed", "3", "--end", "2025-12-31",
                      "--out", str(tmp_path)])
    assert rc == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["cases.xlsx", "clues.xlsx", "demo_truth.csv", "rectifications.xlsx", "tickets_001.xlsx"]
    t = pd.read_excel(tmp_path / "tickets_001.xlsx")
    assert len(t) == 1500 and t["受理时间"].min() >= "2025-01-01"


def test_demo_command_refuses_to_overwrite(tmp_path, capsys):
    import manage

    db = tmp_path / "x.duckdb"
    db.write_bytes(b"")
    assert manage.main(["demo", "--tickets", "1000", "--db", str(db)]) == 2
    assert "--force" in capsys.readouterr().err


def test_demo_command_builds_a_store(tmp_path, capsys):
    import manage
    from data import store

    db = tmp_path / "d.duckdb"
    rc = manage.main(["demo", "--tickets", "1500", "--years", "1", "--seed", "2", "--end", "2025-12-31",
                      "--format", "csv", "--db", str(db)])
    assert rc == 0
    assert "demo ready" in capsys.readouterr().out
    con = store.connect(db, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 1500
        assert con.execute("SELECT min(received_at) >= DATE '2025-01-01' AND max(received_at) < DATE '2026-01-01' "
                           "FROM tickets").fetchone()[0]
        meta = dict(con.execute("SELECT key, value FROM meta WHERE key LIKE 'demo_%'").fetchall())
        assert meta == {"demo_seed": "2", "demo_tickets": "1500", "demo_years": "1", "demo_end": "2025-12-31"}
        assert con.execute("SELECT count(*) FROM demo_truth WHERE kind = 'hotspot'").fetchone()[0] >= 24
    finally:
        con.close()


def test_memory_limit_is_validated(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="memory limit"):
        build_database(tmp_path / "m.duckdb", tickets=1000, end=END, memory_limit="2GB'; DROP TABLE tickets; --")
