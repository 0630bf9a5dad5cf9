"""The import pipeline: receive → clean → verify → store, one transaction per file.

`ingest_files` is the one entry point used by `manage.py ingest`, the 导入 page
and the demo generator. For each file (each sheet of a workbook) it:

1. reads the file into a staging table (`readers`), whatever its format and encoding;
2. recognises the columns (standard 12345 headers, English names, or a mapping file);
3. cleans chunk by chunk in DuckDB SQL, with Python only for Traditional
   characters, place names and the coordinate arrays (`clean`);
4. verifies: unusable rows go to `quarantine` with a reason, conflicting
   duplicates are caught, references (case → clue, rectification → case) are checked;
5. merges by key: new rows inserted, changed rows (different `row_hash`) replaced,
   identical rows left alone;
6. records an `imports` row whose counts always satisfy
   rows_read = inserted + updated + unchanged + quarantined;
7. refreshes the derived tables for the tickets that changed, and the linked tickets
   (`funnel_tickets`, data/links.py) after a ticket or clue import.

The steps live in their own modules: `readers` (1), `mapping` (2), `prepare` with the SQL of
`statements` and the Python of `clean` (3), `checks` (4), `merging` (5), `accounting` (6: the
report and its `imports` row), data/derived.py and data/links.py (7). This module runs them.

Everything from 1 to 7 happens in one transaction: a failed or interrupted
import leaves the store as it was (and records a failed `imports` row).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from data import topics
from data.ingest import feedback, readers
from data.ingest import mapping as mapping_mod
from data.ingest.accounting import FLAGS, REASONS, ImportReport, IngestError, Progress, now, record, report_progress
from data.ingest.checks import UNKNOWN_TICKETS_SQL, quarantine, verify
from data.ingest.fields import KINDS
from data.ingest.merging import flag_counts, merge
from data.ingest.prepare import prepare, read
from data.ingest.statements import store_columns
from geo import crs as crs_mod

__all__ = ["FLAGS", "REASONS", "ImportReport", "IngestError", "Progress", "ingest_files", "preview"]


# ---------------------------------------------------------------- entry point


def _mapping_and_crs(mapping, crs):
    """The loaded mapping and the default source CRS (the mapping's wins over the argument)."""
    try:
        m = mapping_mod.load(mapping)
    except mapping_mod.MappingError as exc:
        raise IngestError(str(exc)) from exc
    try:
        return m, crs_mod.normalise_crs(m.crs or crs or "wgs84")
    except ValueError as exc:
        raise IngestError(f"未知的坐标系 {m.crs or crs!r}；可用：wgs84、gcj02、bd09") from exc


def ingest_files(con: duckdb.DuckDBPyConnection, paths: Sequence[str | Path] | str | Path, *, kind: str | None = None,
                 mapping=None, crs: str | None = None, sheet: str | None = None,
                 progress: Progress | None = None, refresh: bool = True) -> list[ImportReport]:
    """Import files into the store behind `con` (read-write); one report per file or sheet.

    A file that cannot be imported gives a failed report (and a failed `imports`
    row) and leaves the store as it was; the other files still go in. Invalid
    arguments (unknown kind or CRS, invalid mapping) raise IngestError.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    if kind is not None and kind not in KINDS:
        raise IngestError(f"未知的数据类型 {kind!r}；可用：{', '.join(KINDS)}")
    m, default_crs = _mapping_and_crs(mapping, crs)
    try:
        rules = topics.load()
    except topics.TopicRulesError as exc:
        raise IngestError(str(exc)) from exc
    reports = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            reports.append(_failed_report(con, p, None, f"文件不存在：{p}"))
            continue
        try:
            fmt = readers.detect_format(p)
            sheets: list[str | None] = [None]
            if fmt == "xlsx":
                want = sheet or m.sheet
                sheets = [want] if want else readers.xlsx_sheets(p)
        except readers.ReadError as exc:
            reports.append(_failed_report(con, p, None, str(exc)))
            continue
        except OSError as exc:   # unreadable (permissions, a device ...): a report, not a traceback
            reports.append(_failed_report(con, p, None, f"无法读取 {p}：{exc.strerror or exc}"))
            continue
        for sh in sheets:
            reports.append(_ingest_one(con, p, fmt, sh, kind, m, default_crs, rules, progress, refresh))
    return reports


def _ingest_one(con, path: Path, fmt: str, sheet, kind, m, default_crs, rules, progress, refresh) -> ImportReport:
    t0 = time.perf_counter()
    started = now()
    (import_id,) = con.execute("SELECT nextval('import_id_seq')").fetchone()
    rep = ImportReport(int(import_id), str(path), format=fmt, sheet=sheet, mapping=m.source, crs=default_crs)
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.execute("SET enable_progress_bar = false")  # our own progress callback reports instead
        report_progress(progress, 0, None, f"读取 {path.name}{f'［{sheet}］' if sheet else ''}…")
        src = read(con, path, fmt, sheet, m)
        rep.format, rep.encoding, rep.sheet, rep.rows_read = src.format, src.encoding, src.sheet, src.rows
        if not src.columns:  # an empty sheet of a workbook: nothing to read, nothing to record as failed
            rep.status, rep.message = "ok", "空工作表（没有表头和数据），已跳过。"
            rep.seconds = time.perf_counter() - t0
            record(con, rep, started)
            return rep
        con.begin()
        _run(con, rep, src, path, sheet, kind, m, default_crs, rules, progress, refresh)
        rep.status = "ok"
        rep.seconds = time.perf_counter() - t0
        record(con, rep, started)
        con.commit()
    except BaseException as exc:
        try:
            con.rollback()
        except duckdb.Error:
            pass  # the error came before the transaction began
        known = (IngestError, readers.ReadError, mapping_mod.MappingError)
        msg = str(exc) if isinstance(exc, known) else f"导入中断：{type(exc).__name__}：{exc}"
        n_read = rep.rows_read
        rep.rows_read = rep.inserted = rep.updated = rep.unchanged = rep.quarantined = 0
        rep.reasons, rep.flags = {}, {}
        rep.status = "failed"
        rep.message = msg + (f"（已读取 {n_read:,} 行，均未写入）" if n_read else "")
        rep.seconds = time.perf_counter() - t0
        try:
            record(con, rep, started)
        except duckdb.Error:
            pass
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: stop after recording
            raise
    finally:
        _cleanup(con)
    return rep


def _reader_flags(rep: ImportReport, src: readers.Source) -> None:
    """Flags the reader raised on rows of the file (XLSX formulas, merged cells): counted, and the rows named."""
    lines = []
    for flag, rows in src.flags.items():
        if not rows:
            continue
        rep.flags[flag] = len(rows)
        shown = "、".join(str(r) for r in rows[:10]) + (f" 等 {len(rows):,} 行" if len(rows) > 10 else "")
        lines.append(f"{FLAGS[flag]}：Excel 第 {shown} 行")
    if lines:
        rep.message = "；".join(filter(None, [rep.message, *lines]))


def _failed_report(con, path: Path, sheet, message: str) -> ImportReport:
    (import_id,) = con.execute("SELECT nextval('import_id_seq')").fetchone()
    rep = ImportReport(int(import_id), str(path), sheet=sheet, status="failed", message=message)
    record(con, rep, now())
    return rep


TEMP_TABLES = ("_src", "_stage_txt", "_stage", "_clean", "_names", "_geo_t", "_addr", "_final", "_cmp", "_changed_ids", "_changed_old", "_dups",
               "_rej", "_rejscan", "_topic_hits")


def _cleanup(con) -> None:
    for v in ("_topic_vocab", "_topic_cats"):
        try:
            con.unregister(v)
        except duckdb.Error:
            pass
    for t in TEMP_TABLES:
        for what in ("TABLE", "VIEW"):
            try:
                sql = f"DROP {what} IF EXISTS {t}"  # fixed names only
                con.execute(sql)
            except duckdb.Error:
                pass


# ---------------------------------------------------------------- the steps


def _run(con, rep: ImportReport, src: readers.Source, path: Path, sheet, kind, m, default_crs, rules, progress,
         refresh):
    K = prepare(con, src, path, sheet, kind, m, default_crs, rules, progress=progress)
    rep.kind, rep.format, rep.encoding, rep.sheet = K.name, src.format, src.encoding, src.sheet
    rep.rows_read = src.rows + len(src.rejects)
    report_progress(progress, src.rows, src.rows, "核查…")
    verify(con, K)
    quarantine(con, rep, K, src)
    report_progress(progress, src.rows, src.rows, "写入数据库…")
    before = None
    if refresh and K.name == "tickets":
        from data import derived

        before = derived.state_before(con)   # were the derived tables current before this import?
    changed = merge(con, rep, K)
    rep.flags = flag_counts(con, K)
    _reader_flags(rep, src)
    rep.warnings = feedback.warnings(con, rep, K, m)
    if K.name == "clues":
        rep.flags["unknown_ticket"] = con.execute(UNKNOWN_TICKETS_SQL).fetchone()[0]
    if not rep.balanced:  # a bug, never expected: refuse to commit an unbalanced import
        raise IngestError(f"内部错误：计数不平衡（{rep.to_dict()}），已回滚。")
    if refresh and K.name == "tickets" and changed:
        report_progress(progress, src.rows, src.rows, "更新汇总表与词表…")
        from data import derived

        # only what the changed tickets touch, before (their old rows, _changed_old) and after the merge
        rep.refresh = derived.refresh(con, new_ticket_ids_table="_changed_ids", old_tickets_table="_changed_old",
                                      before=before)
    if refresh and K.name in ("clues", "cases", "rectifications") and changed:
        # The linked tickets and the per-clue funnel table (data/links.py; derived.refresh does it for tickets).
        from data import links

        links.refresh(con)
    report_progress(progress, src.rows, src.rows, "完成")


# ---------------------------------------------------------------- preview (the import page)


def preview(path: str | Path, *, kind: str | None = None, mapping=None, crs: str | None = None,
            sheet: str | None = None, rows: int = 20) -> tuple[pd.DataFrame, dict]:
    """The first `rows` rows of a file as they will be stored, without writing anything.

    Runs the same reading and cleaning on an in-memory database; returns the
    cleaned rows (with `_reason`/`_detail` for those that would be quarantined)
    and facts about the file (kind, format, encoding, sheet, columns recognised).
    References to other tables (case → clue) are checked only at import.
    """
    from data import store

    path = Path(path)
    m, default_crs = _mapping_and_crs(mapping, crs)
    fmt = readers.detect_format(path)
    if fmt == "xlsx" and not (sheet or m.sheet):
        sheet = readers.xlsx_sheets(path)[0]
    sheet = sheet or m.sheet if fmt == "xlsx" else None
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        store.init_schema(con)
        try:
            src = read(con, path, fmt, sheet, m, limit=rows)
            K = prepare(con, src, path, sheet, kind, m, default_crs, topics.load())
        except (readers.ReadError, mapping_mod.MappingError) as exc:
            raise IngestError(str(exc)) from exc
        verify(con, K, check_references=False)
        cols = store_columns(K) + (["ticket_ids"] if K.name == "clues" else [])
        sql = f"SELECT _row, _reason, _detail, _dup, {', '.join(cols)} FROM _clean ORDER BY _row"
        df = con.execute(sql).df()
        colmap = m.resolve(K, src.columns)
        extra = m.extra_columns(src.columns, colmap) if K.name == "tickets" else []
        info = {"kind": K.name, "label": K.label, "format": src.format, "encoding": src.encoding,
                "sheet": src.sheet, "columns": src.columns,
                "recognised": {f: v for f, v in colmap.items()},
                "extra": extra,   # kept per ticket in `extra`, not unused
                "unused": [c for c in src.columns if not any(c in v for v in colmap.values()) and c not in extra]}
        return df, info
    finally:
        con.close()
