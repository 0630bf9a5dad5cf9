"""Data collision on crafted files with known matches (tests/data/collide): precision and recall, evidence in the
queue with phones masked."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from data import audit, records
from data.screening import collide, queue
from tests.conftest import ROOT

LIST = ROOT / "tests" / "data" / "collide" / "accidents.csv"
EXPECTED = ROOT / "tests" / "data" / "collide" / "expected.csv"


def expected_pairs() -> set[tuple[int, str]]:
    recs, _ = collide.read_list(LIST)
    row_of = dict(zip(recs["record_id"], recs["row_number"], strict=True))
    exp = pd.read_csv(EXPECTED, dtype=str)
    return {(int(row_of[a]), t) for a, t in zip(exp["事故编号"], exp["工单编号"], strict=True)}


def test_crafted_list_matches_with_full_precision_and_recall(tiny_con):
    recs, used = collide.read_list(LIST)
    assert used["time"] == "发生时间" and used["phone"] == "联系电话" and len(recs) == 8
    ev = collide.evidence(recs, collide.match(tiny_con, recs))
    q = collide.quality(ev, expected_pairs())
    # 13 known pairs: place (A1: 3 tickets within 200 m and 30 days), company in the text (A2), phone hash (A3),
    # normalised address (A6), caller's name in the same district (A7); A4 is far, A5 a year away, A8 300 m off.
    assert (q["found"], q["right"], q["expected"], q["precision"], q["recall"]) == (13, 13, 13, 1.0, 1.0)


def test_a_tighter_distance_loses_recall_and_nothing_else(tiny_con):
    recs, _ = collide.read_list(LIST)
    ev = collide.evidence(recs, collide.match(tiny_con, recs, collide.Params(distance_m=2.0, use=("place",))))
    q = collide.quality(ev, expected_pairs())
    assert (q["found"], q["right"], q["precision"]) == (1, 1, 1.0)     # only T13 lies within 2 m of A1
    assert q["recall"] == pytest.approx(1 / 13)


def test_matches_become_queue_items_with_masked_evidence(tiny_con, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_RECORDS_DB", str(tmp_path / "records.sqlite"))
    recs, used = collide.read_list(LIST)
    ev = collide.evidence(recs, collide.match(tiny_con, recs))
    with records.session() as rec:
        _cid, n_items = collide.record(rec, audit.Actor("t_prosecutor", "prosecutor"), "交通事故", LIST.name, recs, ev,
                                      collide.DEFAULT, used)
        assert n_items == 5
        items, total = queue.items(rec)
        assert total == 5 and set(items["kind"]) == {"collision"} and set(items["source_name"]) == {"交通事故"}
        phone_item = int(items.loc[items["n"] == 3].loc[items["district"] == "朝阳区", "item_id"].iloc[0])
        m = queue.item_matches(rec, phone_item)
        assert sorted(m["ticket_id"]) == ["T04", "T05", "T15"]
        raw = json.dumps(list(m["evidence"]), ensure_ascii=False)
        assert "136****3333" in raw and "13600003333" not in raw and "电话相同" in raw
        shown = queue.evidence_table(m)
        assert list(shown["匹配依据"].unique()) == ["电话相同"]


def test_a_list_without_anything_to_match_is_refused(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("备注,数量\n甲,1\n", encoding="utf-8")
    with pytest.raises(collide.CollisionError, match="没有可比对的列"):
        collide.read_list(f)


def test_gbk_list_with_a_mapping(tiny_con, tmp_path):
    f = tmp_path / "penalties.csv"
    f.write_text("文号,企业,日期\nP1,兴谷市场,2025-03-15\n", encoding="gbk")
    m = tmp_path / "m.yaml"
    m.write_text("columns:\n  record_id: 文号\n  company: 企业\n  time: 日期\n", encoding="utf-8")
    recs, _used = collide.read_list(f, m)
    ev = collide.evidence(recs, collide.match(tiny_con, recs))
    assert sorted(ev["ticket_id"]) == ["T06", "T11"]
