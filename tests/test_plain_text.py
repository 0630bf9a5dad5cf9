"""Text from citizens, files and URLs is shown literally, and personal numbers are masked however written.

Issue 22 item 2: a ticket's Markdown image made the browser fetch an outside
address, its links were clickable, masked numbers lost their asterisks (and
the text between two of them turned bold), and an ID number written with
spaces was shown unmasked. The hostile texts are made here, not shipped.
"""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from analytics import figures, privacy, theme
from tests.conftest import ROOT, app_test
from tests.hostile import HOSTILE, build_hostile
from ui import drill
from ui.plain import JOINER, md, shown


@pytest.mark.parametrize("text", [
    HOSTILE, "", "普通文字", "a\\b", "1. 列表", "- 项", "| 表 | 格 |", "~~删除~~", "[^1]", "&amp; &lt;", "http://a.b",
])
def test_md_shows_every_text_as_written(text):
    out = md(text)
    assert shown(out) == text
    # nothing Markdown, HTML, LaTeX, emoji, icons or links could act on is left unescaped
    for ch in "![]()*_<>`$:#|~":
        assert ch not in out.replace("\\" + ch, "")
    assert "http:" not in out and "https:" not in out and "www." not in out and "a@" not in out


def test_md_of_none_and_numbers():
    assert md(None) == "—"
    assert md(12) == "12" and md(1.5) == "1\\.5"
    assert JOINER not in md("普通文字，没有链接")


@pytest.mark.parametrize(("raw", "masked"), [
    ("身份证 110105 19800101 1234", "身份证 110105 ******** 1234"),
    ("身份证110105-1980-0101-123X。", "身份证110105-****-****-123X。"),
    ("电话 138 1234 5678", "电话 138 **** 5678"),
    ("电话138-1234-5678", "电话138-****-5678"),
    ("电话 138.1234.5678", "电话 138.****.5678"),
    ("电话１３８１２３４５６７８", "电话１３８****５６７８"),
    ("+86 138 1234 5678", "+86 138 **** 5678"),
    ("座机 010 1234 5678", "座机 010 **** 5678"),
    ("两个号码 110105 19800101 1234 13812345678", "两个号码 110105 ******** 1234 138****5678"),
    # unchanged from before: plain digit runs
    ("电话13812341234", "电话138****1234"),
    ("110105198001011234", "110105********1234"),
    ("010-12345678", "010-****5678"),
    # not personal numbers: left alone
    ("2024-03-05 10:30 金额 1 380 000 元", "2024-03-05 10:30 金额 1 380 000 元"),
    ("IP 192.168.100.200，3号楼2单元", "IP 192.168.100.200，3号楼2单元"),
])
def test_numbers_written_in_groups_are_masked(raw, masked):
    assert privacy.mask_text(raw) == masked


def test_hostile_text_keeps_its_masks_literal():
    # Before: "138****5678" drawn as Markdown lost its asterisks and made the text between two masks bold.
    out = md(privacy.mask_text(HOSTILE))
    assert shown(out).count("****") >= 3 and "\\*\\*\\*\\*" in out


@pytest.mark.parametrize("text,refused", [
    ("13812341234", True), ("138 1234 5678", True), ("138 1234", True), ("110105 1980", True),
    ("１３８１２３４５", True), ("井盖 13812341234", True),
    ("井盖 破损", False), ("3号楼 12单元", False), ("2024", False), ("", False),
])
def test_keyword_searches_for_personal_numbers_are_recognised(text, refused):
    assert privacy.personal_number_search(text) is refused


def test_chart_texts_from_the_data_are_literal_and_clicks_give_the_original_back():
    evil = '<a href="http://evil.example">点我</a>'
    import pandas as pd

    df = pd.DataFrame({"label": [evil, "井盖破损"], "key": [f"城乡建设/{evil}", "城乡建设/井盖破损"], "n": [3, 2], "share": [0.6, 0.4]})
    fig = figures.top_figure(df, title="高频问题分类", subtitle=f"关键词：{evil}")
    bar = fig.data[0]   # drawn bottom up: the first row is the last bar
    assert "<a" not in " ".join(map(str, bar.y)) and "&lt;a href" in bar.y[-1]
    assert "<a" not in fig.layout.title.text and "&lt;a href" in fig.layout.title.text
    assert all("<" not in str(v) for v in bar.customdata)
    theme.style(fig)   # styling again (an export decorates a styled figure) changes nothing
    assert bar.y[-1].count("&lt;") == 2 and "&amp;" not in bar.y[-1]
    event = {"selection": {"points": [{"customdata": bar.customdata[-1]}]}}
    assert drill.value(event) == f"城乡建设/{evil}"   # the filter gets the category as stored


def test_numbers_in_chart_traces_are_untouched():
    fig = theme.style(go.Figure(go.Bar(x=[1, 2], y=[3.5, 4])))
    assert list(fig.data[0].x) == [1, 2] and list(fig.data[0].y) == [3.5, 4]


@pytest.fixture()
def hostile_db(tiny_db_path, tmp_path, monkeypatch):
    p = build_hostile(tiny_db_path, tmp_path / "hostile.duckdb")
    monkeypatch.setenv("HOTLINE_DB", str(p))
    return p


def test_ticket_detail_shows_the_citizens_words_as_plain_text(hostile_db):
    at = app_test(ROOT / "app.py")
    at.query_params["id"] = "EVIL1"
    at.query_params["from"] = "2025-03-01"
    at.query_params["to"] = "2025-03-31"
    at.run()
    at.switch_page("views/tickets.py").run()
    assert not at.exception, [e.value for e in at.exception]
    texts = [t.value for t in at.text]
    expected = privacy.mask_text(HOSTILE)
    assert expected in texts                   # drawn by st.text: no Markdown at all
    assert "110105 ******** 1234" in expected and "138 **** 5678" in expected
    # whatever reaches Markdown elsewhere on the page (captions, the subheader ...) carries no live syntax
    for m in [*at.markdown, *at.caption, *at.subheader, *at.warning, *at.info]:
        assert "![" not in m.value and "](" not in m.value and "<img" not in m.value and "<b>" not in m.value
