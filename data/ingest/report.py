"""Tables about imports for the 导入 page and `manage.py status`: past imports and quarantined rows.

Kept out of the page so the page only lays out, and so the queries are tested
without Streamlit. Column names are Chinese: these frames are shown as they are.
"""

from __future__ import annotations

import json

import pandas as pd

from data.ingest.accounting import FLAGS, REASONS
from data.ingest.fields import KINDS

RECENT_SQL = """
SELECT import_id, started_at, file, sheet, kind, format, encoding, status,
       rows_read, inserted, updated, unchanged, quarantined, reasons, seconds, message
FROM imports ORDER BY import_id DESC LIMIT $limit
"""

QUARANTINE_SQL = """
SELECT row_number, reason, detail, record_id, raw
FROM quarantine WHERE import_id = $import_id ORDER BY row_number LIMIT $limit
"""

QUARANTINE_COUNT_SQL = "SELECT count(*) FROM quarantine WHERE import_id = $import_id"


def _reasons_text(raw: str | None) -> str:
    if not raw:
        return ""
    try:
        d = json.loads(raw)
    except ValueError:
        return raw
    return "；".join(f"{REASONS.get(k, k)} {v}" for k, v in d.items())


def recent_imports(con, limit: int = 50) -> pd.DataFrame:
    """The latest imports, newest first, with Chinese headers."""
    df = con.execute(RECENT_SQL, {"limit": int(limit)}).df()
    if df.empty:
        return df
    df["kind"] = df["kind"].map(lambda k: KINDS[k].label if k in KINDS else (k or ""))
    df["status"] = df["status"].map({"ok": "完成", "failed": "失败", "running": "进行中"}).fillna(df["status"])
    df["reasons"] = df["reasons"].map(_reasons_text)
    df["file"] = df["file"].map(lambda p: str(p).replace("\\", "/").rsplit("/", 1)[-1])
    df["seconds"] = df["seconds"].round(1)
    return df.rename(columns={
        "import_id": "导入编号", "started_at": "开始时间", "file": "文件", "sheet": "工作表", "kind": "类型",
        "format": "格式", "encoding": "编码", "status": "状态", "rows_read": "读取", "inserted": "新增",
        "updated": "更新", "unchanged": "未变", "quarantined": "隔离", "reasons": "隔离原因", "seconds": "用时(秒)",
        "message": "说明"})


def quarantined_rows(con, import_id: int, limit: int = 500) -> tuple[pd.DataFrame, int]:
    """The quarantined rows of one import (at most `limit`) and how many there are in all."""
    (total,) = con.execute(QUARANTINE_COUNT_SQL, {"import_id": int(import_id)}).fetchone()
    df = con.execute(QUARANTINE_SQL, {"import_id": int(import_id), "limit": int(limit)}).df()
    df["reason"] = df["reason"].map(lambda r: f"{REASONS.get(r, r)}（{r}）")
    df = df.rename(columns={"row_number": "行号", "reason": "原因", "detail": "说明", "record_id": "编号",
                            "raw": "原始行(JSON)"})
    return df, int(total)


def counts_frame(report: dict) -> pd.DataFrame:
    """Reasons and flags of one report as a two-column table (kind of count, rows)."""
    rows = [("隔离：" + REASONS.get(k, k), v) for k, v in report.get("reasons", {}).items()]
    rows += [("标记：" + FLAGS.get(k, k), v) for k, v in report.get("flags", {}).items() if v]
    return pd.DataFrame(rows, columns=["项目", "行数"])
