"""What an import tells: its report (every row read accounted for), its row in `imports`, its progress.

`ImportReport` balances rows_read = inserted + updated + unchanged + quarantined; `REASONS` and
`FLAGS` are the Chinese names of the quarantine reasons and the row flags (docs/import.md), also
read by the 导入 page's tables (data/ingest/report.py).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from data.ingest.fields import KINDS

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
    "outside_region": "坐标不在本区域范围内（工单与坐标均保留，不上图）",
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
    "topic_outside_region": "不在本区域（无本区域的区县，坐标不在范围内）：未按本区域专项规则标注",
    "unknown_ticket": "关联工单尚未导入（关联已保存）",
    "implausible_optional_time": "非必填时间不合理（早于 1990 年或晚于导入时，置空）",
    "xlsx_formula_cached": "Excel 公式单元格按其计算结果导入",
    "xlsx_formula_no_value": "Excel 公式单元格没有计算结果（置空；请在 Excel 中打开并保存后重新导入）",
    "xlsx_merged_filled": "Excel 合并单元格按其左上角的值填充",
    "xlsx_title_rows": "Excel 表头上方的标题行（只有一个单元格，不作为表头或数据）",
    "unmapped_status": "办理状态不在词表中",
    "unmapped_satisfaction": "满意度不在词表中",
    "unmapped_channel": "来电渠道不在词表中",
    "unmapped_appeal_type": "诉求类型不在词表中",
    "located_by_address": "无坐标，按地址文字定位到区/街道",
}


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
    warnings: list[str] = field(default_factory=list)   # what looks wrong and the likely fix (stored in message)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def stored_nothing(self) -> bool:
        """Rows were read, none is in the store now (all quarantined): the CLI exits non-zero."""
        return self.ok and self.rows_read > 0 and self.inserted + self.updated + self.unchanged == 0

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
        head = "导入完成，但没有任何一行入库" if self.stored_nothing else "导入完成"
        lines = [
            f"{head}：{where}（{label}，{self.format}{'，' + self.encoding if self.encoding else ''}）",
            f"读取 {self.rows_read:,} 行 = 新增 {self.inserted:,} + 更新 {self.updated:,} + 未变 {self.unchanged:,}"
            f" + 隔离 {self.quarantined:,}；用时 {self.seconds:.1f} 秒{rate}",
        ]
        for code, n in sorted(self.reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"  隔离原因 {REASONS.get(code, code)}（{code}）：{n:,} 行")
        for code, n in sorted(self.flags.items(), key=lambda kv: -kv[1]):
            if n:
                lines.append(f"  标记 {FLAGS.get(code, code)}（{code}）：{n:,} 行")
        for w in self.warnings:
            lines.append(f"注意：{w}")
        if self.message:
            lines.append(self.message)
        return "\n".join(lines)


def now() -> dt.datetime:
    """Beijing local time, naive (the store's convention)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=8)


RECORD_SQL = """
INSERT INTO imports (import_id, started_at, finished_at, file, kind, format, encoding, sheet, mapping, crs, status,
                     rows_read, inserted, updated, unchanged, quarantined, reasons, flags, message, seconds)
VALUES ($import_id, $started, $finished, $file, $kind, $format, $encoding, $sheet, $mapping, $crs, $status,
        $rows_read, $inserted, $updated, $unchanged, $quarantined, $reasons, $flags, $message, $seconds)
"""


def record(con, rep: ImportReport, started) -> None:
    d = rep.to_dict()
    d.pop("refresh", None)
    warnings = d.pop("warnings", None) or []
    d["message"] = "\n".join([d["message"], *(f"注意：{w}" for w in warnings)]).strip()
    d.update(started=started, finished=now(), reasons=json.dumps(rep.reasons, ensure_ascii=False),
             flags=json.dumps(rep.flags, ensure_ascii=False))
    con.execute(RECORD_SQL, d)


def report_progress(progress: Progress | None, done: int, total: int | None, msg: str) -> None:
    if progress is not None:
        progress(done, total, msg)
