"""Reading a file into a staging table, whatever its format and encoding.

Every reader leaves one temporary table `_src` in the connection: the file's
columns under their own headers, in file order (so `rowid + 1` is the data row
number). CSV goes through DuckDB's reader (fast, multi-threaded, quoted
newlines and NUL bytes kept); rows it cannot parse are kept in `_rej` and end
up in quarantine. GBK / GB18030 files are first re-encoded to a temporary
UTF-8 file, because DuckDB reads UTF-8 only. XLSX goes through openpyxl,
Parquet through DuckDB.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

SAMPLE_BYTES = 4 << 20


class ReadError(RuntimeError):
    """The file cannot be read at all; the message is in Chinese for the user."""


@dataclass
class Source:
    format: str
    encoding: str | None
    sheet: str | None
    columns: list[str]
    rows: int
    rejects: list[dict] = field(default_factory=list)  # unparseable CSV lines: line, text, error


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK"):
        return "xlsx"
    if head == b"PAR1":
        return "parquet"
    if suffix == ".xls":
        raise ReadError(f"{path.name}：不支持旧版 Excel（.xls）格式，请在 Excel 中另存为 .xlsx 或 CSV 后再导入。")
    return "csv"


def detect_encoding(path: Path) -> str:
    """utf-8-sig, utf-8, gbk or gb18030, from the BOM or from what the first 4 MB decode as."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ReadError(f"{path.name}：文件是 UTF-16 编码，请另存为 UTF-8 或 GBK 编码的 CSV。")
    for enc in ("utf-8", "gbk", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(sample, final=len(sample) < SAMPLE_BYTES)
            return enc
        except UnicodeDecodeError:
            continue
    raise ReadError(f"{path.name}：无法识别文件编码（不是 UTF-8、GBK 或 GB18030），请在映射文件中指定 encoding。")


def _normalise_encoding(enc: str) -> str:
    enc = enc.lower()
    return {"utf8": "utf-8", "gb2312": "gbk"}.get(enc, enc)


def _transcode(path: Path, encoding: str) -> Path:
    """A temporary UTF-8 copy of a GBK/GB18030 file (GB18030 decodes every GBK file)."""
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="hotline-import-")
    dec = codecs.getincrementaldecoder("gb18030")()
    try:
        with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(SAMPLE_BYTES):
                dst.write(dec.decode(chunk).encode("utf-8"))
            dst.write(dec.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as exc:
        os.unlink(tmp)
        raise ReadError(f"{path.name}：按 {encoding} 解码失败（字节位置 {exc.start}），请检查文件编码。") from exc
    return Path(tmp)


READ_CSV_SQL = """
CREATE OR REPLACE TEMP TABLE _src AS
SELECT * FROM read_csv($path, all_varchar = true, header = true, store_rejects = true,
                       rejects_table = '_rej', rejects_scan = '_rejscan'{delim}){limit}
"""


def read_csv(con: duckdb.DuckDBPyConnection, path: Path, *, encoding: str = "auto", delimiter: str | None = None,
             limit: int | None = None) -> Source:
    enc = detect_encoding(path) if encoding in (None, "auto") else _normalise_encoding(encoding)
    target, tmp = path, None
    if enc in ("gbk", "gb18030"):
        tmp = target = _transcode(path, enc)
    con.execute("DROP TABLE IF EXISTS _rej")
    con.execute("DROP TABLE IF EXISTS _rejscan")
    params: dict = {"path": str(target)}
    delim = ""
    if delimiter:
        delim = ", delim = $delim"
        params["delim"] = delimiter
    lim = ""
    if limit is not None:
        lim = " LIMIT $limit"
        params["limit"] = int(limit)
    sql = READ_CSV_SQL.format(delim=delim, limit=lim)
    try:
        con.execute(sql, params)
    except duckdb.Error as exc:
        raise ReadError(f"{path.name}：无法按 CSV 读取（{str(exc).splitlines()[0]}）。") from exc
    finally:
        if tmp is not None:
            os.unlink(tmp)
    rejects = []
    if limit is None:
        sql = """
            SELECT line, any_value(csv_line), string_agg(DISTINCT error_type, '; ')
            FROM _rej GROUP BY line ORDER BY line
        """
        rejects = [{"line": int(r[0]), "text": r[1], "error": r[2]} for r in con.execute(sql).fetchall()]
    return Source("csv", enc, None, _columns(con), _count(con), rejects)


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path, *, limit: int | None = None) -> Source:
    sql = "CREATE OR REPLACE TEMP TABLE _src AS SELECT * FROM read_parquet($path)"
    params: dict = {"path": str(path)}
    if limit is not None:
        sql += " LIMIT $limit"
        params["limit"] = int(limit)
    try:
        con.execute(sql, params)
    except duckdb.Error as exc:
        raise ReadError(f"{path.name}：无法按 Parquet 读取（{str(exc).splitlines()[0]}）。") from exc
    return Source("parquet", None, None, _columns(con), _count(con))


def xlsx_sheets(path: Path) -> list[str]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ReadError(f"{path.name}：无法按 Excel（.xlsx）读取（{exc}）。") from exc
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _cell(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    return str(v)


def read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, sheet: str, *, limit: int | None = None) -> Source:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ReadError(f"{path.name}：无法按 Excel（.xlsx）读取（{exc}）。") from exc
    try:
        if sheet not in wb.sheetnames:
            raise ReadError(f"{path.name}：没有名为“{sheet}”的工作表；现有：{'、'.join(wb.sheetnames)}")
        rows = wb[sheet].iter_rows(values_only=True)
        header = None
        for r in rows:
            if any(v is not None and str(v).strip() for v in r):
                header = r
                break
        if header is None:
            names: list[str] = []
            cols: list[list] = []
        else:
            names = _unique_names([_cell(h) or "" for h in header])
            cols = [[] for _ in names]
            n = 0
            for r in rows:
                if limit is not None and n >= limit:
                    break
                if not any(v is not None for v in r):
                    continue  # blank lines between data in hand-made sheets
                for i in range(len(names)):
                    cols[i].append(_cell(r[i]) if i < len(r) else None)
                n += 1
    finally:
        wb.close()
    if not names:
        con.execute("DROP TABLE IF EXISTS _src")
        return Source("xlsx", None, sheet, [], 0)
    table = pa.table({name: pa.array(col, type=pa.string()) for name, col in zip(names, cols, strict=True)})
    con.register("_xlsx_arrow", table)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _src AS SELECT * FROM _xlsx_arrow")
    finally:
        con.unregister("_xlsx_arrow")
    return Source("xlsx", None, sheet, _columns(con), _count(con))


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(names):
        n = n.strip() or f"column{i}"
        if n in seen:
            seen[n] += 1
            n = f"{n}_{seen[n]}"
        else:
            seen[n] = 0
        out.append(n)
    return out


def _columns(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE _src)").fetchall()]


def _count(con) -> int:
    return con.execute("SELECT count(*) FROM _src").fetchone()[0]
