"""Text from citizens, files and URLs shown as plain text inside Streamlit's Markdown.

Streamlit draws the text of st.markdown, st.caption, st.info/warning/error/success,
headers and widget labels as Markdown, with extras: images, links, bold, raw HTML
shown as text, LaTeX between dollar signs, emoji shortcodes, Material icon
directives (whose font may be fetched from the internet), coloured text
(`:red[...]`) and bare URLs turned into links. A ticket's words, a file's column
names, a URL's filter values or an error quoting a file are none of that: a
Markdown image in a ticket would make the browser fetch an outside address.

`md(value)` makes any value inert there: every ASCII punctuation mark is
backslash-escaped (CommonMark shows it literally), and a WORD JOINER (U+2060,
invisible) breaks the patterns GFM turns into links after parsing
(`http://`, `https://`, `www.`, `name@host`). Mixed strings escape only the
untrusted parts: `st.caption(f"筛选条件：{md(f.describe())}")`. Long texts (a
ticket's words) go to `st.text`, which draws no Markdown at all.
"""

from __future__ import annotations

import re

_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")            # every ASCII punctuation character
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto)(?=\\:)|(www)(?=\\\.)|(?<=\w)(?=\\@)")
JOINER = "\u2060"


def md(value) -> str:
    """`value` as text that Streamlit's Markdown shows literally ("—" for None)."""
    if value is None:
        return "—"
    s = _PUNCT.sub(r"\\\1", str(value))
    return _AUTOLINK.sub(lambda m: (m.group(0) or "") + JOINER, s)


def shown(escaped: str) -> str:
    """What a reader sees of md(text) (its backslashes and joiners gone): the text itself, for tests."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", escaped).replace(JOINER, "")
