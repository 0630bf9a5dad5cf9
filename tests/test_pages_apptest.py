"""The overview, funnel and ticket pages run headless (AppTest) on a copy of the tiny store.

Checks what a user sees: KPIs, charts (plotly specs), tables, a sidebar filter
change, URL parameters, and every edge state's Chinese message (empty store,
missing store, store without funnel records, no data for the filters, no
comparison data). Drill-down clicks are exercised in the real browser
(tests/browser/test_dashboard_browser.py); the pure parts are tested here.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import date

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analytics.filters import Filters
from tests.conftest import ROOT, app_test

APP = str(ROOT / "app.py")
TIMEOUT = 120


def _run(page: str | None = None, **query) -> AppTest:
    at = app_test(APP, timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _decode(obj):
    """Plotly 7 sends numeric arrays as {"dtype", "bdata"} (base64): turn them back into lists."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]))
            if "shape" in obj:
                arr = arr.reshape([int(x) for x in str(obj["shape"]).split(",")])
            return arr.tolist()
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def _plots(at: AppTest) -> list[dict]:
    return [_decode(json.loads(el.proto.spec)) for el in at.get("plotly_chart")]


def _plot_titled(at: AppTest, text: str) -> dict:
    for spec in _plots(at):
        title = ((spec.get("layout") or {}).get("title") or {}).get("text") or ""
        if text in title:
            return spec
    raise AssertionError(f"no chart titled {text!r}")


def test_overview_default_is_latest_month(app_db):
    at = _run()
    _no_errors(at)
    assert at.title[0].value == "总览"
    m = _metrics(at)
    assert [m[k] for k in ("工单量", "已定位工单", "线索", "立案", "已整改")] == ["12", "11", "5", "2", "2"]
    assert [m[k] for k in ("响应率", "解决率", "满意率")] == ["91.7%", "90.0%", "90.0%"]
    assert at.query_params["from"] == "2025-03-01" and at.query_params["to"] == "2025-03-31"
    ranking = _plot_titled(at, "各区工单量排名")
    bar = ranking["data"][0]
    assert dict(zip(bar["y"], bar["x"], strict=True))["朝阳区"] == 4
    assert bar["customdata"][-1] == "朝阳区"  # biggest bar on top = last trace point
    trend = _plot_titled(at, "工单量趋势")
    assert sum(trend["data"][0]["y"]) == 12 and sum(trend["data"][1]["y"]) == 5
    captions = " ".join(c.value for c in at.caption)
    assert "上期 3" in captions and "同比 +140.0%（去年同期 5）" in captions
    assert "去年同期仅部分有数据，数据自 2024-03-05 起" in captions
    assert "这三项尚不完整" in captions   # the latest month: its funnel is still filling (right-censored)


def test_overview_filter_change_narrows_every_number(app_db):
    at = _run()
    at.multiselect(key="flt_districts").set_value(["朝阳区"]).run()
    _no_errors(at)
    m = _metrics(at)
    # 朝阳 in March: T03, T04, T05, T10 (no coordinates) -> clue C02 -> K02 (rectified).
    assert [m[k] for k in ("工单量", "已定位工单", "线索", "立案", "已整改")] == ["4", "3", "1", "1", "1"]
    assert at.query_params["district"] == "朝阳区"
    top = _plot_titled(at, "高频问题分类")
    assert sorted(top["data"][0]["customdata"]) == ["城乡建设/市政设施/井盖破损", "城乡建设/物业管理/物业服务",
                                                    "生态环境/水污染/污水排放"]


def test_overview_from_url_and_changes(app_db):
    at = _run(**{"from": "2025-03-01", "to": "2025-03-31", "topic": "井盖"})
    _no_errors(at)
    assert _metrics(at)["工单量"] == "3"
    at.number_input(key="ov_min_base").set_value(1).run()
    ch = _plot_titled(at, "变化最大的三级分类")
    assert ch["data"][0]["x"] == [2] and ch["data"][0]["customdata"] == ["城乡建设/市政设施/井盖破损"]


def test_overview_without_comparison_data(app_db):
    at = _run(**{"from": "2024-03-01", "to": "2024-03-31"})
    _no_errors(at)
    assert _metrics(at)["工单量"] == "5"
    captions = " ".join(c.value for c in at.caption)
    assert "环比：无上期数据" in captions and "同比：无同期数据" in captions and "去年同期：无同期数据" in captions
    assert any("无上期数据" in i.value for i in at.info)


def test_overview_no_data_for_filters(app_db):
    at = _run(**{"from": "2025-03-01", "to": "2025-03-31", "district": "延庆区"})
    _no_errors(at)
    assert any("所选条件下没有工单" in w.value for w in at.warning)
    assert not at.metric


def test_funnel_page(app_db):
    at = _run("views/funnel.py", **{"from": "2025-03-01", "to": "2025-03-31"})
    _no_errors(at)
    assert at.title[0].value == "漏斗"
    m = _metrics(at)
    assert [m[k] for k in ("诉求工单", "线索", "立案", "整改")] == ["12", "5", "2", "2"]
    fun = _plot_titled(at, "诉求→线索→立案→整改")
    assert fun["data"][0]["x"] == [12, 5, 2, 2]
    frames = [d.value for d in at.dataframe]
    deadlines = next(df for df in frames if "按期率" in df.columns)
    assert deadlines.set_index("期限").loc["线索审查", "件数"] == 5
    overdue = next(df for df in frames if "超期天数" in df.columns)
    assert {"C02", "K02"} <= set(overdue["编号"])


def test_funnel_split_switch(app_db):
    at = _run("views/funnel.py", **{"from": "2025-03-01", "to": "2025-03-31"})
    at.segmented_control(key="fn_split").set_value("function").run()
    _no_errors(at)
    table = next(d.value for d in at.dataframe if "检察职能" in d.value.columns).set_index("检察职能")
    assert table.loc["公益诉讼", "线索"] == 2 and table.loc["刑事", "立案"] == 0


def test_tickets_page_list_and_detail_by_url(app_db):
    at = _run("views/tickets.py", **{"from": "2025-03-01", "to": "2025-03-31", "id": "T01"})
    _no_errors(at)
    assert "显示第 1-12 条，共 12 条" in " ".join(m.value for m in at.markdown)
    assert any(s.value == "工单 T01" for s in at.subheader)
    content = " ".join(t.value for t in at.text)   # the citizen's words: plain text (st.text), not Markdown
    assert "联系人张*，电话138****1234" in content and "13812341234" not in content
    frames = [d.value for d in at.dataframe]
    path = next(df for df in frames if "环节" in df.columns)
    assert list(path["编号"]).count("K01") == 5
    near = next(df for df in frames if "距离（米）" in df.columns)
    assert sorted(near["工单编号"]) == ["T02", "T13", "T16"]
    assert _plots(at)  # the small location map
    assert _plots(at)[0]["layout"]["map"]["style"] == "white-bg"


def test_tickets_page_sorting_and_paging(app_db):
    at = _run("views/tickets.py", **{"from": "2025-03-01", "to": "2025-03-31"})
    at.selectbox(key="tk_size").set_value(20).run()
    at.selectbox(key="tk_sort").set_value("ticket_id").run()
    at.toggle(key="tk_desc").set_value(False).run()
    _no_errors(at)
    lst = next(d.value for d in at.dataframe if "工单编号" in d.value.columns and "诉求人" in d.value.columns)
    assert list(lst["工单编号"][:3]) == ["T01", "T02", "T03"]
    assert (lst["诉求人"].str.contains(r"\*")).all()


def test_ticket_without_coordinates(app_db):
    at = _run("views/tickets.py", id="T10")
    _no_errors(at)
    assert any("该工单没有坐标" in i.value for i in at.info)


def test_unknown_ticket_id(app_db):
    at = _run("views/tickets.py", id="NOPE")
    _no_errors(at)
    assert any("未找到工单 NOPE" in w.value for w in at.warning)


def test_empty_store_pages(empty_db_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(empty_db_path))
    at = _run()
    _no_errors(at)
    assert any("数据库中还没有工单" in i.value for i in at.info)
    at.switch_page("views/funnel.py").run()
    _no_errors(at)
    assert any("还没有线索" in i.value for i in at.info)
    at.switch_page("views/tickets.py").run()
    _no_errors(at)
    assert any("没有工单" in w.value for w in at.warning)


def test_store_with_tickets_but_no_funnel(empty_db_path, monkeypatch):
    from data import derived, store, summaries

    con = store.connect(empty_db_path)
    con.execute("INSERT INTO tickets (ticket_id, received_at, district, lon, lat) "
                "VALUES ('X1', '2025-03-02 10:00', '东城区', 116.4, 39.9)")
    summaries.refresh_daily(con)
    derived.upgrade(con)   # the other derived tables, as `init` builds them
    con.close()
    monkeypatch.setenv("HOTLINE_DB", str(empty_db_path))
    at = _run("views/funnel.py")
    _no_errors(at)
    assert any("有工单，但还没有线索" in i.value for i in at.info)
    at.switch_page("views/overview.py").run()
    _no_errors(at)
    # no clue ledger at all: "—" and why, not a 0 that reads as "no clue was found" (issue 20)
    assert _metrics(at)["工单量"] == "1" and _metrics(at)["线索"] == "—"
    assert any("尚未导入线索台账" in c.value for c in at.caption)


@pytest.mark.parametrize("page", [None, "views/funnel.py", "views/tickets.py"])
def test_missing_store_says_so(tmp_path, monkeypatch, page):
    monkeypatch.setenv("HOTLINE_DB", str(tmp_path / "nope.duckdb"))
    at = app_test(APP, timeout=TIMEOUT)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception
    assert any("数据库文件不存在" in e.value for e in at.error)


def test_locked_store_says_so(app_db):
    # Another process (e.g. an import) holds the write lock.
    code = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
            "time.sleep(120)")
    writer = subprocess.Popen([sys.executable, "-c", code, str(app_db)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        time.sleep(0.2)
        at = _run()
        assert not at.exception
        assert any("正被另一个进程" in e.value for e in at.error), [e.value for e in at.error]
    finally:
        writer.kill()
        writer.wait()


# ---- drill-down: the pure parts
def test_drill_narrow_and_period():
    from ui import drill

    f = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31), districts=("东城区",), streets=("建国门街道",))
    nf, label = drill.narrow(f, "district", "朝阳区")
    assert nf.districts == ("朝阳区",) and nf.streets == () and label == "区 = 朝阳区"
    nf, _ = drill.narrow(f, "street", "海淀区/八里庄街道")
    assert nf.districts == ("海淀区",) and nf.streets == ("八里庄街道",)
    nf, _ = drill.narrow(f, "category", "城乡建设/市政设施/井盖破损")
    assert nf.categories == ("城乡建设/市政设施/井盖破损",) and nf.districts == ("东城区",)
    nf, _ = drill.narrow(f, "function", "刑事")
    assert nf.functions == ("刑事",)
    nf, label = drill.period(f, date(2025, 2, 24), "week")   # week straddling the period start
    assert (nf.date_from, nf.date_to) == (date(2025, 3, 1), date(2025, 3, 2))
    nf, _ = drill.period(f, date(2025, 3, 1), "month")
    assert (nf.date_from, nf.date_to) == (date(2025, 3, 1), date(2025, 3, 31))
    nf, _ = drill.period(f, date(2025, 3, 5), "day")
    assert nf.date_from == nf.date_to == date(2025, 3, 5)
    with pytest.raises(ValueError):
        drill.narrow(f, "complainant_name", "x")


def test_drill_reads_selection_events():
    from ui import drill

    event = {"selection": {"points": [{"x": 4, "y": "朝阳区", "customdata": ["朝阳区"]}]}}
    assert drill.value(event) == "朝阳区" and drill.value(event, "x") == 4
    assert drill.value({"selection": {"points": []}}) is None and drill.value(None) is None
