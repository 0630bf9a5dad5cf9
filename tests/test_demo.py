"""The demo generator's realism, measured on a 100k-ticket database built once through the import pipeline.

Every bullet of issue 3 is a property asserted here on the loaded store (not on the generator's internals),
so a change that breaks the places, seasons, texts, hotspots, funnel or handling rates shows up.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from data.synth import people
from data.synth.taxonomy import LEAVES, PI_LEAVES, SPRING_FESTIVAL, TOPIC_LEAVES, TOPICS
from tests.conftest import DEMO_END as END
from tests.conftest import DEMO_N as N


@pytest.fixture()
def con(demo):
    from data import store

    c = store.connect(demo[1], read_only=True)
    yield c
    c.close()


def one(con, sql, params=None):
    return con.execute(sql, params or []).fetchone()[0]


def df(con, sql, params=None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def topic_words(context: bool = False) -> dict[str, list[str]]:
    """Signal words of each project from the import's rules (data/topics.yaml); optionally with context words."""
    from data import topics

    return {t.name: list(dict.fromkeys([*t.words, *t.strong, *(getattr(t, "context", ()) if context else ())]))
            for t in topics.load().topics}


# ---------------------------------------------------------------- loading


def test_everything_loaded_through_import_without_quarantine(demo, con):
    res, _ = demo
    assert one(con, "SELECT count(*) FROM tickets") == N
    assert one(con, "SELECT count(*) FROM quarantine") == 0
    assert all(r.ok for r in res.reports)
    kinds = {r[0] for r in con.execute("SELECT DISTINCT kind FROM imports").fetchall()}
    assert {"tickets", "clues", "cases", "rectifications"} <= kinds
    assert one(con, "SELECT count(*) FROM clues") == res.n_clues > 0
    assert one(con, "SELECT count(*) FROM cases") == res.n_cases > 0
    assert one(con, "SELECT count(*) FROM rectifications") == res.n_rects > 0
    assert one(con, "SELECT count(*) FROM clue_tickets ct LEFT JOIN tickets t USING (ticket_id) "
                    "WHERE t.ticket_id IS NULL") == 0
    assert one(con, "SELECT sum(n) FROM ticket_daily") == N


def test_export_files_have_standard_headers_and_no_topic_column(demo):
    res, _ = demo
    head = pd.read_csv(res.ticket_files[0], nrows=5)
    assert list(head.columns) == ["工单编号", "受理时间", "来电渠道", "诉求类型", "一级分类", "二级分类", "三级分类",
                                  "诉求内容", "所属区", "街道", "详细地址", "经度", "纬度", "坐标系", "承办单位",
                                  "办理状态", "响应时间", "办结时间", "满意度", "是否解决", "诉求人", "联系电话"]
    assert "专项" not in head.columns
    clues = pd.read_csv(res.funnel_files[0], nrows=5)
    assert list(clues.columns)[:3] == ["线索编号", "登记时间", "所属院"] and "关联工单" in clues.columns
    truth = pd.read_csv(res.truth_file)
    assert len(truth) == len(res.truth) > 0


# ---------------------------------------------------------------- places


def test_districts_follow_population_with_central_uplift(con):
    d = df(con, """SELECT d.district, d.population, count(t.ticket_id) AS n
                   FROM districts d LEFT JOIN tickets t USING (district) GROUP BY ALL""")
    assert len(d) == 16 and (d["n"] > 0).all()
    r = np.corrcoef(d["population"], d["n"])[0, 1]
    assert r >= 0.9, r
    d["per_capita"] = d["n"] / d["population"]
    core = d[d["district"].isin(["东城区", "西城区"])]["per_capita"]
    rest = d[~d["district"].isin(["东城区", "西城区"])]["per_capita"].median()
    assert (core > 1.3 * rest).all(), (core.tolist(), rest)


def test_every_located_ticket_lies_inside_its_street(con):
    from geo import boundaries

    t = con.sql("SELECT street_code, lon, lat FROM tickets WHERE lon IS NOT NULL").to_arrow_table()
    got = boundaries.assign_points(t.column("lon").to_numpy(), t.column("lat").to_numpy())
    stored = np.asarray(t.column("street_code").to_pylist(), dtype=object)
    mismatch = int((got["street_code"].to_numpy(dtype=object) != stored).sum())
    assert t.num_rows > 0.9 * N
    assert mismatch == 0


def test_streets_used_missing_coordinates_and_gcj02(con):
    assert one(con, "SELECT count(DISTINCT street_code) FROM tickets") >= 300
    no_xy = one(con, "SELECT avg((lon IS NULL)::INT) FROM tickets")
    assert 0.01 <= no_xy <= 0.06, no_xy
    assert one(con, "SELECT count(*) FROM tickets WHERE lon IS NULL AND geo_flag = 'no_coords'") == \
        one(con, "SELECT count(*) FROM tickets WHERE lon IS NULL")
    gcj = one(con, "SELECT avg((source_crs = 'gcj02')::INT) FROM tickets WHERE lon IS NOT NULL")
    assert 0.10 <= gcj <= 0.40, gcj
    assert one(con, "SELECT count(*) FROM tickets WHERE lon IS NULL AND source_crs IS NOT NULL") == 0


# ---------------------------------------------------------------- categories and topics


def test_categories_three_levels_and_all_projects(con):
    assert one(con, "SELECT count(DISTINCT category_l3) FROM tickets") >= 30
    assert one(con, "SELECT count(*) FROM tickets WHERE category_l1 IS NULL OR category_l2 IS NULL "
                    "OR category_l3 IS NULL") == 0
    got = {r[0] for r in con.execute("SELECT DISTINCT topic FROM tickets WHERE topic IS NOT NULL").fetchall()}
    assert got == set(TOPICS)
    top5 = [r[0] for r in con.execute("SELECT category_l3 FROM tickets GROUP BY 1 ORDER BY count(*) DESC LIMIT 5")
            .fetchall()]
    topic_cats = {c for cats in TOPIC_LEAVES.values() for c in cats}
    assert not set(top5) & topic_cats, top5
    for ordinary in ("物业服务", "供暖不热", "乱停车", "垃圾清运", "社会生活噪声"):
        assert ordinary in [r[0] for r in con.execute(
            "SELECT category_l3 FROM tickets GROUP BY 1 ORDER BY count(*) DESC LIMIT 15").fetchall()]
    share = one(con, "SELECT avg((topic IS NOT NULL)::INT) FROM tickets")
    assert 0.04 <= share <= 0.2, share


def _intended(con) -> None:
    rows = [(lf.l3, lf.topic) for lf in LEAVES]
    con.execute("CREATE OR REPLACE TEMP TABLE _leaf AS SELECT * FROM (SELECT unnest($1) AS l3, unnest($2) AS want)",
                [[r[0] for r in rows], [r[1] for r in rows]])


def test_import_derives_the_intended_topic_and_passing_mentions_stay_ordinary(con):
    _intended(con)
    topical = one(con, "SELECT avg((topic IS NOT DISTINCT FROM want)::INT) FROM tickets JOIN _leaf "
                       "ON l3 = category_l3 WHERE want IS NOT NULL")
    assert topical >= 0.99, topical
    ordinary = one(con, "SELECT avg((topic IS NULL)::INT) FROM tickets JOIN _leaf ON l3 = category_l3 "
                        "WHERE want IS NULL")
    assert ordinary >= 0.99, ordinary
    # tickets that mention a project's signal word but are not about it
    words = sorted({w for ws in topic_words().values() for w in ws})
    pattern = "|".join(re.escape(w) for w in words)
    passing = one(con, "SELECT count(*) FROM tickets WHERE topic IS NULL AND regexp_matches(content, ?)", [pattern])
    assert passing >= 0.02 * N, passing


def test_topic_texts_carry_signal_words(con):
    specific, every = topic_words(), topic_words(context=True)
    for t in TOPICS:
        texts = [r[0] for r in con.execute("SELECT content FROM tickets WHERE topic = ? LIMIT 400", [t]).fetchall()]
        assert texts, t
        assert np.mean([any(w in s for w in specific[t]) for s in texts]) >= 0.95, t
        assert np.mean([sum(w in s for w in every[t]) >= 2 for s in texts]) >= 0.8, t


def test_at_least_20_phrasings_per_project(con):
    from data.synth import places

    streets = [r[0] for r in con.execute("SELECT DISTINCT street FROM streets").fetchall()]
    shorts = sorted({places.short_street(s) for s in streets} | set(streets), key=len, reverse=True)
    stems = sorted(set(places.COMPOUND_STEMS + places.ROAD_STEMS + places.SURNAME_VILLAGE), key=len, reverse=True)
    rivers = sorted({r for rs in places.RIVERS.values() for r in rs}, key=len, reverse=True)
    strip = re.compile("|".join(re.escape(x) for x in [*shorts, *stems, *rivers]) + r"|\d+")
    for t in TOPICS:
        texts = [r[0] for r in con.execute("SELECT content FROM tickets WHERE topic = ?", [t]).fetchall()]
        skeletons = {strip.sub("#", s) for s in texts}
        assert len(skeletons) >= 20, (t, len(skeletons))


def test_texts_name_the_street_and_plausible_places(con):
    t = df(con, "SELECT content, street, address FROM tickets USING SAMPLE 5000 ROWS (reservoir, 7)")
    from data.synth.places import short_street

    names_street = np.mean([short_street(s) in c for c, s in zip(t["content"], t["street"], strict=True)])
    assert names_street >= 0.6, names_street
    for word in ("小区", "路口", "市场", "河"):
        assert one(con, "SELECT count(*) FROM tickets WHERE contains(content, ?)", [word]) > 100, word
    for word in ("家园", "交叉路口", "农贸市场", "工地", "养老院"):
        assert one(con, "SELECT count(*) FROM tickets WHERE contains(address, ?)", [word]) > 20, word
    phone_style = one(con, "SELECT avg(regexp_matches(content, '^(市民|来电)')::INT) FROM tickets WHERE channel='电话'")
    online_style = one(con, "SELECT avg(regexp_matches(content, '^(市民|来电)')::INT) FROM tickets WHERE channel<>'电话'")
    assert phone_style > 0.9 and online_style < 0.05


# ---------------------------------------------------------------- time


def test_weekdays_and_office_hours(con):
    d = df(con, "SELECT CAST(received_at AS DATE) AS day, count(*) AS n FROM tickets GROUP BY 1")
    d["weekend"] = pd.to_datetime(d["day"]).dt.day_of_week >= 5
    ratio = d[~d["weekend"]]["n"].mean() / d[d["weekend"]]["n"].mean()
    assert ratio >= 1.2, ratio
    office = one(con, "SELECT avg((hour(received_at) BETWEEN 8 AND 17)::INT) FROM tickets")
    night = one(con, "SELECT avg((hour(received_at) < 6)::INT) FROM tickets")
    assert office >= 0.6 and night <= 0.05, (office, night)
    days = one(con, "SELECT date_diff('day', min(received_at), max(received_at)) FROM tickets")
    assert days >= 2 * 365 - 3


def test_wage_arrears_peak_before_spring_festival(con):
    d = df(con, "SELECT CAST(received_at AS DATE) AS day, count(*) AS n FROM tickets WHERE topic = '欠薪' GROUP BY 1")
    d["day"] = pd.to_datetime(d["day"])
    n_days = (pd.Timestamp(END) - pd.Timestamp(END - dt.timedelta(days=730))).days
    mean_per_day = d["n"].sum() / n_days
    checked = 0
    for y, s in SPRING_FESTIVAL.items():
        sf = pd.Timestamp(s)
        if not (pd.Timestamp(END) - pd.Timedelta(days=729) <= sf - pd.Timedelta(days=42) and sf <= pd.Timestamp(END)):
            continue
        before = d[(d["day"] >= sf - pd.Timedelta(days=42)) & (d["day"] < sf)]["n"].sum() / 42
        assert before >= 2 * mean_per_day, (y, before, mean_per_day)
        checked += 1
    assert checked >= 1


def _month_share(con, where: str, months: list[int]) -> float:
    sql = f"SELECT avg(list_contains($1, month(received_at))::INT) FROM tickets WHERE {where}"  # where: fixed
    return one(con, sql, [months])


def test_sewage_flooding_summer_and_heating_winter(con):
    # July + August are 2/12 of the year
    assert _month_share(con, "topic = '污水'", [7, 8]) >= 1.5 * 2 / 12
    assert _month_share(con, "category_l3 = '积水内涝'", [7, 8]) >= 0.5
    assert _month_share(con, "category_l2 = '供暖'", [11, 12, 1, 2, 3]) >= 0.85


def test_gentle_growth(con):
    first = one(con, "SELECT count(*) FROM tickets WHERE received_at < ?", [dt.datetime(2025, 11, 1)])
    last = N - first
    assert 1.02 <= last / first <= 1.15, last / first


# ---------------------------------------------------------------- space: hotspots and repeats


def test_ground_truth_table_and_hotspots_are_dense(con):
    truth = df(con, "SELECT * FROM demo_truth")
    hot = truth[truth["kind"] == "hotspot"]
    assert set(hot["topic"]) == set(TOPICS)
    assert hot.groupby("topic").size().min() >= 2
    for kind, place in (("假冒伪劣", "市场"), ("井盖", "路口"), ("污水", "河")):
        assert hot[hot["topic"] == kind]["place"].str.contains(place).all(), kind
    from geo.crs import haversine_m

    for _, h in hot.iterrows():
        pts = df(con, "SELECT lon, lat FROM tickets WHERE topic = ? AND lon IS NOT NULL "
                      "AND received_at >= ? AND received_at < ? + INTERVAL 1 DAY",
                 [h["topic"], h["first_date"], h["last_date"]])
        inside = (haversine_m(pts["lon"], pts["lat"], h["lon"], h["lat"]) <= h["radius_m"]).sum()
        assert inside >= 0.7 * h["n_tickets"], (h["label"], inside, h["n_tickets"])


def test_rest_of_the_city_is_quieter_than_hotspots(con):
    """Per topic, the busiest 500 m cell away from its hotspots holds far fewer tickets than the hotspots."""
    truth = df(con, "SELECT * FROM demo_truth WHERE kind = 'hotspot'")
    from geo.crs import haversine_m

    for t in TOPICS:
        pts = df(con, "SELECT lon, lat FROM tickets WHERE topic = ? AND lon IS NOT NULL", [t])
        h = truth[truth["topic"] == t]
        near = np.zeros(len(pts), dtype=bool)
        for _, r in h.iterrows():
            near |= haversine_m(pts["lon"], pts["lat"], r["lon"], r["lat"]) <= r["radius_m"] + 500
        rest = pts[~near]
        cells = (np.floor(rest["lat"] / 0.0045).astype(int).astype(str) + ":" +
                 np.floor(rest["lon"] / 0.0059).astype(int).astype(str))
        busiest = cells.value_counts().max() if len(cells) else 0
        assert busiest * 2 < h["n_tickets"].min(), (t, busiest, h["n_tickets"].min())


def test_repeat_addresses_and_relapse_after_closing(con):
    truth = df(con, "SELECT * FROM demo_truth WHERE kind IN ('repeat', 'relapse')")
    assert (truth["kind"] == "repeat").sum() >= 3 and (truth["kind"] == "relapse").sum() == 1
    for _, r in truth.iterrows():
        n = one(con, "SELECT count(*) FROM tickets WHERE address = ? AND topic = ?", [r["address"], r["topic"]])
        assert n >= r["n_tickets"] >= 4, r["label"]
    rel = truth[truth["kind"] == "relapse"].iloc[0]
    t = df(con, "SELECT received_at, closed_at FROM tickets WHERE address = ? AND topic = ? ORDER BY received_at",
           [rel["address"], rel["topic"]])
    gap_at = pd.Timestamp(rel["reopened_date"])
    before, after = t[t["received_at"] < gap_at], t[t["received_at"] >= gap_at]
    assert len(before) >= 2 and len(after) >= 2
    assert before["closed_at"].notna().all()
    gap = (after["received_at"].min() - before["closed_at"].max()).days
    assert 25 <= gap <= 45, gap


# ---------------------------------------------------------------- funnel


def test_clue_conversion_rates(con):
    pi = one(con, "SELECT count(*) FROM tickets WHERE list_contains($1, category_l3)", [PI_LEAVES])
    topic_t = one(con, "SELECT count(*) FROM tickets WHERE topic IS NOT NULL")
    clues = one(con, "SELECT count(*) FROM clues WHERE source = '12345热线'")
    topic_clues = one(con, "SELECT count(*) FROM clues WHERE topic IS NOT NULL")
    rate = clues / pi
    assert 0.005 <= rate <= 0.02, rate
    topic_rate = topic_clues / topic_t
    other_rate = (clues - topic_clues) / (pi - topic_t)
    assert topic_rate >= 3 * other_rate, (topic_rate, other_rate)


def test_several_tickets_often_feed_one_clue(con):
    k = df(con, "SELECT clue_id, count(*) AS n FROM clue_tickets GROUP BY 1")
    assert len(k) == one(con, "SELECT count(*) FROM clues")
    assert k["n"].mean() >= 1.5 and (k["n"] >= 2).mean() >= 0.3 and k["n"].max() >= 5, k["n"].describe()


def test_clue_review_outcomes(con):
    s = df(con, "SELECT function, status, count(*) AS n FROM clues GROUP BY ALL")
    pi = s[s["function"] == "公益诉讼"].set_index("status")["n"]
    reviewed = pi.drop("待审查", errors="ignore").sum()
    assert pi.get("已立案", 0) / reviewed >= 0.75
    allc = s.groupby("status")["n"].sum()
    assert allc.get("不立案", 0) > 0 and allc.get("移送", 0) > 0
    assert 0.05 <= (allc.get("不立案", 0) + allc.get("移送", 0)) / allc.drop("待审查", errors="ignore").sum() <= 0.35
    assert set(s["function"]) == {"公益诉讼", "刑事", "民事", "行政"}
    # filed clues have a case, the others do not
    assert one(con, "SELECT count(*) FROM cases JOIN clues USING (clue_id) WHERE status <> '已立案'") == 0


def test_suggestions_deadlines_and_replies(con):
    share = one(con, "SELECT avg((measure = '诉前检察建议')::INT) FROM cases")
    assert 0.15 <= share <= 0.25, share
    c = df(con, "SELECT urgent, date_diff('day', measure_at, reply_due_at) AS days, replied_at <= reply_due_at AS ok,"
                " replied_at IS NOT NULL AS replied FROM cases WHERE measure = '诉前检察建议'")
    assert set(c.loc[c["urgent"], "days"]) <= {15} and set(c.loc[~c["urgent"], "days"]) == {60}
    assert c["urgent"].sum() > 0
    r = c[c["replied"]]
    assert 0.7 <= r["ok"].mean() <= 0.97, r["ok"].mean()


def test_rectification_and_follow_up(con):
    cases = one(con, "SELECT count(*) FROM cases")
    rect = df(con, "SELECT result, followed_up_at IS NOT NULL AS fu FROM rectifications")
    assert len(rect) / cases >= 0.6
    assert rect["result"].value_counts().idxmax() == "整改到位"
    assert set(rect["result"]) == {"整改到位", "部分整改", "未整改"}
    assert 0.1 <= rect["fu"].mean() <= 0.6


def test_stage_order_durations_and_overdue_tail(con):
    end = dt.datetime.combine(END + dt.timedelta(days=1), dt.time())
    bad = one(con, """
        SELECT count(*) FROM clues c JOIN clue_tickets USING (clue_id) JOIN tickets t USING (ticket_id)
        WHERE c.created_at < t.received_at""")
    assert bad == 0
    assert one(con, "SELECT count(*) FROM cases k JOIN clues c USING (clue_id) WHERE k.filed_at < c.reviewed_at") == 0
    assert one(con, "SELECT count(*) FROM cases WHERE measure_at < filed_at OR replied_at < measure_at") == 0
    assert one(con, "SELECT count(*) FROM rectifications r JOIN cases k USING (case_id) "
                    "WHERE r.rectified_at < k.measure_at OR r.followed_up_at < r.rectified_at") == 0
    for table, col in (("clues", "created_at"), ("clues", "reviewed_at"), ("cases", "replied_at"),
                       ("rectifications", "followed_up_at")):
        sql = f"SELECT count(*) FROM {table} WHERE {col} >= ?"  # fixed identifiers
        assert one(con, sql, [end]) == 0, (table, col)
    d = df(con, "SELECT date_diff('hour', created_at, reviewed_at) / 24.0 AS days FROM clues "
                "WHERE reviewed_at IS NOT NULL")["days"]
    assert d.median() <= 7
    overdue = (d > 7).mean()
    assert 0.03 <= overdue <= 0.3, overdue
    assert one(con, "SELECT count(*) FROM clues WHERE status = '待审查'") > 0


# ---------------------------------------------------------------- the hotline's handling


def test_three_rates_believable_and_varying(con):
    tot = df(con, "SELECT sum(n_responded) / sum(n) AS resp, sum(n_resolved) / sum(n_closed) AS res, "
                  "sum(n_satisfied) / sum(n_rated) AS sat FROM ticket_daily").iloc[0]
    for k in ("resp", "res", "sat"):
        assert 0.88 <= tot[k] <= 0.99, (k, tot[k])
    by = df(con, "SELECT district, sum(n_responded) / sum(n) AS resp, sum(n_resolved) / sum(n_closed) AS res, "
                 "sum(n_satisfied) / sum(n_rated) AS sat FROM ticket_daily GROUP BY 1")
    for k in ("resp", "res", "sat"):
        assert by[k].between(0.8, 1.0).all(), (k, by[k].min())
        assert by[k].max() - by[k].min() >= 0.015, (k, by[k].max() - by[k].min())
    cat = df(con, "SELECT category_l1, sum(n_resolved) / sum(n_closed) AS res FROM ticket_daily GROUP BY 1")
    assert cat["res"].max() - cat["res"].min() >= 0.02


def test_handling_fields(con):
    assert {r[0] for r in con.execute("SELECT DISTINCT satisfaction FROM tickets").fetchall()} == \
        {"满意", "基本满意", "不满意", None}
    assert one(con, "SELECT count(DISTINCT handling_unit) FROM tickets") >= 50
    assert one(con, "SELECT count(*) FROM tickets WHERE handling_unit IS NULL") == 0
    assert one(con, "SELECT count(*) FROM tickets WHERE responded_at < received_at OR closed_at < received_at") == 0
    assert one(con, "SELECT count(*) FROM tickets WHERE status = '已办结' AND closed_at IS NULL") == 0
    hours = one(con, "SELECT median(date_diff('minute', received_at, responded_at)) / 60.0 FROM tickets")
    days = one(con, "SELECT median(date_diff('hour', received_at, closed_at)) / 24.0 FROM tickets")
    assert 0.5 <= hours <= 6 and 1 <= days <= 7, (hours, days)


# ---------------------------------------------------------------- people


def test_names_phones_and_ids_in_text(con):
    assert one(con, "SELECT count(*) FROM tickets WHERE NOT regexp_full_match(complainant_phone, '1[3-9][0-9]{9}')") == 0
    assert one(con, "SELECT count(*) FROM tickets WHERE NOT regexp_full_match(complainant_name, "
                    "'[\u4e00-\u9fa5]{2,3}')") == 0
    with_phone = one(con, "SELECT avg(regexp_matches(content, '1[3-9][0-9]{9}')::INT) FROM tickets")
    assert 0.01 <= with_phone <= 0.08, with_phone
    ids = [r[0] for r in con.execute(
        "SELECT regexp_extract(content, '[0-9]{17}[0-9X]') FROM tickets WHERE regexp_matches(content, '[0-9]{17}[0-9X]')"
    ).fetchall()]
    assert len(ids) >= 0.003 * N
    assert all(people.id_valid(i) for i in ids)
