"""Reading a 12309 export of letters and visits: its own mapping, every row accounted for.

The 12309 centre's exports are small (a district receives hundreds to a few thousand letters a year), so
the file is read whole in Python: CSV (UTF-8 with or without BOM, GBK/GB18030) or XLSX (the first sheet, or
the one named). Each row becomes a letter or a quarantined row with a reason; nothing is dropped silently.

Mapping (data/mappings/letters_12309.yaml): `columns` lists the headers each field may come under, `channels`
maps the export's wording to 来信 / 来访 / 电话 / 网络, `date_formats` are tried before the built-in forms,
`defaults` fills a field missing from the file (e.g. the district of a district procuratorate's export).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

CHANNELS = ("来信", "来访", "电话", "网络")
FIELDS = ("letter_id", "received_at", "channel", "matter", "category", "district", "petitioner", "phone",
          "replied_at", "result_at", "result", "handler")
REQUIRED = ("letter_id", "received_at", "channel", "district")
TIMES = ("received_at", "replied_at", "result_at")
DEFAULT_MAPPING = Path(__file__).resolve().parent.parent / "mappings" / "letters_12309.yaml"
MAX_ROWS = 200_000
MAX_BYTES = 100 * 2**20
BUILT_IN_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S",
                    "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y%m%d")
REASONS = {"missing_id": "缺少信访编号", "bad_time": "时间无法识别", "missing_time": "缺少收到时间",
           "missing_channel": "信访形式不是来信、来访、电话、网络之一", "missing_district": "缺少受理单位（区）",
           "duplicate_in_file": "文件内编号重复（保留第一行）", "reply_before_receipt": "答复时间早于收到时间",
           "other_district": "不在导入人的辖区"}


class LetterFileError(ValueError):
    """The file or mapping cannot be used at all; the message is Chinese."""


@dataclass
class LetterMapping:
    columns: dict[str, list[str]]
    channels: dict[str, str] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=list)
    defaults: dict[str, str] = field(default_factory=dict)
    source: str = ""


def load_mapping(path: str | Path | None = None) -> LetterMapping:
    p = Path(path) if path else DEFAULT_MAPPING
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LetterFileError(f"无法读取映射文件 {p.name}：{exc}") from exc
    if not isinstance(doc, dict) or doc.get("kind", "letters") != "letters":
        raise LetterFileError(f"映射文件 {p.name} 不是12309信访映射（kind 应为 letters）。")
    cols = doc.get("columns") or {}
    bad = set(cols) - set(FIELDS)
    if bad:
        raise LetterFileError(f"映射文件 {p.name} 中有未知字段：{'、'.join(sorted(bad))}；可用字段：{'、'.join(FIELDS)}")
    columns = {k: ([v] if isinstance(v, str) else [str(x) for x in v]) for k, v in cols.items()}
    channels = {str(k): str(v) for k, v in (doc.get("channels") or {}).items()}
    if set(channels.values()) - set(CHANNELS):
        raise LetterFileError(f"映射文件 {p.name} 的 channels 只能映射到：{'、'.join(CHANNELS)}")
    return LetterMapping(columns, channels, [str(x) for x in doc.get("date_formats") or []],
                         {str(k): str(v) for k, v in (doc.get("defaults") or {}).items()}, str(p))


def read_rows(path: Path, sheet: str | None = None) -> tuple[list[str], list[dict], dict[str, list[int]]]:
    """(headers, rows as dicts of text, flags) of a CSV or XLSX file; flags name the Excel rows whose formula
    cells or merged cells were read in a way the user must know of (data/ingest/xlsx.py)."""
    if path.is_dir():
        raise LetterFileError(f"{path.name} 是文件夹，请选择12309导出的 CSV 或 XLSX 文件。")
    if path.stat().st_size > MAX_BYTES:
        raise LetterFileError(f"{path.name} 超过 {MAX_BYTES >> 20} MB，不像是12309信访导出，请检查文件。")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    if path.suffix.lower() in (".csv", ".txt"):
        return (*_read_csv(path), {})
    raise LetterFileError(f"{path.name}：只支持 CSV 或 XLSX 文件。")


def _read_csv(path: Path) -> tuple[list[str], list[dict]]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise LetterFileError(f"{path.name}：无法识别文件编码（应为 UTF-8 或 GBK）。")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = [r for r in reader]
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return [], []
    head = [h.strip() for h in rows[0]]
    if len(rows) - 1 > MAX_ROWS:
        raise LetterFileError(f"{path.name} 有 {len(rows) - 1:,} 行，超过 {MAX_ROWS:,} 行的上限。")
    return head, [{h: (r[i].strip() if i < len(r) else "") for i, h in enumerate(head)} | {"_extra": r[len(head):]}
                  for r in rows[1:]]


def _read_xlsx(path: Path, sheet: str | None) -> tuple[list[str], list[dict], dict[str, list[int]]]:
    """The ticket importer's bounded reader (data/ingest/xlsx.py): the unpacked size is checked before anything
    is parsed (HOTLINE_IMPORT_MAX_XLSX_MB: a few megabytes of zip can unpack to gigabytes), rows are counted as
    they are read, formula cells take their cached value and merged cells their top-left value, both flagged."""
    import duckdb

    from data.ingest import readers, xlsx

    limit = min(MAX_ROWS, readers.max_rows())
    try:
        xlsx.check_archive(path, readers.xlsx_limit_bytes())
        names = xlsx.sheet_names(path)
        name = sheet or (names[0] if names else "")
        if name not in names:
            raise LetterFileError(f"{path.name}：没有名为“{name}”的工作表；现有：{'、'.join(names)}")
        con = duckdb.connect()
        try:
            got = xlsx.read_sheet(con, path, name, limit=None, max_rows=limit, cell=_cell)
            if not got.names:
                return [], [], {}
            cur = con.execute("SELECT * FROM _src")
            head = [d[0] for d in cur.description]
            rows = [{h: (v or "").strip() for h, v in zip(head, r, strict=True)} for r in cur.fetchall()]
        finally:
            con.close()
    except xlsx.XlsxError as exc:
        raise LetterFileError(str(exc)) from exc
    except (OSError, KeyError, ValueError) as exc:   # openpyxl on a broken workbook
        raise LetterFileError(f"{path.name}：无法按 Excel（.xlsx）读取（{exc}）。") from exc
    return [h.strip() for h in head], [{h.strip(): v for h, v in r.items()} for r in rows], got.flags


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def resolve(m: LetterMapping, headers: list[str]) -> dict[str, str]:
    """field -> the file's header it comes from (the first of the mapping's headers the file has)."""
    have = {h.strip(): h for h in headers}
    out = {}
    for f, names in m.columns.items():
        for n in names:
            if n.strip() in have:
                out[f] = have[n.strip()]
                break
    missing = [f for f in REQUIRED if f not in out and f not in m.defaults]
    if missing:
        raise LetterFileError("文件缺少必需的列：" + "、".join(f"{f}（可用列名：{'/'.join(m.columns.get(f, []))}）"
                                                    for f in missing) + f"；文件中的列：{'、'.join(headers)}")
    return out


def find_header(m: LetterMapping, headers: list[str], rows: list[dict],
                look: int = 10) -> tuple[list[str], list[dict], int]:
    """(headers, rows, title lines skipped): exports often put a title line or two above the header (a
    "12309检察服务中心信访件导出" banner); when the first line lacks the required columns, the header is the
    first of the next `look` lines that has them, and the lines above it are left out as titles. Otherwise
    the file is returned as read (and `resolve` names what is missing)."""
    try:
        resolve(m, headers)
        return headers, rows, 0
    except LetterFileError:
        pass
    for i, r in enumerate(rows[:look]):
        values = [str(r.get(h, "") or "").strip() for h in headers] + [str(v).strip() for v in r.get("_extra", [])]
        try:
            resolve(m, values)
        except LetterFileError:
            continue
        names, seen = [], set()
        for j, v in enumerate(values):
            name = v or f"第{j + 1}列"
            while name in seen:
                name += "_"
            seen.add(name)
            names.append(name)
        out = []
        for r2 in rows[i + 1:]:
            cells = [r2.get(h, "") for h in headers] + list(r2.get("_extra", []))
            out.append({n: (cells[j].strip() if j < len(cells) and cells[j] else "") for j, n in enumerate(names)}
                       | {"_extra": cells[len(names):]})
        return names, out, i + 1
    return headers, rows, 0


_CN_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(\d{1,2})[:：时](\d{1,2})分?)?$")


def parse_time(text: str, formats: list[str]) -> datetime | None:
    """A time from an export's text (mapping formats first, then common forms); None when it is not one."""
    s = (text or "").strip()
    if not s:
        return None
    for fmt in (*formats, *BUILT_IN_FORMATS):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    m = _CN_DATE.match(s)
    if m:
        y, mo, d, hh, mm = m.groups()
        try:
            return datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0))
        except ValueError:
            return None
    return None
