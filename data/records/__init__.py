"""The records people write in the app: accounts, the audit trail, screening rules and the queue, the clue
ledger and 12309 letters.

Why a second store beside the DuckDB file: DuckDB lets one process write or many read, never both, and the
dashboard holds the ticket store open read-only. Records are small, written by many people at once, and must
be readable and writable by the command line while the dashboard runs. SQLite (standard library) in WAL mode
gives exactly that: readers never wait, writers queue behind one lock with a busy timeout, and a transaction
commits whole or not at all. Nothing here is overwritten: tables that hold people's work are appended to, and
a correction is a new row (see docs/data-model.md, "Records").

The file lives beside the ticket store (`<store>.records.sqlite`) unless HOTLINE_RECORDS_DB names another.
Its schema is the ordered SQL files in `data/records/migrations/`, each applied once (table `migrations`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from data import settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 30_000
_migrated: set[str] = set()
_migrate_lock = threading.Lock()


class RecordsError(RuntimeError):
    """The records store cannot be used; the message is meant for the user (Chinese first)."""


def path_for(db_path: str | Path | None = None) -> Path:
    """The records file: HOTLINE_RECORDS_DB, else `<ticket store>.records.sqlite` beside the ticket store."""
    if str(settings.get("HOTLINE_RECORDS_DB")).strip():
        return settings.path("HOTLINE_RECORDS_DB")
    db = Path(db_path) if db_path is not None else settings.db_path()
    return db.with_name(db.stem + ".records.sqlite")


def connect(db_path: str | Path | None = None, *, path: str | Path | None = None) -> sqlite3.Connection:
    """A new connection to the records store of the ticket store at `db_path` (created when missing).

    One connection per thread and task: open, use, close (it costs about a tenth of a millisecond).
    Rows come back as `sqlite3.Row` (by name or index).
    """
    p = Path(path) if path is not None else path_for(db_path)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                              detect_types=0, check_same_thread=True)
    except sqlite3.Error as exc:
        raise RecordsError(f"无法打开记录库 {p}：{exc}") from exc
    con.row_factory = sqlite3.Row
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    key = str(p.resolve())
    if key not in _migrated:
        with _migrate_lock:
            if key not in _migrated:
                migrate(con)
                _migrated.add(key)
    return con


@contextmanager
def session(db_path: str | Path | None = None) -> Iterator[sqlite3.Connection]:
    """`with records.session() as con:` — a connection closed at the end of the block."""
    con = connect(db_path)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: takes the write lock at once (BEGIN IMMEDIATE), commits or rolls back whole.

    Writers from other threads and processes wait for the lock up to the busy timeout, so no user sees
    "database is locked" under normal load.
    """
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")


def migrate(con: sqlite3.Connection) -> list[str]:
    """Apply every migration not applied yet, in name order, each in its own transaction; returns their names."""
    con.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    applied = []
    for f in sorted(MIGRATIONS_DIR.glob("*.sql")):
        with transaction(con):
            done = con.execute("SELECT 1 FROM migrations WHERE name = ?", (f.name,)).fetchone()
            if done:
                continue
            for statement in _statements(f.read_text(encoding="utf-8")):
                con.execute(statement)
            con.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (f.name, now_text()))
            applied.append(f.name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3 runs one per execute inside a transaction).

    Statements end with a semicolon at the end of a line; a trigger body's inner statements end with `;`
    followed by more text on the line or are indented, and the trigger ends with `END;`.
    """
    out, buf = [], []
    for line in sql.splitlines():
        if line.strip().startswith("--") and not buf:
            continue
        buf.append(line)
        text = "\n".join(buf).strip()
        if text.endswith(";") and sqlite3.complete_statement(text):
            out.append(text)
            buf = []
    if "\n".join(buf).strip():
        raise ValueError(f"incomplete statement at the end of a migration: {' '.join(buf)[:80]}")
    return out


def now() -> datetime:
    """The time written on records: local wall time to the second (tests may replace this function)."""
    return datetime.now().replace(microsecond=0)


def now_text() -> str:
    return now().strftime("%Y-%m-%d %H:%M:%S")


def to_text(t: datetime | None) -> str | None:
    return None if t is None else t.strftime("%Y-%m-%d %H:%M:%S")


def from_text(s: str | None) -> datetime | None:
    return None if not s else datetime.fromisoformat(s)
