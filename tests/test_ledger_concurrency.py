"""Many hands at once: 20 threads register and advance clues while an import of tickets runs.

Every thread keeps writing until the import has finished (so the writes overlap it), each write in its own
connection as a page or a command would. Afterwards every write is there, clue numbers are unique and
consecutive, the audit chain is intact, the import went in whole, and no thread saw an error (no "database is
locked").
"""

from __future__ import annotations

import csv
import shutil
import threading
import time
from datetime import datetime, timedelta

from data import audit, generations, ledger, records, store
from data.ingest import ingest_files
from data.people import Principal
from data.scope import Scope

THREADS = 20
MIN_CLUES = 3      # per thread, at least (more while the import still runs)


def _ticket_file(path, n: int) -> None:
    t0 = datetime(2025, 5, 1, 8, 0)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["工单编号", "受理时间", "诉求类型", "一级分类", "二级分类", "三级分类", "诉求内容", "区", "街道", "详细地址",
                    "经度", "纬度", "办理状态"])
        for i in range(n):
            w.writerow([f"C{i:06d}", (t0 + timedelta(minutes=7 * i)).strftime("%Y-%m-%d %H:%M:%S"), "投诉", "城乡建设",
                        "市政设施", "井盖破损", f"第{i}号路口井盖破损", "朝阳区", "八里庄街道", f"朝阳路{i}号",
                        116.49 + (i % 50) * 1e-4, 39.91 + (i % 40) * 1e-4, "已办结"])


def test_twenty_writers_during_an_import(tiny_db_path, tmp_path, monkeypatch):
    db = tmp_path / "busy.duckdb"
    shutil.copy(tiny_db_path, db)
    monkeypatch.setenv("HOTLINE_DB", str(db))
    feed = tmp_path / "tickets.csv"
    _ticket_file(feed, 30_000)
    with records.session() as con:     # the records store exists before anyone writes
        assert ledger.version(con) == 0

    importing = threading.Event()
    imported = threading.Event()
    errors: list[BaseException] = []
    written: dict[int, list[str]] = {}
    during = [0]

    def do_import():
        try:
            with generations.write(db, purpose="并发测试导入") as gen:
                importing.set()
                (rep,) = ingest_files(gen.con, [feed])
                assert rep.ok and rep.inserted == 30_000, rep.message
        except BaseException as exc:   # reported below
            errors.append(exc)
        finally:
            importing.set()
            imported.set()

    def writer(k: int):
        me = Principal(f"p{k:02d}", "prosecutor", (), f"检察官{k}")
        mine = written.setdefault(k, [])
        try:
            importing.wait(60)
            while len(mine) < MIN_CLUES or not imported.is_set():
                with records.session() as con:
                    c = ledger.register_clue(con, me, source="rule", source_ref={"rule_id": k}, district="朝阳区",
                                             function="公益诉讼", summary=f"线程{k}的第{len(mine) + 1}条线索",
                                             ticket_ids=["T03", "T10"])
                with records.session() as con:
                    ledger.record_stage(con, me, c.clue_no, "decide", details={"outcome": "file"})
                    ledger.record_stage(con, me, c.clue_no, "suggest",
                                        details={"kind": "pre_litigation", "urgent": k % 2 == 0, "addressee": "区城管委"})
                mine.append(c.clue_no)
                if not imported.is_set():
                    during[0] += 1
                if len(mine) > 200:
                    break
        except BaseException as exc:   # reported below
            errors.append(exc)

    threads = [threading.Thread(target=do_import)] + [threading.Thread(target=writer, args=(k,)) for k in range(THREADS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not any(t.is_alive() for t in threads)
    assert errors == [], errors
    assert during[0] >= THREADS, "the writes did not overlap the import"

    nos = [n for k in sorted(written) for n in written[k]]
    with records.session() as con:
        every = ledger.all_clues(con, scope=Scope())
        assert sorted(c.clue_no for c in every) == sorted(nos)
        seq = sorted(int(n.rsplit("-", 1)[1]) for n in nos)
        assert seq == list(range(1, len(nos) + 1))          # unique and consecutive
        for c in every:
            assert [e.kind for e in c.history] == ["register", "decide", "suggest"], c.clue_no
            assert c.stage_label == "检察建议" and c.ticket_ids == ("T03", "T10")
        changes = audit.search(con, action="ledger_change", limit=100_000)
        assert len(changes) == 3 * len(nos)
        assert audit.verify(con).ok
    con = store.connect(db, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM tickets WHERE ticket_id LIKE 'C%'").fetchone()[0] == 30_000
    finally:
        con.close()
    print(f"{len(nos)} clues ({3 * len(nos)} writes, {during[0]} during the import) in {time.perf_counter() - t0:.1f} s")
