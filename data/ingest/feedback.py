"""What an import should tell its user beyond the counts: values outside the vocabularies, and, when most
rows fail for one reason, the likely fix (for example the `date_formats` line to add to the mapping).

Why: a date form the pipeline cannot read sent every row of a real export to quarantine while the import
said "导入完成" and exited 0. The report now says what went wrong and what to write, and the CLI exits
non-zero when no row was stored (ImportReport.stored_nothing).
"""

from __future__ import annotations

import datetime as dt

from data.ingest.accounting import FLAGS, ImportReport
from data.ingest.fields import VOCABULARIES, Kind

# A reason "dominates" when it covers this share of the quarantined rows and they are this share of the file.
DOMINANT_SHARE = 0.8
FAILING_SHARE = 0.5

# strptime forms tried on the times that could not be read, to suggest a `date_formats` line.
CANDIDATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y",
    "%m-%d-%Y %H:%M:%S", "%m-%d-%Y", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y",
    "%Y/%m/%d %I:%M:%S %p", "%Y-%m-%d %I:%M:%S %p", "%b %d %Y %H:%M", "%d %b %Y %H:%M:%S", "%d %b %Y",
    "%Y%m%d%H%M", "%y/%m/%d %H:%M", "%y-%m-%d %H:%M:%S",
)
_FIELD_LABELS = {"status": "办理状态", "satisfaction": "满意度", "channel": "来电渠道", "appeal_type": "诉求类型"}
_POLICY_TEXT = {"keep": "已原样保留", "other": "已记为“其他”", "empty": "已置空"}


def guess_format(samples: list[str]) -> str | None:
    """The candidate strptime form that reads the most samples (at least half of them), or None."""
    samples = [s.strip() for s in samples if s and s.strip()]
    if not samples:
        return None
    best, best_n = None, 0
    for fmt in CANDIDATE_FORMATS:
        n = 0
        for s in samples:
            try:
                dt.datetime.strptime(s, fmt)
                n += 1
            except ValueError:
                pass
        if n > best_n:
            best, best_n = fmt, n
    return best if best_n * 2 >= len(samples) else None


def warnings(con, rep: ImportReport, K: Kind, m) -> list[str]:
    """The report's warnings for the import whose cleaned rows are in `_clean` (run before the temp tables
    are dropped)."""
    out = _dominant_reason(con, rep, K)
    if K.name == "tickets":
        out += _unmapped(con, rep, m)
    return out


def _dominant_reason(con, rep: ImportReport, K: Kind) -> list[str]:
    if not rep.quarantined or rep.quarantined < FAILING_SHARE * max(rep.rows_read, 1):
        return []
    code, n = max(rep.reasons.items(), key=lambda kv: kv[1])
    if n < DOMINANT_SHARE * rep.quarantined:
        return []
    share = f"{rep.quarantined:,} / {rep.rows_read:,} 行被隔离，其中 {n:,} 行的原因是"
    key_label = K.field(K.key).headers[0]
    if code == "bad_time" and K.required_time:
        label = K.field(K.required_time).headers[0]
        sql = (f"SELECT {K.required_time}_txt FROM _clean WHERE _reason = 'bad_time' "   # names from the field table
               f"AND {K.required_time}_txt IS NOT NULL LIMIT 200")
        samples = [r[0] for r in con.execute(sql).fetchall()]
        example = f"（例：{samples[0]!r}）" if samples else ""
        fmt = guess_format(samples)
        if fmt:
            fix = f"在映射文件中加入 date_formats: ['{fmt}']"
        elif samples:
            fix = "在映射文件的 date_formats 中写明这一列的时间格式（strptime 写法，如 '%m/%d/%Y %H:%M'）"
        else:
            fix = f"在映射文件的 columns 中把 {K.required_time} 对应到文件中的时间列"
        return [f"{share}{label}无法识别{example}。可能的解决办法：{fix}，然后重新导入。"]
    if code == "missing_id":
        return [f"{share}缺少{key_label}。可能的解决办法：在映射文件的 columns 中把 {K.key} 对应到文件中每行都有值的编号列。"]
    if code == "time_out_of_range":
        return [f"{share}时间超出合理范围（1990 年以前或晚于明后天）。可能是日、月顺序读反了："
                "在映射文件的 date_formats 中写明格式（如 '%d/%m/%Y %H:%M'）。"]
    if code == "conflicting_duplicate":
        return [f"{share}同一{key_label}出现多次且内容不同。所映射的编号列可能不是唯一编号：请检查 columns 中的 {K.key}，"
                "或在映射文件中用 id_prefix 区分不同来源。"]
    if code == "malformed_row":
        return [f"{share}行格式错误。可能是分隔符或编码不对：在映射文件中写明 delimiter（如 \"\\t\"）或 encoding（如 gb18030）。"]
    if code in ("unknown_clue", "unknown_case"):
        what = "线索" if code == "unknown_clue" else "案件"
        return [f"{share}对应的{what}不在库中。请先导入{what}台账，再导入本文件。"]
    return []


def _unmapped(con, rep: ImportReport, m) -> list[str]:
    out = []
    for name in VOCABULARIES:
        n = rep.flags.get(f"unmapped_{name}", 0)
        if not n:
            continue
        sql = (f"SELECT _unm_{name}, count(*) AS n FROM _clean WHERE _reason IS NULL AND NOT _dup "   # fixed names
               f"AND _unm_{name} IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT 6")
        rows = con.execute(sql).fetchall()
        shown = "、".join(f"{v} {c:,}" for v, c in rows[:5]) + ("…" if len(rows) > 5 else "")
        policy = _POLICY_TEXT[m.unmapped.get(name, "keep")]
        words = "/".join(VOCABULARIES[name][:6])
        out.append(f"{_FIELD_LABELS[name]}有 {n:,} 行的值不在词表中（{shown}），{policy}。"
                   f"可在映射文件 values.{name} 中把它们对应到 {words} 等词，或用 unmapped.{name} 指定处理方式。")
    return out


assert all(f"unmapped_{n}" in FLAGS for n in VOCABULARIES)
