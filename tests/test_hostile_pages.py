"""Issue 22 item 2, every page: text from citizens and files never reaches Streamlit's Markdown alive.

One ticket (tests/hostile.py), one clue and one 12309 letter whose words are Markdown images, links, HTML,
emphasis, emoji and icon shortcodes. Every page that reads data is run signed in as a role that may open it;
whatever it sends as Markdown (texts, captions, alerts, headings, widget labels, radio and segmented-control
options, expander and tab labels, metric labels) must carry none of that syntax unescaped. Tables, charts
and maps are checked elsewhere (tests/test_plain_text.py, the browser test).
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from data import records, roles
from tests.conftest import ROOT, account, app_test
from tests.hostile import HOSTILE, HOSTILE_ID, build_hostile

# Markdown that would be live: an image or link, raw HTML, emphasis, an emoji or Material icon shortcode,
# coloured text. md() turns every one of them into escaped characters.
# A backslash before a character makes it literal (CommonMark), so only unescaped ones count.
LIVE = re.compile(r"(?<!\\)(?:!\[|\]\(|<img|<b>|<script|\*\*坏人|:material/|:smile:|:red\[)")
# HTML sent as such (the wall screen's panels): a tag or address of the hostile text there would be live.
LIVE_HTML = re.compile(r"<(?:img|script)\b|<[a-z]+[^<>]*(?:src|href)\s*=\s*[\"']?[^\"'\s>]*evil", re.I)
PAGES = ("overview", "topics", "funnel", "tickets", "map", "rules", "queue", "ledger", "clue", "letters", "screen")
ROLE_ORDER = ("prosecutor", "leader", "clue_admin", "admin", "press", "display")


def _live(texts: list[str]) -> list[str]:
    return [t for t in texts if LIVE.search(t)]


def test_the_check_sees_live_markdown():
    assert _live([HOSTILE, "**坏人**", ":material/home:"]) == [HOSTILE, "**坏人**", ":material/home:"]
    from ui.plain import md

    assert _live([md(HOSTILE), md("**坏人**"), md(":material/home:"), "**共 3 条**"]) == []
    import html

    assert LIVE_HTML.search(HOSTILE) and not LIVE_HTML.search(html.escape(HOSTILE))


@pytest.fixture()
def hostile_store(tiny_db_path, tmp_path, monkeypatch):
    from data import ledger
    from data.ledger import letters

    db = build_hostile(tiny_db_path, tmp_path / "hostile.duckdb")
    monkeypatch.setenv("HOTLINE_DB", str(db))
    admin = account("clue_admin")
    with records.session() as con:
        clue = ledger.register_clue(con, admin, source="other", district="东城区", function="刑事",
                                    subject="**坏人**", place=HOSTILE[:60], summary=HOSTILE, ticket_ids=[HOSTILE_ID],
                                    registered_at=datetime(2025, 3, 22, 9, 0))
        letters.add_letter(con, account("admin"), letter_id="EVIL-L1", received_at=datetime(2025, 3, 21, 9, 0),
                           channel="来信", district="东城区", matter=HOSTILE, category=":red[控告]",
                           petitioner="**坏人**", phone="138 1234 5678")
    return db, clue.clue_no


def _role_for(page: str) -> str:
    return next(r for r in ROLE_ORDER if roles.allowed(r, roles.PAGES[page]))


def _markdown_texts(at) -> list[str]:
    """Everything of the run that Streamlit draws as Markdown."""
    out = [e.value for kind in ("markdown", "caption", "title", "header", "subheader", "error", "warning", "info",
                                "success", "toast") for e in getattr(at, kind)]
    for kind in ("selectbox", "multiselect", "text_input", "text_area", "number_input", "date_input", "checkbox",
                 "toggle", "button", "radio", "slider", "select_slider"):
        for w in getattr(at, kind):
            out.append(str(w.label))
            if kind == "radio":
                out.extend(str(o) for o in w.options)
    out += [str(e.label) for e in at.expander] + [str(t.label) for t in at.tabs]
    out += [str(m.label) for m in at.metric]
    return out


@pytest.mark.parametrize("page", PAGES)
def test_no_page_sends_a_citizens_words_as_live_markdown(hostile_store, page):
    _db, clue_no = hostile_store
    role = _role_for(page)
    at = app_test(ROOT / "app.py", role=role)
    at.query_params.update({"from": "2025-03-01", "to": "2025-03-31"})
    if page == "tickets":
        at.query_params["id"] = HOSTILE_ID
    if page == "clue":
        at.query_params["no"] = clue_no
    at.run()
    at.switch_page(f"views/{'import_data' if page == 'import' else page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    texts = _markdown_texts(at)
    html = [e.proto.body for e in at.get("html")]
    assert texts or html, "the page drew nothing"
    assert _live(texts) == [], (role, page)
    assert [h for h in html if LIVE_HTML.search(h)] == [], (role, page)
