"""Repeated complaints with no record nearby (可能不作为, the reverse collision) on the tiny store, exact places."""

from __future__ import annotations

import json
from datetime import date

from data import audit, records
from data.screening import collide, inaction, queue

PENALTIES = ("处罚决定书文号,处罚日期,经度,纬度,单位名称,处罚事由\n"
             "P1,2025-03-08,116.46080,39.98300,望京某洗车行,违法排放污水\n"              # beside the 望京 river
             "P2,2025-03-09,,,某物业公司,未履行井盖管理职责\n"                          # no coordinates
             "P3,2026-06-01,116.42062,39.90879,某市政公司,井盖缺失未修复\n")             # at the crossing, a year on


def _list(tmp_path, text=PENALTIES):
    f = tmp_path / "penalties.csv"
    f.write_text(text, encoding="utf-8")
    return collide.read_list(f)


def test_places_with_repeated_complaints_and_no_record_nearby(tiny_con, tmp_path):
    recs, used = _list(tmp_path)
    assert used["record_id"] == "处罚决定书文号" and used["time"] == "处罚日期"
    # 井盖: the 建国门 crossing has four tickets (T16 in March 2024, T13, T01, T02 in 2025) and no penalty
    # within 200 m and 30 days of them (P3 is there, but 15 months later); 八里庄 has one ticket only.
    got = inaction.places_without_records(tiny_con, recs, inaction.Ask(topic="井盖", min_tickets=2))
    assert [(r.n, r.ticket_ids, r.district) for r in got.itertuples()] == [(4, "T16 T13 T01 T02", "东城区")]
    # 污水: the river's three tickets (T15, T04, T05) have P1 within metres and days: nothing to flag
    assert inaction.places_without_records(tiny_con, recs, inaction.Ask(topic="污水", min_tickets=2)).empty
    # the window runs from the place's first to its last ticket (25 Feb - 10 Mar): with 0 days either side it
    # still holds P1 (8 Mar)
    assert inaction.places_without_records(tiny_con, recs, inaction.Ask(topic="污水", min_tickets=2),
                                           collide.Params(days=0)).empty
    # a period of 2025 only: three at the crossing
    in_2025 = inaction.Ask(topic="井盖", min_tickets=3, date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    assert list(inaction.places_without_records(tiny_con, recs, in_2025)["ticket_ids"]) == ["T13 T01 T02"]
    # a penalty at the crossing within the window: the place is no longer a candidate
    recs2, _ = _list(tmp_path, PENALTIES + "P4,2025-02-20,116.42070,39.90880,某市政公司,井盖破损未及时修复\n")
    assert inaction.places_without_records(tiny_con, recs2, inaction.Ask(topic="井盖", min_tickets=2)).empty


def test_candidates_go_into_the_queue_with_what_was_looked_for(tiny_con, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    recs, used = _list(tmp_path)
    ask = inaction.Ask(topic="井盖", min_tickets=2)
    places = inaction.places_without_records(tiny_con, recs, ask)
    me = audit.Actor("t_prosecutor", "prosecutor")
    with records.session() as rec:
        cid, n = inaction.record(rec, me, "2025年行政处罚", "penalties.csv", recs, places, ask, collide.Params(), used)
        assert n == 1
        items, total = queue.items(rec)
        (item,) = items.itertuples()
        assert total == 1 and item.kind == "collision" and item.district == "东城区" and item.n == 4
        assert item.label == "建国门内大街与朝阳门南小街路口"
        m = queue.item_matches(rec, int(item.item_id))
        assert sorted(m["ticket_id"]) == ["T01", "T02", "T13", "T16"]
        proof = m["evidence"].iloc[0]
        assert proof["kinds"] == ["反复投诉，附近无名单记录"]
        assert "200 米内、首末工单前后 30 天内没有名单记录（名单 3 行，有坐标 2 行）" in proof["record"]["note"]
        params = json.loads(rec.execute("SELECT params FROM collisions WHERE collision_id = ?", (cid,)).fetchone()[0])
        assert params["mode"] == "inaction" and params["topic"] == "井盖"
        clue = queue.register(rec, me, [int(item.item_id)], function="行政", summary="建国门井盖反复投诉而无处罚记录")
        assert sorted(clue.ticket_ids) == ["T01", "T02", "T13", "T16"] and clue.source_ref["collisions"] == [cid]


def test_the_command_writes_one_row_per_place(tiny_db_path, tmp_path, monkeypatch, capsys):
    import pandas as pd

    import manage

    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    f = tmp_path / "penalties.csv"
    f.write_text(PENALTIES, encoding="utf-8")
    out = tmp_path / "places.csv"
    assert manage.main(["collide", str(f), "--db", str(tiny_db_path), "--inaction", "--topic", "井盖",
                        "--min-tickets", "2", "--record", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "已记入待研判队列" in said and "的地点：1 处（名单 3 行，有坐标 2 行" in said
    df = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert df[["地点", "区", "工单数", "首次受理", "最近受理", "工单编号"]].values.tolist() == [
        ["建国门内大街与朝阳门南小街路口", "东城区", "4", "2024-03-05", "2025-03-04", "T16 T13 T01 T02"]]
    assert manage.main(["collide", str(f), "--db", str(tiny_db_path), "--inaction", "--from", "2025-13-01",
                        "--out", str(out)]) == 2


def test_the_collision_page_finds_them_and_queues_them(app_db):
    from tests.conftest import app_test

    at = app_test(role="prosecutor")
    at.run()
    at.switch_page("views/collide.py").run()
    at.file_uploader(key="co_file").upload("penalties.csv", PENALTIES.encode("utf-8"), "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    at.radio(key="co_mode").set_value("反复投诉而附近无名单记录（可能不作为）").run()
    at.selectbox(key="co_topic").set_value("井盖")
    at.number_input(key="co_min").set_value(2)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert "专项“井盖”同一地点至少 2 件、且 200 米内前后 30 天无名单记录的地点：1 处" in text
    assert "名单 3 行，有坐标 2 行" in text
    at.button(key="co_record_inaction").click().run()
    assert any("已记入待研判队列：1 项" in s.value for s in at.success)
    with records.session() as rec:
        items, n = queue.items(rec)
    assert n == 1 and items["n"].iloc[0] == 4
