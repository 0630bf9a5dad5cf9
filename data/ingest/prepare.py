"""Reading a file into staging and cleaning it chunk by chunk into `_clean` (nothing stored yet).

SQL does most of the work (data/ingest/statements.py); Python only for Traditional characters,
place names and the coordinate arrays (data/ingest/clean.py), and the topic rules (data/topics.py).
"""

from __future__ import annotations

import math
from pathlib import Path

from data import settings, topics
from data.ingest import clean, readers, statements
from data.ingest.accounting import IngestError, report_progress
from data.ingest.fields import KINDS, Kind, detect_kind
from data.ingest.statements import WORDS_DECIDE_SQL, text_fields, used


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
    extra_cols = m.extra_columns(src.columns, colmap) if K.name == "tickets" else []
    stage_sql = statements.stage_sql(K, colmap, m, params, types, extra_cols)
    final_sql = statements.final_sql(K, rules, params)
    for i in range(n_chunks):
        lo, hi = i * chunk, min(src.rows, (i + 1) * chunk)
        con.execute(stage_sql[0], {**used(stage_sql[0], params), "lo": lo, "hi": hi})
        con.execute(stage_sql[1], used(stage_sql[1], params))
        for sql in statements.implausible_sql(K):
            con.execute(sql, used(sql, params))
        _fix_traditional(con, K)
        if K.name == "tickets":
            _locate(con, default_crs)
        if K.name in ("tickets", "clues"):
            _resolve_names(con, K)
        if K.name == "tickets":
            _locate_by_address(con)
        if K.name == "tickets":
            topics.classify(con, rules, table="_stage", out="_topic_hits", only=WORDS_DECIDE_SQL)
        sql = ("CREATE OR REPLACE TEMP TABLE _clean AS " if i == 0 else "INSERT INTO _clean ") + final_sql
        con.execute(sql, used(sql, params))
        report_progress(progress, hi, src.rows, f"清洗 {hi:,} / {src.rows:,} 行")
    return K


# ---------------------------------------------------------------- Python steps inside a chunk


def _fix_traditional(con, K: Kind) -> None:
    """Convert the rows written in Traditional characters (found by regex in SQL) with OpenCC."""
    (n,) = con.execute("SELECT count(*) FROM _stage WHERE _trad").fetchone()
    if not n:
        return
    cols = text_fields(K)
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


# The texts of the rows with no usable point and no known district: the address, else the content's start.
ADDRESS_TEXTS_SQL = """
SELECT DISTINCT coalesce(s.address, left(s.content, 80)) AS a_text
FROM _stage s
JOIN _geo_t g ON g._row = s._row
LEFT JOIN _names n ON n.d_key = coalesce(s.district, chr(1)) AND n.s_key = coalesce(s.street, chr(1))
WHERE NOT g.has_pt AND n.d_text IS NULL AND coalesce(s.address, s.content) IS NOT NULL
"""


def _locate_by_address(con) -> None:
    """`_addr` (a_text, a_district, a_street): the places the address texts name (geo/address.py)."""
    texts = [r[0] for r in con.execute(ADDRESS_TEXTS_SQL).fetchall()]
    found = None
    if texts:
        from geo import address, regions

        if regions.active().has_geography:
            found = address.locate(texts).rename(columns={"text": "a_text", "district": "a_district",
                                                          "street": "a_street"})
            found = found[found["a_district"].notna()]
    if found is None or found.empty:
        con.execute("CREATE OR REPLACE TEMP TABLE _addr (a_text VARCHAR, a_district VARCHAR, a_street VARCHAR)")
        return
    con.register("_addr_df", found)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _addr AS SELECT a_text, a_district, a_street FROM _addr_df")
    finally:
        con.unregister("_addr_df")


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
