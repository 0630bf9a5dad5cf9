"""Reading a file into a staging table, whatever its format and encoding.

Every reader leaves one temporary table `_src` in the connection: the file's
columns under their own headers, in file order (so `rowid + 1` is the data row
number). CSV goes through DuckDB's reader (fast, multi-threaded, quoted
newlines and NUL bytes kept); rows it cannot parse are kept in `_rej` and end
up in quarantine. GBK / GB18030 files are first re-encoded to a temporary
UTF-8 file, because DuckDB reads UTF-8 only. XLSX goes through openpyxl
(data/ingest/xlsx.py), Parquet through DuckDB.

Every file is bounded before it is read (settings, README): its size
(`HOTLINE_IMPORT_MAX_FILE_MB`), an XLSX's unpacked size, and the rows of any file
(`HOTLINE_IMPORT_MAX_ROWS`): a file past them is refused early with a clear
message, and nothing of it is stored.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from data import settings
from data.ingest import xlsx

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
    flags: dict[str, list[int]] = field(default_factory=dict)  # flag -> rows of the file (XLSX: Excel rows)


def check_size(path: Path) -> None:
    """Refuse a file larger than HOTLINE_IMPORT_MAX_FILE_MB before reading any of it."""
    if path.is_dir():
        raise ReadError(f"{path} 是文件夹，不是文件。请列出要导入的文件，例如 `python manage.py ingest {path}/*.csv`。")
    limit = int(settings.get("HOTLINE_IMPORT_MAX_FILE_MB"))
    size = path.stat().st_size
    if size > limit * 2**20:
        raise ReadError(f"{path.name}：文件有 {size / 2**20:,.0f} MB，超过导入上限 {limit:,} MB"
                        "（设置 HOTLINE_IMPORT_MAX_FILE_MB），未读取。请拆分文件后分批导入。")


def max_rows() -> int:
    return int(settings.get("HOTLINE_IMPORT_MAX_ROWS"))


def _too_many_rows(path: Path, n: int) -> ReadError:
    return ReadError(f"{path.name}：数据超过 {max_rows():,} 行的导入上限（设置 HOTLINE_IMPORT_MAX_ROWS；文件至少有 "
                     f"{n:,} 行），未导入。请拆分文件后分批导入。")


def detect_format(path: Path) -> str:
    check_size(path)
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
    # it holds the file's personal data: removed below; a killed import's copy goes with the next upload
    # or import (data/uploads.remove_stale: the pid in its name is no longer running)
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix=f"hotline-import-{os.getpid()}-")
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
    if encoding in (None, "auto"):
        enc = detect_encoding(path)
    else:
        enc = _normalise_encoding(encoding)
        _check_declared_encoding(path, enc)
    _check_lines(path)
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
    # one row past the cap is read, so that a file over it is told from one at it (and no more is held)
    cap = max_rows()
    lim = " LIMIT $limit"
    params["limit"] = int(limit) if limit is not None else cap + 1
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
    n = _count(con)
    if limit is None and n > cap:
        raise _too_many_rows(path, n)
    return Source("csv", enc, None, _columns(con), n, rejects)


def _check_declared_encoding(path: Path, enc: str) -> None:
    """An encoding named by a mapping that cannot decode the file: say so, and which one it looks like."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    try:
        codecs.getincrementaldecoder(enc)().decode(sample, final=len(sample) < SAMPLE_BYTES)
    except (UnicodeDecodeError, LookupError) as exc:
        try:
            guess = detect_encoding(path)
        except ReadError:
            guess = None
        hint = (f"文件看起来是 {guess.upper()} 编码：请把映射文件中的 encoding 改为 {guess}，或删去该项以自动识别"
                if guess and guess != enc else "请检查文件的编码和映射文件中的 encoding")
        where = f"（字节位置 {exc.start}）" if isinstance(exc, UnicodeDecodeError) else ""
        raise ReadError(f"{path.name}：按映射文件指定的编码 {enc} 无法解码{where}。{hint}。") from exc


def _check_lines(path: Path) -> None:
    """A CSV whose first 4 MB hold no line break is not a table: refuse at once (DuckDB would scan it all)."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if len(sample) == SAMPLE_BYTES and b"\n" not in sample and b"\r" not in sample:
        raise ReadError(f"{path.name}：前 {SAMPLE_BYTES >> 20} MB 中没有换行，不是逐行的表格（CSV），未导入。"
                        "请确认文件内容与格式。")


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path, *, limit: int | None = None) -> Source:
    if limit is None:
        try:   # the row count is in the file's footer: refuse an oversized file before reading its data
            (n,) = con.execute("SELECT sum(num_rows) FROM parquet_file_metadata($path)", {"path": str(path)}).fetchone()
        except duckdb.Error as exc:
            raise ReadError(f"{path.name}：无法按 Parquet 读取（{str(exc).splitlines()[0]}）。") from exc
        if n is not None and n > max_rows():
            raise _too_many_rows(path, int(n))
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


def xlsx_limit_bytes() -> int:
    return int(settings.get("HOTLINE_IMPORT_MAX_XLSX_MB")) * 2**20


def xlsx_sheets(path: Path) -> list[str]:
    """The sheets of a workbook, after its size checks (nothing is parsed yet)."""
    check_size(path)
    try:
        xlsx.check_archive(path, xlsx_limit_bytes())
        return xlsx.sheet_names(path)
    except xlsx.XlsxError as exc:
        raise ReadError(str(exc)) from exc


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
    """One sheet into `_src` (data/ingest/xlsx.py): bounded, formulas and merged cells read or flagged."""
    try:
        xlsx.check_archive(path, xlsx_limit_bytes())
        got = xlsx.read_sheet(con, path, sheet, limit=limit, max_rows=max_rows(), cell=_cell)
    except xlsx.XlsxError as exc:
        raise ReadError(str(exc)) from exc
    except (OSError, KeyError, ValueError) as exc:   # openpyxl on a broken workbook
        raise ReadError(f"{path.name}：无法按 Excel（.xlsx）读取（{exc}）。") from exc
    if not got.names:
        return Source("xlsx", None, sheet, [], 0)
    return Source("xlsx", None, sheet, _columns(con), _count(con), flags=got.flags)


_unique_names = xlsx.unique_names


def _columns(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE _src)").fetchall()]


def _count(con) -> int:
    return con.execute("SELECT count(*) FROM _src").fetchone()[0]
