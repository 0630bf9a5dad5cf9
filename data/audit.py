"""The audit trail: who did what, when, on what — appended, never edited, and tamper-evident.

Every sign-in (and failure), sign-out, ticket opened, unmask, export and download, import, rule change,
queue decision and ledger change is one row of the `audit` table in the records store (data/records).

Tamper evidence: each row carries `hash = HMAC-SHA256(key, prev_hash + the row's content)`, with prev_hash
the previous row's hash (the first row's is 64 zeros). Editing, inserting or deleting a row breaks every
later link, and rewriting the chain needs the key, which is kept in a file apart from the records
(HOTLINE_AUDIT_KEY_FILE, created with mode 0600 on first use). The table itself refuses UPDATE and DELETE
(SQLite triggers), so the app cannot edit it even by mistake. `verify()` walks the chain; `python manage.py
audit --verify` prints the result and the head hash, which an administrator can note elsewhere to notice a
chain rebuilt from scratch by someone who had the key.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from data import records, settings

GENESIS = "0" * 64

ACTIONS: dict[str, str] = {
    "sign_in": "登录",
    "sign_in_failed": "登录失败",
    "sign_out": "退出",
    "session_expired": "会话超时",
    "page_view": "打开页面",
    "ticket_view": "查看工单",
    "unmask": "查看个人信息",
    "search_refused": "拒绝检索个人信息",
    "export": "导出",
    "download": "下载",
    "import": "导入",
    "user_change": "用户变更",
    "rule_change": "规则变更",
    "screening_run": "运行筛查",
    "queue_decision": "研判决定",
    "collision": "数据碰撞",
    "ledger_change": "台账变更",
    "letter_change": "信访变更",
    "report": "生成报表",
}


@dataclass(frozen=True)
class Actor:
    """Who acts: an account (name, role) or a command-line operator."""

    name: str
    role: str = ""


def cli_actor() -> Actor:
    """The operating-system user running a command, as the audit names it."""
    try:
        user = getpass.getuser()
    except Exception:   # no user name in this environment
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return Actor(f"cli:{user}", "cli")


def record(actor, action: str, target: str = "", details: dict | None = None, *,
           con: sqlite3.Connection | None = None, db_path: str | Path | None = None) -> int:
    """Append one row; returns its sequence number. `actor` is an Actor, a Principal or an account name.

    With `con` the row joins the caller's open transaction (so a ledger change and its audit row commit
    together); without, it is written in a transaction of its own.
    """
    if action not in ACTIONS:
        raise KeyError(f"unknown audit action {action!r}")
    name, role = _actor(actor)
    content = {"at": records.now_text(), "actor": name, "role": role, "action": action,
               "target": str(target or ""), "details": _json(details or {})}
    if con is not None:
        if not con.in_transaction:
            with records.transaction(con):
                return _append(con, content)
        return _append(con, content)
    with records.session(db_path) as own, records.transaction(own):
        return _append(own, content)


def _append(con: sqlite3.Connection, content: dict) -> int:
    last = con.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    h = _hash(_key(con), prev, seq, content)
    con.execute("INSERT INTO audit (seq, at, actor, role, action, target, details, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, content["at"], content["actor"], content["role"], content["action"], content["target"],
                 content["details"], prev, h))
    return seq


def _hash(key: bytes, prev: str, seq: int, content: dict) -> str:
    msg = json.dumps([prev, seq, content["at"], content["actor"], content["role"], content["action"],
                      content["target"], content["details"]], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Verification:
    rows: int
    head: str
    broken: tuple[int, ...]     # sequence numbers whose link or hash does not hold

    @property
    def ok(self) -> bool:
        return not self.broken


def verify(con: sqlite3.Connection) -> Verification:
    """Walk the whole chain: every row's prev_hash is the previous row's hash and its hash recomputes."""
    key = _key(con)
    prev, expected_seq, broken, n = GENESIS, 1, [], 0
    for row in con.execute("SELECT * FROM audit ORDER BY seq"):
        n += 1
        content = {k: row[k] for k in ("at", "actor", "role", "action", "target", "details")}
        if row["seq"] != expected_seq or row["prev_hash"] != prev or _hash(key, prev, row["seq"], content) != row["hash"]:
            broken.append(row["seq"])
        prev, expected_seq = row["hash"], row["seq"] + 1
    return Verification(n, prev, tuple(broken))


def search(con: sqlite3.Connection, *, user: str | None = None, action: str | None = None,
           since: date | datetime | None = None, until: date | datetime | None = None,
           text: str | None = None, limit: int = 1000) -> pd.DataFrame:
    """Rows of the trail, newest first, with `limit + 1` fetched so callers can say the list was cut."""
    where, params = ["TRUE"], []
    if user:
        where.append("actor = ?")
        params.append(user)
    if action:
        where.append("action = ?")
        params.append(action)
    if since:
        where.append("at >= ?")
        params.append(_day_text(since))
    if until:
        where.append("at < ?")
        params.append(_day_text(until, next_day=True))
    if text:
        where.append("(target LIKE ? ESCAPE '\\' OR details LIKE ? ESCAPE '\\')")
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [like, like]
    sql = ("SELECT seq, at, actor, role, action, target, details FROM audit WHERE " + " AND ".join(where)
           + " ORDER BY seq DESC LIMIT ?")
    rows = con.execute(sql, [*params, int(limit) + 1]).fetchall()
    df = pd.DataFrame([dict(r) for r in rows], columns=["seq", "at", "actor", "role", "action", "target", "details"])
    df["action_label"] = df["action"].map(ACTIONS).fillna(df["action"])
    return df


def _day_text(d: date | datetime, *, next_day: bool = False) -> str:
    if isinstance(d, datetime):
        return records.to_text(d + (timedelta(seconds=1) if next_day else timedelta()))
    return (d + timedelta(days=1 if next_day else 0)).isoformat() + " 00:00:00"


def _actor(actor) -> tuple[str, str]:
    if isinstance(actor, str):
        return actor, ""
    return str(actor.name), str(getattr(actor, "role", "") or "")


def _json(details: dict) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True, default=_plain)


def _plain(v):
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, set | frozenset | tuple):
        return list(v)
    return str(v)


def key_path(con: sqlite3.Connection | None = None) -> Path:
    """HOTLINE_AUDIT_KEY_FILE, else `<records file>.audit-key` beside the records store."""
    if str(settings.get("HOTLINE_AUDIT_KEY_FILE")).strip():
        return settings.path("HOTLINE_AUDIT_KEY_FILE")
    if con is not None:
        main = con.execute("PRAGMA database_list").fetchone()
        if main and main["file"]:
            return Path(main["file"] + ".audit-key")
    return Path(str(records.path_for()) + ".audit-key")


_KEYS: dict[str, bytes] = {}


def _key(con: sqlite3.Connection) -> bytes:
    p = key_path(con)
    k = _KEYS.get(str(p))
    if k is not None:
        return k
    if not p.exists():   # written whole under a temporary name, then linked: two first writers cannot mix
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f"{p.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, p)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    k = p.read_bytes().strip()
    if len(k) < 32:
        raise records.RecordsError(f"审计密钥文件 {p} 内容不完整，无法校验审计日志。")
    _KEYS[str(p)] = k
    return k
