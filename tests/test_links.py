"""The linked tickets (`funnel_tickets`, data/links.py) on the tiny store, counted by hand from
tests/data/tiny/load.sql, and its refresh when clues are imported after the tickets.

Links: C01-T01, C01-T02, C01-T13 (Feb), C02-T04, C02-T05, C03-T06, C04-T07, C05-T11.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from analytics import funnel, tickets
from analytics.filters import Filters
from data import links, store
from data.ingest import ingest_files

MARCH = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 3, 31))


def open_ro(path: Path) -> duckdb.DuckDBPyConnection:
    """Read-only, as the dashboard opens it, but without store.connect's upgrades (keeps the inline variant)."""
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    return con


def variant_copy(src: Path, dst: Path, *, ready: bool, clues: bool | None = None) -> Path:
    """A copy of a store with the linked-tickets table built (ready) or marked missing (inline path).

    `clues` (default: same as `ready`) keeps the per-clue table current; False marks it stale, so the
    funnel joins the ledgers (over the linked-tickets table when `ready`).
    """
    shutil.copy(src, dst)
    con = store.connect(dst)
    if ready:
        links.refresh(con)
    else:
        con.execute("DELETE FROM meta WHERE key = $k", {"k": links.META_KEY})
        con.execute(f"DROP TABLE IF EXISTS {links.TABLE}")
    if not (ready if clues is None else clues):
        con.execute("DELETE FROM meta WHERE key = $k", {"k": links.CLUES_META_KEY})
        con.execute(f"DROP TABLE IF EXISTS {links.CLUES_TABLE}")
    con.close()
    return dst


@pytest.fixture(scope="module")
def linked_path(tiny_db_path, tmp_path_factory) -> Path:
    return variant_copy(tiny_db_path, tmp_path_factory.mktemp("links") / "linked.duckdb", ready=True)


@pytest.fixture(scope="module")
def inline_path(tiny_db_path, tmp_path_factory) -> Path:
    return variant_copy(tiny_db_path, tmp_path_factory.mktemp("links") / "inline.duckdb", ready=False)


def test_table_contents(linked_path):
    con = open_ro(linked_path)
    rows = con.execute(f"SELECT clue_id, ticket_id, district, topic, status, day, first_at FROM {links.TABLE}").fetchall()
    con.close()
    t = datetime
    assert rows == [  # stored in time order
        ("C01", "T13", "东城区", "井盖", "已办结", date(2025, 2, 10), t(2025, 2, 10, 9, 0)),
        ("C01", "T01", "东城区", "井盖", "已办结", date(2025, 3, 3), t(2025, 2, 10, 9, 0)),
        ("C01", "T02", "东城区", "井盖", "已办结", date(2025, 3, 4), t(2025, 2, 10, 9, 0)),
        ("C02", "T04", "朝阳区", "污水", "已办结", date(2025, 3, 6), t(2025, 3, 6, 8, 30)),
        ("C02", "T05", "朝阳区", "污水", "已办结", date(2025, 3, 10), t(2025, 3, 6, 8, 30)),
        ("C03", "T06", "平谷区", "假冒伪劣", "已办结", date(2025, 3, 12), t(2025, 3, 12, 11, 0)),
        ("C04", "T07", "平谷区", "欠薪", "已办结", date(2025, 3, 15), t(2025, 3, 15, 19, 30)),
        ("C05", "T11", "平谷区", "假冒伪劣", "办理中", date(2025, 3, 28), t(2025, 3, 28, 15, 0)),
    ]


def test_ready_detects_missing_and_stale_table(linked_path, inline_path, tmp_path):
    con = open_ro(inline_path)
    assert not links.ready(con) and links.source(con) == links.SOURCE_INLINE
    con.close()
    p = shutil.copy(linked_path, tmp_path / "stale.duckdb")
    con = store.connect(p)
    assert links.ready(con) and links.source(con) == links.TABLE
    con.execute("INSERT INTO clue_tickets (clue_id, ticket_id) VALUES ('C03', 'T12')")  # a link added without refresh
    assert not links.ready(con)
    assert links.refresh(con) == 9
    assert links.ready(con)
    con.close()


def test_refresh_skips_links_to_unknown_tickets_and_duplicates(linked_path, tmp_path):
    p = shutil.copy(linked_path, tmp_path / "dups.duckdb")
    con = store.connect(p)
    con.execute("INSERT INTO clue_tickets (clue_id, ticket_id) VALUES ('C01', 'T01'), ('C01', 'NOPE')")
    assert links.refresh(con) == 8
    assert links.ready(con)
    con.close()


CASES = [
    MARCH,
    Filters(),
    MARCH.replace(districts=("平谷区",)),
    MARCH.replace(functions=("公益诉讼",)),
    MARCH.replace(functions=("刑事", "行政")),
    MARCH.replace(topics=("井盖",)),
    MARCH.replace(text="望京"),
    MARCH.replace(text="市场", functions=("行政",)),
    Filters(date_from=date(2025, 2, 1), date_to=date(2025, 2, 28)),
    Filters(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31)),
]


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.describe())
def test_funnel_same_from_table_and_inline(linked_path, inline_path, f):
    """The table and the inline rows give identical funnel outputs (and the inline path is not the table)."""
    a = open_ro(linked_path)
    b = open_ro(inline_path)
    try:
        assert links.ready(a) and not links.ready(b)
        as_of = datetime(2025, 6, 30)
        for fn in (funnel.stages, funnel.durations):
            assert fn(a, f).equals(fn(b, f)), fn.__name__
        for by in funnel.SPLITS:
            assert funnel.split(a, f, by).equals(funnel.split(b, f, by)), by
        for x, y in zip(funnel.deadline_report(a, f, as_of), funnel.deadline_report(b, f, as_of), strict=True):
            assert x.equals(y)
        for stage in ("", "clues", "cases", "rectified"):
            assert tickets.count(a, f, stage=stage) == tickets.count(b, f, stage=stage)
            pa = tickets.page(a, f, stage=stage, limit=3, offset=1, sort="district", descending=False)
            pb = tickets.page(b, f, stage=stage, limit=3, offset=1, sort="district", descending=False)
            assert pa.equals(pb), stage
    finally:
        a.close()
        b.close()


CLUE_FILE = """线索编号,登记时间,所属院,检察职能,承办部门,专项,线索来源,线索状态,审查时间,线索摘要,关联工单
C06,2025-04-01,海淀区人民检察院,民事,第六检察部,,12345热线,待审查,,八里庄工地夜间施工,T12;T03
"""


def test_clue_import_after_tickets_updates_the_links(linked_path, tmp_path):
    p = shutil.copy(linked_path, tmp_path / "import.duckdb")
    con = store.connect(p)
    assert list(funnel.stages(con, MARCH)["n"]) == [12, 5, 2, 2]
    assert tickets.count(con, MARCH, stage="clues") == 7
    f = tmp_path / "clues_new.csv"
    f.write_text(CLUE_FILE, encoding="utf-8")
    (rep,) = ingest_files(con, [f], kind="clues")
    assert rep.ok and rep.inserted == 1, rep.message
    assert links.ready(con)
    rows = con.execute(f"SELECT ticket_id, district, first_at FROM {links.TABLE} WHERE clue_id = 'C06' "
                       "ORDER BY received_at").fetchall()
    assert rows == [("T03", "朝阳区", datetime(2025, 3, 5, 14, 0)), ("T12", "海淀区", datetime(2025, 3, 5, 14, 0))]
    assert list(funnel.stages(con, MARCH)["n"]) == [12, 6, 2, 2]
    assert list(funnel.stages(con, MARCH.replace(functions=("民事",)))["n"]) == [3, 2, 0, 0]  # T03, T07, T12
    assert tickets.count(con, MARCH, stage="clues") == 9
    assert tickets.count(con, MARCH.replace(functions=("民事",))) == 3
    con.close()
