"""District scope (data/scope.py): every read through a scoped cursor stays inside its districts.

The property test calls every public analytics function that takes (con, filters) under a district scope,
on the tiny store and on a generated one, and finds no other district's name or ticket in what it returns.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from dataclasses import is_dataclass
from datetime import date

import duckdb
import pandas as pd
import pytest

from analytics.filters import Filters
from data import links, positions, scope
from data.scope import Scope

# Tables a district-limited cursor sees none of (no district column and no rule): say so here on purpose.
HIDDEN = {"imports", "quarantine"}
# Every analytics module (found, not listed: a new module is covered the day it lands).
MODULES = tuple(sorted(m.name for m in __import__("pkgutil").iter_modules(
    [str(__import__("pathlib").Path(__file__).resolve().parents[1] / "analytics")])))
# Not called: renderings of what `build` returns (PDF/PPTX/XLSX through Chromium) — `build` itself is.
SKIP = {("briefing", "make"), ("visits", "visit_xlsx")}


def _con(path):
    return duckdb.connect(str(path), read_only=True)


def test_every_table_of_the_store_is_covered(tiny_db_path):
    con = _con(tiny_db_path)
    tables = {r[0]: {c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [r[0]]).fetchall()}
        for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    uncovered = {t for t, cols in tables.items()
                 if "district" not in cols and t not in scope.RULES and t not in scope.OPEN_TABLES}
    assert uncovered == HIDDEN
    cur = scope.scoped_cursor(con, Scope(("朝阳区",)))
    for t in HIDDEN:
        assert cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 0


def test_a_district_cursor_reads_its_district_only(tiny_db_path):
    con = _con(tiny_db_path)
    cur = scope.scoped_cursor(con, Scope(("朝阳区",)))
    assert cur.execute("SELECT district, count(*) FROM tickets GROUP BY ALL").fetchall() == [("朝阳区", 7)]
    assert cur.execute("SELECT sum(n) FROM ticket_daily").fetchone()[0] == 7
    assert [r[0] for r in cur.execute("SELECT district FROM districts").fetchall()] == ["朝阳区"]
    assert {r[0] for r in cur.execute("SELECT DISTINCT district FROM streets").fetchall()} == {"朝阳区"}
    # clues hang on their district; their links, cases and rectifications on the clues
    clues = {r[0] for r in cur.execute("SELECT clue_id FROM clues").fetchall()}
    assert clues == {r[0] for r in con.execute("SELECT clue_id FROM clues WHERE district = '朝阳区'").fetchall()}
    assert {r[0] for r in cur.execute("SELECT clue_id FROM clue_tickets").fetchall()} <= clues
    assert {r[0] for r in cur.execute("SELECT clue_id FROM cases").fetchall()} <= clues
    # a ticket id of another district reads as unknown
    assert cur.execute("SELECT count(*) FROM tickets WHERE ticket_id = 'T01'").fetchone()[0] == 0
    # the unscoped handle is untouched
    assert con.execute("SELECT count(*) FROM tickets").fetchone()[0] == 20
    assert cur.execute("SELECT count(*) FROM ticket_words").fetchone()[0] == con.execute(
        "SELECT count(*) FROM ticket_words WHERE ticket_id IN (SELECT ticket_id FROM tickets "
        "WHERE district = '朝阳区')").fetchone()[0]


def test_a_cursor_without_texts_reads_no_text_or_personal_column(tiny_db_path):
    con = _con(tiny_db_path)
    cur = scope.scoped_cursor(con, Scope(None, texts=False))
    assert cur.execute("SELECT count(*) FROM tickets").fetchone()[0] == 20
    assert cur.execute("SELECT count(content), count(complainant_name), count(complainant_phone) "
                       "FROM tickets").fetchone() == (0, 0, 0)
    assert cur.execute("SELECT count(content) FROM funnel_tickets").fetchone()[0] == 0


def test_two_scopes_on_one_connection_do_not_mix(tiny_db_path):
    con = _con(tiny_db_path)
    a = scope.scoped_cursor(con, Scope(("朝阳区",)))
    b = scope.scoped_cursor(con, Scope(("东城区", "平谷区")))
    assert a.execute("SELECT count(*) FROM tickets").fetchone()[0] == 7
    assert b.execute("SELECT DISTINCT district FROM tickets ORDER BY 1").fetchall() == [("东城区",), ("平谷区",)]
    assert a.execute("SELECT count(*) FROM tickets").fetchone()[0] == 7


def test_bookkeeping_sees_whole_tables_so_fast_paths_stay(tiny_db_path):
    con = _con(tiny_db_path)
    cur = scope.scoped_cursor(con, Scope(("朝阳区",)))
    assert positions.ready(con) and positions.ready(cur)
    assert links.ready(cur) == links.ready(con) and links.clues_ready(cur) == links.clues_ready(con)
    assert scope.scope_of(cur) == Scope(("朝阳区",)) and scope.scope_of(con) == scope.CITY


# ------------------------------------------------------------------ the property test over analytics
def _functions(other_ids: list[str]):
    """(name, callable) for every public analytics function taking (con, ...) whose other required
    arguments can be filled here; ids and places of another district are passed on purpose."""
    fill = {
        "f": None, "filters": None, "flt": None,   # the filters under test
        "ticket_id": other_ids[0], "ids": other_ids[:5], "ticket_ids": other_ids[:5],
        "paths": ("城乡建设",), "words": ("井盖",), "word": "井盖", "topic": "井盖", "limit": 100,
        "periods": [Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))],
        "lon": 116.420606, "lat": 39.908785,   # a place in 东城区
    }
    out = []
    for m in MODULES:
        mod = importlib.import_module(f"analytics.{m}")
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if name.startswith("_") or fn.__module__ != mod.__name__ or (m, name) in SKIP:
                continue
            params = list(inspect.signature(fn).parameters.values())
            if not params or params[0].name not in ("con", "cur"):
                continue
            required = [p.name for p in params[1:] if p.default is inspect.Parameter.empty
                        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            if any(r not in fill for r in required):
                continue
            out.append((f"{m}.{name}", fn, required, fill))
    return out


def _text(x) -> str:
    if isinstance(x, Filters):   # the user's own selection echoed back (a URL may name any district)
        return ""
    if isinstance(x, pd.DataFrame):
        return x.to_json(force_ascii=False, date_format="iso", default_handler=str)
    if isinstance(x, pd.Series):
        return x.to_json(force_ascii=False, default_handler=str)
    if hasattr(x, "to_plotly_json"):
        return json.dumps(x.to_plotly_json(), ensure_ascii=False, default=str)
    if is_dataclass(x) and not isinstance(x, type):
        return " ".join(_text(v) for v in vars(x).values())
    if isinstance(x, dict):
        return " ".join(f"{k} {_text(v)}" for k, v in x.items())
    if isinstance(x, list | tuple | set):
        return " ".join(_text(v) for v in x)
    return str(x)


def _leaks(con, cur_scope: Scope, f: Filters) -> dict[str, list[str]]:
    # Names the user's own selection holds may be echoed in labels ("东城区共受理工单 0 件"); their data may not.
    others = [d for (d,) in con.execute("SELECT district FROM districts").fetchall()
              if d not in cur_scope.districts and d not in f.districts]
    other_ids = [t for (t,) in con.execute(
        "SELECT ticket_id FROM tickets WHERE district NOT IN (SELECT unnest($d))", {"d": list(cur_scope.districts)}
    ).fetchall()]
    id_re = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, other_ids)) + r")(?![A-Za-z0-9])") if other_ids else None
    cur = scope.scoped_cursor(con, cur_scope, ledger=True)   # as the dashboard's cursors: the clue ledger laid over
    leaks, called = {}, 0
    for name, fn, required, fill in _functions(other_ids):
        kw = {r: (f if fill[r] is None else fill[r]) for r in required}
        try:
            result = fn(cur, **kw)
        except (ValueError, NotImplementedError) as exc:   # a function that refuses these filters says why
            result = str(exc)
        called += 1
        text = _text(result)
        found = [d for d in others if d in text]
        if id_re is not None:
            found += sorted(set(id_re.findall(text)))[:5]
        if found:
            leaks[name] = found
    assert called >= 50, f"only {called} analytics functions were called"
    return leaks


def test_no_analytics_function_reads_another_district_on_the_tiny_store(tiny_db_path):
    con = _con(tiny_db_path)
    f = Filters(date_from=date(2024, 1, 1), date_to=date(2025, 12, 31))
    assert _leaks(con, Scope(("朝阳区",)), f) == {}
    # also when the user's own selection names another district (a URL can say anything)
    assert _leaks(con, Scope(("朝阳区",)), f.replace(districts=("东城区",))) == {}


@pytest.fixture(scope="module")
def generated_path(tmp_path_factory):
    from data.synth.build import build_database

    p = tmp_path_factory.mktemp("scope") / "gen.duckdb"
    build_database(p, tickets=4000, years=1, seed=7, end=date(2025, 12, 31), parallel=False)
    return p


def test_no_analytics_function_reads_another_district_on_a_generated_store(generated_path):
    con = _con(generated_path)
    f = Filters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    assert _leaks(con, Scope(("海淀区", "平谷区")), f) == {}
    assert _leaks(con, Scope(("海淀区",)), f.replace(topics=("井盖",))) == {}


def test_a_district_accounts_maps_carry_no_other_district_name(tiny_db_path):
    """The map page's HTML (choropleth, points) for a 朝阳区 account names no other district: the base layer's
    outlines are bare lines, and the coloured areas are the scoped cursor's own."""
    from analytics import maps, mapviz
    from geo import boundaries

    con = duckdb.connect(str(tiny_db_path), read_only=True)
    cur = scope.scoped_cursor(con, Scope(districts=("朝阳区",)))
    f = Filters(date_from=date(2020, 1, 1), date_to=date(2030, 12, 31))
    others = [d for d in boundaries.districts()["district"] if d != "朝阳区"]
    for level in ("district", "street"):
        areas = maps.area_values(cur, f, level)
        assert len(areas) and set(areas["district"]) == {"朝阳区"}
        html = mapviz.choropleth_map(areas, level, "n").get_root().render()
        named = [d for d in [*others, "朝阳区"] if d in html or json.dumps(d)[1:-1] in html]   # as is or \uXXXX
        assert named == ["朝阳区"], level
    bare = json.dumps(mapviz.outline_geojson("district", bare=True), ensure_ascii=False)
    assert not [d for d in [*others, "朝阳区"] if d in bare]
    assert mapviz.outline_geojson("district")["features"][0]["properties"]   # the named form is still there
    from analytics import tickets

    near = tickets.outlines_near(116.47, 39.92)   # the ticket and queue maps' base layer, on a district border
    assert near["features"] and not any(f["properties"] for f in near["features"])
    con.close()
