"""The store: schema, geography, read-only opening and clear errors."""

from __future__ import annotations

import pytest

from data import store


def test_new_store_has_schema_and_geography(empty_db_path):
    con = store.connect(empty_db_path, read_only=True)
    assert con.execute("SELECT count(*) FROM streets").fetchone()[0] == 343
    assert con.execute("SELECT count(*), sum(population) FROM districts").fetchone() == (16, 21_893_095)
    assert store.table_counts(con)["tickets"] == 0
    con.close()


def test_missing_file_gives_clear_message(tmp_path):
    with pytest.raises(store.StoreError, match="数据库文件不存在"):
        store.connect(tmp_path / "nope.duckdb", read_only=True)


def test_reopening_is_idempotent(empty_db_path):
    store.connect(empty_db_path).close()
    con = store.connect(empty_db_path)
    assert con.execute("SELECT count(*) FROM streets").fetchone()[0] == 343
    con.close()


def test_tiny_fixture_loads(tiny_con):
    assert tiny_con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 20
    assert tiny_con.execute("SELECT sum(n) FROM ticket_daily").fetchone()[0] == 20
    assert tiny_con.execute("SELECT sum(n_located) FROM ticket_daily").fetchone()[0] == 19


def test_a_new_connection_has_no_pending_result(tiny_db_path, tmp_path):
    """DuckDB 2.0 refuses con.sql()/register() while an execute() result is unread: connect() leaves none."""
    import pyarrow as pa

    from data import store

    for con in (store.connect(tiny_db_path, read_only=True), store.connect(tmp_path / "new.duckdb")):
        try:
            assert con.sql("SELECT 1").fetchall() == [(1,)]
            con.register("_probe", pa.table({"x": [1]}))
        finally:
            con.close()


def test_opening_a_store_loads_no_geometry_or_text_libraries(tiny_db_path):
    # Opening a store runs the upgrade check (derived.outdated) before the first page is drawn: it must not pull
    # in geopandas/shapely (about 1 s of a cold start) or jieba.
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\nfrom data import store\n"
            f"con = store.connect({str(tiny_db_path)!r}, read_only=True)\n"
            "from data import derived\nassert derived.outdated(con) == []\n"
            "heavy = [m for m in ('geopandas', 'shapely', 'jieba') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


def test_read_only_never_writes_an_outdated_store(tiny_db_path, tmp_path):
    """An outdated store opened read-only raises a clear error naming `init` and leaves the file as it was;
    a read-write open (what `python manage.py init --db PATH` does) then upgrades it."""
    import hashlib
    import shutil

    from data import derived

    p = shutil.copy(tiny_db_path, tmp_path / "old.duckdb")
    con = store.connect(p)
    con.execute("DROP TABLE ticket_daily_core")   # as a store written before the cube existed
    con.close()
    digest = hashlib.sha256(open(p, "rb").read()).hexdigest()
    with pytest.raises(store.StoreError, match=f"需要升级.*ticket_daily_core.*python manage.py init --db {p}"):
        store.connect(p, read_only=True)
    assert hashlib.sha256(open(p, "rb").read()).hexdigest() == digest   # not reopened to write
    store.connect(p).close()
    con = store.connect(p, read_only=True)
    try:
        assert derived.outdated(con) == []
    finally:
        con.close()
