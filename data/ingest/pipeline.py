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

Everything from 1 to 7 happens in one transaction: a failed or interrupted
import leaves the store as it was (and records a failed `imports` row).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from data import settings, topics
from data.ingest import clean, readers
from data.ingest import mapping as mapping_mod
from data.ingest.fields import KINDS, Kind, detect_kind
from geo import crs as crs_mod

Progress = Callable[[int, int | None, str], None]

REASONS = {
    "missing_id": "缺少编号",
    "bad_time": "时间缺失或无法识别",
    "time_out_of_range": "时间超出合理范围",
    "conflicting_duplicate": "同一编号在文件中出现多次且内容不同",
    "unknown_clue": "案件对应的线索不存在",
    "unknown_case": "整改对应的案件不存在",
    "malformed_row": "行格式错误（列数不符或编码错误）",
}
FLAGS = {
    "not_located": "无坐标（不上图，仍计入数量）",
    "outside_region": "坐标在北京范围之外（工单保留，坐标不入库）",
    "outside_polygons": "坐标不在任何街乡边界内（保留并标记）",
    "swapped_fixed": "经纬度颠倒，已纠正",
    "converted_gcj02": "GCJ-02 坐标已转换为 WGS84",
    "converted_bd09": "BD-09 坐标已转换为 WGS84",
    "district_filled": "所属区由坐标补全",
    "street_filled": "街道由坐标补全",
    "district_mismatch": "所属区与坐标所在区不一致（保留原值）",
    "street_mismatch": "街道与坐标所在街道不一致（按坐标）",
    "unknown_district": "所属区名称无法识别（置空）",
    "unknown_street": "街道名称无法识别（置空）",
    "unknown_crs": "坐标系名称无法识别（按默认坐标系）",
    "bad_coordinates": "经纬度无法识别（按无坐标处理）",
    "bad_optional_time": "非必填时间无法识别（置空）",
    "bad_number": "数值无法识别（置空）",
    "bad_yes_no": "是/否值无法识别（置空）",
    "traditional_converted": "繁体字已转换为简体",
    "topic_derived": "专项由分类和信号词判定",
    "unknown_ticket": "关联工单尚未导入（关联已保存）",
}
CRS_ALIASES = {
    0: ["wgs84", "wgs", "epsg4326", "4326", "gps"],
    1: ["gcj02", "gcj", "amap", "gaode", "高德", "tencent", "腾讯", "火星坐标"],
    2: ["bd09", "bd09ll", "baidu", "百度"],
}
CRS_NAMES = {0: "wgs84", 1: "gcj02", 2: "bd09"}


class IngestError(RuntimeError):
    """The import cannot start or a file cannot be imported; the message is in Chinese."""


@dataclass
class ImportReport:
    import_id: int | None
    file: str
    kind: str | None = None
    format: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    mapping: str | None = None
    crs: str | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    status: str = "running"
    message: str = ""
    seconds: float = 0.0
    refresh: dict = field(default_factory=dict)   # derived.refresh's mode and timings (not stored in `imports`)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.inserted + self.updated + self.unchanged + self.quarantined

    def summary(self) -> str:
        """The report in Chinese, a few lines."""
        where = Path(self.file).name + (f"［{self.sheet}］" if self.sheet else "")
        label = KINDS[self.kind].label if self.kind in KINDS else "数据"
        if not self.ok:
            return f"导入失败：{where}\n{self.message}\n数据库未作任何修改。"
        rate = f"，{self.rows_read / self.seconds:,.0f} 行/秒" if self.seconds > 0 and self.rows_read >= 1000 else ""
        lines = [
            f"导入完成：{where}（{label}，{self.format}{'，' + self.encoding if self.encoding else ''}）",
            f"读取 {self.rows_read:,} 行 = 新增 {self.inserted:,} + 更新 {self.updated:,} + 未变 {self.unchanged:,}"
            f" + 隔离 {self.quarantined:,}；用时 {self.seconds:.1f} 秒{rate}",
        ]
        for code, n in sorted(self.reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"  隔离原因 {REASONS.get(code, code)}（{code}）：{n:,} 行")
        for code, n in sorted(self.flags.items(), key=lambda kv: -kv[1]):
            if n:
                lines.append(f"  标记 {FLAGS.get(code, code)}（{code}）：{n:,} 行")
        if self.message:
            lines.append(self.message)
        return "\n".join(lines)


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
        for sh in sheets:
            reports.append(_ingest_one(con, p, fmt, sh, kind, m, default_crs, rules, progress, refresh))
    return reports


def _ingest_one(con, path: Path, fmt: str, sheet, kind, m, default_crs, rules, progress, refresh) -> ImportReport:
    t0 = time.perf_counter()
    started = _now()
    (import_id,) = con.execute("SELECT nextval('import_id_seq')").fetchone()
    rep = ImportReport(int(import_id), str(path), format=fmt, sheet=sheet, mapping=m.source, crs=default_crs)
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.execute("SET enable_progress_bar = false")  # our own progress callback reports instead
        _progress(progress, 0, None, f"读取 {path.name}{f'［{sheet}］' if sheet else ''}…")
        src = read(con, path, fmt, sheet, m)
        rep.format, rep.encoding, rep.sheet, rep.rows_read = src.format, src.encoding, src.sheet, src.rows
        if not src.columns:  # an empty sheet of a workbook: nothing to read, nothing to record as failed
            rep.status, rep.message = "ok", "空工作表（没有表头和数据），已跳过。"
            rep.seconds = time.perf_counter() - t0
            _record(con, rep, started)
            return rep
        con.begin()
        _run(con, rep, src, path, sheet, kind, m, default_crs, rules, progress, refresh)
        rep.status = "ok"
        rep.seconds = time.perf_counter() - t0
        _record(con, rep, started)
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
            _record(con, rep, started)
        except duckdb.Error:
            pass
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: stop after recording
            raise
    finally:
        _cleanup(con)
    return rep


def _failed_report(con, path: Path, sheet, message: str) -> ImportReport:
    (import_id,) = con.execute("SELECT nextval('import_id_seq')").fetchone()
    rep = ImportReport(int(import_id), str(path), sheet=sheet, status="failed", message=message)
    _record(con, rep, _now())
    return rep


def _now() -> dt.datetime:
    """Beijing local time, naive (the store's convention)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=8)


RECORD_SQL = """
INSERT INTO imports (import_id, started_at, finished_at, file, kind, format, encoding, sheet, mapping, crs, status,
                     rows_read, inserted, updated, unchanged, quarantined, reasons, flags, message, seconds)
VALUES ($import_id, $started, $finished, $file, $kind, $format, $encoding, $sheet, $mapping, $crs, $status,
        $rows_read, $inserted, $updated, $unchanged, $quarantined, $reasons, $flags, $message, $seconds)
"""


def _record(con, rep: ImportReport, started) -> None:
    d = rep.to_dict()
    d.pop("refresh", None)
    d.update(started=started, finished=_now(), reasons=json.dumps(rep.reasons, ensure_ascii=False),
             flags=json.dumps(rep.flags, ensure_ascii=False))
    con.execute(RECORD_SQL, d)


TEMP_TABLES = ("_src", "_stage_txt", "_stage", "_clean", "_names", "_geo_t", "_final", "_cmp", "_changed_ids", "_changed_old", "_dups",
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


def _progress(progress: Progress | None, done: int, total: int | None, msg: str) -> None:
    if progress is not None:
        progress(done, total, msg)


# ---------------------------------------------------------------- the steps


def _run(con, rep: ImportReport, src: readers.Source, path: Path, sheet, kind, m, default_crs, rules, progress,
         refresh):
    K = prepare(con, src, path, sheet, kind, m, default_crs, rules, progress=progress)
    rep.kind, rep.format, rep.encoding, rep.sheet = K.name, src.format, src.encoding, src.sheet
    rep.rows_read = src.rows + len(src.rejects)
    _progress(progress, src.rows, src.rows, "核查…")
    verify(con, K)
    quarantine(con, rep, K, src)
    _progress(progress, src.rows, src.rows, "写入数据库…")
    before = None
    if refresh and K.name == "tickets":
        from data import derived

        before = derived.state_before(con)   # were the derived tables current before this import?
    changed = merge(con, rep, K)
    rep.flags = _flags(con, K)
    if K.name == "clues":
        rep.flags["unknown_ticket"] = con.execute(UNKNOWN_TICKETS_SQL).fetchone()[0]
    if not rep.balanced:  # a bug, never expected: refuse to commit an unbalanced import
        raise IngestError(f"内部错误：计数不平衡（{rep.to_dict()}），已回滚。")
    if refresh and K.name == "tickets" and changed:
        _progress(progress, src.rows, src.rows, "更新汇总表与词表…")
        from data import derived

        # only what the changed tickets touch, before (their old rows, _changed_old) and after the merge
        rep.refresh = derived.refresh(con, new_ticket_ids_table="_changed_ids", old_tickets_table="_changed_old",
                                      before=before)
    if refresh and K.name in ("clues", "cases", "rectifications") and changed:
        # The linked tickets and the per-clue funnel table (data/links.py; derived.refresh does it for tickets).
        from data import links

        links.refresh(con)
    _progress(progress, src.rows, src.rows, "完成")


def read(con, path: Path, fmt: str, sheet, m, *, limit: int | None = None) -> readers.Source:
    """Read a file into the temp table `_src`.

    Runs outside the import's transaction: inside one, DuckDB's row ids of new
    rows are not 0..n-1, and `rowid + 1` is how rows keep their file row number.
    The staging table is private to the connection, so this writes nothing to the store.
    """
    if fmt == "csv":
        return readers.read_csv(con, path, encoding=m.encoding, delimiter=m.delimiter, limit=limit)
    if fmt == "xlsx":
        return readers.read_xlsx(con, path, sheet, limit=limit)
    return readers.read_parquet(con, path, limit=limit)


def prepare(con, src: readers.Source, path: Path, sheet, kind, m, default_crs: str, rules, *,
            progress=None) -> Kind:
    """Clean the staged file `_src` into the temp table `_clean` (no checks across rows, nothing stored)."""
    kname = kind or m.kind or detect_kind(src.columns)
    where = path.name + (f"［{sheet}］" if sheet else "")
    if kname is None:
        raise IngestError(
            f"{where}：无法从表头识别数据类型（工单、线索、案件或整改）。表头：{'、'.join(src.columns[:30])}。"
            "请使用标准表头，或用 --kind 指定类型、用映射文件（--mapping）说明各列。")
    K = KINDS[kname]
    colmap = m.resolve(K, src.columns)
    missing = [f for f in (K.key, K.required_time) if f and f not in colmap and f not in m.defaults]
    if missing:
        labels = "、".join(f"{K.field(f).headers[0]}（{f}）" for f in missing)
        raise IngestError(f"{where}：{K.label}文件缺少必需的列：{labels}。文件的列：{'、'.join(src.columns[:30])}")
    chunk = max(1000, int(settings.get("HOTLINE_IMPORT_CHUNK_ROWS")))
    n_chunks = max(1, math.ceil(src.rows / chunk))
    params = clean.base_params()
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE _src)").fetchall())
    stage_sql = _stage_sql(K, colmap, m, params, types)
    final_sql = _final_sql(K, rules, params)
    for i in range(n_chunks):
        lo, hi = i * chunk, min(src.rows, (i + 1) * chunk)
        con.execute(stage_sql[0], {**_used(stage_sql[0], params), "lo": lo, "hi": hi})
        con.execute(stage_sql[1], _used(stage_sql[1], params))
        _fix_traditional(con, K)
        if K.name == "tickets":
            _locate(con, default_crs)
        if K.name in ("tickets", "clues"):
            _resolve_names(con, K)
        if K.name == "tickets":
            topics.classify(con, rules, table="_stage", out="_topic_hits", only=WORDS_DECIDE_SQL)
        sql = ("CREATE OR REPLACE TEMP TABLE _clean AS " if i == 0 else "INSERT INTO _clean ") + final_sql
        con.execute(sql, _used(sql, params))
        _progress(progress, hi, src.rows, f"清洗 {hi:,} / {src.rows:,} 行")
    return K


# The rows whose topic the text's words decide: no topic given and neither the third nor the second
# category level names one (the final SQL prefers a given topic, then the categories; see _final_sql).
# Only these need the regex search of the text, which is the costliest step of a chunk.
WORDS_DECIDE_SQL = """
topic IS NULL AND NOT EXISTS (
    SELECT 1 FROM _topic_cats tc
    WHERE tc.category IN (coalesce(category_l3, nullif(trim(split_part(category_path, '/', 3)), '')),
                          coalesce(category_l2, nullif(trim(split_part(category_path, '/', 2)), ''))))
"""


def _used(sql: str, params: dict) -> dict:
    """Only the named parameters that appear in `sql` (DuckDB rejects unused ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


# ---------------------------------------------------------------- SQL builders


def _text_fields(K: Kind) -> list[str]:
    return [f.name for f in K.fields if f.type in ("short", "long") and f.name != "crs"]


TYPED_TIME = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "DATE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
TYPED_NUM = ("DOUBLE", "FLOAT", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT")


def _stage_sql(K: Kind, colmap: dict, m, params: dict, types: dict | None = None) -> tuple[str, str]:
    """SQL of the two staging statements: clean texts, then typed values.

    `types` (source column -> DuckDB type) lets typed Parquet columns skip the text round trip:
    a TIMESTAMP column is used as it is instead of being printed and parsed again.
    """
    types = types or {}
    inner, outer = ["rowid + 1 AS _row"], ["_row"]
    if m.date_formats:
        params["user_formats"] = m.date_formats
    if m.join:
        params["join_sep"] = m.join
    for f in K.fields:
        cols = colmap.get(f.name)
        if not cols:
            raw = "CAST(NULL AS VARCHAR)"
        elif len(cols) == 1:
            raw = f"CAST({clean.q(cols[0])} AS VARCHAR)"
        else:
            parts = ", ".join(clean.text_sql(f"CAST({clean.q(c)} AS VARCHAR)", f.type) for c in cols)
            raw = f"concat_ws($join_sep, {parts})"
        t = clean.text_sql(raw, f.type)
        if f.name in m.values:
            cases = []
            for j, (a, b) in enumerate(m.values[f.name].items()):
                params[f"v_{f.name}_{j}_a"], params[f"v_{f.name}_{j}_b"] = a, b
                cases.append(f"WHEN ${'v_' + f.name}_{j}_a THEN ${'v_' + f.name}_{j}_b")
            t = f"(CASE {t} {' '.join(cases)} ELSE {t} END)"
        t = clean.value_sql(K, f, t)
        if f.name in m.defaults:
            params[f"def_{f.name}"] = m.defaults[f.name]
            t = f"coalesce({t}, $def_{f.name})"
        if f.name == K.key and m.id_prefix:
            params["id_prefix"] = m.id_prefix
            t = f"($id_prefix || {t})"
        tn = f"t_{f.name}"
        src_type = types.get(cols[0], "VARCHAR").split("(")[0] if cols and len(cols) == 1 else "VARCHAR"
        typed = (f.type == "time" and src_type in TYPED_TIME) or (f.type == "num" and src_type in TYPED_NUM)
        typed = typed and f.name not in m.values and f.name not in m.defaults
        # a typed column needs no text cleaning: its text form only tells "empty" from "unreadable"
        inner.append(f"{raw if typed else t} AS {tn}")
        if typed:
            target = "TIMESTAMP" if f.type == "time" else "DOUBLE"
            inner.append(f"CAST({clean.q(cols[0])} AS {target}) AS v_{f.name}")
            outer += [f"v_{f.name} AS {f.name}", f"{tn} AS {f.name}_txt"]
        elif f.type == "time":
            outer += [f"{clean.time_sql(tn, bool(m.date_formats))} AS {f.name}", f"{tn} AS {f.name}_txt"]
        elif f.type == "num":
            outer += [f"TRY_CAST({tn} AS DOUBLE) AS {f.name}", f"{tn} AS {f.name}_txt"]
        elif f.type == "bool":
            outer += [f"{clean.bool_sql(tn)} AS {f.name}", f"{tn} AS {f.name}_txt"]
        elif f.type == "list":
            outer.append(f"list_filter(string_split_regex({tn}, '[,;\\s]+'), lambda v: v <> '') AS {f.name}")
        elif f.name == "crs":
            whens = []
            for code, aliases in CRS_ALIASES.items():
                params[f"crs_{code}"] = aliases
                whens.append(f"WHEN list_contains($crs_{code}, lower(regexp_replace({tn}, '[-_ ]', '', 'g'))) "
                             f"THEN {code}")
            outer.append(f"(CASE WHEN {tn} IS NULL THEN NULL {' '.join(whens)} ELSE -1 END) AS crs_code")
        else:
            outer.append(f"{tn} AS {f.name}")
    texts = [f"t_{n}" for n in _text_fields(K)]
    params["trad"] = clean.traditional_pattern()
    outer.append(f"regexp_matches(concat_ws('', {', '.join(texts)}), $trad) AS _trad")
    # two statements: the texts are materialised once, then typed (a subquery would be inlined and
    # every reference to a text column would clean it again)
    return (f"CREATE OR REPLACE TEMP TABLE _stage_txt AS SELECT {', '.join(inner)} FROM _src "
            f"WHERE rowid >= $lo AND rowid < $hi",
            f"CREATE OR REPLACE TEMP TABLE _stage AS SELECT {', '.join(outer)} FROM _stage_txt")


def _reason_sql(K: Kind) -> tuple[str, str]:
    """(reason, Chinese detail) expressions for row-level problems, over the final columns."""
    key_label = K.field(K.key).headers[0]
    conds = [(f"{K.key} IS NULL", "'missing_id'", f"'缺少{key_label}'")]
    if K.required_time:
        tl = K.field(K.required_time).headers[0]
        t = K.required_time
        conds += [
            (f"{t}_txt IS NULL", "'bad_time'", f"'缺少{tl}'"),
            (f"{t} IS NULL", "'bad_time'", f"'{tl}无法识别：' || left({t}_txt, 60)"),
            (f"{t} < $earliest OR {t} > $latest", "'time_out_of_range'",
             f"'{tl}超出合理范围：' || strftime({t}, '%Y-%m-%d %H:%M')"),
        ]
    if K.name == "cases":
        conds.append(("clue_id IS NULL", "'unknown_clue'", "'缺少线索编号'"))
    reason = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r, _ in conds) + " END"
    detail = "CASE " + " ".join(f"WHEN {c} THEN {d}" for c, _, d in conds) + " END"
    return reason, detail


def _bad_fields_sql(K: Kind, ftype: str) -> str:
    names = [f.name for f in K.fields if f.type == ftype and f.name != K.required_time and f.name not in ("lon", "lat")]
    if not names:
        return "false"
    return "(" + " OR ".join(f"({n}_txt IS NOT NULL AND {n} IS NULL)" for n in names) + ")"


def _hash_sql(cols: list[str]) -> str:
    # DuckDB's 64-bit hash of the typed values: 5x cheaper than md5 of their text. It only has to tell a
    # row from its own previous version; if a DuckDB upgrade changes the hash function, the next
    # re-import of a file reports its rows as updated once (harmless).
    return f"CAST(hash({', '.join(cols)}) AS VARCHAR)"


def hash_columns(K: Kind) -> list[str]:
    cols = [f.name for f in K.stored_fields]
    if K.name == "tickets":
        cols += ["street_code", "source_crs", "geo_flag"]
    if K.name == "clues":
        cols += ["_links"]
    return cols


def store_columns(K: Kind) -> list[str]:
    cols = [f.name for f in K.stored_fields]
    if K.name == "tickets":
        cols += ["street_code", "source_crs", "geo_flag"]
    return cols


def _final_sql(K: Kind, rules, params: dict) -> str:
    reason, detail = _reason_sql(K)
    common_flags = [
        "_trad AS _f_traditional_converted",
        f"{_bad_fields_sql(K, 'time')} AS _f_bad_optional_time",
        f"{_bad_fields_sql(K, 'num')} AS _f_bad_number",
        f"{_bad_fields_sql(K, 'bool')} AS _f_bad_yes_no",
    ]
    if K.name == "tickets":
        body = """
        WITH b AS (
            SELECT s.*, n.d_text, n.s_text, n.d_unknown, n.s_unknown,
                   g.g_lon, g.g_lat, g.has_pt, g.in_region, g.swapped, g.converted, g.crs_eff,
                   ps.pt_street, ps.pt_district,
                   coalesce(s.category_l1, nullif(trim(split_part(s.category_path, '/', 1)), '')) AS l1,
                   coalesce(s.category_l2, nullif(trim(split_part(s.category_path, '/', 2)), '')) AS l2,
                   coalesce(s.category_l3, nullif(trim(split_part(s.category_path, '/', 3)), '')) AS l3
            FROM _stage s
            LEFT JOIN _names n ON n.d_key = coalesce(s.district, chr(1)) AND n.s_key = coalesce(s.street, chr(1))
            LEFT JOIN _geo_t g ON g._row = s._row
            LEFT JOIN (SELECT street_code AS ps_code, street AS pt_street, district AS pt_district FROM streets) ps
                   ON ps.ps_code = g.pt_code
        ), c AS (
            SELECT b.*, coalesce(d_text, pt_district) AS district_f,
                   -- the point decides the street when it agrees with the district (so street_code always
                   -- matches the polygon the point is in); a district mismatch keeps the given names
                   CASE WHEN pt_street IS NOT NULL AND coalesce(d_text, pt_district) = pt_district THEN pt_street
                        ELSE s_text
                   END AS street_f,
                   coalesce(c3.cat_topic, c2.cat_topic, th.word_topic) AS topic_rule
            FROM b
            LEFT JOIN _topic_cats c3 ON c3.category = b.l3
            LEFT JOIN _topic_cats c2 ON c2.category = b.l2
            LEFT JOIN _topic_hits th ON th._row = b._row
        )
        SELECT c._row, ticket_id, received_at, channel, appeal_type,
               l1 AS category_l1, l2 AS category_l2, l3 AS category_l3,
               coalesce(topic, topic_rule) AS topic, content,
               district_f AS district, street_f AS street, st.st_code AS street_code, address,
               CASE WHEN in_region THEN g_lon END AS lon, CASE WHEN in_region THEN g_lat END AS lat,
               CASE WHEN has_pt THEN $crs_names[crs_eff + 1] END AS source_crs,
               CASE WHEN NOT has_pt THEN 'no_coords'
                    WHEN NOT in_region THEN 'outside_region'
                    WHEN pt_district IS NULL THEN 'outside_polygons'
                    WHEN d_text IS NOT NULL AND d_text <> pt_district THEN 'district_mismatch'
                    WHEN swapped THEN 'swapped_fixed' END AS geo_flag,
               handling_unit, status, responded_at, closed_at, satisfaction, resolved,
               complainant_name, complainant_phone,
               received_at_txt, responded_at_txt, closed_at_txt, resolved_txt,
               NOT has_pt AS _f_not_located,
               has_pt AND NOT in_region AS _f_outside_region,
               in_region AND pt_district IS NULL AS _f_outside_polygons,
               swapped AS _f_swapped_fixed,
               converted = 1 AS _f_converted_gcj02,
               converted = 2 AS _f_converted_bd09,
               d_text IS NULL AND district_f IS NOT NULL AS _f_district_filled,
               s_text IS NULL AND street_f IS NOT NULL AS _f_street_filled,
               s_text IS NOT NULL AND street_f IS NOT NULL AND s_text <> street_f AS _f_street_mismatch,
               d_text IS NOT NULL AND pt_district IS NOT NULL AND d_text <> pt_district AS _f_district_mismatch,
               d_unknown AS _f_unknown_district,
               s_unknown AS _f_unknown_street,
               crs_code = -1 AS _f_unknown_crs,
               ((lon_txt IS NOT NULL AND lon IS NULL) OR (lat_txt IS NOT NULL AND lat IS NULL)) AS _f_bad_coordinates,
               topic IS NULL AND topic_rule IS NOT NULL AS _f_topic_derived,
               _trad
        FROM c LEFT JOIN (SELECT district AS st_d, street AS st_s, street_code AS st_code FROM streets) st
               ON st.st_d = c.district_f AND st.st_s = c.street_f
        """
        params["crs_names"] = [CRS_NAMES[i] for i in range(3)]
    elif K.name == "clues":
        body = """
        SELECT s.* EXCLUDE (district), n.d_text AS district, n.d_unknown AS _f_unknown_district,
               array_to_string(list_sort(list_distinct(ticket_ids)), ',') AS _links
        FROM _stage s
        LEFT JOIN _names n ON n.d_key = coalesce(s.district, chr(1)) AND n.s_key = chr(1)
        """
    else:
        body = "SELECT * FROM _stage"
    hcols = hash_columns(K)
    return f"""
    SELECT {reason} AS _reason, {detail} AS _detail, false AS _dup, {', '.join(common_flags)},
           {_hash_sql(hcols)} AS row_hash, f.*
    FROM ({body}) f
    """


# ---------------------------------------------------------------- Python steps inside a chunk


def _fix_traditional(con, K: Kind) -> None:
    """Convert the rows written in Traditional characters (found by regex in SQL) with OpenCC."""
    (n,) = con.execute("SELECT count(*) FROM _stage WHERE _trad").fetchone()
    if not n:
        return
    cols = _text_fields(K)
    sql = f"SELECT _row, {', '.join(cols)} FROM _stage WHERE _trad"  # column names from the field table
    df = con.execute(sql).df()
    for c in cols:
        df[c] = clean.to_simplified(df[c].astype(object).where(df[c].notna(), None))
    con.register("_trad_df", df)
    try:
        sets = ", ".join(f"{c} = _trad_df.{c}" for c in cols)
        sql = f"UPDATE _stage SET {sets} FROM _trad_df WHERE _stage._row = _trad_df._row"
        con.execute(sql)
    finally:
        con.unregister("_trad_df")


LOCATE_SQL = """
SELECT _row, coalesce(lon, 'NaN'::DOUBLE) AS lon, coalesce(lat, 'NaN'::DOUBLE) AS lat,
       CASE WHEN crs_code >= 0 THEN crs_code ELSE $default END AS crs_code
FROM _stage
"""


def _locate(con, default_crs: str) -> None:
    arr = con.execute(LOCATE_SQL, {"default": clean.CRS_CODES[default_crs]}).fetchnumpy()
    tbl = clean.locate(arr["_row"], arr["lon"], arr["lat"], arr["crs_code"])
    con.register("_geo_arrow", tbl)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _geo_t AS SELECT * FROM _geo_arrow")
    finally:
        con.unregister("_geo_arrow")


def _resolve_names(con, K: Kind) -> None:
    street = "street" if K.name == "tickets" else "CAST(NULL AS VARCHAR)"
    sql = f"SELECT DISTINCT district AS d_raw, {street} AS s_raw FROM _stage"
    pairs = con.execute(sql).df()
    pairs = pairs.astype(object).where(pairs.notna(), None)
    out = clean.resolve_names(pairs)
    out["d_key"] = out["d_raw"].map(lambda v: "\x01" if v is None else v)
    out["s_key"] = out["s_raw"].map(lambda v: "\x01" if v is None else v)
    out = out[["d_key", "s_key", "d_text", "s_text", "d_unknown", "s_unknown"]]
    con.register("_names_df", out)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _names AS SELECT * FROM _names_df")
    finally:
        con.unregister("_names_df")


# ---------------------------------------------------------------- verification


def verify(con, K: Kind, *, check_references: bool = True) -> None:
    """Checks across rows: conflicting and exact duplicates of a key, and references to other tables."""
    key = K.key  # a column name from the field table
    sql = f"""
    CREATE OR REPLACE TEMP TABLE _dups AS
    SELECT {key} AS k, count(DISTINCT row_hash) AS versions, min(_row) AS first_row,
           list(_row ORDER BY _row) AS rows
    FROM _clean WHERE _reason IS NULL GROUP BY {key} HAVING count(*) > 1
    """
    con.execute(sql)
    label = K.field(key).headers[0]
    sql = f"""
    UPDATE _clean SET _reason = 'conflicting_duplicate',
        _detail = '{label} ' || d.k || ' 在本文件中出现 ' || len(d.rows) || ' 次且内容不同（第 '
                  || array_to_string(list_slice(d.rows, 1, 10), '、') || ' 行）'
    FROM _dups d WHERE _clean.{key} = d.k AND d.versions > 1 AND _clean._reason IS NULL
    """
    con.execute(sql)
    sql = f"""
    UPDATE _clean SET _dup = true
    FROM _dups d WHERE _clean.{key} = d.k AND d.versions = 1 AND _clean._row <> d.first_row
          AND _clean._reason IS NULL
    """
    con.execute(sql)
    if not check_references:
        return
    if K.name == "cases":
        sql = """
        UPDATE _clean SET _reason = 'unknown_clue', _detail = '线索编号 ' || clue_id || ' 不在线索表中（请先导入线索）'
        WHERE _reason IS NULL AND NOT EXISTS (SELECT 1 FROM clues c WHERE c.clue_id = _clean.clue_id)
        """
        con.execute(sql)
    if K.name == "rectifications":
        sql = """
        UPDATE _clean SET _reason = 'unknown_case', _detail = '案件编号 ' || case_id || ' 不在案件表中（请先导入案件）'
        WHERE _reason IS NULL AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = _clean.case_id)
        """
        con.execute(sql)


def quarantine(con, rep: ImportReport, K: Kind, src: readers.Source) -> None:
    now = _now()
    params = {"import_id": rep.import_id, "file": rep.file, "sheet": rep.sheet, "kind": K.name, "now": now}
    # raw JSON of the original row, under its own headers
    sql = f"""
    INSERT INTO quarantine (import_id, file, sheet, row_number, kind, reason, detail, record_id, raw, created_at)
    SELECT $import_id, $file, $sheet, c._row, $kind, c._reason, c._detail, c.{K.key},
           CAST(to_json(s.r) AS VARCHAR), $now
    FROM _clean c
    JOIN (SELECT rowid + 1 AS _r, x AS r FROM _src x
          WHERE rowid + 1 IN (SELECT _row FROM _clean WHERE _reason IS NOT NULL)) s ON s._r = c._row
    WHERE c._reason IS NOT NULL
    ORDER BY c._row
    """
    con.execute(sql, params)
    for rj in src.rejects:
        raw = json.dumps({"line": rj["line"], "text": rj["text"]}, ensure_ascii=False)
        sql = """
        INSERT INTO quarantine (import_id, file, sheet, row_number, kind, reason, detail, record_id, raw, created_at)
        VALUES ($import_id, $file, $sheet, $row, $kind, 'malformed_row', $detail, NULL, $raw, $now)
        """
        con.execute(sql, {**params, "row": rj["line"] - 1, "raw": raw,
                          "detail": f"第 {rj['line']} 行（文件行号）无法解析：{rj['error']}"})
    sql = "SELECT reason, count(*) FROM quarantine WHERE import_id = $import_id GROUP BY reason"
    rep.reasons = {r: int(n) for r, n in con.execute(sql, {"import_id": rep.import_id}).fetchall()}
    rep.quarantined = sum(rep.reasons.values())


UNKNOWN_TICKETS_SQL = """
SELECT count(*) FROM (SELECT unnest(ticket_ids) AS ticket_id FROM _final) l
WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.ticket_id = l.ticket_id)
"""


# ---------------------------------------------------------------- merge


def merge(con, rep: ImportReport, K: Kind) -> bool:
    """Insert new rows, replace changed ones, leave identical ones; returns whether anything changed."""
    key, table = K.key, K.table  # names from the field table, never from input
    cols = store_columns(K)
    con.execute("CREATE OR REPLACE TEMP VIEW _final AS SELECT * FROM _clean WHERE _reason IS NULL AND NOT _dup")
    sql = f"""
    CREATE OR REPLACE TEMP TABLE _cmp AS
    SELECT f.{key} AS k, bool_or(t.{key} IS NOT NULL) AS existed,
           bool_or(t.{key} IS NOT NULL AND t.row_hash IS DISTINCT FROM f.row_hash) AS changed
    FROM _final f LEFT JOIN {table} t ON t.{key} = f.{key}
    GROUP BY f.{key}
    """
    con.execute(sql)
    ins, upd, same = con.execute(
        "SELECT count(*) FILTER (NOT existed), count(*) FILTER (changed), count(*) FILTER (existed AND NOT changed) "
        "FROM _cmp").fetchone()
    (dups,) = con.execute("SELECT count(*) FROM _clean WHERE _reason IS NULL AND _dup").fetchone()
    rep.inserted, rep.updated, rep.unchanged = int(ins), int(upd), int(same) + int(dups)
    sql = f"CREATE OR REPLACE TEMP TABLE _changed_ids AS SELECT k AS {key} FROM _cmp WHERE NOT existed OR changed"
    con.execute(sql)  # key is one of KEYS' fixed column names
    if not ins and not upd:
        return False
    if K.name == "tickets":
        # the updated tickets as they were: the derived tables must lose what they counted for them
        sql = "CREATE OR REPLACE TEMP TABLE _changed_old AS SELECT * FROM tickets WHERE ticket_id IN " \
              "(SELECT k FROM _cmp WHERE changed)"
        con.execute(sql)
    if upd:
        sql = f"DELETE FROM {table} WHERE {key} IN (SELECT k FROM _cmp WHERE changed)"
        con.execute(sql)
    # rows keep the file's order (exports come sorted by time, which keeps DuckDB's zonemaps useful);
    # sorting a million wide rows here would cost more than the whole cleaning of a chunk
    if ins and not upd and not same:
        where = ""  # everything is new: no need to look the ids up again
    else:
        where = f"WHERE {key} IN (SELECT {key} FROM _changed_ids)"
    sql = f"""
    INSERT INTO {table} ({', '.join(cols)}, row_hash, import_id, updated_at)
    SELECT {', '.join(cols)}, row_hash, $import_id, $now FROM _final {where}
    """
    con.execute(sql, {"import_id": rep.import_id, "now": _now()})
    if K.name == "clues":
        sql = "DELETE FROM clue_tickets WHERE clue_id IN (SELECT clue_id FROM _changed_ids)"
        con.execute(sql)
        sql = """
        INSERT INTO clue_tickets (clue_id, ticket_id, import_id)
        SELECT DISTINCT clue_id, unnest(ticket_ids), $import_id FROM _final
        WHERE clue_id IN (SELECT clue_id FROM _changed_ids)
        """
        con.execute(sql, {"import_id": rep.import_id})
    return True


def _flags(con, K: Kind) -> dict[str, int]:
    cols = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE _clean)").fetchall() if r[0].startswith("_f_")]
    if not cols:
        return {}
    sql = ("SELECT " + ", ".join(f"count(*) FILTER ({c})" for c in cols)
           + " FROM _clean WHERE _reason IS NULL AND NOT _dup")
    vals = con.execute(sql).fetchone()
    return {c[3:]: int(v) for c, v in zip(cols, vals, strict=True) if v}


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
        info = {"kind": K.name, "label": K.label, "format": src.format, "encoding": src.encoding,
                "sheet": src.sheet, "columns": src.columns,
                "recognised": {f: v for f, v in colmap.items()},
                "unused": [c for c in src.columns if not any(c in v for v in colmap.values())]}
        return df, info
    finally:
        con.close()
