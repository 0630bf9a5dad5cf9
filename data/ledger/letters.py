"""12309 letters and visits (信访): import, entry by hand, their current state, the Bengbu measures.

A letter is kept as versions (table `letters`, migration 031): an import adds a version when a row differs
from the letter's current version (`row_hash`), an entry in the app adds one too; nothing is updated or
deleted. Compliance (docs/ledger.md, "12309"): a procedural reply is due HOTLINE_LETTER_REPLY_DAYS after
receipt, the result HOTLINE_LETTER_RESULT_DAYS after receipt, days counted as for clues
(data/ledger/deadlines.py); compliance = on time / (on time + late + overdue), letters not yet due left out.
A letter becomes a clue through data.ledger.register_clue with source `12309` and {"letter_id": ...}.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from data import audit, records
from data.ledger import deadlines
from data.ledger.letter_import import (
    CHANNELS,
    FIELDS,
    REASONS,
    TIMES,
    LetterFileError,
    find_header,
    load_mapping,
    parse_time,
    read_rows,
    resolve,
)
from data.ledger.model import LedgerError
from data.scope import Scope, records_filter

__all__ = [
    "CHANNELS",
    "ImportResult",
    "LetterFileError",
    "add_letter",
    "clue_of",
    "compliance",
    "current",
    "flag_lines",
    "import_file",
    "month_figures",
    "record_reply",
]


@dataclass
class ImportResult:
    import_id: int
    file: str
    status: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    reasons: dict = field(default_factory=dict)
    message: str = ""
    flags: dict = field(default_factory=dict)   # XLSX: flag -> Excel rows (formula or merged cells), kept rows

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@contextlib.contextmanager
def _tx(con):
    if con.in_transaction:
        yield con
    else:
        with records.transaction(con):
            yield con


def _hash(row: dict) -> str:
    doc = {k: row.get(k) for k in FIELDS}
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _district(v: str) -> str | None:
    from geo.names import canonical_district, clean_text

    s = clean_text(v or "")
    if not s:
        return None
    return canonical_district(s.removesuffix("人民检察院").removesuffix("检察院")) or s


def _clean(raw: dict, cols: dict[str, str], m) -> tuple[dict | None, str | None, str]:
    """(letter row or None, reason code, detail) for one row of the file."""
    row = {f: (raw.get(cols[f], "") if f in cols else "").strip() or m.defaults.get(f, "") for f in FIELDS}
    if not row["letter_id"]:
        return None, "missing_id", REASONS["missing_id"]
    for t in TIMES:
        if row[t]:
            v = parse_time(row[t], m.date_formats)
            if v is None:
                return None, "bad_time", f"{REASONS['bad_time']}：{t} = {row[t]!r}（可在映射的 date_formats 中补充格式）"
            row[t] = records.to_text(v)
        else:
            row[t] = None
    if row["received_at"] is None:
        return None, "missing_time", REASONS["missing_time"]
    ch = row["channel"]
    row["channel"] = ch if ch in CHANNELS else m.channels.get(ch, "")
    if not row["channel"]:
        return None, "missing_channel", f"{REASONS['missing_channel']}：{ch!r}（可在映射的 channels 中补充）"
    row["district"] = _district(row["district"])
    if not row["district"]:
        return None, "missing_district", REASONS["missing_district"]
    for t in ("replied_at", "result_at"):
        if row[t] is not None and row[t] < row["received_at"]:
            return None, "reply_before_receipt", f"{REASONS['reply_before_receipt']}：{t} = {row[t]}"
    for k in ("matter", "category", "petitioner", "phone", "result", "handler"):
        row[k] = row[k] or (None if k != "matter" else "")
    return row, None, ""


def import_file(con: sqlite3.Connection, actor, path: str | Path, *, mapping: str | Path | None = None,
                sheet: str | None = None, scope: Scope | None = None) -> ImportResult:
    """Import a 12309 export: rows_read = inserted + updated + unchanged + quarantined. One transaction with its
    audit row. A district user's import keeps only its districts' letters (the others are quarantined)."""
    p = Path(path)
    m = load_mapping(mapping)
    name, _role = _who(actor)
    with _tx(con):
        cur = con.execute("INSERT INTO letter_imports (file, mapping, started_at, actor) VALUES (?, ?, ?, ?)",
                          (p.name, Path(m.source).name, records.now_text(), name))
        iid = int(cur.lastrowid)
        try:
            headers, rows, flags = read_rows(p, sheet)
            headers, rows, titles = find_header(m, headers, rows)
            cols = resolve(m, headers) if rows else {}
        except LetterFileError as exc:
            con.execute("UPDATE letter_imports SET status = 'failed', finished_at = ?, message = ? WHERE import_id = ?",
                        (records.now_text(), str(exc), iid))
            audit.record(actor, "import", p.name, {"kind": "letters", "status": "failed", "message": str(exc)}, con=con)
            return ImportResult(iid, p.name, "failed", message=str(exc))
        res = ImportResult(iid, p.name, "ok", rows_read=len(rows), flags=flags)
        seen: set[str] = set()
        now = records.now_text()
        for i, raw in enumerate(rows, start=1):
            row, reason, detail = _clean(raw, cols, m)
            if row is not None and row["letter_id"] in seen:
                row, reason, detail = None, "duplicate_in_file", REASONS["duplicate_in_file"]
            if row is not None and scope is not None and not scope.allows_district(row["district"]):
                row, reason, detail = None, "other_district", f"不在您的辖区：{row['district']}"
            if row is None:
                con.execute("INSERT INTO letter_quarantine (import_id, row_number, reason, detail, letter_id, raw) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (iid, i, reason, detail, (raw.get(cols.get("letter_id", ""), "") or None),
                             json.dumps({k: v for k, v in raw.items() if k != "_extra"}, ensure_ascii=False)))
                res.quarantined += 1
                res.reasons[reason] = res.reasons.get(reason, 0) + 1
                continue
            seen.add(row["letter_id"])
            h = _hash(row)
            last = con.execute("SELECT version, row_hash FROM letters WHERE letter_id = ? ORDER BY version DESC LIMIT 1",
                               (row["letter_id"],)).fetchone()
            if last is not None and last["row_hash"] == h:
                res.unchanged += 1
                continue
            _insert(con, row, (last["version"] + 1) if last else 1, h, iid, now, name)
            if last is None:
                res.inserted += 1
            else:
                res.updated += 1
        res.message = (f"读取 {res.rows_read:,} 行：新增 {res.inserted:,}，更新 {res.updated:,}，未变 {res.unchanged:,}，"
                       f"隔离 {res.quarantined:,}" + (f"（表头在第 {titles + 1} 行，其上 {titles} 行为标题，不是数据）"
                                                   if titles else ""))
        con.execute("UPDATE letter_imports SET status = 'ok', finished_at = ?, rows_read = ?, inserted = ?, updated = ?, "
                    "unchanged = ?, quarantined = ?, reasons = ?, message = ? WHERE import_id = ?",
                    (records.now_text(), res.rows_read, res.inserted, res.updated, res.unchanged, res.quarantined,
                     json.dumps(res.reasons, ensure_ascii=False),
                     res.message + "".join(f"；{line}" for line in flag_lines(flags)), iid))
        audit.record(actor, "import", p.name, {"kind": "letters", "import_id": iid, "rows_read": res.rows_read,
                                               "inserted": res.inserted, "updated": res.updated,
                                               "quarantined": res.quarantined,
                                               "flags": {k: len(v) for k, v in flags.items()}}, con=con)
    return res


def flag_lines(flags: dict[str, list[int]]) -> list[str]:
    """One Chinese line per XLSX flag with its Excel rows (the first 10), for the import message."""
    from data.ingest.accounting import FLAGS

    return [f"{FLAGS.get(k, k)}：{len(rows):,} 行（Excel 第 {'、'.join(map(str, rows[:10]))}{' 等' if len(rows) > 10 else ''} 行）"
            for k, rows in sorted(flags.items())]


def _insert(con, row: dict, version: int, h: str, import_id: int | None, now: str, by: str) -> None:
    con.execute("INSERT INTO letters (letter_id, version, received_at, channel, matter, category, district, petitioner, "
                "phone, replied_at, result_at, result, handler, row_hash, import_id, recorded_at, recorded_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row["letter_id"], version, row["received_at"], row["channel"], row["matter"] or "", row["category"],
                 row["district"], row["petitioner"], row["phone"], row["replied_at"], row["result_at"],
                 row["result"], row["handler"], h, import_id, now, by))


def _who(actor) -> tuple[str, str]:
    if isinstance(actor, str):
        return actor, ""
    return str(actor.name), str(getattr(actor, "role", "") or "")


def _may(actor, district: str | None) -> None:
    can = getattr(actor, "can", None)
    if can is None:
        return
    if not can("letters_edit"):
        raise LedgerError("无权登记或修改12309信访：需要“导入、登记12309信访”权限。")
    if district is not None and not actor.scope.allows_district(district):
        raise LedgerError("不能登记或修改其他辖区的信访。")


def add_letter(con: sqlite3.Connection, actor, *, letter_id: str, received_at: datetime, channel: str,
               district: str, matter: str, category: str | None = None, petitioner: str | None = None,
               phone: str | None = None) -> dict:
    """Enter a letter by hand (a visit received at the counter, say); returns its current row."""
    row = {f: None for f in FIELDS}
    row.update(letter_id=str(letter_id or "").strip(), channel=channel, district=_district(district) or "",
               matter=(matter or "").strip(), category=category, petitioner=petitioner, phone=phone,
               received_at=records.to_text(received_at.replace(microsecond=0)) if received_at else None)
    if not row["letter_id"]:
        raise LedgerError("请填写信访编号。")
    if channel not in CHANNELS:
        raise LedgerError(f"信访形式应为：{'、'.join(CHANNELS)}。")
    if not row["district"]:
        raise LedgerError("请填写受理单位（区）。")
    if not row["received_at"] or row["received_at"] > records.now_text():
        raise LedgerError("收到时间不能为空，也不能晚于现在。")
    _may(actor, row["district"])
    name, _role = _who(actor)
    with _tx(con):
        if con.execute("SELECT 1 FROM letters WHERE letter_id = ?", (row["letter_id"],)).fetchone():
            raise LedgerError(f"信访编号 {row['letter_id']} 已存在。")
        _insert(con, row, 1, _hash(row), None, records.now_text(), name)
        audit.record(actor, "letter_change", row["letter_id"], {"action": "add", "district": row["district"]}, con=con)
    return get(con, row["letter_id"], Scope())


def record_reply(con: sqlite3.Connection, actor, letter_id: str, *, replied_at: datetime | None = None,
                 result_at: datetime | None = None, result: str | None = None, scope: Scope | None = None) -> dict:
    """Record the procedural reply and/or the result of a letter: a new version of it."""
    with _tx(con):
        cur = get(con, letter_id, scope or getattr(actor, "scope", None) or Scope())
        if cur is None:
            raise LedgerError(f"未找到信访件 {letter_id}（编号不存在或不在您的辖区）。")
        _may(actor, cur["district"])
        row = {f: cur.get(f) for f in FIELDS}
        for k, v in (("replied_at", replied_at), ("result_at", result_at)):
            if v is not None:
                t = records.to_text(v.replace(microsecond=0))
                if t < row["received_at"] or t > records.now_text():
                    raise LedgerError("答复时间不能早于收到时间，也不能晚于现在。")
                row[k] = t
        if result is not None:
            row["result"] = result.strip() or None
        h = _hash(row)
        if h == cur["row_hash"]:
            raise LedgerError("没有需要记录的变化。")
        name, _role = _who(actor)
        _insert(con, row, cur["version"] + 1, h, None, records.now_text(), name)
        audit.record(actor, "letter_change", letter_id, {"action": "reply", "replied_at": row["replied_at"],
                                                         "result_at": row["result_at"]}, con=con)
    return get(con, letter_id, Scope())


CURRENT_SQL = """
SELECT l.* FROM letters l
JOIN (SELECT letter_id, max(version) AS version FROM letters GROUP BY letter_id) v USING (letter_id, version)
"""


def get(con: sqlite3.Connection, letter_id: str, scope: Scope) -> dict | None:
    row = con.execute(CURRENT_SQL + " WHERE l.letter_id = ?", (str(letter_id),)).fetchone()
    if row is None or not scope.allows_district(row["district"]):
        return None
    return dict(row)


def current(con: sqlite3.Connection, scope: Scope, *, date_from: date | None = None, date_to: date | None = None,
            today: date | None = None, channels: tuple[str, ...] | list[str] = (), text: str = "") -> pd.DataFrame:
    """The letters as they stand (latest version), received in [date_from, date_to], within scope, with their
    deadlines: reply_due, reply_state, result_due, result_state (on_time / late / overdue / due_soon /
    pending) and the clue registered from each (clue_no). channels / text (in the id or the matter) narrow it."""
    where, params = records_filter(scope, "district")
    conds, args = [where], list(params)
    if date_from:
        conds.append("received_at >= ?")
        args.append(date_from.isoformat())
    if date_to:
        conds.append("received_at < date(?, '+1 day')")
        args.append(date_to.isoformat())
    if channels:
        conds.append(f"channel IN ({', '.join('?' for _ in channels)})")
        args += list(channels)
    if text.strip():
        conds.append("(instr(letter_id, ?) > 0 OR instr(matter, ?) > 0)")
        args += [text.strip(), text.strip()]
    sql = f"SELECT * FROM ({CURRENT_SQL}) WHERE {' AND '.join(conds)} ORDER BY received_at, letter_id"
    df = pd.DataFrame([dict(r) for r in con.execute(sql, args)],
                      columns=["letter_id", "version", "received_at", "channel", "matter", "category", "district",
                               "petitioner", "phone", "replied_at", "result_at", "result", "handler", "row_hash",
                               "import_id", "recorded_at", "recorded_by"])
    today = today or records.now().date()
    clues = clue_of(con, df["letter_id"].tolist())
    out = []
    for r in df.itertuples(index=False):
        rec = r._asdict()
        got = _day(rec["received_at"])
        for kind, rule in (("reply", "letter_reply"), ("result", "letter_result")):
            done = _day(rec["replied_at" if kind == "reply" else "result_at"])
            d = deadlines.due_date(got, deadlines.days_of(rule))
            rec[f"{kind}_due"] = d
            rec[f"{kind}_state"] = deadlines.judge(d, done, today)
        rec["clue_no"] = clues.get(rec["letter_id"])
        out.append(rec)
    cols = [*df.columns, "reply_due", "reply_state", "result_due", "result_state", "clue_no"]
    return pd.DataFrame(out, columns=cols)


def _day(v) -> date | None:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v == "":
        return None
    return pd.Timestamp(v).date()


def clue_of(con: sqlite3.Connection, letter_ids: list[str]) -> dict[str, str]:
    """letter id -> the clue registered from it (source 12309 or letter, source_ref letter_id)."""
    rows = con.execute("SELECT clue_no, json_extract(source_ref, '$.letter_id') FROM ledger_clues "
                       "WHERE source IN ('12309', 'letter') AND json_extract(source_ref, '$.letter_id') IS NOT NULL "
                       "ORDER BY serial").fetchall()
    wanted = set(map(str, letter_ids))
    out: dict[str, str] = {}
    for clue_no, lid in rows:
        if str(lid) in wanted:
            out.setdefault(str(lid), clue_no)
    return out


def compliance(df: pd.DataFrame) -> pd.DataFrame:
    """The Bengbu measures over letters `df` (from `current`): for the procedural reply and the result:
    due (on time + late + overdue), on_time, late, overdue, pending (not yet due), done, compliance."""
    rows = []
    for kind, rule in (("reply", "letter_reply"), ("result", "letter_result")):
        st = Counter(df[f"{kind}_state"]) if len(df) else Counter()
        on, late, over = st["on_time"], st["late"], st["overdue"]
        rows.append({"key": kind, "rule": deadlines.RULES[rule][0], "days": deadlines.days_of(rule),
                     "letters": len(df), "on_time": on, "late": late, "overdue": over,
                     "pending": st["due_soon"] + st["pending"], "compliance": (on / (on + late + over))
                     if (on + late + over) else None})
    out = pd.DataFrame(rows)
    out["compliance"] = out["compliance"].astype("Float64")
    return out


def month_figures(con: sqlite3.Connection, scope: Scope, month: str, *, district: str | None = None,
                  today: date | None = None) -> pd.DataFrame | None:
    """The monthly report's 12309 section (项目, 数值, 说明): letters received in the month by channel, and for
    the procedural reply and the result the deadlines due in the month: on time, late, overdue, and the
    compliance (a share; None with the reason in 说明 when nothing fell due). None when the ledger has no
    letters at all. `district` narrows `scope`; a district outside it gives nothing."""
    if con.execute("SELECT count(*) FROM letters").fetchone()[0] == 0:
        return None
    first, last = deadlines.month_bounds(month)
    as_of = min(last, today or records.now().date())
    sc = scope
    if district:
        sc = Scope((district,)) if scope.allows_district(district) else Scope(())
    every = current(con, sc, today=as_of)
    got = every[pd.to_datetime(every["received_at"]).dt.date.between(first, last)] if len(every) else every
    rows = [{"项目": "收到信访（合计）", "数值": len(got), "说明": ""}]
    rows += [{"项目": f"收到信访（{ch}）", "数值": int((got["channel"] == ch).sum()) if len(got) else 0, "说明": ""}
             for ch in CHANNELS]
    for kind, rule, label in (("reply", "letter_reply", "程序性回复"), ("result", "letter_result", "办理结果答复")):
        part = every[every[f"{kind}_due"].between(first, last)] if len(every) else every
        c = compliance(part).set_index("key").loc[kind]
        n_due = int(c["on_time"] + c["late"] + c["overdue"])
        rate = None if pd.isna(c["compliance"]) else float(c["compliance"])
        rows += [{"项目": f"{label}：本月到期", "数值": n_due,
                  "说明": f"收到后 {deadlines.days_of(rule)} 日内，到期日在本月的信访件"},
                 {"项目": f"{label}：按期", "数值": int(c["on_time"]), "说明": ""},
                 {"项目": f"{label}：超期办结", "数值": int(c["late"]), "说明": ""},
                 {"项目": f"{label}：逾期未办", "数值": int(c["overdue"]), "说明": f"按报告日 {as_of:%Y-%m-%d} 判断"},
                 {"项目": f"{label}：按期率", "数值": rate,
                  "说明": "按期 ÷（按期 + 超期办结 + 逾期未办）" if rate is not None else "本月没有到期的信访件，不计算按期率"}]
    out = pd.DataFrame(rows, columns=["项目", "数值", "说明"])
    out["数值"] = pd.Series([r["数值"] for r in rows], dtype=object)    # counts stay integers, a missing rate None
    return out
