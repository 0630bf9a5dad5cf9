"""The load benchmark's cheap clients (bench/load.py) against a live server: they must keep speaking
Streamlit's protocol after an upgrade. Timings are for docs/performance.md, never asserted here."""

from __future__ import annotations

from bench import load


def test_two_sessions_run_every_page_without_errors(tiny_db_path, tmp_path):
    import shutil

    db = tmp_path / "load.duckdb"
    shutil.copy(tiny_db_path, db)
    res = load.serve_and_run(db, users=2, rounds=1, pages=["overview", "tickets", "map"],
                             query="from=2025-03-01&to=2025-03-31")
    assert res.errors() == 0
    assert sorted((r.page, r.user) for r in res.runs) == sorted(
        (p, u) for p in ("overview", "tickets", "map") for u in (0, 1))
    assert {row["page"] for row in res.table()} == {"overview", "tickets", "map"}
    assert all(row["p50_ms"] > 0 for row in res.table())
