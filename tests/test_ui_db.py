"""The dashboard's connections (ui/db.py) across a write: sessions move to the new generation, nothing breaks.

Issue 22 item 1: an import from the 导入 page broke every other open session
(the page closed their connections; reopening with another configuration
failed). Now an import writes a copy and swaps it in; each session keeps its
cursor until its next run, then reads the new generation; the old handle
closes once no cursor of it is left.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data import derived, generations, scope, store
from data.ingest import ingest_files
from tests.conftest import ROOT, app_test, sign_in
from ui import db

APP = str(ROOT / "app.py")
QUERY = {"from": "2025-03-01", "to": "2025-03-31"}


def _csv(tmp_path: Path) -> Path:
    p = tmp_path / "new.csv"
    p.write_text("工单编号,受理时间,所属区,诉求内容\nNEW-1,2025-03-20 10:00:00,东城区,路口井盖松动\n", encoding="utf-8")
    return p


def _session() -> AppTest:
    at = app_test(APP)
    for k, v in QUERY.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("views/tickets.py").run()
    return at


def _label(at: AppTest) -> str:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return " ".join(m.value for m in at.markdown if "共" in m.value)


def _deleted_store_files(p: Path) -> list[str]:
    """Open file descriptors of this process on a store file that was replaced (an old generation)."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(p)) and target.endswith("(deleted)"):
            out.append(target)
    return out


def test_two_sessions_read_the_new_generation_after_an_import_and_the_old_one_closes(app_db, tmp_path):
    a, b = _session(), _session()
    assert "共 12 条" in _label(a) and "共 12 条" in _label(b)
    (old_key,) = [key for path, key, _n in db.open_generations() if path == str(app_db)]
    with generations.write(app_db, purpose="测试导入") as gen:
        (rep,) = ingest_files(gen.con, [_csv(tmp_path)])
        assert rep.inserted == 1
        b.run()   # a session's run during the import reads the old generation
        assert "共 12 条" in _label(b)
    a.run()
    b.run()
    assert "共 13 条" in _label(a) and "共 13 条" in _label(b)
    # The old cursors go with the previous runs' page namespaces (garbage once each script thread let go of
    # its frame): then the old handle closes, and with it the replaced file.
    deadline = time.monotonic() + 20
    while True:
        gc.collect()
        gens = [key for path, key, _n in db.open_generations() if path == str(app_db)]
        if len(gens) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(gens) == 1 and gens[0] != old_key
    assert _deleted_store_files(app_db) == []


def test_the_server_config_skips_the_forced_collection_after_every_run():
    """Streamlit's full garbage collection after every script run cost 0.1-0.15 s of GIL per run under load
    (docs/performance.md, "Many users at once"); the app's config switches it off."""
    import tomllib

    conf = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert conf["runner"]["postScriptGC"] is False


def test_without_the_forced_collection_the_old_generation_closes_once_the_sessions_moved(app_db, tmp_path,
                                                                                         monkeypatch):
    """With Streamlit's collection after every run off (as the server runs), nothing in this test collects
    garbage: `db.release_retired()` (from `cursor()` and the end of app.py) closes the replaced generation once
    both sessions left it."""
    from streamlit import config

    monkeypatch.setattr(db, "COLLECT_EVERY_S", 0.0)   # the two sessions move within the interval here
    before = config.get_option("runner.postScriptGC")
    config.set_option("runner.postScriptGC", False)
    try:
        a, b = _session(), _session()
        (old_key,) = [key for path, key, _n in db.open_generations() if path == str(app_db)]
        with generations.write(app_db, purpose="测试导入") as gen:
            ingest_files(gen.con, [_csv(tmp_path)])
        a.run()
        assert old_key in [key for path, key, _n in db.open_generations() if path == str(app_db)]  # b reads it
        b.run()
        assert "共 13 条" in _label(a) and "共 13 条" in _label(b)
        gens = [key for path, key, _n in db.open_generations() if path == str(app_db)]
        assert len(gens) == 1 and gens[0] != old_key
        assert _deleted_store_files(app_db) == []
        assert not db.release_retired()   # nothing moved since: no further collection
    finally:
        config.set_option("runner.postScriptGC", before)


def test_collections_for_replaced_generations_are_spaced_and_none_is_lost(monkeypatch):
    """Every session moving off a replaced generation within seconds gets one collection for all, not one
    each; a move inside the interval is kept, so the first run after it collects."""
    now = [1000.0]
    monkeypatch.setattr(db, "_clock", lambda: now[0])
    monkeypatch.setattr(db, "_last_collect", [None])
    monkeypatch.setattr(db, "_retired", [object()])   # some replaced generation still open
    db._moved.clear()
    assert not db.release_retired()          # nobody moved
    db._moved.set()
    assert db.release_retired()              # the first move collects
    db._moved.set()
    now[0] += 1.0
    assert not db.release_retired()          # the next one a second later waits ...
    now[0] += db.COLLECT_EVERY_S
    assert db.release_retired()              # ... and is not lost: a later run collects
    assert not db.release_retired()          # nothing moved since
    monkeypatch.setattr(db, "_retired", [])
    db._moved.set()
    now[0] += 60
    assert not db.release_retired() and not db._moved.is_set()   # nothing open: no collection


def test_a_cursor_in_use_is_not_closed_when_the_store_changes(app_db, tmp_path):
    """Within one run a page may still hold its cursor when a newer generation appears: it keeps working."""

    def script():
        import os

        import streamlit as st

        from data import generations
        from data.ingest import ingest_files
        from ui import db

        cur = db.cursor()
        before = db.db_version()
        with generations.write(os.environ["HOTLINE_DB"]) as gen:
            ingest_files(gen.con, [os.environ["TEST_CSV"]])
        new = db.cursor()
        st.write(f"old={cur.execute('SELECT count(*) FROM tickets').fetchone()[0]}")
        st.write(f"new={new.execute('SELECT count(*) FROM tickets').fetchone()[0]}")
        st.write(f"moved={db.db_version() != before}")

    os.environ["TEST_CSV"] = str(_csv(tmp_path))
    try:
        at = AppTest.from_function(script, default_timeout=120)
        sign_in(at)
        at.run()
    finally:
        os.environ.pop("TEST_CSV")
    assert not at.exception, [e.value for e in at.exception]
    assert [m.value for m in at.markdown] == ["old=20", "new=21", "moved=True"]


def test_borrowed_cursors_close_and_a_missing_store_says_so(app_db, tmp_path, monkeypatch):
    with db.borrow(scope.CITY) as (cur, key):
        assert cur.execute("SELECT count(*) FROM tickets").fetchone()[0] == 20
        (n_open,) = [n for path, k, n in db.open_generations() if path == str(app_db) and k == key]
        assert n_open >= 1
    del cur
    gc.collect()
    (n_after,) = [n for path, k, n in db.open_generations() if path == str(app_db) and k == key]
    assert n_after == n_open - 1
    monkeypatch.setenv("HOTLINE_DB", str(tmp_path / "none.duckdb"))
    with pytest.raises(store.StoreError, match="数据库文件不存在"), db.borrow(scope.CITY):
        pass


def test_a_generation_the_dashboard_cannot_read_leaves_the_sessions_on_the_last_good_one(app_db, tmp_path):
    """An import with --no-refresh commits a store whose derived tables are stale: the open sessions keep the
    previous generation (no error box), until a refresh makes the new one readable."""
    a = _session()
    assert "共 12 条" in _label(a)
    with generations.write(app_db) as gen:
        (rep,) = ingest_files(gen.con, [_csv(tmp_path)], refresh=False)
        assert rep.inserted == 1
    with pytest.raises(store.StoreError, match="需要升级"):
        store.open_reader(app_db)            # the new file itself asks for an upgrade
    a.run()
    assert "共 12 条" in _label(a)           # still the old data, no error
    with generations.write(app_db) as gen:   # the refresh the import skipped
        derived.refresh(gen.con)
    a.run()
    assert "共 13 条" in _label(a)


# A writer that opens a store file for writing by itself (DuckDB's exclusive lock, not data/generations.py),
# puts it in the store's place and holds it until told to let go.
_HOLD_FOR_WRITING = """
import os, sys
import duckdb
con = duckdb.connect(sys.argv[1])
os.replace(sys.argv[1], sys.argv[2])
print("holding", flush=True)
sys.stdin.readline()
con.close()
"""


def test_a_newer_file_a_writer_holds_locked_leaves_the_sessions_on_the_last_good_one(app_db, tmp_path):
    """The store replaced by a file another process holds open for writing: the sessions keep the previous
    generation (no error box) and `newer_unreadable` says why (the wall screen shows it quietly); when the
    writer lets go, the same file is read at the next run (a lock passes: it is not remembered as unreadable)."""
    import shutil
    import subprocess
    import sys

    a = _session()
    assert "共 12 条" in _label(a)
    nxt = app_db.with_name("next.duckdb")
    shutil.copy(app_db, nxt)
    with generations.write(nxt) as gen:
        (rep,) = ingest_files(gen.con, [_csv(tmp_path)])
        assert rep.inserted == 1
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_FOR_WRITING, str(nxt), str(app_db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(store.StoreBusy, match="正被另一个进程以写入方式打开"):
            store.open_reader(app_db)
        a.run()
        assert "共 12 条" in _label(a)                      # the last good generation, no error
        assert "正被另一个进程以写入方式打开" in (db.newer_unreadable() or "")
        a.run()
        assert "共 12 条" in _label(a)
    finally:
        holder.communicate("let go\n", timeout=60)
    assert holder.returncode == 0
    a.run()
    assert "共 13 条" in _label(a) and db.newer_unreadable() is None
