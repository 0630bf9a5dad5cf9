"""The wall screen's numbers and figures (analytics/screen.py, analytics/screen_figures.py) on the tiny store.

The tiny store's last day is 2025-03-31: 当日 has 1 ticket, 本月 (March 2025) 12, 本年 15; March 2024 had 5.
"""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from analytics import overview, screen, screen_figures
from analytics.filters import Filters
from data import scope
from data.scope import Scope

LAST = date(2025, 3, 31)


@pytest.fixture(autouse=True)
def _small_bases(monkeypatch):
    """The tiny store's periods hold 1 to 15 tickets: let them be compared (HOTLINE_MIN_COMPARE_BASE)."""
    monkeypatch.setenv("HOTLINE_MIN_COMPARE_BASE", "1")


def _row(df, period, key):
    return df[(df["period"] == period) & (df["key"] == key)].iloc[0]


def test_the_periods_end_on_the_last_day_with_data(tiny_con):
    assert screen.as_of(tiny_con) == LAST
    p = screen.period_filters(LAST, Filters(topics=("井盖",)))
    assert (p["day"].date_from, p["day"].date_to) == (LAST, LAST)
    assert (p["month"].date_from, p["year"].date_from) == (date(2025, 3, 1), date(2025, 1, 1))
    assert all(f.topics == ("井盖",) and f.date_to == LAST for f in p.values())
    w = screen.trend_filters(LAST)
    assert (w.date_from, w.date_to) == (date(2024, 4, 1), LAST)


def test_headline_figures_exact(tiny_con):
    h = screen.headline(tiny_con, Filters())
    assert list(h["key"].unique()) == list(screen.HEADLINE) and list(h["period"].unique()) == list(screen.PERIODS)
    got = {(p, k): screen.headline_value(h, p, k) for p in screen.PERIODS for k in ("tickets", "clues", "cases",
                                                                                  "rectified")}
    assert got == {("day", "tickets"): 1, ("day", "clues"): 0, ("day", "cases"): 0, ("day", "rectified"): 0,
                   ("month", "tickets"): 12, ("month", "clues"): 5, ("month", "cases"): 2, ("month", "rectified"): 2,
                   ("year", "tickets"): 15, ("year", "clues"): 5, ("year", "cases"): 2, ("year", "rectified"): 2}
    m = _row(h, "month", "tickets")
    assert (m["last_year"], m["change"]) == (5, pytest.approx(1.4))
    assert bool(m["last_year_partial"])          # March 2024 starts before the first day of data (2024-03-05)
    r = _row(h, "month", "response")
    assert (r["value"], r["numerator"], r["denominator"]) == (pytest.approx(11 / 12), 11, 12)
    assert r["last_year"] == 1.0 and r["change"] == pytest.approx(11 / 12 - 1)
    day_res = _row(h, "day", "resolution")
    assert pd.isna(day_res["value"]) and pd.isna(day_res["change"])    # no closed ticket that day: "—", not 0 %
    assert pd.isna(_row(h, "day", "tickets")["change"])               # 0 a year before: no % change


@pytest.mark.parametrize("topic", [None, "井盖"])
def test_headline_equals_the_overview_for_each_period(tiny_con, topic):
    base = Filters(topics=(topic,)) if topic else Filters()
    h = screen.headline(tiny_con, base)
    for period, f in screen.period_filters(LAST, base).items():
        k = overview.kpis(tiny_con, f).set_index("key")
        r = overview.rates(tiny_con, f).set_index("key")
        for key in screen.COUNTS:
            assert screen.headline_value(h, period, key) == k.loc[key, "value"], (period, key)
        for key in screen.RATES:
            v = screen.headline_value(h, period, key)
            assert (v is None and pd.isna(r.loc[key, "rate"])) or v == pytest.approx(r.loc[key, "rate"])


def test_projects_with_last_year(tiny_con):
    month = screen.period_filters(LAST)["month"]
    p = screen.projects(tiny_con, month)
    rows = {r.topic: (r.n, r.last_year, r.change) for r in p.itertuples()}
    assert rows["井盖"][:2] == (3, 1) and rows["井盖"][2] == pytest.approx(2.0)
    assert rows["污水"][:2] == (2, 0) and pd.isna(rows["污水"][2])      # none last year: no % change
    assert p["bar"].max() == 1.0 and list(p["n"]) == sorted(p["n"], reverse=True)
    top = overview.top_values(tiny_con, month, by="topic", limit=8)
    assert dict(zip(top["key"], top["n"], strict=True)) == {k: v[0] for k, v in rows.items()}


def test_rotation_default_and_configured(tiny_con):
    month = screen.period_filters(LAST)["month"]
    assert screen.rotation(tiny_con, month) == [None, "井盖", "假冒伪劣", "污水", "欠薪"]
    assert screen.rotation(tiny_con, month, configured=("污水", "两卡", "污水")) == [None, "污水", "两卡"]


def test_focus_of_a_project_by_district_and_by_street(tiny_db_path):
    import duckdb

    con = duckdb.connect(str(tiny_db_path), read_only=True)
    fo = screen.focus(con, Filters(), "井盖")
    assert fo.level == "district" and fo.label == "井盖" and fo.month.topics == ("井盖",)
    assert dict(zip(fo.ranking["name"], fo.ranking["n"], strict=True))["东城区"] == 2
    rk = overview.district_ranking(con, fo.month)
    assert fo.ranking["n"].sum() == rk["n"].sum() == 3
    assert int(fo.trend["n"].iloc[-1]) == 3 and int(fo.trend["n_last_year"].iloc[-1]) == 1
    assert len(fo.trend) == screen.TREND_MONTHS
    # a one-district account sees its streets
    cur = scope.scoped_cursor(con, Scope(("朝阳区",)))
    fz = screen.focus(cur, Filters(), None)
    assert fz.level == "street" and set(fz.areas["district"]) == {"朝阳区"}
    assert fz.ranking["n"].sum() == 4 == overview.kpi_value(overview.kpis(cur, fz.month), "tickets")
    assert pd.isna(fz.ranking["per_10k"]).all()   # street populations are estimates: no per-10k ranking


def test_hotspots_of_the_month(tiny_con):
    hs = screen.month_hotspots(tiny_con, Filters(), "井盖")
    assert list(hs.columns) == screen.HOTSPOT_COLUMNS and len(hs) <= screen.HOTSPOTS_PER_FOCUS
    assert set(hs["topic"]) <= {"井盖"} and hs.attrs["total"] >= len(hs)
    assert screen.month_hotspots(tiny_con, Filters(), None).empty
    both = screen.combine_hotspots({"井盖": hs, "污水": hs.assign(topic="污水")}, per_project=1)
    assert len(both) == 2 * min(1, len(hs))


def test_risers_say_why_nothing_is_tested(tiny_con):
    r = screen.risers(tiny_con, Filters())
    assert r.empty and "无可检验项" in r.attrs["message"] and r.attrs["significant"] == 0


def test_an_empty_store(empty_db_path):
    import duckdb

    con = duckdb.connect(str(empty_db_path), read_only=True)
    assert screen.as_of(con) is None
    assert screen.headline(con, Filters()).empty
    assert screen.focus(con, Filters()).notes == ["数据库中还没有工单。"]
    assert screen.risers(con, Filters()).attrs["message"]


def test_map_labels_are_chinese_characters_only():
    assert screen.map_label("朝阳区") == "朝阳" and screen.map_label("密云县") == "密云"
    assert screen.map_label("Area 51区") == "区" and screen.map_label(None) == ""


def test_inputs_the_data_never_had_read_dash_as_on_the_overview(tmp_path):
    from analytics import coverage
    from tests.test_honest_screens import _days, _store

    con = _store(tmp_path, _days(date(2024, 4, 1), 5, 一级分类="城乡建设"))   # no response times, no clue ledger
    h = screen.headline(con, Filters())
    cov = coverage.coverage(con)
    for period, f in screen.period_filters(date(2024, 4, 5)).items():
        k = overview.with_missing_inputs(overview.kpis(con, f), cov).set_index("key")
        r = overview.with_missing_inputs(overview.rates(con, f), cov).set_index("key")
        for key in screen.COUNTS:
            row = _row(h, period, key)
            assert (pd.isna(row["value"]) and pd.isna(k.loc[key, "value"])) or row["value"] == k.loc[key, "value"]
            assert row["missing"] == (k.loc[key, "missing"] if isinstance(k.loc[key, "missing"], str) else None)
        for key in screen.RATES:
            assert pd.isna(_row(h, period, key)["value"]) and "列" in _row(h, period, key)["missing"]
            assert _row(h, period, key)["missing"] == r.loc[key, "missing"]
    assert screen.headline_value(h, "year", "tickets") == 5
    assert pd.isna(_row(h, "month", "clues")["value"]) and "线索台账" in _row(h, "month", "clues")["missing"]
    assert pd.isna(_row(h, "month", "response")["value"])          # "—", never 0.0 %
    assert screen.ledger_figures(con, date(2024, 4, 5), date(2024, 4, 5)) is None   # no ledger: not "0 overdue"
    fo = screen.focus(con, Filters(), None)
    assert pd.isna(fo.kpis.set_index("key").loc["clues", "value"])


def test_ledger_figures_are_the_ledgers_summary(tiny_db_path):
    import duckdb

    from analytics import ledger
    from data.ledger import overlay

    con = duckdb.connect(str(tiny_db_path), read_only=True)
    try:
        cur = overlay.ledger_cursor(con, db_path=tiny_db_path)
        today = date(2025, 5, 26)
        got = screen.ledger_figures(cur, LAST, today)
        want = ledger.ledger_summary(cur, LAST, today)
        assert {k: v for k, v in got.items() if k != "results"} == {k: v for k, v in want.items() if k != "results"}
        assert (got["overdue"], got["due_soon"]) == (1, 0)
        # K01 (井盖) was rectified on 2025-03-27: three manholes; K02's sewage cut is June's
        assert got["results"].to_dict("records") == [{"item": "更换井盖3个", "unit": "个", "cases": 1, "value": 3.0}]
        # a Chaoyang account: its one clue was not rectified in March, and nothing is overdue there
        cz = overlay.ledger_cursor(con, scope.Scope(("朝阳区",)), db_path=tiny_db_path)
        z = screen.ledger_figures(cz, LAST, today)
        assert (z["overdue"], z["due_soon"], len(z["results"])) == (0, 0, 0)
    finally:
        con.close()


# ---------------------------------------------------------------- figures
def _spec(fig) -> dict:
    return json.loads(fig.to_json())


def test_map_figure_is_offline_and_shows_only_the_given_areas(tiny_con):
    fo = screen.focus(tiny_con, Filters(), "井盖")
    marks = screen.month_hotspots(tiny_con, Filters(), "井盖")
    fig = screen_figures.map_figure(fo.areas[fo.areas["district"].isin(["东城区", "朝阳区", "平谷区"])], marks,
                                    mode="dark", scale=2, width=800, height=560)
    spec = _spec(fig)
    assert spec["layout"]["map"]["style"] == "white-bg"   # no style or tiles from a server
    choro = next(t for t in spec["data"] if t["type"] == "choroplethmap")
    assert sorted(choro["locations"]) == ["东城区", "平谷区", "朝阳区"]
    assert {f["properties"]["district"] for f in choro["geojson"]["features"]} == {"东城区", "朝阳区", "平谷区"}
    labels = next(t for t in spec["data"] if t.get("mode") == "text")["text"]
    assert sorted(labels) == ["东城", "平谷", "朝阳"]     # Chinese only: no glyph request
    for t in spec["data"]:
        assert t.get("mode") != "text" or all(screen.map_label(x) == x for x in t["text"])
    assert spec["layout"]["font"]["size"] == 36           # the scale doubles the type
    if len(marks):
        assert any(t.get("name") == "井盖" for t in spec["data"])


def test_map_figure_light_and_street_level(tiny_db_path):
    import duckdb

    cur = scope.scoped_cursor(duckdb.connect(str(tiny_db_path), read_only=True), Scope(("朝阳区",)))
    fo = screen.focus(cur, Filters(), None)
    fig = screen_figures.map_figure(fo.areas, pd.DataFrame(columns=screen.HOTSPOT_COLUMNS), level="street",
                                    metric="n", mode="light")
    choro = next(t for t in _spec(fig)["data"] if t["type"] == "choroplethmap")
    assert len(choro["locations"]) == len(fo.areas) and choro["featureidkey"] == "properties.street_code"
    with pytest.raises(ValueError):
        screen_figures.map_figure(fo.areas, pd.DataFrame(), metric="change")


def test_trend_and_ranking_figures(tiny_con):
    fo = screen.focus(tiny_con, Filters())
    tr = _spec(screen_figures.trend_figure(fo.trend, last_day=date(2025, 3, 20)))
    now = next(t for t in tr["data"] if t["name"] == "本期")
    assert now["x"][-1] == "3月（至20日）" and now["x"][0] == "4月" and now["text"][-1] == "12"
    assert any(t["name"] == "上年同期" for t in tr["data"])
    # the last value (here the highest month) has its label's room inside the plot area, under the legend
    lo, hi = tr["layout"]["yaxis"]["range"]
    assert lo == 0 and fo.trend["n"].iloc[-1] == fo.trend["n"].max() == 12 and hi == pytest.approx(12 * screen_figures.LABEL_HEADROOM)
    assert tr["layout"]["legend"]["yanchor"] == "bottom" and tr["layout"]["legend"]["y"] >= 1
    bar = screen_figures.ranking_figure(fo.ranking).data[0]
    assert bar.y[-1] == "朝阳区" and bar.x[-1] == 4 and bar.text[-1] == "4"   # most on top (drawn bottom-up)
    empty = _spec(screen_figures.ranking_figure(fo.ranking.assign(n=0)))
    assert empty["layout"]["annotations"][0]["text"] == "本月暂无工单"
