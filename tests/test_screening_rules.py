"""Screening rules on the tiny hand-checked store: every condition kind with its exact hits, the rule file's
checks (a malformed rule gets a clear Chinese message), and the file round trip."""

from __future__ import annotations

from datetime import date

import pytest

from data.screening import rule as R
from data.screening.compile import EVERYTHING, Target
from data.screening.run import find


def hits(con, conditions: dict, target: Target = EVERYTHING, **top) -> list[str]:
    r = R.parse({"key": "test-rule", "name": "测试", "conditions": conditions, **top})
    return sorted(find(con, r, target)["ticket_id"])


# Each condition kind, with the tickets of tests/data/tiny/load.sql that meet it (counted by hand).
CASES = [
    ("category l1", {"categories": ["生态环境"]}, ["T04", "T05", "T09", "T12", "T15", "T17"]),
    ("category l3", {"categories": ["城乡建设/市政设施/井盖破损"]}, ["T01", "T02", "T03", "T13", "T16"]),
    ("topic", {"topics": ["假冒伪劣"]}, ["T06", "T11", "T18"]),
    ("keyword all", {"keywords": {"all": ["井盖", "路口"]}}, ["T01", "T02", "T03", "T13"]),
    ("keyword any", {"keywords": {"any": ["假冒", "山寨"]}}, ["T06", "T11"]),
    ("keyword not", {"keywords": {"all": ["井盖"], "none": ["路口"]}}, ["T16"]),
    ("keyword and-or-not", {"keywords": {"all": ["井盖"], "any": ["破损", "松动"], "none": ["危险"]}}, ["T02", "T16"]),
    ("synonyms", {"keywords": {"any": ["假货"], "synonyms": {"假货": ["三无产品"]}}}, ["T11", "T18"]),
    ("plain list of words", {"keywords": ["工地", "工资"]}, ["T07", "T20"]),
    ("district", {"districts": ["平谷区"]}, ["T06", "T07", "T11", "T18", "T20"]),
    ("street", {"streets": ["望京街道"]}, ["T04", "T05", "T14", "T15"]),
    ("radius around a point", {"near": {"lon": 116.4206, "lat": 39.9088, "radius_m": 50}},
     ["T01", "T02", "T13", "T16"]),
    # T01 is 1.8 m from the point, T13 4.4 m, T02 8.5 m, T16 11 m
    ("radius of 5 m", {"near": {"lon": 116.4206, "lat": 39.9088, "radius_m": 5}}, ["T01", "T13"]),
    ("channel", {"channels": ["网络"]}, ["T03", "T06", "T10", "T15", "T19"]),
    ("appeal type", {"appeal_types": ["咨询"]}, ["T08", "T19"]),
    ("status", {"statuses": ["办理中", "待响应"]}, ["T11", "T12"]),
    ("closed but dissatisfied", {"statuses": ["已办结"], "satisfaction": ["不满意"]}, ["T05", "T20"]),
    ("not resolved", {"resolved": False}, ["T05", "T20"]),
    ("dates", {"dates": {"from": "2025-02-01", "to": "2025-02-28"}}, ["T13", "T14", "T15"]),
    ("repeat: 3 within 100 m in 60 days", {"topics": ["井盖"], "repeat": {"min_tickets": 3, "radius_m": 100, "days": 60}},
     ["T01", "T02", "T13"]),
    ("repeat: window too short", {"topics": ["井盖"], "repeat": {"min_tickets": 3, "radius_m": 100, "days": 20}}, []),
    # T13's close (12 Feb) at the 建国门 crossing: T01 and T02 come 19-20 days later; T16's close (2024) is too old.
    ("after close: 7-90 days, 50 m", {"topics": ["井盖"], "after_close": {"min_days": 7, "max_days": 90, "radius_m": 50}},
     ["T01", "T02"]),
    # T15's close (28 Feb) at 望京河: T04 comes 6 days later, T05 10 days later; with 7-90 days only T05.
    ("after close: 0-30 days", {"topics": ["污水"], "after_close": {"min_days": 0, "max_days": 30, "radius_m": 50}},
     ["T04", "T05"]),
    ("after close: 7-30 days", {"topics": ["污水"], "after_close": {"min_days": 7, "max_days": 30, "radius_m": 50}},
     ["T05"]),
    ("repeat: 2 within 50 m in 30 days",
     {"topics": ["污水"], "repeat": {"min_tickets": 2, "radius_m": 50, "days": 30}}, ["T04", "T05", "T15"]),
]


@pytest.mark.parametrize("conditions, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_condition_kinds_exact_hits(tiny_con, conditions, expected):
    assert hits(tiny_con, conditions) == expected


def test_conditions_combine_with_and(tiny_con):
    assert hits(tiny_con, {"districts": ["朝阳区"], "topics": ["污水"], "satisfaction": ["不满意"]}) == ["T05"]


def test_last_days_counts_back_from_the_end_of_the_period(tiny_con):
    target = Target(date(2025, 3, 1), date(2025, 3, 31))
    assert hits(tiny_con, {"last_days": 7}, target) == ["T10", "T11", "T12"]      # 25-31 March
    assert hits(tiny_con, {"topics": ["井盖"]}, target) == ["T01", "T02", "T03"]


def test_repeat_counts_tickets_before_the_period_but_the_trigger_is_inside(tiny_con):
    # T13 (10 Feb) makes the count for T01/T02 (March): it is a member of the item, not screened itself.
    got = find(tiny_con, R.parse({"key": "rep", "name": "重复", "conditions": {
        "topics": ["井盖"], "repeat": {"min_tickets": 3, "radius_m": 100, "days": 60}}}),
        Target(date(2025, 3, 1), date(2025, 3, 31)))
    assert dict(zip(got["ticket_id"], got["trigger"], strict=True)) == {"T13": False, "T01": False, "T02": True}


def test_import_target_screens_only_those_imports(tiny_con):
    assert hits(tiny_con, {"topics": ["井盖"]}, Target(import_ids=(0,))) == ["T01", "T02", "T03", "T13", "T16"]
    assert hits(tiny_con, {"topics": ["井盖"]}, Target(import_ids=(7,))) == []


def test_layer_runs_on_the_hits_of_another_rule(tiny_con):
    from data.screening.run import find as find_

    base = R.parse({"key": "pinggu", "name": "平谷", "conditions": {"districts": ["平谷区"]}})
    layer = R.parse({"key": "pinggu-fakes", "name": "平谷假货", "layer_of": "pinggu",
                     "conditions": {"keywords": {"any": ["假", "山寨", "三无"]}}})
    got = find_(tiny_con, layer, Target(), resolve={"pinggu": base}.get)
    assert sorted(got["ticket_id"]) == ["T06", "T11", "T18"]


def test_keywords_are_bound_parameters_not_sql(tiny_con):
    assert hits(tiny_con, {"keywords": {"any": ["' OR 1=1 --", "%"]}}) == []


MALFORMED = [
    ("not a mapping", ["a"], "应是一个映射"),
    ("no key", {"name": "x", "conditions": {}}, "缺少规则编号（key）"),
    ("bad key", {"key": "井盖", "name": "x"}, "规则编号（key）“井盖”无效"),
    ("no name", {"key": "ab"}, "缺少规则名称（name）"),
    ("unknown field", {"key": "ab", "name": "x", "colour": "red"}, "不认识的字段：colour"),
    ("unknown condition", {"key": "ab", "name": "x", "conditions": {"smell": ["臭"]}}, "不认识的条件：smell"),
    ("bad function", {"key": "ab", "name": "x", "function": "民政"}, "检察职能（function）“民政”无效"),
    ("bad appeal type", {"key": "ab", "name": "x", "conditions": {"appeal_types": ["抱怨"]}}, "诉求类型（appeal_types）有无效值：抱怨"),
    ("repeat missing days", {"key": "ab", "name": "x", "conditions": {"repeat": {"min_tickets": 3, "radius_m": 50}}},
     "重复条件（repeat）缺少 days"),
    ("repeat of one", {"key": "ab", "name": "x", "conditions": {"repeat": {"min_tickets": 1, "radius_m": 50, "days": 3}}},
     "min_tickets 应在 2 到 10000 之间"),
    ("radius as text", {"key": "ab", "name": "x", "conditions": {"near": {"lon": 116.4, "lat": 39.9, "radius_m": "50米"}}},
     "radius_m 应是数字"),
    ("bad date", {"key": "ab", "name": "x", "conditions": {"dates": {"from": "2025-13-01"}}}, "不是日期"),
    ("dates reversed", {"key": "ab", "name": "x", "conditions": {"dates": {"from": "2025-03-01", "to": "2025-01-01"}}},
     "晚于结束日期"),
    ("keyword field", {"key": "ab", "name": "x", "conditions": {"keywords": {"maybe": ["井盖"]}}}, "不认识的字段：maybe"),
    ("after close window", {"key": "ab", "name": "x", "conditions": {"after_close": {
        "min_days": 30, "max_days": 7, "radius_m": 50}}}, "min_days（30）应小于 max_days（7）"),
    ("layer of itself", {"key": "ab", "name": "x", "layer_of": "ab"}, "上层规则（layer_of）“ab”无效"),
]


@pytest.mark.parametrize("data, message", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_rule_is_rejected_with_a_clear_message(data, message):
    with pytest.raises(R.RuleError) as e:
        R.parse(data)
    assert message in str(e.value)


def test_bad_yaml_names_the_line():
    with pytest.raises(R.RuleError, match="第 2 行不是有效的 YAML"):
        R.loads("key: ab\nname: : x\n")


def test_rule_file_round_trip_gives_the_same_rule_and_hits(tiny_con, tmp_path):
    from data.screening import library

    rules = library.read_files(library.starter_dir("beijing"))
    assert len(rules) >= 10
    for r in rules:
        assert R.parse(r.to_dict()) == r
        assert R.loads(r.dump("json")) == [r]
    r = R.parse({"key": "tiny-mix", "name": "混合", "conditions": {
        "keywords": {"all": ["井盖"], "any": ["破损", "松动"], "synonyms": {"破损": ["塌陷"]}},
        "near": {"lon": 116.4206, "lat": 39.9088, "radius_m": 200}, "statuses": ["已办结"],
        "repeat": {"min_tickets": 2, "radius_m": 100, "days": 60}}})
    f = tmp_path / "rules.yaml"
    f.write_text(r.dump(), encoding="utf-8")
    (back,) = library.read_files(f)
    assert back == r
    assert sorted(find(tiny_con, back, Target())["ticket_id"]) == sorted(find(tiny_con, r, Target())["ticket_id"]) \
        == ["T01", "T02", "T13"]
