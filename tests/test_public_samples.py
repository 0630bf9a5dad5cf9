"""The public samples in ../shared/samples imported with their example mappings (data/mappings/), looked at as
a new user's first screens would show them (issue 20): the default period, no 0 % for inputs the data never
had, category charts that are not empty, and top words without salutations or fillers. CI has ../shared beside
the clone: these tests are not skipped."""

from __future__ import annotations

import csv
from datetime import date, datetime

import pandas as pd
import pytest

from analytics import coverage, maps, overview, periods, topics
from analytics.filters import Filters
from data import store
from data.ingest import ingest_files
from tests.conftest import ROOT

SAMPLES = ROOT.parent / "shared" / "samples"
MAPPINGS = ROOT / "data" / "mappings"

# Words that say nothing about the problem: salutations of letters to officials and fillers, Chinese and English.
FILLERS = {
    "尊敬", "领导", "您好", "你好", "书记", "市长", "谢谢", "感谢", "恳请", "此致", "敬礼", "各位", "同志", "辛苦",
    "这样", "无法", "工作", "应该", "时候", "现在", "已经", "问题", "反映", "情况", "我们", "他们", "没有", "什么",
    "可以", "希望", "处理", "解决", "相关", "部门", "国家", "规定", "人民", "老百姓", "社会", "生活", "正常",
    "the", "of", "and", "to", "a", "in", "is", "for", "on", "or", "as", "has", "this", "that", "with", "please",
    "department", "complaint", "contact", "service", "request", "days", "if", "was", "were", "be", "by",
}


def _store(tmp_path, files):
    db = tmp_path / "samples.duckdb"
    con = store.connect(db)
    for mapping, f in files:
        (r,) = ingest_files(con, [SAMPLES / f], mapping=MAPPINGS / mapping)
        assert r.ok and not r.stored_nothing, r.message
    con.close()
    return store.connect(db, read_only=True)


def _month_rows(path, col, fmt, year, month) -> int:
    with open(path, encoding="utf-8", newline="") as fh:
        return sum(1 for row in csv.DictReader(fh)
                   if row[col] and (d := datetime.strptime(row[col].split()[0], fmt)).year == year
                   and d.month == month)


@pytest.fixture(scope="module")
def smartgov(tmp_path_factory):
    return _store(tmp_path_factory.mktemp("sg"), [("smartgov_messages.yaml", "smartgov_sample/messages_495_labeled.csv")])


@pytest.fixture(scope="module")
def nyc(tmp_path_factory):
    return _store(tmp_path_factory.mktemp("nyc"), [("nyc311_api.yaml", "nyc311/nyc311_1000rows_2024_api.csv"),
                                                   ("nyc311.yaml", "nyc311/nyc311_5895rows.csv")])


def _words(con, f) -> list[str]:
    return topics.top_words(con, f, limit=20)["word"].tolist()


def test_smartgov_first_screen(smartgov):
    con = smartgov
    p = periods.default_period(con)
    # the messages run to 2020-01-07: not the 7-day tail of January, and not December 2019 alone (6 messages,
    # fewer than HOTLINE_DEFAULT_PERIOD_MIN_TICKETS): its last three complete months (31), against July-September
    # (34), which is compared
    assert _month_rows(SAMPLES / "smartgov_sample/messages_495_labeled.csv", "留言时间", "%Y/%m/%d", 2019, 12) == 6
    assert (p.date_from, p.date_to, p.kind) == (date(2019, 10, 1), date(2019, 12, 31), "months")
    assert "最近一个完整月仅 6 件工单" in p.reason
    f = Filters(date_from=p.date_from, date_to=p.date_to)
    cov = coverage.coverage(con)
    rates = overview.with_missing_inputs(overview.rates(con, f), cov)
    assert rates["rate"].isna().all() and rates["missing"].notna().all()          # "—", never 0.0 %
    assert "“响应时间”" in rates.set_index("key").loc["response", "missing"]
    k = overview.with_missing_inputs(overview.kpis(con, f), cov).set_index("key")
    assert pd.isna(k.loc["located", "value"]) and "经纬度" in k.loc["located", "missing"]
    assert k.loc["tickets", "value"] == 31 and k.loc["tickets", "prev"] == 34 and pd.isna(k.loc["tickets", "prev_note"])
    assert k.loc["tickets", "prev_pct"] == pytest.approx((31 - 34) / 34)
    # one category level: the charts use it and are not empty
    assert cov.category_depth == 1
    assert len(overview.top_values(con, f, by=coverage.deepest_category(cov))) > 0
    assert len(topics.trim_tree(topics.category_tree(con, f), cov.category_depth)) > 0
    # Beijing's special-project rules do not tag another city's messages; the overview says why, not "暂无数据"
    (tagged,) = con.execute("SELECT count(topic) FROM tickets").fetchone()
    assert tagged == 0
    assert "北京市的专项规则不适用于它们" in coverage.topic_note(con, f)
    # no geography at all: the map says why instead of drawing an empty Beijing
    note = maps.unplaceable_note(con, Filters())
    assert note and "既没有坐标，也没有北京市的区县名称" in note and "不显示空白地图" in note
    words = _words(con, Filters())
    assert len(words) == 20 and not FILLERS & set(words), words


def test_nyc_first_screen(nyc):
    con = nyc
    p = periods.default_period(con)
    # the data ends on 2025-02-06: January 2025 is the last complete month, with 28 requests
    assert _month_rows(SAMPLES / "nyc311/nyc311_5895rows.csv", "Created Date", "%m/%d/%Y", 2025, 1) == 28
    assert (p.date_from, p.date_to, p.kind) == (date(2025, 1, 1), date(2025, 1, 31), "month")
    f = Filters(date_from=p.date_from, date_to=p.date_to)
    cov = coverage.coverage(con)
    assert cov.has("closed_at") and not cov.has("responded_at") and not cov.has("satisfaction")
    r = overview.with_missing_inputs(overview.rates(con, f), cov).set_index("key")
    assert pd.isna(r.loc["response", "rate"]) and pd.isna(r.loc["satisfaction", "rate"])
    assert "“是否解决”" in r.loc["resolution", "missing"]
    k = overview.with_missing_inputs(overview.kpis(con, f), cov).set_index("key")
    assert pd.isna(k.loc["located", "value"]) and "都不在本区域范围内" in k.loc["located", "missing"]
    assert cov.category_depth == 3 and len(overview.top_values(con, f, by="category_l3")) > 0
    # the points are New York's: kept, not drawn, and the map says so
    (kept,) = con.execute("SELECT count(*) FROM tickets WHERE geo_flag = 'outside_region' AND lon IS NOT NULL"
                          ).fetchone()
    assert kept > 6000
    kind, text = maps.geography_note(con, Filters())
    assert kind == "warning" and "不在北京市范围内" in text and "数据可能不属于本区域" in text
    note = maps.unplaceable_note(con, Filters())
    assert note and "坐标不在北京市范围内" in note and "不显示空白地图" in note
    words = _words(con, Filters())
    assert len(words) == 20 and not FILLERS & {w.lower() for w in words}, words
    # every column has a place: the resolution text is the reply, searchable; the borough an extra column
    (n_reply, n_extra) = con.execute("SELECT count(reply), count(extra) FROM tickets").fetchone()
    assert n_reply > 5000 and n_extra > 6000
    from analytics import options, tickets

    assert tickets.count(con, Filters(text="Hygiene")) > 0
    assert "QUEENS" in dict(options.extra_options(con)).get("borough", ())
