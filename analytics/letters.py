"""12309 letters as tables for their page and the report: the list (personal data masked), compliance by month.

The letters and their deadline states come from data/ledger/letters.current (records store); this module
only shapes them for display.
"""

from __future__ import annotations

import pandas as pd

from analytics import privacy, theme
from data.ledger import deadlines

STATES = deadlines.STATES
LIST_COLUMNS = ("letter_id", "received_at", "channel", "district", "category", "matter", "petitioner", "phone",
                "replied_at", "reply_due", "reply_state", "result_at", "result_due", "result_state", "result",
                "clue_no")
HEADERS = {"letter_id": "信访编号", "received_at": "收到时间", "channel": "信访形式", "district": "受理单位（区）",
           "category": "事项类别", "matter": "信访事项", "petitioner": "信访人", "phone": "联系电话",
           "replied_at": "程序性回复时间", "reply_due": "回复到期日", "reply_state": "程序性回复",
           "result_at": "结果答复时间", "result_due": "结果到期日", "result_state": "办理结果答复", "result": "办理结果",
           "clue_no": "转为线索"}
COMPLIANCE_HEADERS = {"rule": "期限", "days": "天数", "letters": "信访件数", "on_time": "按期", "late": "超期",
                      "overdue": "逾期未答复", "pending": "未到期", "compliance": "按期率"}


def _blank(v) -> str:
    return "—" if v is None or v == "" or (isinstance(v, float) and pd.isna(v)) else v


def readable(df: pd.DataFrame, *, mask: bool | None = None) -> pd.DataFrame:
    """The letters for the screen and downloads: states in words, names and phones masked, "—" for blanks."""
    out = df[list(LIST_COLUMNS)].copy()
    on = privacy.enabled() if mask is None else mask
    if on:
        out["petitioner"] = out["petitioner"].map(privacy.mask_name)
        out["phone"] = out["phone"].map(privacy.mask_phone)
        out["matter"] = out["matter"].map(privacy.mask_text)
    for c in ("reply_state", "result_state"):
        out[c] = out[c].map(lambda v: STATES.get(v, v))
    for c in ("reply_due", "result_due"):
        out[c] = out[c].map(lambda v: v.isoformat() if hasattr(v, "isoformat") else _blank(v))
    for c in out.columns:
        out[c] = out[c].map(_blank)
    return out.rename(columns=HEADERS)


def compliance_table(c: pd.DataFrame) -> pd.DataFrame:
    return theme.labelled(c.drop(columns=["key"]), COMPLIANCE_HEADERS)


def monthly(df: pd.DataFrame) -> pd.DataFrame:
    """By month of receipt: received, procedural replies on time / due, results on time / due, and rates."""
    cols = ["month", "received", "reply_due", "reply_on_time", "reply_rate", "result_due", "result_on_time",
            "result_rate"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    d = df.assign(month=pd.to_datetime(df["received_at"]).dt.strftime("%Y-%m"))
    rows = []
    for m, g in d.groupby("month"):
        r = {"month": m, "received": len(g)}
        for kind in ("reply", "result"):
            due = g[f"{kind}_state"].isin(["on_time", "late", "overdue"])
            on = (g[f"{kind}_state"] == "on_time").sum()
            r[f"{kind}_due"], r[f"{kind}_on_time"] = int(due.sum()), int(on)
            r[f"{kind}_rate"] = on / due.sum() if due.sum() else None
        rows.append(r)
    out = pd.DataFrame(rows, columns=cols)
    for c in ("reply_rate", "result_rate"):
        out[c] = out[c].astype("Float64")
    return out


MONTHLY_HEADERS = {"month": "月份", "received": "收到信访", "reply_due": "程序性回复到期", "reply_on_time": "按期回复",
                   "reply_rate": "7日内程序性回复率", "result_due": "结果答复到期", "result_on_time": "按期答复",
                   "result_rate": "3个月内结果答复率"}


def rate_text(v) -> str:
    """A rate for a tile: 96.3%, or "—" when nothing was due (never 0% for no data)."""
    return "—" if v is None or pd.isna(v) else f"{float(v):.1%}"
