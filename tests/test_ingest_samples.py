"""The real public samples in ../shared/samples with their mappings (data/mappings/), and the topic rules.

Expected numbers are computed from the raw files with the csv module here, not
copied from an import run.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from data import store, topics
from data.ingest import ingest_files

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"
MAPPINGS = ROOT / "data" / "mappings"

needs_samples = pytest.mark.skipif(not SAMPLES.exists(), reason="../shared/samples not present")


def raw_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory):
    con = store.connect(tmp_path_factory.mktemp("samples") / "samples.duckdb")
    reps = {}
    for mapping, f in (("nyc311_api.yaml", "nyc311/nyc311_1000rows_2024_api.csv"),
                       ("nyc311.yaml", "nyc311/nyc311_5895rows.csv"),
                       ("smartgov_messages.yaml", "smartgov_sample/messages_495_labeled.csv")):
        (r,) = ingest_files(con, [SAMPLES / f], mapping=MAPPINGS / mapping, refresh=False)
        assert r.ok, r.message
        assert r.rows_read == r.inserted + r.updated + r.unchanged + r.quarantined
        reps[mapping] = r
    yield con, reps
    con.close()


@needs_samples
@pytest.mark.parametrize("mapping,file,id_col,lat_col,created_col", [
    ("nyc311_api.yaml", "nyc311/nyc311_1000rows_2024_api.csv", "unique_key", "latitude", "created_date"),
    ("nyc311.yaml", "nyc311/nyc311_5895rows.csv", "Unique Key", "Latitude", "Created Date"),
])
def test_nyc_samples_kept_and_flagged_outside(samples_db, mapping, file, id_col, lat_col, created_col):
    con, reps = samples_db
    rows = raw_rows(SAMPLES / file)
    r = reps[mapping]
    ids = {row[id_col] for row in rows}
    assert len(ids) == len(rows)  # the samples have unique keys
    with_point = sum(1 for row in rows if row[lat_col].strip())
    assert (r.rows_read, r.inserted, r.quarantined) == (len(rows), len(rows), 0)
    assert r.flags["outside_region"] == with_point
    assert r.flags.get("not_located", 0) == len(rows) - with_point
    assert "district_filled" not in r.flags
    sql = "SELECT count(*), count(lon), count(district), min(received_at), max(received_at) FROM tickets WHERE import_id = ?"
    n, n_lon, n_district, first, last = con.execute(sql, [r.import_id]).fetchone()
    # New York points are kept as given (issue 20), flagged outside_region: never on a Beijing map
    assert (n, n_lon, n_district) == (len(rows), with_point, 0)
    assert con.execute("SELECT count(*) FROM tickets WHERE import_id = ? AND geo_flag = 'outside_region'",
                       [r.import_id]).fetchone()[0] == with_point
    # a spot check of one row against the raw file
    row = rows[0]
    got = con.execute("SELECT received_at, category_l2, category_l3, content, lat FROM tickets WHERE ticket_id = ?",
                      ["NYC-" + row[id_col]]).fetchone()
    assert got[1] == row["complaint_type" if "api" in mapping else "Complaint Type"]
    assert got[3].startswith(got[1])
    assert got[4] == (pytest.approx(float(row[lat_col])) if row[lat_col].strip() else None)
    assert first.year >= 2010 and last.year <= 2025


@needs_samples
def test_nyc_status_values_mapped(samples_db):
    con, _ = samples_db
    statuses = {s for (s,) in con.execute("SELECT DISTINCT status FROM tickets WHERE ticket_id LIKE 'NYC-%'").fetchall()}
    assert "已办结" in statuses and "Closed" not in statuses


@needs_samples
def test_smartgov_messages(samples_db):
    con, reps = samples_db
    rows = raw_rows(SAMPLES / "smartgov_sample/messages_495_labeled.csv")
    by_id = defaultdict(set)
    for row in rows:
        by_id[row["留言编号"]].add(tuple(sorted(row.items())))
    conflicting = sum(len([x for x in rows if x["留言编号"] == i]) for i, v in by_id.items() if len(v) > 1)
    exact_dups = sum(len([x for x in rows if x["留言编号"] == i]) - 1 for i, v in by_id.items() if len(v) == 1)
    r = reps["smartgov_messages.yaml"]
    assert r.rows_read == len(rows)
    assert r.quarantined == conflicting and r.reasons == ({"conflicting_duplicate": conflicting} if conflicting else {})
    assert r.unchanged == exact_dups
    assert r.inserted == len(rows) - conflicting - exact_dups
    assert r.flags["not_located"] == r.inserted  # no coordinates at all
    one = rows[0]
    content, channel, cat, name, received = con.execute(
        "SELECT content, channel, category_l1, complainant_name, strftime(received_at, '%Y/%-m/%-d %-H:%M:%S') "
        "FROM tickets WHERE ticket_id = ?", ["SG-" + one["留言编号"]]).fetchone()
    assert content.startswith(one["留言主题"].strip()) and one["留言详情"].strip()[:20] in content
    assert (channel, cat, name, received) == ("网上留言", one["一级分类"], one["留言用户"], one["留言时间"])


@needs_samples
def test_samples_reimport_unchanged(samples_db):
    con, reps = samples_db
    (r,) = ingest_files(con, [SAMPLES / "smartgov_sample/messages_495_labeled.csv"],
                        mapping=MAPPINGS / "smartgov_messages.yaml", refresh=False)
    first = reps["smartgov_messages.yaml"]
    assert (r.inserted, r.updated) == (0, 0)
    assert r.unchanged == first.inserted + first.unchanged


# ---------------------------------------------------------------- topic rules


def classify(texts, cats=None, rules=None):
    rules = rules or topics.load()
    con = duckdb.connect()
    con.execute("CREATE TABLE t (_row INTEGER, content VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    topics.classify(con, rules, table="t", out="hits")
    got = dict(con.execute("SELECT _row, word_topic FROM hits").fetchall())
    return [got.get(i) for i in range(len(texts))]


def test_topic_rules_file_covers_the_required_topics():
    names = topics.load().names
    for t in ("井盖", "污水", "假冒伪劣", "欠薪", "消防通道", "养老消防", "两卡", "未成年人保护", "交通安全",
              "乡村生态", "食品安全", "预付卡"):
        assert t in names


@pytest.mark.parametrize("text,expected", [
    ("楼下井盖旁边有人摆摊", None),                  # one signal word in passing
    ("井盖松动了，晚上很危险", "井盖"),               # strong phrase
    ("井盖旁边的窨井没有盖好", "井盖"),               # two signal words
    ("学校门口孩子很多", None),                       # context words only
    ("孩子在学校被欺负", "未成年人保护"),             # signal + context
    ("工地包工头拖欠工资三个月", "欠薪"),
    ("小区消防通道被车辆占用", "消防通道"),
    ("路口红绿灯坏了", "交通安全"),
    ("有人收购银行卡", "两卡"),
    ("健身房办了预付卡后关门了", "预付卡"),
    ("今天天气很好", None),
    (None, None),
])
def test_topic_rule_examples(text, expected):
    assert classify([text]) == [expected]


def test_topic_tie_goes_to_first_listed_and_min_words_is_editable():
    rules = topics.parse({"min_words": 1, "topics": {"甲": {"words": ["红"]}, "乙": {"words": ["红"]}}})
    assert classify(["红色"], rules=rules) == ["甲"]
    rules = topics.parse({"min_words": 3, "topics": {"甲": {"words": ["红", "绿"], "context": ["蓝"]}}})
    assert classify(["红绿", "红绿蓝"], rules=rules) == [None, "甲"]


def test_topic_rules_file_errors():
    with pytest.raises(topics.TopicRulesError):
        topics.parse({"topics": {"甲": {"wordz": ["x"]}}})
    with pytest.raises(topics.TopicRulesError):
        topics.load("/nonexistent/rules.yaml")
