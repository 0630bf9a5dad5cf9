"""The wall screen page (views/screen.py) headless (AppTest) on a copy of the tiny store.

What the wall shows and what it does when nobody is there to click: the display account lands on it, its
headline figures equal the overview's for the same scope and period, the rotation reaches every configured
project, a store that goes missing keeps the last figures with a quiet notice (no error box), a disabled
account is signed out at the next refresh.
"""

from __future__ import annotations

import re

import pytest

from data import audit, people, records
from tests.conftest import ROOT, app_test

APP = str(ROOT / "app.py")
STATE = "scr_state"
KPI_RE = re.compile(r'data-kpi="(\w+)-(\w+)">([^<]+)<')


@pytest.fixture()
def screen_env(app_db, monkeypatch):
    monkeypatch.setenv("HOTLINE_SCREEN_REFRESH_SECONDS", "300")
    monkeypatch.setenv("HOTLINE_SCREEN_ROTATE_SECONDS", "30")
    monkeypatch.delenv("HOTLINE_SCREEN_PROJECTS", raising=False)
    return app_db


def _html(at) -> str:
    return " ".join(e.value for e in at.get("html"))


def _kpis(at) -> dict[tuple[str, str], str]:
    return {(p, k): v for p, k, v in KPI_RE.findall(_html(at))}


def _clean(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


CHARTS = ("map", "trend", "rank")


def _charts(at) -> dict[str, str]:
    """Each plotly chart's key and figure (what Streamlit compares to keep or redraw it)."""
    return {e.key: e.proto.spec for e in at.get("plotly_chart")}


def _shown(at) -> int:
    """The chart slot on show (the title bar's style says which)."""
    return int(re.search(r'st-key-scr_s(\d)_"\] \{ visibility: visible', _html(at)).group(1))


def _focus(at) -> str:
    return re.search(r'data-focus-name="([^"]+)"', _html(at)).group(1)


def _next(at, *, refresh: bool = False, rotate: bool = True):
    """Run the screen again as its timer would: the rotation's and/or the refresh's interval has passed."""
    state = at.session_state[STATE]
    if rotate:
        state["stepped"] = 0.0
    if refresh:
        state["refreshed"] = 1.0
    return at.run()


def test_the_display_account_lands_on_the_wall_screen(screen_env):
    at = app_test(APP, role="display").run()
    _clean(at)
    assert not at.get("page_link") and not at.sidebar.children    # no menu, no sidebar: the page is the window
    html = _html(at)
    assert "热线检察监督态势" in html and "数据截至 <b>2025-03-31</b>" in html and ">全市<" in html
    k = _kpis(at)
    assert len(k) == 21
    assert (k[("day", "tickets")], k[("month", "tickets")], k[("year", "tickets")]) == ("1", "12", "15")
    assert (k[("month", "response")], k[("day", "resolution")]) == ("91.7%", "—")
    assert k[("month", "clues")] == "5" and k[("month", "rectified")] == "2"
    # map, trend, ranking, each in two slots: the frame on show and the next one, drawn out of sight
    assert sorted(_charts(at)) == sorted(f"scr_{c}_{i}" for c in CHARTS for i in (0, 1))
    assert _shown(at) == 0
    css = next(e.value for e in at.get("html") if e.value.startswith("<style>"))
    # our own stylesheet: it styles our classes and our keyed containers, never Streamlit's inner elements
    selectors = re.findall(r"([^{}]+)\{", css.removeprefix("<style>"))
    assert selectors and all(re.fullmatch(r"[\s,]*((\.scr-|\.st-key-scr_|\[class\*=\"st-key-scr_)[^,]*[\s,]*)+",
                                          sel) for sel in selectors), selectors
    assert "<script" not in html and "data-testid" not in css
    assert "尚未启用筛查规则" in html and "暂不可用" in html             # nothing screened: not a misleading 0


def _clock(at, *, last: bool = True) -> dict:
    """The screen's clock (ui/screen_clock.py): the fragment's last element (after a failure, followed only by
    Streamlit's error box), and what it tells the browser."""
    import json

    frag = list(at.main.children.values())[-1]          # the fragment's container: scr_root, then the clock
    (clock,) = [e for e in frag.children.values() if e.type == "bidi_component" and e.key == "scr_clock"]
    if last:
        assert list(frag.children.values())[-1] is clock
    return json.loads(clock.proto.json)


def test_the_clock_is_drawn_last_and_asks_for_the_next_run(screen_env, monkeypatch):
    """No `run_every`: the browser asks for the next run once it has taken in this one (the clock comes last),
    so the server can never get ahead of it; the same clock reloads the page when runs stop coming."""
    monkeypatch.setenv("HOTLINE_SCREEN_ROTATE_SECONDS", "20")
    monkeypatch.setenv("HOTLINE_SCREEN_WATCHDOG_SECONDS", "30")
    at = app_test(APP, role="display").run()
    _clean(at)
    first = _clock(at)
    assert 250 <= first["next_ms"] <= 20_000 and first["retry_ms"] == 10_000
    assert first["watchdog_ms"] == 100_000                  # never less than five intervals (5 × 20 s)
    assert first["health"] == "_stcore/health"              # relative: the app's own server, nothing outside
    at.run()
    assert _clock(at)["run"] == first["run"] + 1            # new data at every run: the browser's cue
    monkeypatch.setenv("HOTLINE_SCREEN_WATCHDOG_SECONDS", "600")
    assert _clock(at.run())["watchdog_ms"] == 600_000


def test_the_clock_keeps_going_after_an_unexpected_failure(screen_env, monkeypatch):
    """A bug in one run shows Streamlit's error box, but the clock is still drawn: the next run tries again
    (a wall with nobody to click "rerun" must not stop for good)."""
    from ui import screen_parts

    at = app_test(APP, role="display").run()
    _clean(at)
    n = _clock(at)["run"]

    def broken(*a, **k):
        raise RuntimeError("a bug in the title bar")

    monkeypatch.setattr(screen_parts, "head", broken)
    at.run()
    assert at.exception                                   # Streamlit's box (details in the server log)
    assert _clock(at, last=False)["run"] == n + 1
    monkeypatch.undo()
    monkeypatch.setenv("HOTLINE_DB", str(screen_env))
    at.run()
    _clean(at)
    assert "热线检察监督态势" in _html(at) and _clock(at)["run"] == n + 2


def _overview_figures(districts, date_from: str, date_to: str) -> dict[str, str]:
    """The overview's tiles for a period, as the same account sees them (a fresh session opened by URL)."""
    at = app_test(APP, role="leader", districts=districts)
    at.query_params["from"], at.query_params["to"] = date_from, date_to
    at.run()
    _clean(at)
    return {m.label: m.value for m in at.metric}


LABELS = {"tickets": "工单量", "clues": "线索", "cases": "立案", "rectified": "已整改", "response": "响应率",
          "resolution": "解决率", "satisfaction": "满意率"}


@pytest.mark.parametrize("districts", [(), ("朝阳区",)])
def test_every_headline_figure_equals_the_overviews(screen_env, districts):
    at = app_test(APP, role="leader", districts=districts)
    at.run()
    at.switch_page("views/screen.py").run()
    _clean(at)
    shown = _kpis(at)
    for period, (a, b) in {"day": ("2025-03-31", "2025-03-31"), "month": ("2025-03-01", "2025-03-31"),
                           "year": ("2025-01-01", "2025-03-31")}.items():
        ov = _overview_figures(districts, a, b)
        if not ov:   # the overview says "所选条件下没有工单": the screen shows 0 tickets and no rate
            assert [shown[(period, k)] for k in LABELS] == ["0", "0", "0", "0", "—", "—", "—"], (districts, period)
            continue
        for key, label in LABELS.items():
            assert shown[(period, key)] == ov[label], (districts, period, key)
    if districts:
        assert shown[("month", "tickets")] == "4"


def test_a_district_account_sees_its_streets(screen_env):
    at = app_test(APP, role="display", districts=("朝阳区",)).run()
    _clean(at)
    html = _html(at)
    assert ">朝阳区<" in html and "各街乡工单量排名" in html
    assert _kpis(at)[("month", "tickets")] == "4"
    assert "东城区" not in html


def test_the_old_overview_link_opens_the_wall_screen(screen_env):
    at = app_test(APP, role="leader")
    at.query_params["screen"] = "1"
    at.run()
    _clean(at)
    assert "热线检察监督态势" in _html(at) and not at.metric


def test_the_rotation_reaches_every_configured_project(screen_env, monkeypatch):
    monkeypatch.setenv("HOTLINE_SCREEN_PROJECTS", "井盖,污水,两卡")
    at = app_test(APP, role="display").run()
    seen = []
    for _ in range(5):
        _clean(at)
        seen.append(re.search(r'data-focus-name="([^"]+)"', _html(at)).group(1))
        _next(at)
    assert seen == ["全部工单", "井盖", "污水", "两卡", "全部工单"]
    # a project without tickets this month is shown as such, not skipped
    _next(at), _next(at)
    assert re.search(r'data-focus-name="两卡"', _html(at))


def test_a_rotation_step_shows_charts_drawn_one_run_earlier(screen_env, monkeypatch):
    """No chart is drawn in front of the viewer at a rotation step: the next project's charts were sent one
    run earlier into the hidden slot, and the step shows them unchanged (Streamlit keeps an element whose
    figure did not change) while the other slot takes the project after, out of sight."""
    monkeypatch.setenv("HOTLINE_SCREEN_PROJECTS", "井盖,污水")
    at = app_test(APP, role="display").run()
    _clean(at)
    first = _charts(at)
    assert (_focus(at), _shown(at)) == ("全部工单", 0)
    assert all(first[f"scr_{c}_0"] != first[f"scr_{c}_1"] for c in CHARTS)
    at.run()                                              # a run with nothing due changes no chart
    assert _charts(at) == first and _shown(at) == 0
    for focus, shown in (("井盖", 1), ("污水", 0), ("全部工单", 1)):
        before = _charts(at)
        _next(at)
        _clean(at)
        after = _charts(at)
        assert (_focus(at), _shown(at)) == (focus, shown)
        for c in CHARTS:
            assert after[f"scr_{c}_{shown}"] == before[f"scr_{c}_{shown}"], (focus, c)   # drawn a run ago
            assert after[f"scr_{c}_{1 - shown}"] != before[f"scr_{c}_{1 - shown}"], (focus, c)  # the next one


def test_a_new_import_is_drawn_out_of_sight_then_shown(screen_env, monkeypatch, tmp_path):
    """Without a rotation, a refresh that finds a new generation draws its frame into the hidden slot and
    shows it at the next run, every panel from the new generation at once (never half old, half new)."""
    from data import generations
    from data.ingest import ingest_files

    monkeypatch.setenv("HOTLINE_SCREEN_ROTATE_SECONDS", "0")
    at = app_test(APP, role="display").run()
    _clean(at)
    first = _charts(at)
    assert _shown(at) == 0 and _kpis(at)[("month", "tickets")] == "12"
    assert sorted(first) == sorted(f"scr_{c}_0" for c in CHARTS)                # nothing else to draw yet
    csv = tmp_path / "new.csv"
    csv.write_text("工单编号,受理时间,所属区,街道,问题分类,诉求内容\n"
                   "N1,2025-03-31 09:00:00,西城区,,城乡建设/市政设施/井盖破损,西单路口井盖松动\n", encoding="utf-8")
    with generations.write(screen_env) as gen:
        (rep,) = ingest_files(gen.con, [csv])
        assert rep.inserted == 1
    _next(at, refresh=True, rotate=False)
    _clean(at)
    staged = _charts(at)
    assert _shown(at) == 0 and _kpis(at)[("month", "tickets")] == "12"          # still the old frame, whole
    assert all(staged[f"scr_{c}_0"] == first[f"scr_{c}_0"] for c in CHARTS)
    assert sorted(staged) == sorted(f"scr_{c}_{i}" for c in CHARTS for i in (0, 1))  # the new one, out of sight
    at.run()
    _clean(at)
    assert _shown(at) == 1 and _kpis(at)[("month", "tickets")] == "13"
    assert all(_charts(at)[f"scr_{c}_1"] == staged[f"scr_{c}_1"] for c in CHARTS)


def test_a_missing_store_keeps_the_last_figures_quietly(screen_env):
    at = app_test(APP, role="display").run()
    before = _kpis(at)
    moved = screen_env.with_suffix(".away")
    screen_env.rename(moved)
    try:
        _next(at, refresh=True)
        _clean(at)
        assert not at.warning and not at.info
        html = _html(at)
        assert "数据库暂时无法读取" in html and "稍后自动重试" in html
        assert _kpis(at) == before
    finally:
        moved.rename(screen_env)
    _next(at, refresh=True)
    _clean(at)
    assert "暂时无法读取" not in _html(at) and _kpis(at) == before


def test_a_store_missing_from_the_start_waits_quietly(app_db, monkeypatch, tmp_path):
    monkeypatch.setenv("HOTLINE_DB", str(tmp_path / "nothing-here.duckdb"))
    at = app_test(APP, role="display").run()
    _clean(at)
    assert "数据库暂时无法读取" in _html(at)


def test_a_disabled_account_is_signed_out_at_the_next_refresh(screen_env):
    at = app_test(APP, role="display").run()
    _clean(at)
    with records.session() as con:
        people.disable(con, audit.Actor("pytest"), "t_display")
    try:
        _next(at, refresh=True)
        assert [t.label for t in at.text_input] == ["账号", "密码"]
        assert "热线检察监督态势" not in _html(at)
    finally:
        with records.session() as con:
            people.enable(con, audit.Actor("pytest"), "t_display")


def test_other_roles_may_not_open_it(screen_env):
    at = app_test(APP, role="admin").run()
    at.switch_page("views/screen.py").run()
    assert any("无权访问" in e.value for e in at.error)
    assert "热线检察监督态势" not in _html(at)


def test_hits_waiting_overdue_clues_and_the_months_results(screen_env, monkeypatch):
    """办理动态: the screening queue's waiting items and the clue ledger's overdue clues and rectification
    results, within the account's scope (the numbers are checked against data/screening and analytics/ledger
    in tests/test_screen.py and the screening tests)."""
    from datetime import datetime

    import duckdb

    from data.screening import library, run
    from data.screening import rule as R
    from data.screening.compile import Target

    monkeypatch.setattr(records, "now", lambda: datetime(2025, 5, 26, 12, 0))
    with records.session() as rec:
        library.save(rec, audit.Actor("t_prosecutor", "prosecutor"),
                     R.parse({"key": "manhole", "name": "井盖", "project": "井盖",
                              "conditions": {"topics": ["井盖"]}}))
        con = duckdb.connect(str(screen_env), read_only=True)
        try:
            run.screen(con, rec, audit.Actor("t_prosecutor", "prosecutor"), Target())
        finally:
            con.close()
    at = app_test(APP, role="display").run()
    _clean(at)
    html = _html(at)
    # two places wait: four tickets at one Dongcheng crossing, one in Chaoyang
    assert 'data-work="waiting">2<' in html and "筛查命中待研判" in html
    assert re.search(r'data-work="overdue"[^>]*>1<', html) and "即将到期 0" in html
    assert 'data-result="更换井盖3个"' in html and "<b>3 个</b>" in html and "1 案" in html
    assert "截至今日 05-26" in html
    z = _html(app_test(APP, role="display", districts=("朝阳区",)).run())
    assert 'data-work="waiting">1<' in z and re.search(r'data-work="overdue"[^>]*>0<', z)
    assert "更换井盖3个" not in z and "本月暂无登记的整改成效" in z


def test_hotspots_are_computed_once_per_generation_and_districts(screen_env, monkeypatch):
    """The month's hotspots (the first frame's dearest part) are read once per store generation and districts
    and shared: a wall without ticket texts reuses a prosecutor's or leader's, and a clue registered since
    changes the clue figures but computes no hotspot again."""
    from datetime import datetime

    from analytics import screen
    from data import ledger
    from tests.conftest import account

    real, calls = screen.month_hotspots, []

    def counted(con, f, topic=None, **kw):
        calls.append(topic)
        return real(con, f, topic, **kw)

    monkeypatch.setattr(screen, "month_hotspots", counted)
    lead = app_test(APP, role="leader")
    lead.run()
    lead.switch_page("views/screen.py").run()
    _clean(lead)
    first = len(calls)
    assert first >= 4 and len(set(calls)) == first                  # each project once
    wall = app_test(APP, role="display").run()
    _clean(wall)
    assert len(calls) == first and _kpis(wall)[("month", "clues")] == "5"
    with records.session() as con:
        ledger.register_clue(con, account("clue_admin"), source="other", district="东城区", function="刑事",
                             subject="测试", place="测试", summary="测试线索", ticket_ids=["T09"],
                             registered_at=datetime(2025, 3, 22, 9, 0))
    again = app_test(APP, role="display").run()
    _clean(again)
    assert _kpis(again)[("month", "clues")] == "6" and len(calls) == first
