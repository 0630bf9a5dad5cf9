"""Mapping files: how a file whose layout is not the standard 12345 export comes in.

A mapping is a small YAML file (or the same structure as a dict)::

    kind: tickets            # tickets | clues | cases | rectifications (default: detected)
    encoding: auto           # auto | utf-8 | utf-8-sig | gbk | gb18030
    crs: wgs84               # default coordinate system of the file's points
    delimiter: ","           # CSV only; default: sniffed
    sheet: Sheet1            # XLSX only; default: every sheet
    id_prefix: "NYC-"        # put before every id (keeps ids of different sources apart)
    join: "\\n"              # separator when several columns make one field
    columns:                 # field: header, or [headers] joined into one field
      ticket_id: 留言编号
      content: [留言主题, 留言详情]
    date_formats: ["%m/%d/%Y %I:%M:%S %p"]   # tried before the built-in forms
    defaults: {channel: 网络}                 # value when the column is missing or empty
    values: {status: {Closed: 已办结}}        # replace values of a field (a vocabulary table)
    unmapped: {status: keep}                  # a value outside the field's vocabulary: keep | other | empty
    split_code: {category_l2: "-"}            # "TRT-Traffic Signal Repairs": name kept, code to extra
    extra: [园区, 楼栋]                        # other columns kept per ticket (or "*": every unused one)

Headers not named in `columns` are still recognised when they are standard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from data.ingest.fields import KINDS, VOCABULARIES, Kind, match_headers, norm_header

ALLOWED_KEYS = {"kind", "encoding", "crs", "delimiter", "sheet", "id_prefix", "join", "columns",
                "date_formats", "defaults", "values", "description", "unmapped", "split_code", "extra"}
UNMAPPED_POLICIES = ("keep", "other", "empty")
EXTRA_ALL = "*"
ENCODINGS = {"auto", "utf-8", "utf8", "utf-8-sig", "gbk", "gb2312", "gb18030"}


class MappingError(ValueError):
    """The mapping file is not valid; the message is in Chinese for the user."""


@dataclass
class Mapping:
    kind: str | None = None
    encoding: str = "auto"
    crs: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    id_prefix: str = ""
    join: str = "\n"
    columns: dict[str, list[str]] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=list)
    defaults: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    unmapped: dict[str, str] = field(default_factory=dict)      # vocabulary field -> keep | other | empty
    split_code: dict[str, str] = field(default_factory=dict)    # field -> separator between code and name
    extra: list[str] = field(default_factory=list)              # headers kept in `extra`, or ["*"]
    source: str | None = None  # file the mapping came from

    def extra_columns(self, headers: list[str], used: dict[str, list[str]]) -> list[str]:
        """The file's columns kept in `extra`: those named (each must exist), or every column no field
        uses when `extra: "*"`."""
        if self.extra == [EXTRA_ALL]:
            taken = {c for cols in used.values() for c in cols}
            return [h for h in headers if h not in taken]
        by_norm = {norm_header(h): h for h in headers}
        out = []
        for c in self.extra:
            h = by_norm.get(norm_header(c))
            if h is None:
                raise MappingError(f"映射文件 extra 中的列“{c}”在文件中不存在。文件的列：{', '.join(headers)}")
            out.append(h)
        return out

    def resolve(self, kind: Kind, headers: list[str]) -> dict[str, list[str]]:
        """field -> source columns, for the columns of this file.

        Standard headers are matched first; the mapping's `columns` override them.
        A header named in the mapping that the file lacks is an error.
        """
        out = match_headers(kind, headers)
        by_norm = {norm_header(h): h for h in headers}
        known = {f.name for f in kind.fields if f.type != "json"}
        for fname, cols in self.columns.items():
            if fname not in known:
                raise MappingError(f"映射文件中的字段“{fname}”不是{kind.label}的字段；可用字段：{', '.join(sorted(known))}")
            found = []
            for c in cols:
                h = by_norm.get(norm_header(c))
                if h is None:
                    raise MappingError(f"映射文件要求的列“{c}”（字段 {fname}）在文件中不存在。文件的列：{', '.join(headers)}")
                found.append(h)
            out[fname] = found
        return out


def load(spec) -> Mapping:
    """A Mapping from None, a dict, a Mapping or the path of a YAML file."""
    if spec is None:
        return Mapping()
    if isinstance(spec, Mapping):
        return spec
    source = None
    if isinstance(spec, str | Path):
        p = Path(spec)
        if not p.exists():
            raise MappingError(f"映射文件不存在：{p}")
        try:
            spec = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise MappingError(f"映射文件 {p.name} 不是有效的 YAML：{exc}") from exc
        source = str(p)
    if not isinstance(spec, dict):
        raise MappingError("映射文件的内容必须是键值对（YAML 映射）。")
    unknown = set(spec) - ALLOWED_KEYS
    if unknown:
        raise MappingError(f"映射文件中有未知的键：{', '.join(sorted(unknown))}；可用：{', '.join(sorted(ALLOWED_KEYS))}")
    kind = spec.get("kind")
    if kind is not None and kind not in KINDS:
        raise MappingError(f"映射文件中的 kind 必须是 {', '.join(KINDS)} 之一，而不是 {kind!r}")
    enc = str(spec.get("encoding") or "auto").lower()
    if enc not in ENCODINGS:
        raise MappingError(f"不支持的编码 {enc!r}；可用：{', '.join(sorted(ENCODINGS))}")
    columns = {}
    for k, v in (spec.get("columns") or {}).items():
        cols = [v] if isinstance(v, str | int) else list(v or [])
        if not cols:
            raise MappingError(f"映射文件中字段 {k} 没有指定列")
        columns[str(k)] = [str(c) for c in cols]
    values = {}
    for k, v in (spec.get("values") or {}).items():
        if not isinstance(v, dict):
            raise MappingError(f"映射文件 values.{k} 必须是“原值: 新值”的映射")
        values[str(k)] = {str(a): (None if b is None else str(b)) for a, b in v.items()}
    fmts = spec.get("date_formats") or []
    if isinstance(fmts, str):
        fmts = [fmts]
    unmapped = {str(k): str(v) for k, v in (spec.get("unmapped") or {}).items()}
    for k, v in unmapped.items():
        if k not in VOCABULARIES:
            raise MappingError(f"映射文件 unmapped 只适用于 {', '.join(VOCABULARIES)}，而不是 {k!r}")
        if v not in UNMAPPED_POLICIES:
            raise MappingError(f"映射文件 unmapped.{k} 必须是 keep（原样保留）、other（记为“其他”）或 empty（置空）之一")
    split = spec.get("split_code") or {}
    if not isinstance(split, dict) or not all(isinstance(v, str) and v.strip() for v in split.values()):
        raise MappingError("映射文件 split_code 必须是“字段: 分隔符”的映射，例如 {category_l2: \"-\"}")
    extra = spec.get("extra") or []
    extra = [extra] if isinstance(extra, str) else [str(c) for c in extra]
    return Mapping(
        kind=kind,
        encoding=enc,
        crs=spec.get("crs"),
        delimiter=spec.get("delimiter"),
        sheet=None if spec.get("sheet") is None else str(spec.get("sheet")),
        id_prefix=str(spec.get("id_prefix") or ""),
        join=str(spec.get("join", "\n")),
        columns=columns,
        date_formats=[str(f) for f in fmts],
        defaults={str(k): str(v) for k, v in (spec.get("defaults") or {}).items()},
        values=values,
        unmapped=unmapped,
        split_code={str(k): str(v).strip() for k, v in split.items()},
        extra=extra,
        source=source,
    )
