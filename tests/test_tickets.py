"""Ticket list, detail, path and nearby tickets on the tiny store (hand-counted), with masking."""

from __future__ import annotations

from datetime import date

import pytest

from analytics import tickets
from analytics.filters import Filters
from tests.test_links import open_ro, variant_copy

MARCH = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))


@pytest.fixture(scope="module", params=["table", "inline"])
def tiny_variant(request, tiny_db_path, tmp_path_factory):
    """Every test runs on the tiny store with the linked-tickets table built and without it (inline rows)."""
    return variant_copy(tiny_db_path, tmp_path_factory.mktemp("variant") / "tiny.duckdb",
                        ready=request.param == "table")


@pytest.fixture()
def tiny_con(tiny_variant):
    con = open_ro(tiny_variant)
    yield con
    con.close()


def test_count_and_first_page_newest_first(tiny_con):
    assert tickets.count(tiny_con, MARCH) == 12
    p = tickets.page(tiny_con, MARCH, limit=5)
    assert list(p["ticket_id"]) == ["T12", "T11", "T10", "T09", "T08"]
    assert tickets.page_label(12, 0, len(p)) == "显示第 1-5 条，共 12 条"


def test_paging_is_done_in_sql(tiny_con):
    p1 = tickets.page(tiny_con, MARCH, sort="ticket_id", descending=False, limit=5, offset=0)
    p3 = tickets.page(tiny_con, MARCH, sort="ticket_id", descending=False, limit=5, offset=10)
    assert list(p1["ticket_id"]) == ["T01", "T02", "T03", "T04", "T05"]
    assert list(p3["ticket_id"]) == ["T11", "T12"]
    assert tickets.page_label(12, 10, len(p3)) == "显示第 11-12 条，共 12 条"
    assert tickets.page_label(12345, 0, 50) == "显示第 1-50 条，共 12,345 条"


def test_sort_by_district_breaks_ties_by_id(tiny_con):
    p = tickets.page(tiny_con, MARCH, sort="district", descending=False, limit=12)
    # Unicode order of the names: 东 (4E1C) < 平 (5E73) < 朝 (671D) < 海 (6D77).
    assert list(p["district"]) == ["东城区"] * 3 + ["平谷区"] * 3 + ["朝阳区"] * 4 + ["海淀区"] * 2
    assert list(p["ticket_id"][:3]) == ["T01", "T02", "T09"]


def test_sort_whitelist(tiny_con):
    with pytest.raises(ValueError):
        tickets.page(tiny_con, MARCH, sort="content; DROP TABLE tickets")


def test_page_size_is_capped(tiny_con):
    p = tickets.page(tiny_con, Filters(), limit=10_000)
    assert len(p) == 20  # the store has 20; the cap (500) is above that


def test_filters_narrow_the_list(tiny_con):
    assert tickets.count(tiny_con, MARCH.replace(districts=("朝阳区",))) == 4
    assert list(tickets.page(tiny_con, MARCH.replace(districts=("朝阳区",)), sort="ticket_id",
                             descending=False)["ticket_id"]) == ["T03", "T04", "T05", "T10"]


def test_funnel_stage_narrows_the_list(tiny_con):
    assert tickets.count(tiny_con, Filters(), stage="clues") == 8          # 8 clue_tickets rows, distinct tickets
    assert tickets.count(tiny_con, MARCH, stage="clues") == 7              # minus T13 (Feb)
    assert list(tickets.page(tiny_con, MARCH, stage="cases", sort="ticket_id", descending=False)["ticket_id"]) \
        == ["T01", "T02", "T04", "T05"]
    assert tickets.count(tiny_con, MARCH, stage="rectified") == 4
    with pytest.raises(ValueError):
        tickets.count(tiny_con, MARCH, stage="nope")


def test_list_is_masked_by_default(tiny_con, monkeypatch):
    p = tickets.page(tiny_con, MARCH, sort="ticket_id", descending=False, limit=1)
    assert p["complainant_name"].iloc[0] == "张*"
    # T01's text names its complainant and phone: both masked.
    assert p["content"].iloc[0].endswith("联系人张*，电话138****1234")
    p = tickets.page(tiny_con, MARCH, sort="ticket_id", descending=False, limit=1, mask=False)   # audited unmask
    assert p["complainant_name"].iloc[0] == "张三" and "13812341234" in p["content"].iloc[0]


def test_detail_masks_fields_and_text(tiny_con, monkeypatch):
    d = tickets.detail(tiny_con, "T07")
    assert d["complainant_name"] == "周*" and d["complainant_phone"] == "134****5555"
    assert "110105********1234" in d["content"] and "198001011234" not in d["content"]
    assert d["handling_unit"] == "平谷区人力社保局"
    assert d["category_l3"] == "拖欠工资" and d["lon"] == pytest.approx(117.104344)
    assert tickets.detail(tiny_con, "NOPE") is None


def test_detail_without_coordinates(tiny_con):
    d = tickets.detail(tiny_con, "T10")
    assert d["lon"] is None and d["geo_flag"] == "no_coords"
    assert tickets.locate(tiny_con, "T10") is None
    assert tickets.nearby(tiny_con, "T10").empty


def test_path_through_clue_case_rectification(tiny_con):
    p = tickets.path(tiny_con, "T01")
    assert list(p["step"]) == ["工单受理", "响应", "办结", "线索登记", "线索审查", "立案", "监督措施", "整改", "回复",
                               "回头看"]
    assert list(p["ref"]) == ["T01"] * 3 + ["C01", "C01", "K01", "K01", "K01", "K01", "K01"]
    assert str(p["at"].iloc[5]) == "2025-03-12 10:00:00"


def test_path_of_ticket_without_clue(tiny_con):
    assert list(tickets.path(tiny_con, "T12")["step"]) == ["工单受理"]   # not yet responded
    assert list(tickets.path(tiny_con, "T08")["step"]) == ["工单受理", "响应", "办结"]


def test_nearby_tickets_within_100_m(tiny_con):
    n = tickets.nearby(tiny_con, "T01")
    # T02 (~8 m), T13 (~4 m) and T16 (~9 m) are at the same crossing; T09 (东华门, ~1.9 km) is not.
    assert sorted(n["ticket_id"]) == ["T02", "T13", "T16"]
    assert (n["distance_m"] < 15).all()
    assert list(n["ticket_id"]) == ["T02", "T13", "T16"]   # newest first
    assert n["complainant_name"].str.contains(r"\*").all()
    # 兴谷市场: T06, T11, T18 are within a few metres of each other.
    assert sorted(tickets.nearby(tiny_con, "T06")["ticket_id"]) == ["T11", "T18"]
    assert tickets.nearby(tiny_con, "T01", radius_m=5)["ticket_id"].tolist() == ["T13"]


def test_outlines_near_a_point():
    import shapely.geometry

    g = tickets.outlines_near(116.4206, 39.9088)
    shapes = [shapely.geometry.shape(f["geometry"]) for f in g["features"]]
    assert 1 < len(shapes) < 60                                          # the streets around, not the city
    assert any(s.contains(shapely.geometry.Point(116.4206, 39.9088)) for s in shapes)   # 建国门街道 itself
    assert not any(f["properties"] for f in g["features"])              # lines only: no names


def test_export_rows_whole_list_masked_in_screen_order(tiny_con, monkeypatch):
    d = tickets.export_rows(tiny_con, MARCH, sort="ticket_id", descending=False)
    assert list(d["ticket_id"]) == [f"T{i:02d}" for i in range(1, 13)]
    assert d["complainant_phone"].iloc[0] == "138****1234"
    assert len(tickets.export_rows(tiny_con, MARCH, limit=3)) == 3
    assert list(tickets.export_rows(tiny_con, MARCH, stage="cases")["ticket_id"]) == ["T05", "T04", "T02", "T01"]


TIME_CASES = [MARCH, Filters(), MARCH.replace(districts=("朝阳区",)), Filters(text="井盖"), Filters(text="工地"),
              MARCH.replace(text="市场"), MARCH.replace(functions=("公益诉讼",))]


@pytest.mark.parametrize("desc", [True, False])
@pytest.mark.parametrize("f", TIME_CASES, ids=lambda f: f.describe())
def test_time_sorted_pages_equal_the_plain_order(tiny_con, f, desc):
    """The day-bounded pages (summary bound, text windows, linked ids) are the pages of the plain ORDER BY."""
    where, params = tickets._where(f, None)
    d = "DESC" if desc else "ASC"
    sql = f"SELECT ticket_id FROM tickets WHERE {where} ORDER BY received_at {d}, ticket_id {d}"
    everything = [r[0] for r in tiny_con.execute(sql, params).fetchall()]
    assert tickets.count(tiny_con, f) == len(everything) > 0
    for limit, step in ((1, 3), (4, 1)):
        for offset in range(0, len(everything) + 1, step):
            got = tickets.page(tiny_con, f, sort="received_at", descending=desc, limit=limit, offset=offset, mask=False)
            assert list(got["ticket_id"]) == everything[offset:offset + limit], (limit, offset)


def test_time_bounds(tiny_con):
    # March 2025 newest first: T12 (31st), T11 (28th), T10 (25th) -> 3 rows from the 25th on
    assert list(tickets._time_bounds(tiny_con, MARCH, True, 3)) == [
        ("received_at >= $tb_day::TIMESTAMP", {"tb_day": date(2025, 3, 25)})]
    # oldest first: T01 (3rd), T02 (4th) -> up to the 4th
    assert list(tickets._time_bounds(tiny_con, MARCH, False, 2)) == [
        ("received_at < ($tb_day::DATE + INTERVAL 1 DAY)", {"tb_day": date(2025, 3, 4)})]
    assert list(tickets._time_bounds(tiny_con, MARCH, True, 13)) == []  # more than there are: no bound
    # text search: the last 7, 31 and 92 days of the data (2024-03-05 … 2025-03-31)
    assert [p["tb_day"] for _s, p in tickets._time_bounds(tiny_con, Filters(text="井盖"), True, 1)] == [
        date(2025, 3, 25), date(2025, 3, 1), date(2024, 12, 30)]
    assert [p["tb_day"] for _s, p in tickets._time_bounds(tiny_con, MARCH.replace(text="井盖"), True, 1)] == [
        date(2025, 3, 25)]  # a 31-day period: only the 7-day window is narrower


def test_time_spans():
    import itertools
    from datetime import datetime, timedelta

    t0 = datetime(2025, 3, 1)
    times = [t0, t0 + timedelta(hours=5), t0 + timedelta(days=3), t0 + timedelta(days=3, hours=1), t0 + timedelta(days=9)]
    assert tickets._time_spans(times) == [(times[0], times[1]), (times[2], times[3]), (times[4], times[4])]
    many = [t0 + timedelta(days=2 * i) for i in range(40)]
    spans = tickets._time_spans(many)
    assert len(spans) == tickets.MAX_SPANS
    assert spans[0][0] == many[0] and spans[-1][1] == many[-1]
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))  # disjoint, in order
    assert all(any(lo <= t <= hi for lo, hi in spans) for t in many)       # every time covered


def test_detail_fields_in_chinese_with_dashes_for_missing(tiny_con, monkeypatch):
    monkeypatch.delenv("HOTLINE_MASK_PII", raising=False)
    rows = tickets.detail_fields(tickets.detail(tiny_con, "T07")).set_index("字段")["内容"]
    assert rows["问题分类"].endswith("/ 拖欠工资") and rows["承办单位"] == "平谷区人力社保局"
    assert rows["诉求人"] == "周*" and rows["联系电话"] == "134****5555"
    assert list(rows.index[:3]) == ["受理时间", "渠道", "诉求类型"]
    t12 = tickets.detail_fields(tickets.detail(tiny_con, "T12")).set_index("字段")["内容"]
    assert t12["办结时间"] == "—" and t12["响应时间"] == "—"      # T12 not yet responded
    assert "None" not in set(t12)


def test_formed_clue_and_page_count(tiny_con):
    assert tickets.formed_clue(tickets.path(tiny_con, "T01"))
    assert not tickets.formed_clue(tickets.path(tiny_con, "T08"))
    assert not tickets.formed_clue(tickets.path(tiny_con, "NOPE"))      # empty path
    assert [tickets.page_count(n, 50) for n in (0, 1, 50, 51, 100)] == [1, 1, 1, 2, 2]


def test_a_ticket_whose_point_is_not_drawn_says_why():
    # issue 20: a point outside the region is kept but not drawn; flags read in Chinese, never a code
    base = {"lon": None, "lat": None}
    assert tickets.location_note({**base, "geo_flag": "no_coords"}) == "该工单没有坐标，无法在地图上显示位置（无坐标）。"
    assert "按地址文字定位" in tickets.location_note({**base, "geo_flag": "by_address"})
    note = tickets.location_note({"lon": -73.99634, "lat": 40.695344, "geo_flag": "outside_region"})
    assert note == "坐标（WGS84）：-73.996340, 40.695344，不在北京市范围内：已保留，不在地图上显示。"
    assert tickets.location_note({"lon": 116.4, "lat": 39.9, "geo_flag": None}) is None
    assert tickets.location_note({"lon": 116.4, "lat": 39.9, "geo_flag": "swapped_fixed"}) is None
