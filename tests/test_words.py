"""Words computed at import (data/words.py): segmentation rules, storage, incremental refresh."""

from __future__ import annotations

import shutil
import time

import pytest

from data import segment, store, word_tables, words


# --------------------------------------------------------------------------- segmentation
@pytest.mark.parametrize("text, expected", [
    ("建国门路口井盖塌陷", ["建国门", "路口", "井盖", "塌陷", "建国门 路口", "路口 井盖", "井盖 塌陷"]),
    ("望京河又有人偷排污水", ["望京", "偷排", "污水", "偷排 污水"]),
    ("小区消防通道被私家车堵塞", ["消防通道", "私家车", "堵塞", "私家车 堵塞"]),
    ("八里庄街道有个井盖坏了", ["八里庄街道", "井盖"]),
])
def test_words_of_exact(text, expected):
    assert segment.words_of(text) == expected


@pytest.mark.parametrize("word", ["井盖", "消防通道", "欠薪", "拖欠工资", "农民工", "点位", "偷排", "三无产品",
                                  "电话卡", "银行卡", "预付卡", "校园欺凌", "养老院", "喷淋", "灭火器",
                                  "电动自行车", "红绿灯"])
def test_domain_words_stay_whole(word):
    assert word in segment.words_of(f"有人反映{word}的问题，希望相关部门尽快处理")


def test_stopwords_numbers_and_single_characters_are_dropped():
    got = segment.words_of("您好，请问小区问题反映给相关部门处理了吗？谢谢。电话13812341234，3个月了，井盖")
    assert got == ["井盖"]
    for w in ("问题", "反映", "小区", "您好", "请问", "希望", "相关部门", "处理", "谢谢", "市民", "来电", "表示"):
        assert w in segment.stopwords()


def test_place_names_are_words():
    assert "八里庄" in segment.place_words() and "八里庄街道" in segment.place_words()
    assert "望京" in segment.words_of("望京西园门口垃圾没人清理")


def test_complainant_name_never_becomes_a_word():
    text = "我叫欧阳娜娜，小区门口井盖破损"
    assert "欧阳" in segment.words_of(text)       # without the name, it would be counted
    masked = segment.words_of(text, "欧阳娜娜")
    assert not any("欧阳" in w or "娜娜" in w for w in masked)
    assert "井盖" in masked


def test_empty_text():
    assert segment.words_of(None) == []
    assert segment.words_of("") == []
    assert segment.words_of("。。。 123") == []


# --------------------------------------------------------------------------- storage (tiny DB)
def _words(con, ticket_id):
    sql = "SELECT word FROM ticket_words WHERE ticket_id = $id ORDER BY word"
    return [r[0] for r in con.execute(sql, {"id": ticket_id}).fetchall()]


def test_tiny_ticket_words_exact(tiny_con):
    assert _words(tiny_con, "T05") == sorted(["望京", "偷排", "污水", "偷排 污水"])
    assert _words(tiny_con, "T15") == sorted(["望京", "污水", "直排", "污水 直排"])
    # T01's complainant 张三 and phone number are not words; 井盖 and 破损 are split from the compound.
    t01 = _words(tiny_con, "T01")
    assert "井盖" in t01 and "破损" in t01 and not any("张" in w or "1381" in w for w in t01)
    # T07: ID number dropped, wage words kept.
    assert {"拖欠", "农民工", "工资", "包工头", "工地"} <= set(_words(tiny_con, "T07"))
    (n_tickets,) = tiny_con.execute("SELECT count(DISTINCT ticket_id) FROM ticket_words").fetchone()
    assert n_tickets == 20


def test_ticket_words_are_distinct_per_ticket_and_dated(tiny_con):
    dup = tiny_con.execute("SELECT count(*) FROM (SELECT ticket_id, word FROM ticket_words GROUP BY ALL "
                           "HAVING count(*) > 1)").fetchone()[0]
    assert dup == 0
    bad_day = tiny_con.execute("SELECT count(*) FROM ticket_words w JOIN tickets t USING (ticket_id) "
                               "WHERE w.day <> CAST(t.received_at AS DATE)").fetchone()[0]
    assert bad_day == 0


def test_word_daily_matches_ticket_words(tiny_con):
    a = tiny_con.execute("SELECT sum(n) FROM word_daily").fetchone()[0]
    b = tiny_con.execute("SELECT count(*) FROM ticket_words").fetchone()[0]
    assert a == b
    # 井盖 in March 2025: T02 + T03 (T01 too), all 城乡建设; T02 in 东城区 on 3-04.
    rows = tiny_con.execute("SELECT day::VARCHAR, district, topic, category_l1, n FROM word_daily "
                            "WHERE word = '井盖' ORDER BY day").fetchall()
    assert rows == [
        ("2024-03-05", "东城区", "井盖", "城乡建设", 1),
        ("2025-02-10", "东城区", "井盖", "城乡建设", 1),
        ("2025-03-03", "东城区", "井盖", "城乡建设", 1),
        ("2025-03-04", "东城区", "井盖", "城乡建设", 1),
        ("2025-03-05", "朝阳区", "井盖", "城乡建设", 1),
    ]


def _snapshot(con):
    tw = con.execute("SELECT ticket_id, word, day FROM ticket_words ORDER BY ALL").fetchall()
    wd = con.execute("SELECT day, district, topic, category_l1, word, sum(n) FROM word_daily "
                     "GROUP BY ALL ORDER BY ALL").fetchall()
    monthly = [con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
               for t, _ in word_tables.WORD_SUMMARIES + word_tables.WORD_WEEKLY]
    return tw, wd, monthly


def test_incremental_refresh_equals_full_rebuild(tiny_db_path, tmp_path):
    p = tmp_path / "copy.duckdb"
    shutil.copy(tiny_db_path, p)
    con = store.connect(p)
    try:
        # T05 is rewritten and moved to another day; T21 is new.
        con.execute("UPDATE tickets SET content = '望京西路红绿灯坏了，电动自行车很多', "
                    "received_at = TIMESTAMP '2025-03-11 08:00:00' WHERE ticket_id = 'T05'")
        con.execute("INSERT INTO tickets (ticket_id, received_at, category_l1, content, district) VALUES "
                    "('T21', TIMESTAMP '2025-03-11 09:00:00', '城乡建设', '消防通道被堵塞', '朝阳区')")
        con.execute("CREATE TEMP TABLE new_ids AS SELECT * FROM (VALUES ('T05'), ('T21')) v(ticket_id)")
        stats = words.refresh(con, new_ticket_ids_table="new_ids")
        assert stats["tickets"] == 2
        assert _words(con, "T05") == sorted(["望京", "西路", "红绿灯", "电动自行车", "望京 西路", "西路 红绿灯"])
        assert "偷排" not in _words(con, "T05")
        assert "消防通道" in _words(con, "T21")
        # The old day of T05 (3-10) no longer counts 偷排.
        n = con.execute("SELECT count(*) FROM word_daily WHERE word = '偷排'").fetchone()[0]
        assert n == 0
        incremental = _snapshot(con)
        words.refresh(con)
        assert _snapshot(con) == incremental
    finally:
        con.close()


def test_incremental_refresh_inside_the_importers_transaction(tiny_db_path, tmp_path, monkeypatch):
    """The importer refreshes inside its transaction, where new rows get row ids near 2**55."""
    p = tmp_path / "copy.duckdb"
    shutil.copy(tiny_db_path, p)
    monkeypatch.setattr(words, "CHUNK_ROWS", 2)          # several chunks, across the row-id gap
    con = store.connect(p)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO tickets (ticket_id, received_at, category_l1, content, district) VALUES "
                    "('T21', TIMESTAMP '2025-03-11 09:00:00', '城乡建设', '消防通道被堵塞', '朝阳区'), "
                    "('T22', TIMESTAMP '2025-03-12 09:00:00', '城乡建设', '养老院灭火器过期', '朝阳区'), "
                    "('T23', TIMESTAMP '2025-03-13 09:00:00', '城乡建设', '路口红绿灯坏了', '朝阳区')")
        con.execute("UPDATE tickets SET content = '望京河道发臭' WHERE ticket_id = 'T05'")
        (big,) = con.execute("SELECT max(rowid) FROM tickets").fetchone()
        assert big > 2**50                                 # the gap this test is about
        con.execute("CREATE TEMP TABLE new_ids AS SELECT * FROM (VALUES ('T21'), ('T22'), ('T23'), ('T05')) v(ticket_id)")
        t0 = time.perf_counter()
        stats = words.refresh(con, new_ticket_ids_table="new_ids")
        assert time.perf_counter() - t0 < 30
        con.execute("COMMIT")
        assert stats["tickets"] == 4
        assert {"养老院", "灭火器"} <= set(_words(con, "T22")) and "红绿灯" in _words(con, "T23")
        incremental = _snapshot(con)
        words.refresh(con)
        assert _snapshot(con) == incremental
    finally:
        con.close()


def test_refresh_rejects_bad_table_name(tiny_db_path, tmp_path):
    p = tmp_path / "copy.duckdb"
    shutil.copy(tiny_db_path, p)
    con = store.connect(p)
    try:
        with pytest.raises(ValueError):
            words.refresh(con, new_ticket_ids_table="x; DROP TABLE tickets")
    finally:
        con.close()


def test_refresh_on_empty_store(empty_db_path):
    con = store.connect(empty_db_path)
    try:
        stats = words.refresh(con)
        assert stats["tickets"] == 0
        assert con.execute("SELECT count(*) FROM word_daily").fetchone()[0] == 0
    finally:
        con.close()


def test_worker_processes_give_the_same_words(tiny_db_path, tmp_path, monkeypatch):
    p = tmp_path / "copy.duckdb"
    shutil.copy(tiny_db_path, p)
    monkeypatch.setattr(words, "MIN_ROWS_FOR_WORKERS", 0)
    monkeypatch.setenv("HOTLINE_WORDS_WORKERS", "2")
    assert words.workers_for(20) == 2
    con = store.connect(p)
    try:
        before = _snapshot(con)
        stats = words.refresh(con)
        assert stats["tickets"] == 20
        assert _snapshot(con) == before
    finally:
        con.close()


def test_small_imports_use_one_process(monkeypatch):
    monkeypatch.setenv("HOTLINE_WORDS_WORKERS", "0")
    assert words.workers_for(1000) == 1
    assert words.workers_for(10_000_000) >= 1


def test_manage_words_command_recomputes(tiny_db_path, tmp_path, capsys):
    import argparse

    from cli import words as words_cmd

    p = tmp_path / "copy.duckdb"
    shutil.copy(tiny_db_path, p)
    con = store.connect(p)
    before = _snapshot(con)
    con.execute("DELETE FROM ticket_words")
    con.execute("DELETE FROM word_daily")
    con.close()
    assert words_cmd.run(argparse.Namespace(db=str(p), summaries=False, daily=False)) == 0
    assert "20 tickets" in capsys.readouterr().out
    con = store.connect(p, read_only=True)
    try:
        assert _snapshot(con) == before
    finally:
        con.close()
    # --summaries: only the monthly tables, from word_daily.
    con = store.connect(p)
    con.execute("DROP TABLE word_monthly_topic")
    con.execute("DELETE FROM word_monthly_all")
    con.close()
    assert words_cmd.run(argparse.Namespace(db=str(p), summaries=True, daily=False)) == 0
    assert "word_monthly_all 103 rows" in capsys.readouterr().out
    con = store.connect(p, read_only=True)
    try:
        assert _snapshot(con) == before
    finally:
        con.close()
    # --summaries --daily: word_daily recounted from ticket_words (a build that stopped after segmentation).
    con = store.connect(p)
    con.execute("DELETE FROM word_daily")
    con.close()
    assert words_cmd.run(argparse.Namespace(db=str(p), summaries=True, daily=True)) == 0
    con = store.connect(p, read_only=True)
    try:
        assert _snapshot(con) == before
    finally:
        con.close()


def test_monthly_summaries_are_word_daily_by_month(tiny_con):
    for grain, tables in word_tables.SUMMARY_GRAINS.items():
        for table, dims in tables:
            cols = "".join(f"{d}, " for d in dims)
            got = tiny_con.execute(f"SELECT {grain}, {cols}word, n FROM {table} ORDER BY ALL").fetchall()
            want = tiny_con.execute(f"SELECT date_trunc('{grain}', day)::DATE, {cols}word, sum(n) FROM word_daily "
                                    "GROUP BY ALL ORDER BY ALL").fetchall()
            assert got == want and len(got) > 0
    # Hand-checked: 井盖 is in T01, T02, T03 (March 2025), T13 (February 2025) and T16 (March 2024).
    rows = tiny_con.execute("SELECT month::VARCHAR, n FROM word_monthly_all WHERE word = '井盖' ORDER BY 1").fetchall()
    assert rows == [("2024-03-01", 1), ("2025-02-01", 1), ("2025-03-01", 3)]


def test_new_tickets_only_add_to_the_summaries(tiny_db_path, tmp_path):
    """An import of new tickets only (the common case) adds its counts without recounting ticket_words."""
    p = tmp_path / "copy.duckdb"
    shutil.copy(tiny_db_path, p)
    con = store.connect(p)
    try:
        con.execute("INSERT INTO tickets (ticket_id, received_at, category_l1, topic, content, district) VALUES "
                    "('T21', TIMESTAMP '2025-03-11 09:00:00', '城乡建设', '井盖', '路口井盖塌陷', '东城区'), "
                    "('T22', TIMESTAMP '2025-04-02 09:00:00', '城乡建设', NULL, '消防通道被堵塞', '朝阳区')")
        con.execute("CREATE TEMP TABLE new_ids AS SELECT * FROM (VALUES ('T21'), ('T22')) v(ticket_id)")
        stats = words.refresh(con, new_ticket_ids_table="new_ids")
        assert stats["tickets"] == 2
        n = con.execute("SELECT sum(n) FROM word_monthly_all WHERE word = '井盖' AND month = '2025-03-01'").fetchone()
        assert n == (4,)
        n = con.execute("SELECT sum(n) FROM word_monthly WHERE word = '消防通道' AND month = '2025-04-01' "
                        "AND district = '朝阳区'").fetchone()
        assert n == (1,)
        incremental = _snapshot(con)
        words.refresh(con)
        assert _snapshot(con) == incremental
    finally:
        con.close()


def test_store_without_monthly_summaries_gets_all_months_on_the_next_import(tiny_db_path, tmp_path):
    """A store written before the monthly tables existed: an incremental import fills every month, not only its own."""
    p = tmp_path / "copy.duckdb"
    shutil.copy(tiny_db_path, p)
    con = store.connect(p)
    try:
        for table, _ in word_tables.WORD_SUMMARIES:
            con.execute(f"DROP TABLE {table}")
        assert not word_tables.has_summaries(con)
        con.execute("DELETE FROM word_weekly_all")  # stale: must be rebuilt whole too
        con.execute("INSERT INTO tickets (ticket_id, received_at, category_l1, content, district) VALUES "
                    "('T21', TIMESTAMP '2025-04-02 09:00:00', '城乡建设', '消防通道被堵塞', '朝阳区')")
        con.execute("CREATE TEMP TABLE new_ids AS SELECT 'T21' AS ticket_id")
        words.refresh(con, new_ticket_ids_table="new_ids")
        months = con.execute("SELECT DISTINCT month::VARCHAR FROM word_monthly_all ORDER BY 1").fetchall()
        assert months == [("2024-03-01",), ("2025-02-01",), ("2025-03-01",), ("2025-04-01",)]
        incremental = _snapshot(con)
        words.refresh(con)
        assert _snapshot(con) == incremental
    finally:
        con.close()


def test_days_split_over_chunks_are_counted_once(tiny_db_path, tmp_path, monkeypatch):
    """word_daily from per-chunk counts: a day whose tickets fall in several chunks is summed, not repeated."""
    p = tmp_path / "copy.duckdb"
    shutil.copy(tiny_db_path, p)
    con = store.connect(p)
    try:
        before = _snapshot(con)
        monkeypatch.setattr(words, "CHUNK_ROWS", 3)
        con.execute("UPDATE tickets SET received_at = TIMESTAMP '2025-03-04 12:00:00' "
                    "WHERE ticket_id IN ('T01', 'T03', 'T05', 'T07')")   # one day over several chunks
        words.refresh(con)
        chunked = _snapshot(con)
        monkeypatch.setattr(words, "CHUNK_ROWS", 100_000)
        words.refresh(con)
        assert _snapshot(con) == chunked != before
        (n,) = con.execute("SELECT count(*) FROM (SELECT day, district, topic, category_l1, word FROM word_daily "
                           "GROUP BY ALL HAVING count(*) > 1)").fetchone()
        assert n == 0
    finally:
        con.close()
