"""An import reaches the distributed engine by itself (data/engine/sync.py): with HOTLINE_ENGINE=clickhouse every
write of the embedded store ships what it changed, so the dashboard on the engine shows a new import at once."""

from __future__ import annotations

import shutil

import duckdb
import pytest

import manage
from data.engine import clickhouse, ship, sync

NEW = ("工单编号,受理时间,来电渠道,诉求类型,问题分类,诉求内容,所属区,街道,详细地址,经度,纬度,坐标系,办理状态,专项\n"
       "S01,2025-03-20 09:07,电话,投诉,城市管理,东城区建国门井盖又坏了,东城区,建国门街道,建国门内大街与朝阳门南小街路口,"
       "116.42065,39.9088,WGS84,已受理,井盖\n"
       "S02,2025-03-21 10:07,电话,投诉,城市管理,朝阳区河边有污水,朝阳区,望京街道,望京河边,116.4607,39.983,WGS84,已受理,污水\n")


@pytest.fixture()
def shipped(tiny_db_path, engine_dir, tmp_path, monkeypatch):
    db = shutil.copy(tiny_db_path, tmp_path / "store.duckdb")
    url = f"chdb:{engine_dir}?database=sync"
    engine = clickhouse.connect(url)
    ship.ship(db, engine)
    monkeypatch.setenv("HOTLINE_ENGINE", "clickhouse")
    monkeypatch.setenv("HOTLINE_ENGINE_URL", url)
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    return db, engine


def _count(con, sql="SELECT count(*) FROM tickets"):
    return con.execute(sql).fetchone()[0]


def test_an_import_is_shipped_by_its_months(shipped, tmp_path, capsys):
    db, engine = shipped
    march = "SELECT count(*) FROM tickets WHERE received_at >= '2025-03-01' AND received_at < '2025-04-01'"
    before, before_march = _count(engine), _count(engine, march)
    f = tmp_path / "new.csv"
    f.write_text(NEW, encoding="utf-8")
    assert manage.main(["ingest", str(f), "--db", str(db)]) == 0
    said = capsys.readouterr().out
    assert "已同步到分布式引擎：2025年3月" in said
    duck = duckdb.connect(str(db), read_only=True)
    try:
        assert _count(engine) == _count(duck) == before + 2
        assert _count(engine, march) == _count(duck, march) == before_march + 2
        # the month's summaries followed too: the dashboard's daily counts equal the store's
        daily = "SELECT sum(n) FROM ticket_daily WHERE day >= '2025-03-01' AND day < '2025-04-01'"
        assert _count(engine, daily) == _count(duck, daily)
    finally:
        duck.close()


def test_the_months_of_an_import(tiny_db_path):
    con = duckdb.connect(str(tiny_db_path), read_only=True)
    try:
        ids = tuple(int(r[0]) for r in con.execute("SELECT DISTINCT import_id FROM tickets WHERE import_id IS NOT NULL")
                    .fetchall())
        got = sync.months_of_imports(con, ids)
        want = con.execute("SELECT DISTINCT CAST(strftime(received_at, '%Y%m') AS INTEGER) AS m FROM tickets "
                           "WHERE import_id IS NOT NULL ORDER BY m").fetchall()
        assert got == tuple(r[0] for r in want)
        assert sync.months_of_imports(con, ()) == ()
    finally:
        con.close()


def test_an_unreachable_engine_keeps_the_import_and_says_so(tiny_db_path, tmp_path, monkeypatch, capsys):
    db = shutil.copy(tiny_db_path, tmp_path / "store.duckdb")
    monkeypatch.setenv("HOTLINE_ENGINE", "clickhouse")
    monkeypatch.setenv("HOTLINE_ENGINE_URL", "clickhouse://default@127.0.0.1:9/none")
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    f = tmp_path / "new.csv"
    f.write_text(NEW, encoding="utf-8")
    assert manage.main(["ingest", str(f), "--db", str(db)]) == 0
    out = capsys.readouterr()
    assert "未能同步到分布式引擎" in out.out and "manage.py engine ship" in out.out
    duck = duckdb.connect(str(db), read_only=True)
    try:
        assert _count(duck, "SELECT count(*) FROM tickets WHERE ticket_id IN ('S01', 'S02')") == 2
    finally:
        duck.close()


def test_a_chdb_directory_held_by_another_process_is_said_plainly(tiny_db_path, tiny_engine, tmp_path):
    """chdb belongs to the process that opened its directory (here this test process, as the dashboard's would):
    a write in another process (a command-line import) keeps its rows and says where to import instead."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    db = shutil.copy(tiny_db_path, tmp_path / "store.duckdb")
    env = {**os.environ, "HOTLINE_ENGINE": "clickhouse", "HOTLINE_ENGINE_URL": tiny_engine.target.describe(),
           "HOTLINE_RECORDS_DB": str(tmp_path / "records.sqlite")}
    code = "import sys; from data.engine import sync; print(sync.after_write(sys.argv[1], 0).describe())"
    done = subprocess.run([sys.executable, "-c", code, str(db)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert "正被另一个进程使用" in done.stdout and "“导入”页面" in done.stdout, done.stdout + done.stderr


def test_the_message_names_few_months_and_counts_many():
    assert sync.Synced(ran=True, months=(202503,), rows={"t": 1}).describe().startswith("已同步到分布式引擎：2025年3月，1 个表")
    many = sync.Synced(ran=True, months=(202401, 202402, 202403, 202404), rows={}).describe()
    assert "2024年1月 至 2024年4月 间的 4 个月" in many
    assert "全部数据" in sync.Synced(ran=True).describe()
