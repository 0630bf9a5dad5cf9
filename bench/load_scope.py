"""What a load-bench session was shown, checked against its district scope (issue 17: 0 rows of another district).

While a simulated user's page runs, bench/load.py keeps the elements the server sends that carry data
(tables as Arrow bytes, Plotly specs, Markdown, text, alerts, headings, HTML, metrics, the options of
selectboxes, multiselects, radios and segmented controls, map components' arguments). After the run is timed
they are turned into strings here and searched for the names of the districts outside the user's scope. A
table cell, chart label, option or sentence naming another district is a finding, kept with the page and a
snippet so a person can judge it.

The names searched are the districts of the store (`SELECT DISTINCT district FROM tickets`) and of the
region's geography: for a 东城区 user, every other district of the city.

Tool only: the product never imports this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Element kinds kept during a run, and how each becomes strings (see strings()).
KEPT = ("dataframe", "table", "plotly_chart", "markdown", "text", "alert", "heading", "html", "metric",
        "selectbox", "multiselect", "radio", "button_group", "component_instance")
_UNESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass(frozen=True)
class Finding:
    page: str
    user: int
    profile: str
    kind: str
    district: str
    snippet: str


def keep(el) -> tuple[str, bytes] | None:
    """(kind, serialized element) of an element worth scanning, else None; cheap (no parsing in the timed loop)."""
    what = el.WhichOneof("type")
    if what in KEPT:
        return what, el.SerializeToString()
    return None


def strings(kind: str, raw: bytes) -> Iterator[str]:
    """The human-visible strings of one kept element."""
    from streamlit.proto.Element_pb2 import Element

    el = Element()
    el.ParseFromString(raw)
    if kind in ("dataframe", "table"):
        yield from _arrow_strings(getattr(el, kind).arrow_data.data)
    elif kind == "plotly_chart":
        yield from _json_strings(el.plotly_chart.spec)
    elif kind == "component_instance":
        # a map's HTML, where folium writes its GeoJSON with \u escapes (ensure_ascii): read them as characters
        yield from (_UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), x)
                    for x in _json_strings(el.component_instance.json_args))
    elif kind in ("markdown", "text", "alert", "heading", "html"):
        yield getattr(el, kind).body
    elif kind == "metric":
        yield el.metric.label
        yield el.metric.body
    elif kind in ("selectbox", "multiselect", "radio"):
        msg = getattr(el, kind)
        yield msg.label
        yield from msg.options
    elif kind == "button_group":
        yield from (o.content for o in el.button_group.options)


def _arrow_strings(data: bytes) -> Iterator[str]:
    import pyarrow as pa

    if not data:
        return
    table = pa.ipc.open_stream(data).read_all()
    for name, col in zip(table.column_names, table.columns, strict=True):
        yield str(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_dictionary(col.type):
            for v in col.to_pylist():
                if v is not None:
                    yield str(v)


def _json_strings(text: str) -> Iterator[str]:
    if not text:
        return
    try:
        doc = json.loads(text)
    except ValueError:
        yield text
        return
    stack = [doc]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            yield x
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def findings(kept: Iterable[tuple[str, bytes]], others: frozenset[str], *, page: str, user: int,
             profile: str) -> list[Finding]:
    """Every string of `kept` that names one of `others` (the districts outside the user's scope)."""
    out = []
    for kind, raw in kept:
        for s in strings(kind, raw):
            for d in others:
                if d in s:
                    i = s.index(d)
                    out.append(Finding(page, user, profile, kind, d, s[max(0, i - 30): i + len(d) + 30]))
    return out


def districts(db) -> frozenset[str]:
    """Every district name the store or the region knows."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        names = {r[0] for r in con.execute("SELECT DISTINCT district FROM tickets WHERE district IS NOT NULL")
                 .fetchall()}
    finally:
        con.close()
    try:
        from geo import boundaries

        names |= set(boundaries.districts()["district"].astype(str))
    except Exception:   # a store without geography: the store's own names are enough
        pass
    return frozenset(n for n in names if n)
