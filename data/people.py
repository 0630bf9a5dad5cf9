"""Named people: accounts, sign-in with lockout, and the signed-in principal that every action carries.

Passwords are hashed with argon2id (argon2-cffi), never by hand. An account belongs to the city
procuratorate (no districts: the whole city) or to one or more districts (属地管理); its role says what it
may do (data/roles.py) and its districts what it may read (data/scope.py). Every change to an account and
every sign-in, success or failure, is written to the audit trail (data/audit.py).
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from data import audit, records, roles, settings
from data.scope import Scope

NAME_RE = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,40}$")
_HASHER = PasswordHasher()
# Verified against when the account does not exist, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


class PeopleError(ValueError):
    """A refused account operation; the message is for the user (Chinese)."""


class SignInError(PeopleError):
    """Sign-in refused. The message never tells whether the account exists."""


@dataclass(frozen=True)
class Principal:
    """The signed-in person every read and write is done as."""

    name: str
    role: str
    districts: tuple[str, ...] = ()       # () = the whole city
    display_name: str = ""
    permissions: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        roles.check_role(self.role)
        object.__setattr__(self, "districts", tuple(self.districts))
        object.__setattr__(self, "permissions", roles.MATRIX[self.role])

    def can(self, permission: str) -> bool:
        return roles.allowed(self.role, permission)

    @property
    def scope(self) -> Scope:
        return Scope(districts=self.districts or None, texts=self.can("view_texts"))

    @property
    def role_label(self) -> str:
        return roles.label(self.role)

    @property
    def label(self) -> str:
        """张三（检察官 · 朝阳区） — for headers and records."""
        where = "、".join(self.districts) if self.districts else "全市"
        return f"{self.display_name or self.name}（{self.role_label} · {where}）"


@dataclass(frozen=True)
class Account:
    name: str
    display_name: str
    role: str
    districts: tuple[str, ...]
    disabled: bool
    locked_until: datetime | None
    failed_count: int
    sso_subject: str | None
    has_password: bool
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    def principal(self) -> Principal:
        return Principal(self.name, self.role, self.districts, self.display_name)


def _account(row: sqlite3.Row) -> Account:
    return Account(
        name=row["name"], display_name=row["display_name"], role=row["role"],
        districts=tuple(json.loads(row["districts"] or "[]")), disabled=bool(row["disabled"]),
        locked_until=records.from_text(row["locked_until"]), failed_count=int(row["failed_count"]),
        sso_subject=row["sso_subject"], has_password=row["password_hash"] is not None,
        created_at=records.from_text(row["created_at"]), created_by=row["created_by"],
        updated_at=records.from_text(row["updated_at"]), updated_by=row["updated_by"])


# ------------------------------------------------------------------------------------------- reading
def get(con: sqlite3.Connection, name: str) -> Account | None:
    row = con.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
    return _account(row) if row else None


def list_accounts(con: sqlite3.Connection) -> list[Account]:
    return [_account(r) for r in con.execute("SELECT * FROM users ORDER BY role, name")]


def count(con: sqlite3.Connection) -> int:
    return int(con.execute("SELECT count(*) FROM users").fetchone()[0])


# ------------------------------------------------------------------------------------------- changes
def check_password(password: str) -> str:
    n = settings.get("HOTLINE_PASSWORD_MIN_LENGTH")
    if not isinstance(password, str) or len(password) < n:
        raise PeopleError(f"密码至少 {n} 个字符。")
    if password.strip() != password:
        raise PeopleError("密码首尾不能是空格。")
    return password


def _check_districts(districts, known: set[str] | None) -> list[str]:
    out = list(dict.fromkeys(str(d).strip() for d in (districts or ()) if str(d).strip()))
    if known is not None:
        bad = [d for d in out if d not in known]
        if bad:
            raise PeopleError(f"未知辖区：{'、'.join(bad)}。可选：{'、'.join(sorted(known))}")
    return out


def add(con: sqlite3.Connection, actor, name: str, role: str, *, password: str | None,
        districts=(), display_name: str = "", sso_subject: str | None = None,
        known_districts: set[str] | None = None) -> Account:
    """Create an account (and its audit row) in one transaction."""
    if not NAME_RE.match(name or ""):
        raise PeopleError("账号名须为 2-40 个字母、数字、汉字或 _ . -。")
    try:
        roles.check_role(role)
    except ValueError as exc:
        raise PeopleError(str(exc)) from exc
    if password is None and not sso_subject:
        raise PeopleError("须设置密码或单点登录身份。")
    pw_hash = _HASHER.hash(check_password(password)) if password is not None else None
    ds = _check_districts(districts, known_districts)
    who, t = _actor_name(actor), records.now_text()
    with records.transaction(con):
        if con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise PeopleError(f"账号 {name} 已存在。")
        con.execute("INSERT INTO users (name, display_name, role, districts, password_hash, sso_subject, created_at, "
                    "created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, display_name or "", role, json.dumps(ds, ensure_ascii=False), pw_hash, sso_subject,
                     t, who, t, who))
        audit.record(actor, "user_change", name, {"op": "add", "role": role, "districts": ds,
                                                   "display_name": display_name, "sso": bool(sso_subject)}, con=con)
    return get(con, name)


def _update(con: sqlite3.Connection, actor, name: str, op: str, sets: dict, details: dict) -> Account:
    who, t = _actor_name(actor), records.now_text()
    cols = ", ".join(f"{c} = ?" for c in sets)   # column names are fixed by the callers below
    with records.transaction(con):
        if not con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise PeopleError(f"账号 {name} 不存在。")
        con.execute(f"UPDATE users SET {cols}, updated_at = ?, updated_by = ? WHERE name = ?",
                    (*sets.values(), t, who, name))
        audit.record(actor, "user_change", name, {"op": op, **details}, con=con)
    return get(con, name)


def set_role(con, actor, name: str, role: str) -> Account:
    try:
        roles.check_role(role)
    except ValueError as exc:
        raise PeopleError(str(exc)) from exc
    return _update(con, actor, name, "set_role", {"role": role}, {"role": role})


def set_districts(con, actor, name: str, districts, known_districts: set[str] | None = None) -> Account:
    ds = _check_districts(districts, known_districts)
    return _update(con, actor, name, "set_districts", {"districts": json.dumps(ds, ensure_ascii=False)},
                   {"districts": ds})


def disable(con, actor, name: str) -> Account:
    return _update(con, actor, name, "disable", {"disabled": 1}, {})


def enable(con, actor, name: str) -> Account:
    return _update(con, actor, name, "enable", {"disabled": 0, "failed_count": 0, "locked_until": None}, {})


def reset_password(con, actor, name: str, password: str) -> Account:
    """Set a new password; also lifts a lockout."""
    pw_hash = _HASHER.hash(check_password(password))
    return _update(con, actor, name, "reset_password",
                   {"password_hash": pw_hash, "failed_count": 0, "locked_until": None}, {})


def generate_password() -> str:
    """A random password for a new or reset account (shown once)."""
    return secrets.token_urlsafe(12)


# ------------------------------------------------------------------------------------------- sign-in
def authenticate(con: sqlite3.Connection, name: str, password: str, *, via: str = "form") -> Principal:
    """The principal for a correct name and password, or SignInError. Every attempt is audited.

    After HOTLINE_LOCKOUT_ATTEMPTS failures in a row the account is locked for HOTLINE_LOCKOUT_MINUTES;
    a locked or disabled account is refused even with the right password.
    """
    name = (name or "").strip()
    now = records.now()
    with records.transaction(con):
        row = con.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        ok = _verify(row["password_hash"] if row else None, password or "")
        reason = None
        if row is None:
            reason = "unknown_account"
        elif row["disabled"]:
            reason = "disabled"
        elif row["locked_until"] and records.from_text(row["locked_until"]) > now:
            reason = "locked"
        elif not ok:
            reason = "wrong_password"
        if reason is None:
            con.execute("UPDATE users SET failed_count = 0, locked_until = NULL WHERE name = ?", (name,))
            if _HASHER.check_needs_rehash(row["password_hash"]):
                con.execute("UPDATE users SET password_hash = ? WHERE name = ?", (_HASHER.hash(password), name))
            acc = _account(row)
            audit.record(audit.Actor(name, acc.role), "sign_in", name, {"via": via}, con=con)
            return acc.principal()
        details = {"reason": reason, "via": via}
        locked_now = False
        if reason == "wrong_password":
            failed = int(row["failed_count"]) + 1
            limit = settings.get("HOTLINE_LOCKOUT_ATTEMPTS")
            until = None
            if failed >= limit:
                until = records.to_text(now + timedelta(minutes=settings.get("HOTLINE_LOCKOUT_MINUTES")))
                locked_now = True
            con.execute("UPDATE users SET failed_count = ?, locked_until = coalesce(?, locked_until) WHERE name = ?",
                        (failed, until, name))
            details.update({"failed_count": failed, "locked_until": until})
        audit.record(audit.Actor(name or "（空）", row["role"] if row else ""), "sign_in_failed", name, details,
                     con=con)
    if reason == "locked" or locked_now:
        raise SignInError(f"账号已被锁定，请 {settings.get('HOTLINE_LOCKOUT_MINUTES')} 分钟后再试，或请管理员解锁。")
    if reason == "disabled":
        raise SignInError("账号已停用，请联系管理员。")
    raise SignInError("账号或密码错误。")


def principal_for_sso(con: sqlite3.Connection, subject: str) -> Principal:
    """The principal of the enabled account whose sso_subject is `subject` (OpenID Connect sign-in)."""
    row = con.execute("SELECT * FROM users WHERE sso_subject = ? AND disabled = 0", (subject,)).fetchone()
    if row is None:
        audit.record(audit.Actor(subject or "（空）"), "sign_in_failed", subject, {"reason": "no_account", "via": "sso"},
                     con=con)
        raise SignInError("该单点登录身份没有对应的账号，请联系管理员。")
    acc = _account(row)
    audit.record(audit.Actor(acc.name, acc.role), "sign_in", acc.name, {"via": "sso"}, con=con)
    return acc.principal()


def current(con: sqlite3.Connection, principal: Principal) -> Principal | None:
    """The principal as the account is now (role and districts may have changed), or None if disabled/removed."""
    acc = get(con, principal.name)
    if acc is None or acc.disabled:
        return None
    return acc.principal()


def ensure_first_admin(con: sqlite3.Connection, name: str = "admin") -> str | None:
    """On a store with no accounts, create the administrator and return its password (shown once), else None."""
    if count(con):
        return None
    password = generate_password()
    try:
        add(con, audit.Actor("system", "system"), name, "admin", password=password, display_name="系统管理员")
    except PeopleError:
        return None   # created meanwhile by another process
    return password


def _verify(pw_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(pw_hash or _DUMMY_HASH, password) and pw_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _actor_name(actor) -> str:
    return actor if isinstance(actor, str) else str(actor.name)


# ------------------------------------------------------------------------------------------- sessions
TOUCH_EVERY = timedelta(seconds=30)   # last_seen is written at most this often per session


def open_session(con: sqlite3.Connection, principal: Principal) -> str:
    """Start a session for a signed-in principal; returns the token for the browser's session cookie."""
    token = secrets.token_urlsafe(32)
    t = records.now_text()
    with records.transaction(con):
        con.execute("INSERT INTO sessions (token_hash, user_name, created_at, last_seen) VALUES (?, ?, ?, ?)",
                    (_token_hash(token), principal.name, t, t))
    return token


def resume_session(con: sqlite3.Connection, token: str | None) -> tuple[Principal | None, str | None]:
    """(principal, None) for a live session, else (None, why): 'none', 'ended', 'idle' or 'disabled'.

    An idle session (no run for HOTLINE_SESSION_IDLE_MINUTES; the wall-screen role excepted) or one whose
    account was disabled ends here and is audited; a live one has its last_seen moved on.
    """
    if not isinstance(token, str) or not token:
        return None, "none"
    h = _token_hash(token)
    now = records.now()
    row = con.execute("SELECT s.*, u.disabled, u.role FROM sessions s LEFT JOIN users u ON u.name = s.user_name "
                      "WHERE s.token_hash = ?", (h,)).fetchone()
    if row is None:
        return None, "none"
    if row["ended_at"]:
        return None, "ended"
    last = records.from_text(row["last_seen"])
    idle = timedelta(minutes=settings.get("HOTLINE_SESSION_IDLE_MINUTES"))
    why = None
    if row["disabled"] is None or row["disabled"]:
        why = "disabled"
    elif row["role"] != "display" and now - last > idle:
        why = "idle"
    if why:
        with records.transaction(con):
            con.execute("UPDATE sessions SET ended_at = ?, ended_why = ? WHERE token_hash = ? AND ended_at IS NULL",
                        (records.to_text(now), why, h))
            if why == "idle":
                audit.record(audit.Actor(row["user_name"], row["role"] or ""), "session_expired", row["user_name"],
                             {"idle_minutes": round((now - last).total_seconds() / 60)}, con=con)
        return None, why
    if now - last >= TOUCH_EVERY:
        con.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (records.to_text(now), h))
    acc = get(con, row["user_name"])
    return acc.principal(), None


def end_session(con: sqlite3.Connection, token: str | None, why: str = "sign_out") -> None:
    if not token:
        return
    with records.transaction(con):
        con.execute("UPDATE sessions SET ended_at = ?, ended_why = ? WHERE token_hash = ? AND ended_at IS NULL",
                    (records.now_text(), why, _token_hash(token)))


def _token_hash(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode("utf-8")).hexdigest()
