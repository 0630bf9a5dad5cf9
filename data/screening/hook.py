"""Screening after every import: the one call at the end of a store write (data/generations.py).

Every writer of the ticket store — `manage.py ingest`, the 导入 page, the demo build, `init`, `words` — goes
through `generations.write`, which notes the last import id before the write and, once the new store is
swapped in, calls `after_write`. That looks up the ticket imports of the write (new and changed tickets carry
their import's id) and runs the active rules over those tickets, recording hits in the queue. A write without a
ticket import, or with no active rule, costs one small query. A failure here never undoes the import: it is
reported (and the rules can be run again on demand from the 规则 page or `manage.py screen`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from data import records, settings, store
from data.screening import library, run
from data.screening.compile import Target


@dataclass
class AfterImport:
    """What the screening after a write did: its run (None when nothing was screened) or why it failed."""

    import_ids: tuple[int, ...] = ()
    result: run.RunResult | None = None
    error: str = ""

    def describe(self) -> str:
        if self.error:
            return f"导入后筛查未完成：{self.error}（导入已完成；可在“规则”页面或用 manage.py screen 重新筛查）"
        if self.result is None:
            return ""
        return "导入后筛查：" + self.result.describe()


def last_import_id(con: duckdb.DuckDBPyConnection) -> int:
    """The largest import id in the store (0 when none): imports after a write started have larger ones."""
    try:
        row = con.execute("SELECT max(import_id) FROM imports").fetchone()
    except duckdb.CatalogException:
        return 0
    return int(row[0] or 0)


def ticket_imports(con: duckdb.DuckDBPyConnection, since: int) -> tuple[int, ...]:
    """Ticket imports after `since` that stored new or changed tickets."""
    rows = con.execute("SELECT import_id FROM imports WHERE import_id > $since AND status = 'ok' AND kind = 'tickets' "
                       "AND coalesce(inserted, 0) + coalesce(updated, 0) > 0 ORDER BY import_id",
                       {"since": int(since)}).fetchall()
    return tuple(int(r[0]) for r in rows)


def after_write(store_path: str | Path, since: int) -> AfterImport:
    """Run the active rules over the tickets of the imports after `since` in the store just written."""
    out = AfterImport()
    if not settings.flag("HOTLINE_SCREEN_AFTER_IMPORT") or not records.path_for(store_path).exists():
        return out   # no records store yet: no rules (and a write never creates one)
    try:
        with records.session(store_path) as rec:
            rules = library.all_rules(rec, active_only=True)
            if not rules:
                return out
            con = store.connect(store_path, read_only=True)
            try:
                out.import_ids = ticket_imports(con, since)
                if out.import_ids:
                    out.result = run.screen(con, rec, run.SYSTEM, Target(import_ids=out.import_ids),
                                            rules=rules, trigger="import", generation=str(Path(store_path).name))
            finally:
                con.close()
    except Exception as exc:   # the import itself is done and kept; say why screening was not
        out.error = f"{type(exc).__name__}：{exc}"
        print(out.describe(), file=sys.stderr)
    return out
