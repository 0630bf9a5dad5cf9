"""Writing the store while it is read: copy-on-write generations (data/generations.py, issue 22 item 1).

Readers hold the store read-only (the dashboard, other processes); a writer works
on a copy and swaps it in. Readers keep the old data until they reopen; a failed
or killed writer leaves the store as it was; writers take turns.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from data import generations, store
from tests.conftest import ROOT

PY = sys.executable
# A row the derived tables do not depend on (a ticket would make the store outdated until they are refreshed).
MARK_SQL = "INSERT INTO meta (key, value) VALUES ($k, 'written')"


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _mark(con, key: str = "GEN-1") -> None:
    con.execute(MARK_SQL, {"k": key})


def _marks(con) -> list[str]:
    return con.execute("SELECT list(key ORDER BY key) FROM meta WHERE value = 'written'").fetchone()[0]


def _count(con) -> int:
    return con.execute("SELECT count(*) FROM tickets").fetchone()[0]


@pytest.fixture()
def db(tiny_db_path, tmp_path) -> Path:
    p = tmp_path / "store.duckdb"
    shutil.copy(tiny_db_path, p)
    return p


def test_readers_see_the_old_data_until_the_write_commits(db):
    reader, key = store.open_reader(db)
    assert key == store.generation_key(db) and _count(reader) == 20 and _marks(reader) is None
    with generations.write(db) as gen:
        assert gen.copy_method in ("copy", "reflink") and gen.copied_bytes == db.stat().st_size
        _mark(gen.con)
        assert _marks(gen.con) == ["GEN-1"]
        # before the commit: the store on disk, a new reader and the open one all have the old data
        fresh, key_during = store.open_reader(db)
        assert key_during == key and _marks(fresh) is None and _marks(reader) is None
        fresh.close()
    assert store.generation_key(db) != key
    assert _marks(reader) is None and _marks(reader.cursor()) is None   # the open reader keeps its generation
    new, _ = store.open_reader(db)
    assert _marks(new) == ["GEN-1"] and _marks(new.cursor()) == ["GEN-1"]   # cursors of a new handle: the new one
    assert _count(new.cursor()) == 20
    assert new.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "Asia/Shanghai"
    assert new.cursor().execute("SELECT current_setting('TimeZone')").fetchone()[0] == "Asia/Shanghai"
    reader.close()
    new.close()
    assert generations.copy_paths(db) == []


def test_a_same_process_reader_of_the_old_file_does_not_hide_the_new_one(db):
    # duckdb.connect(path) shares one instance per path and process: it would answer with the old file.
    old = duckdb.connect(str(db), read_only=True)
    with generations.write(db) as gen:
        _mark(gen.con)
    again = duckdb.connect(str(db), read_only=True)
    assert _marks(again) is None        # DuckDB's instance cache: the reason open_reader attaches instead
    new, _ = store.open_reader(db)
    assert _marks(new) == ["GEN-1"]
    for c in (old, again, new):
        c.close()


def test_a_failed_write_leaves_the_store_untouched_and_no_copy(db):
    before = _digest(db)
    with pytest.raises(RuntimeError, match="boom"), generations.write(db) as gen:
        _mark(gen.con)
        raise RuntimeError("boom")
    assert _digest(db) == before
    assert generations.copy_paths(db) == []


def test_a_killed_writer_leaves_the_store_untouched_and_the_next_one_removes_its_copy(db):
    before = _digest(db)
    code = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from data import generations\n"
        f"with generations.write({str(db)!r}) as gen:\n"
        "    gen.con.execute(\"INSERT INTO meta VALUES ('K', 'written')\")\n"
        "    os._exit(9)\n"   # killed mid-write: no cleanup runs
    )
    assert subprocess.run([PY, "-c", code], cwd=ROOT, timeout=120).returncode == 9
    left = generations.copy_paths(db)
    assert left and all(p.name.startswith("store.duckdb.import-") for p in left)
    assert _digest(db) == before
    with generations.write(db) as gen:
        assert _count(gen.con) == 20 and _marks(gen.con) is None
        assert [p for p in left if p.exists()] == []   # removed under the lock, before this copy
    assert generations.copy_paths(db) == []


def test_a_second_writer_waits_with_a_message_and_keeps_the_first_ones_rows(db):
    messages: list[str] = []
    first_in = threading.Event()
    release = threading.Event()

    def first():
        with generations.write(db, purpose="导入 a.csv") as gen:
            _mark(gen.con)
            first_in.set()
            release.wait(30)

    t = threading.Thread(target=first)
    t.start()
    assert first_in.wait(30)

    def second():
        with generations.write(db, on_wait=messages.append) as gen:
            _mark(gen.con, "GEN-2")

    t2 = threading.Thread(target=second)
    t2.start()
    deadline = time.monotonic() + 30
    while not messages and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(messages) == 1 and "导入 a.csv" in messages[0] and "等待" in messages[0]
    release.set()
    t.join(60)
    t2.join(60)
    con = duckdb.connect(str(db), read_only=True)
    assert _marks(con) == ["GEN-1", "GEN-2"]
    con.close()


def test_a_wal_left_by_a_crashed_writer_is_folded_into_the_new_generation(db):
    code = (
        "import duckdb, os\n"
        f"con = duckdb.connect({str(db)!r})\n"
        "con.execute(\"SET checkpoint_threshold = '1TB'\")\n"
        "con.execute(\"INSERT INTO meta VALUES ('WAL-1', 'written')\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([PY, "-c", code], check=True, timeout=60)
    wal = Path(str(db) + ".wal")
    assert wal.exists()
    with generations.write(db) as gen:
        assert _marks(gen.con) == ["WAL-1"]
        _mark(gen.con)
    assert not wal.exists()
    new, _ = store.open_reader(db)
    assert _marks(new) == ["GEN-1", "WAL-1"]
    new.close()


def test_only_the_store_and_its_wal_are_replaced(db):
    # The app's own records (accounts, audit, ledger) live in files beside the store: a swap leaves them alone.
    beside = {db.with_name("store.duckdb.records.sqlite"): b"records", db.with_name("other.duckdb"): b"x",
              db.with_name("store.duckdb.import.tmp"): b"not a copy"}
    for p, data in beside.items():
        p.write_bytes(data)
    with generations.write(db) as gen:
        _mark(gen.con)
    for p, data in beside.items():
        assert p.read_bytes() == data
    names = sorted(p.name for p in db.parent.iterdir())
    assert names == sorted(["store.duckdb", "store.duckdb.import.lock", *(p.name for p in beside)])


def test_too_little_disk_for_the_copy_is_refused_before_anything_is_written(db, monkeypatch):
    before = _digest(db)
    monkeypatch.setattr(generations.shutil, "disk_usage", lambda _p: shutil._ntuple_diskusage(10**9, 10**9, 1000))
    with pytest.raises(store.StoreError, match="磁盘空间不足"), generations.write(db):
        pass
    assert _digest(db) == before and generations.copy_paths(db) == []


def test_the_command_line_import_runs_while_another_process_reads_the_store(db, tmp_path):
    """Issue 22 item 1: `manage.py ingest` failed whenever the dashboard process was up, even idle."""
    csv = tmp_path / "new.csv"
    csv.write_text("工单编号,受理时间,所属区,诉求内容\nCLI-1,2024-06-02 10:00:00,西城区,路灯不亮\n", encoding="utf-8")
    ready = tmp_path / "ready"
    go = tmp_path / "go"
    reader_code = (
        "import duckdb, time, pathlib, sys\n"
        f"con = duckdb.connect({str(db)!r}, read_only=True)\n"
        "print(con.execute('SELECT count(*) FROM tickets').fetchone()[0], flush=True)\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.05)\n"
        "print(con.execute('SELECT count(*) FROM tickets').fetchone()[0], flush=True)\n"
    )
    reader = subprocess.Popen([PY, "-c", reader_code], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert time.monotonic() < deadline and reader.poll() is None
            time.sleep(0.05)
        res = subprocess.run([PY, "manage.py", "ingest", str(csv), "--db", str(db), "--json"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        assert '"inserted": 1' in res.stdout
    finally:
        go.touch()
        out, _ = reader.communicate(timeout=60)
    assert out.split() == ["20", "20"]     # the reader kept its generation throughout
    con = duckdb.connect(str(db), read_only=True)
    assert _count(con) == 21
    con.close()
    assert generations.copy_paths(db) == []


def test_demo_force_replaces_the_store_in_one_step(tmp_path):
    # A reader of the old store keeps it while the new one is built; the store is never half-built on disk.
    from data.synth.build import build_database

    p = tmp_path / "demo.duckdb"
    store.connect(p).close()
    reader, key = store.open_reader(p)
    build_database(p, tickets=1000, years=1, seed=3, parallel=False, memory_limit=None)
    assert _count(reader) == 0
    new, new_key = store.open_reader(p)
    assert new_key != key and _count(new) > 0
    reader.close()
    new.close()
    assert sorted(os.listdir(tmp_path)) == ["demo.duckdb", "demo.duckdb.import.lock"]


def test_a_process_writing_the_store_by_itself_is_not_copied_mid_write(db):
    # Not through this module (an older version, a DuckDB shell): its file may be half-written; refuse.
    holder = subprocess.Popen([PY, "-c", f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('ok', flush=True); "
                               "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(store.StoreBusy, match="以写入方式直接打开"), generations.write(db):
            pass
    finally:
        holder.kill()
        holder.wait()
    assert generations.copy_paths(db) == []
    # this process's own readers of the store keep their locks (the copy's lock is per open file)
    reader, _ = store.open_reader(db)
    with generations.write(db) as gen:
        _mark(gen.con)
    assert _marks(reader) is None
    reader.close()
