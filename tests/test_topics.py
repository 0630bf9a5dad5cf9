"""The 热点 numbers (analytics/topics.py): exact on the tiny DB, statistical properties on generated data."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from analytics import topic_figures as tf
from analytics import topics as T
from analytics.filters import Filters
from data import derived, store
from tests.conftest import app_test

MARCH = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))
ALL_CHANNELS = ("电话", "网络")  # every channel of the tiny DB: same tickets, but forces the ticket_words path


# --------------------------------------------------------------------------- categories (tiny)
def test_category_tree_march(tiny_con):
    tree = T.category_tree(tiny_con, MARCH)
    n = dict(zip(tree["id"], tree["n"], strict=True))
    assert {k: v for k, v in n.items() if "/" not in k} == {"城乡建设": 5, "生态环境": 4, "市场监管": 2, "劳动社保": 1}
    assert n["城乡建设/市政设施"] == 3 and n["城乡建设/物业管理"] == 2
    assert n["城乡建设/市政设施/井盖破损"] == 3
    assert n["生态环境/水污染/污水排放"] == 2 and n["生态环境/噪声污染/施工噪声"] == 2
    assert len(tree) == 4 + 6 + 6
    row = tree.loc[tree["id"] == "城乡建设/市政设施/井盖破损"].iloc[0]
    assert row["parent"] == "城乡建设/市政设施" and row["label"] == "井盖破损" and row["level"] == 3
    assert row["share"] == pytest.approx(3 / 12)


def test_category_tree_with_text_filter_reads_tickets(tiny_con):
    tree = T.category_tree(tiny_con, MARCH.replace(text="井盖"))
    assert tree[["id", "n"]].values.tolist() == [["城乡建设", 3], ["城乡建设/市政设施", 3],
                                                 ["城乡建设/市政设施/井盖破损", 3]]


def test_category_tree_empty(tiny_con):
    tree = T.category_tree(tiny_con, MARCH.replace(districts=("延庆区",)))
    assert tree.empty
    assert tf.category_treemap(tree).layout.annotations[0].text == "所选条件下暂无数据"


# --------------------------------------------------------------------------- words (tiny)
def test_top_words_march(tiny_con):
    w = T.top_words(tiny_con, MARCH, limit=8)
    assert w["word"].tolist()[:2] == ["井盖", "路口"]          # ties broken by the word
    n = dict(zip(w["word"], w["n"], strict=True))
    assert n == {"井盖": 3, "路口": 3, "八里庄": 2, "兴谷": 2, "工地": 2, "市场": 2, "建国门": 2, "施工": 2}
    assert w.attrs["total_tickets"] == 12
    assert w.loc[0, "share"] == pytest.approx(3 / 12)


def test_top_phrases_march(tiny_con):
    p = T.top_words(tiny_con, MARCH, kind="phrase", limit=2)
    assert p[["word", "n"]].values.tolist() == [["兴谷 市场", 2], ["路口 井盖", 2]]


def test_top_words_summary_and_ticket_paths_agree(tiny_con):
    for f in (MARCH, MARCH.replace(districts=("朝阳区",)), MARCH.replace(categories=("生态环境",)),
              Filters()):
        assert T.words_from_summary(f)
        slow = f.replace(channels=ALL_CHANNELS)
        assert not T.words_from_summary(slow)
        a = T.top_words(tiny_con, f, limit=50)
        b = T.top_words(tiny_con, slow, limit=50)
        assert a[["word", "n"]].values.tolist() == b[["word", "n"]].values.tolist()


def test_top_words_deeper_filters(tiny_con):
    w = T.top_words(tiny_con, MARCH.replace(streets=("望京街道",)), limit=10)
    assert dict(zip(w["word"], w["n"], strict=True)) == {
        "望京": 2, "污水": 2, "偷排": 1, "发臭": 1, "发黑": 1, "排放": 1, "河水": 1, "河道": 1}
    w = T.top_words(tiny_con, MARCH.replace(categories=("城乡建设/物业管理",)), limit=10)
    assert dict(zip(w["word"], w["n"], strict=True)) == {"垃圾分类": 1, "收费": 1, "物业费": 1}
    w = T.top_words(tiny_con, MARCH.replace(functions=("公益诉讼",)), limit=3)   # T01 T02 T04 T05
    assert w[["word", "n"]].values.tolist()[:2] == [["井盖", 2], ["建国门", 2]]


def test_summary_eligibility():
    assert T.words_from_summary(Filters(districts=("东城区",), topics=("井盖",), categories=("城乡建设",)))
    for f in (Filters(text="井盖"), Filters(functions=("刑事",)), Filters(streets=("望京街道",)),
              Filters(channels=("电话",)), Filters(appeal_types=("投诉",)), Filters(categories=("a/b",))):
        assert not T.words_from_summary(f)


# --------------------------------------------------------------------------- trends (tiny)
def test_word_trend_weekly(tiny_con):
    tr = T.word_trend(tiny_con, MARCH, ["井盖", "污水"], grain="week")
    got = {(str(p)[:10], k): n for p, k, n in tr.itertuples(index=False) if n}
    assert got == {("2025-03-03", "井盖"): 3, ("2025-03-03", "污水"): 1, ("2025-03-10", "污水"): 1}
    assert len(tr) == 6 * 2                      # weeks from 2025-02-24 to 2025-03-31, zero-filled
    assert T.word_trend(tiny_con, MARCH.replace(text="偷排"), ["污水"], grain="month")["n"].tolist() == [1]


def test_category_trend_monthly_over_all_data(tiny_con):
    tr = T.category_trend(tiny_con, Filters(), ["城乡建设", "生态环境/水污染"], grain="month")
    got = {(str(p)[:7], k): n for p, k, n in tr.itertuples(index=False) if n}
    assert got == {("2024-03", "城乡建设"): 2, ("2025-02", "城乡建设"): 2, ("2025-03", "城乡建设"): 5,
                   ("2025-02", "生态环境/水污染"): 1, ("2025-03", "生态环境/水污染"): 2}
    assert len(tr) == 13 * 2                     # 2024-03 .. 2025-03


def test_trend_rejects_bad_grain(tiny_con):
    with pytest.raises(ValueError):
        T.word_trend(tiny_con, MARCH, ["井盖"], grain="year; DROP TABLE tickets")


# --------------------------------------------------------------------------- emerging (tiny)
def test_emerging_exact_on_tiny(tiny_con):
    em = T.emerging(tiny_con, MARCH, periods=1, min_count=2)
    assert em.attrs["n_now"] == 12 and em.attrs["n_base"] == 3     # T13-T15 in the 31 days before
    row = em.set_index("key").loc["井盖"]
    assert (row["x"], row["y"]) == (3, 1)
    # P(X >= 3 | X + Y = 4, p0 = 12/15) = 0.8^4 + 4 * 0.8^3 * 0.2
    assert row["p"] == pytest.approx(0.8192)
    assert row["ratio"] == pytest.approx((3 / 12) / (1 / 3))
    assert row["expected"] == pytest.approx(4 * 0.8)                # m * p0
    assert not em["significant"].any()
    # words in >= 2 March tickets: 井盖 路口 八里庄 兴谷 工地 市场 建国门 施工 污水 望京
    assert em.attrs["tested"] == len(em) == 10


def test_emerging_categories_year_baseline(tiny_con):
    em = T.emerging(tiny_con, MARCH, kind="category", baseline="year", min_count=1)
    assert em.attrs["n_base"] == 5
    got = {k: (x, y) for k, x, y in em[["key", "x", "y"]].itertuples(index=False)}
    assert got == {"城乡建设/市政设施/井盖破损": (3, 1), "生态环境/水污染/污水排放": (2, 0),
                   "城乡建设/物业管理/物业服务": (2, 1), "市场监管/商品质量/假冒伪劣": (2, 1),
                   "生态环境/噪声污染/施工噪声": (2, 1), "劳动社保/劳动关系/拖欠工资": (1, 1)}
    new = em.set_index("key").loc["生态环境/水污染/污水排放"]
    assert bool(new["new"]) and new["ratio"] == math.inf and new["ci_high"] == math.inf


def test_emerging_edge_states(tiny_con):
    em = T.emerging(tiny_con, Filters(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31)))
    assert em.empty and "基线期没有" in em.attrs["message"] and em.attrs["baseline_partial"]
    em = T.emerging(tiny_con, MARCH.replace(districts=("延庆区",)))
    assert em.empty and "本期没有" in em.attrs["message"]
    em = T.emerging(tiny_con, MARCH, min_count=50)
    assert em.empty and "无可检验项" in em.attrs["message"]
    with pytest.raises(ValueError):
        T.emerging(tiny_con, Filters())
    assert tf.emerging_chart(em).layout.annotations[0].text == em.attrs["message"]


def test_windows():
    w = T.windows(MARCH, baseline="previous", periods=3)
    assert w.baseline == ((date(2024, 11, 28), date(2025, 2, 28)),)
    w = T.windows(MARCH, baseline="year")
    assert w.baseline == ((date(2024, 3, 1), date(2024, 3, 31)),)


# --------------------------------------------------------------------------- the test itself
def test_one_to_three_is_not_significant():
    out = T.rate_ratio_test(["x"], [3], [1], 1000, 1000)
    assert out.loc[0, "p"] == pytest.approx(5 / 16)      # P(X >= 3 | 4, 1/2)
    assert not out.loc[0, "significant"]
    assert out.loc[0, "ci_low"] < 1 < out.loc[0, "ci_high"]


def test_interval_contains_the_ratio_and_large_surges_are_significant():
    rng = np.random.default_rng(7)
    x = rng.integers(1, 200, 300)
    y = rng.integers(1, 200, 300)
    out = T.rate_ratio_test([str(i) for i in range(300)], x, y, 5000, 15000)
    assert ((out["ci_low"] <= out["ratio"]) & (out["ratio"] <= out["ci_high"])).all()
    big = T.rate_ratio_test(["a"], [60], [20], 1000, 1000)       # 3x on decent counts
    assert big.loc[0, "p"] < 1e-4 and big.loc[0, "significant"]
    assert T.significant_count(big) == 1 and T.significant_count(big.iloc[0:0]) == 0


def test_calibration_under_the_null():
    """With no real change, about alpha of the raw p-values fall below alpha (the test is not anti-conservative)."""
    rng = np.random.default_rng(11)
    rates = rng.uniform(0.001, 0.05, 4000)
    n_now, n_base = 20_000, 60_000
    x = rng.poisson(rates * n_now)
    y = rng.poisson(rates * n_base)
    keep = x >= 5
    out = T.rate_ratio_test(np.arange(keep.sum()).astype(str), x[keep], y[keep], n_now, n_base)
    assert (out["p"] < 0.05).mean() < 0.06
    assert out["significant"].sum() <= 2


def test_clustered_counts_are_corrected_for_overdispersion():
    """Each complaint repeated 4 times (same caller, same matter): no real change, yet the plain exact test
    flags many words; the dispersion estimate (about 4) brings false discoveries back near zero."""
    rng = np.random.default_rng(5)
    rates = rng.uniform(0.001, 0.02, 3000)
    n_now, n_base = 20_000, 60_000
    x = 4 * rng.poisson(rates * n_now / 4)
    y = 4 * rng.poisson(rates * n_base / 4)
    keep = x >= 5
    keys = np.arange(keep.sum()).astype(str)
    plain = T.rate_ratio_test(keys, x[keep], y[keep], n_now, n_base)
    phi = T.dispersion(x[keep], y[keep], n_now, n_base)
    assert 3 < phi < 5.5
    fixed = T.rate_ratio_test(keys, x[keep], y[keep], n_now, n_base, phi=phi)
    assert plain["significant"].sum() >= 10
    assert fixed["significant"].sum() <= 2
    assert (fixed["p"] >= plain.set_index("key").loc[fixed["key"], "p"].to_numpy()).all()
    # Independent counts: phi stays about 1.
    xi, yi = rng.poisson(rates * n_now), rng.poisson(rates * n_base)
    assert T.dispersion(xi[xi >= 5], yi[xi >= 5], n_now, n_base) < 1.3


# --------------------------------------------------------------------------- generated data
BACKGROUND = ("夜间施工噪音扰民", "垃圾没人清理", "物业不作为", "道路积水", "共享单车乱停车")
GEN_SQL = """
INSERT INTO tickets (ticket_id, received_at, channel, appeal_type, category_l1, category_l2, category_l3,
                     content, district, complainant_name)
SELECT 'G' || i,
       TIMESTAMP '2025-01-01 08:00:00' + to_days(i // 20) + to_minutes(30 * (i % 20)),
       CASE WHEN i % 2 = 0 THEN '电话' ELSE '网络' END, '投诉',
       CASE WHEN planted THEN '城乡建设' ELSE '其他' END, '子类', '细类',
       CASE WHEN i IN (100, 1900, 2000, 2100) THEN '养老院喷淋坏了'
            WHEN planted THEN '路口红绿灯坏了很危险'
            ELSE $bg[1 + (i // 3) % 5] END,
       CASE i % 3 WHEN 0 THEN '东城区' WHEN 1 THEN '西城区' ELSE '朝阳区' END,
       '测试'
FROM (SELECT i, (i // 20 >= 90 AND i % 10 = 0) OR i % 50 = 1 AS planted FROM range(0, 2400) r(i))
"""
APRIL = Filters(date_from=date(2025, 4, 1), date_to=date(2025, 4, 30))


@pytest.fixture(scope="module")
def gen_con(tmp_path_factory):
    """120 days x 20 tickets: 红绿灯 in 2% of tickets Jan-Mar and 12% in April; 喷淋 goes 1 -> 3."""
    p = tmp_path_factory.mktemp("gen") / "gen.duckdb"
    con = store.connect(p)
    con.execute(GEN_SQL, {"bg": list(BACKGROUND)})
    derived.refresh(con)
    con.close()
    ro = store.connect(p, read_only=True)
    yield ro
    ro.close()


def test_generated_counts(gen_con):
    assert T.total_tickets(gen_con, APRIL) == 600
    em = T.emerging(gen_con, APRIL, periods=3, min_count=3)
    assert em.attrs["n_base"] == 1800
    row = em.set_index("key").loc["红绿灯"]
    # April: 60 (i % 10 = 0) - 3 (喷淋 rows) + 12 (i % 50 = 1); Jan-Mar: 36 (i % 50 = 1)
    assert (row["x"], row["y"]) == (69, 36)


def test_planted_surge_is_detected_and_one_to_three_is_not(gen_con):
    em = T.emerging(gen_con, APRIL, periods=3, min_count=3)
    sig = set(em.loc[em["significant"], "key"])
    assert sig == {"红绿灯", "路口", "危险"}
    assert set(em["key"].head(3)) == sig
    assert em["p"].head(3).is_monotonic_increasing
    penlin = em.set_index("key").loc["喷淋"]
    assert (penlin["x"], penlin["y"]) == (3, 1) and not penlin["significant"] and penlin["p"] > 0.05
    for w in ("施工", "垃圾", "物业", "积水", "共享单车"):
        assert not em.set_index("key").loc[w, "significant"]
    phrases = T.emerging(gen_con, APRIL, kind="phrase", periods=3, min_count=3)
    assert phrases.loc[0, "key"] == "路口 红绿灯" and phrases.loc[0, "significant"]


def test_generated_summary_and_ticket_paths_agree(gen_con):
    a = T.emerging(gen_con, APRIL, periods=3, min_count=3)
    b = T.emerging(gen_con, APRIL.replace(channels=("电话", "网络")), periods=3, min_count=3)
    cols = ["key", "x", "y", "p", "q", "significant"]
    assert a[cols].values.tolist() == b[cols].values.tolist()


def test_planted_category_surge(gen_con):
    em = T.emerging(gen_con, APRIL, kind="category", periods=3, min_count=3)
    top = em.iloc[0]
    assert top["key"] == "城乡建设/子类/细类" and top["significant"]


# --------------------------------------------------------------------------- example tickets
def test_example_tickets_masked_latest_first(tiny_con):
    ex = T.example_tickets(tiny_con, MARCH, "井盖", mask=True)
    assert ex["ticket_id"].tolist() == ["T03", "T02", "T01"]
    assert ex.attrs["total"] == 3
    t01 = ex.set_index("ticket_id").loc["T01"]
    assert t01["complainant_name"] == "张*"
    assert "13812341234" not in t01["content"] and "138****1234" in t01["content"] and "张三" not in t01["content"]
    ex = T.example_tickets(tiny_con, Filters(), "拖欠", limit=1, mask=True)
    assert ex["ticket_id"].tolist() == ["T07"] and "110105198001011234" not in ex.loc[0, "content"]
    assert T.example_tickets(tiny_con, MARCH, "不存在的词").empty


def test_example_tickets_limit_and_total(tiny_con):
    ex = T.example_tickets(tiny_con, Filters(), "井盖", limit=2, mask=True)
    assert len(ex) == 2 and ex.attrs["total"] == 5


# --------------------------------------------------------------------------- empty store and figures
def test_empty_store(empty_db_path):
    con = store.connect(empty_db_path, read_only=True)
    try:
        assert T.total_tickets(con, MARCH) == 0
        assert T.category_tree(con, MARCH).empty
        assert T.top_words(con, MARCH).empty
        assert T.word_trend(con, Filters(), ["井盖"]).empty
        em = T.emerging(con, MARCH)
        assert em.empty and em.attrs["message"]
    finally:
        con.close()


def test_store_without_word_tables_is_reported(tiny_db_path, tmp_path, tiny_con):
    import shutil

    assert T.words_problem(tiny_con) is None
    p = tmp_path / "old.duckdb"
    shutil.copy(tiny_db_path, p)
    con = store.connect(p)
    con.execute("DROP TABLE word_daily")
    con.close()
    con = store.connect(p, read_only=True)
    try:
        assert "manage.py words" in T.words_problem(con)
    finally:
        con.close()


def test_figures_carry_click_values(tiny_con):
    tree = T.category_tree(tiny_con, MARCH)
    fig = tf.category_treemap(tree)
    assert list(fig.data[0].ids) == tree["id"].tolist()
    assert [c[0] for c in fig.data[0].customdata] == tree["id"].tolist()
    words = T.top_words(tiny_con, MARCH, limit=5)
    bar = tf.words_bar(words)
    assert list(bar.data[0].y)[::-1] == words["word"].tolist() and bar.data[0].customdata[-1][0] == "井盖"
    tr = T.word_trend(tiny_con, MARCH, ["井盖", "污水"])
    lines = tf.trend_lines(tr)
    assert [t.name for t in lines.data] == ["井盖", "污水"] and lines.data[0].customdata[0][1] == "2025-02-24"
    em = T.emerging(tiny_con, MARCH, periods=1, min_count=2)
    ch = tf.emerging_chart(em)
    assert len(ch.data[0].x) == len(em) and ch.layout.xaxis.type == "log"
    table = tf.emerging_table(em)
    assert list(table.columns)[:3] == ["词语/分类", "本期工单", "基线工单"] and len(table) == len(em)


# --------------------------------------------------------------------------- the page (AppTest)
def _page_with_sidebar(root: str) -> None:
    """The shared sidebar, then the topics page: what app.py runs for /topics.

    (AppTest drops the sidebar's widgets after switch_page in st.navigation
    apps, so a filter change is tested through this harness; routing through
    app.py is tested separately below.)
    """
    import runpy
    import sys

    if root not in sys.path:
        sys.path.insert(0, root)
    from ui import auth, db, filters

    auth.gate()
    filters.sidebar(db.require_cursor())
    runpy.run_path(f"{root}/views/topics.py", run_name="__main__")


def _topics_app(monkeypatch, db_path):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT, sign_in

    monkeypatch.setenv("HOTLINE_DB", str(db_path))
    at = AppTest.from_function(_page_with_sidebar, args=(str(ROOT),), default_timeout=60)
    sign_in(at)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def test_page_renders_and_follows_a_filter_change(monkeypatch, tiny_db_path):
    at = _topics_app(monkeypatch, tiny_db_path)
    assert [s.value for s in at.subheader] == ["高频问题分类", "高频词语与短语", "示例工单：“井盖”",
                                               "词语与分类趋势", "新兴热点"]
    assert "共 12 件工单" in _captions(at)
    assert "精确条件二项检验" in _captions(at)
    # The examples table is masked.
    ex = at.dataframe[0].value
    assert "张*" in ex["诉求人"].tolist() and not ex["诉求内容"].str.contains("13812341234").any()

    at.sidebar.multiselect(key="flt_districts").set_value(["朝阳区"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "共 4 件工单" in _captions(at)                 # T03 T04 T05 T10
    assert at.subheader[2].value == "示例工单：“望京”"     # 望京 and 污水 in 2 tickets each; ties by word

    at.selectbox(key="topics_em_kind").set_value("category").run()
    at.number_input(key="topics_em_min").set_value(1).run()
    assert not at.exception
    assert "对本期出现不少于 1 件的 3 项逐一检验" in _captions(at)   # 3 level-3 categories in 朝阳区 March

    at.radio(key="topics_kind").set_value("phrase").run()
    assert not at.exception


def test_page_without_matching_tickets_says_so(monkeypatch, tiny_db_path):
    at = _topics_app(monkeypatch, tiny_db_path)
    at.sidebar.text_input(key="flt_text").set_value("没有这样的工单").run()
    assert not at.exception
    assert any("暂无工单" in i.value for i in at.info)


def test_app_routes_to_the_topics_page(monkeypatch, tiny_db_path):

    monkeypatch.setenv("HOTLINE_DB", str(tiny_db_path))
    at = app_test(timeout=60)
    at.run()
    at.switch_page("views/topics.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "热点"


def test_page_with_missing_database(monkeypatch, tmp_path):

    monkeypatch.setenv("HOTLINE_DB", str(tmp_path / "missing.duckdb"))
    at = app_test(timeout=60)
    at.run()
    at.switch_page("views/topics.py").run()
    assert not at.exception
    assert any("数据库文件不存在" in e.value for e in at.error)


def test_page_on_a_store_without_word_tables(monkeypatch, tiny_db_path, tmp_path):
    import shutil

    p = tmp_path / "old.duckdb"
    shutil.copy(tiny_db_path, p)
    con = store.connect(p)
    con.execute("DROP TABLE word_daily")
    con.close()
    at = _topics_app(monkeypatch, p)
    assert any("manage.py words" in e.value for e in at.error)


def test_top_categories_largest_first(tiny_con):
    tree = T.category_tree(tiny_con, MARCH)
    top = T.top_categories(tree, max_level=2)
    assert top[:2] == ["城乡建设", "生态环境"] and "城乡建设/市政设施" in top
    assert all(c.count("/") <= 1 for c in top) and len(top) == 4 + 6
    assert T.top_categories(tree.iloc[0:0]) == []
