"""The daily summary cubes: the right one is picked, each holds exactly the tickets' counts, and an older
store without them is upgraded when opened."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from analytics import overview
from analytics.filters import Filters
from data import derived, store, summaries

MARCH = {"date_from": date(2025, 3, 1), "date_to": date(2025, 3, 31)}


@pytest.mark.parametrize(("filters", "group", "table"), [
    (Filters(), (), "ticket_daily_core"),
    (Filters(**MARCH, districts=("朝阳区",), topics=("井盖",)), ("day",), "ticket_daily_core"),
    (Filters(categories=("城乡建设/市政设施",)), ("category_l3",), "ticket_daily_core"),
    (Filters(), ("street",), "ticket_daily_street"),
    (Filters(streets=("八里庄街道",)), ("topic",), "ticket_daily_street"),
    (Filters(streets=("八里庄街道",), categories=("城乡建设",)), (), "ticket_daily"),
    (Filters(channels=("电话",)), (), "ticket_daily"),
    (Filters(appeal_types=("投诉",)), ("district",), "ticket_daily"),
    (Filters(), ("channel",), "ticket_daily"),
    (Filters(text="井盖"), (), None),
    (Filters(functions=("公益诉讼",)), (), None),
    (Filters(), ("content",), None),
])
def test_summary_table_is_the_smallest_that_answers(filters, group, table):
    assert filters.summary_table(*group) == table


def test_every_cube_holds_the_tickets_counts(tiny_con):
    measures = ", ".join(f"sum({m})" for m in summaries.MEASURES)
    full = tiny_con.execute(f"SELECT {measures} FROM ticket_daily").fetchone()
    assert full[0] == 20 and full[1] == 19          # 20 tickets, 19 located (tiny DB)
    for table, dims in summaries.SUMMARY_TABLES:
        assert tiny_con.execute(f"SELECT {measures} FROM {table}").fetchone() == full, table
        for dim in dims:
            sql_cube = f"SELECT {dim}, day, sum(n) FROM {table} GROUP BY ALL ORDER BY ALL"
            sql_tix = (f"SELECT {dim}, CAST(received_at AS DATE), count(*) FROM tickets "
                       f"GROUP BY ALL ORDER BY ALL")
            assert tiny_con.execute(sql_cube).fetchall() == tiny_con.execute(sql_tix).fetchall(), (table, dim)
        # One row per distinct key: the cube is really aggregated.
        keys = ", ".join(("day", *dims))
        n_rows = tiny_con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert n_rows == tiny_con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM {table})").fetchone()[0]


@pytest.mark.parametrize("filters", [
    Filters(**MARCH),
    Filters(**MARCH, streets=("八里庄街道",)),
    Filters(**MARCH, channels=("电话",), topics=("井盖",)),
])
def test_overview_is_the_same_from_any_cube_and_from_tickets(tiny_con, filters):
    for fn in (overview.district_ranking, lambda c, f, summary: overview.top_values(c, f, "category_l3",
                                                                                  summary=summary)):
        a = fn(tiny_con, filters, summary=None)
        b = fn(tiny_con, filters, summary=False)
        assert a.to_dict("records") == b.to_dict("records")


def test_an_older_store_without_derived_tables_is_upgraded_by_init(tiny_db_path, tmp_path):
    from data import links, word_tables

    path = tmp_path / "old.duckdb"
    shutil.copy(tiny_db_path, path)
    con = store.connect(path)
    assert derived.outdated(con) == []
    for table, _ in summaries.SUMMARY_TABLES[:-1] + word_tables.WORD_SUMMARIES:
        con.execute(f"DROP TABLE {table}")
    con.execute(f"DROP TABLE {links.TABLE}")
    con.execute("DELETE FROM meta WHERE key = $k", {"k": links.META_KEY})
    assert set(derived.outdated(con)) == {"ticket_daily_core", "ticket_daily_street", "word_monthly", links.TABLE}
    con.close()
    with pytest.raises(store.StoreError, match=r"python manage\.py init"):   # the dashboard never writes
        store.connect(path, read_only=True)
    store.connect(path).close()                  # what `python manage.py init --db PATH` does
    con = store.connect(path, read_only=True)
    try:
        assert derived.outdated(con) == []
        assert con.execute("SELECT sum(n) FROM ticket_daily_core").fetchone()[0] == 20
        assert con.execute("SELECT sum(n_located) FROM ticket_daily_street").fetchone()[0] == 19
        assert con.execute(f"SELECT count(*) FROM {links.TABLE}").fetchone()[0] == 8   # the 8 clue_tickets rows
        word_total = con.execute("SELECT sum(n) FROM word_daily").fetchone()[0]
        for table, _ in word_tables.WORD_SUMMARIES:
            assert con.execute(f"SELECT sum(n) FROM {table}").fetchone()[0] == word_total, table
    finally:
        con.close()


def test_a_fresh_or_refreshed_store_needs_no_upgrade(tiny_con, empty_db_path):
    assert derived.outdated(tiny_con) == []
    con = store.connect(empty_db_path, read_only=True)
    try:
        assert derived.outdated(con) == []
    finally:
        con.close()
