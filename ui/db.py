"""Every database connection of the dashboard: one read-only handle per generation of the store, a cursor per session.

DuckDB allows one writer process or many readers, and one connection must not
be shared by threads; Streamlit runs each session in its own thread, so each
session gets its own cursor of one read-only handle that the process shares.

Writers never touch the file the handle reads: they write a copy and rename it
over the store (data/generations.py). So the handle notices a new generation
(`store.generation_key` changed), opens it read-only once, and hands new cursors
from it; a session moves to it when its next run asks for its cursor, and keeps
reading the old file until then. The old handle is closed once no cursor of it
is left: cursors are never closed under a session's feet, they close when
nothing refers to them any more (the session moved on, or ended).

Streamlit's forced full garbage collection after every script run is switched off (`runner.postScriptGC =
false` in .streamlit/config.toml: with ~1.5 M long-lived objects in the process it cost 0.1–0.15 s of CPU,
holding the GIL, on every run of every session: docs/performance.md, "Many users at once"). Python's own
collector still runs by itself; the one place where waiting for it would keep something expensive is an old
generation: a session's previous cursor goes with its previous run's page namespace, which is cyclic garbage.
So `release_retired()` (app.py, at the end of a run) collects once after a session moved off a replaced
generation, while that generation is still open: a handful of collections per import instead of one per run.

Pages get their cursor from `cursor()` (or `require_cursor()`), once at the top of
a run, and key their caches with `db_version()`. Work outside a session's run (a
download button's callback, the warm-up) borrows a cursor with `borrow()`.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator

import streamlit as st

from data import scope, settings, store
from ui.plain import md

SESSION_KEY = "_db_cursor"   # this session's _Slot


class _Handle:
    """One generation of one store file, opened read-only once for the process."""

    def __init__(self, path: str, con, key: str):
        self.path, self.con, self.key = path, con, key
        self.cursors = 0        # cursors of it not yet closed or collected
        self.retired = False    # a newer generation replaced it

    def new_cursor(self, make: Callable | None = None):
        """A new cursor of this generation: `con.cursor()`, or `make(con)` (e.g. a cursor limited to a scope)."""
        with _lock:
            cur = make(self.con) if make is not None else self.con.cursor()
            self.cursors += 1
        weakref.finalize(cur, _cursor_gone, self)
        return cur


class _Slot:
    """A session's cursor and the generation it reads, and the version of the clue ledger laid over it.

    One object for the session's life, changed in place: Streamlit keeps a replaced session-state value
    until the session's next run, which would keep an old generation open that long.
    """

    def __init__(self):
        self.key: str | None = None
        self.cursor = None
        self.ledger: int | None = None
        self.generation: str | None = None
        self.scope: scope.Scope | None = None


_lock = threading.RLock()   # re-entrant: a cursor's finalizer may run inside a locked block (garbage collection)
_handles: dict[str, _Handle] = {}    # store path -> handle on its newest generation
_retired: list[_Handle] = []         # older generations some cursor still reads
_unusable: dict[str, str] = {}       # store path -> key of a newer file that could not be opened
_moved = threading.Event()           # a session left a replaced generation since the last collection
COLLECT_EVERY_S = 5.0                # release_retired(): at most one collection this often
_last_collect: list[float | None] = [None]
_clock = time.monotonic
_busy: dict[str, tuple[str, str]] = {}   # store path -> (key, message) of a newer file a writer holds locked


def _cursor_gone(handle: _Handle) -> None:
    with _lock:
        handle.cursors -= 1
        _close_if_unused(handle)


def _close_if_unused(handle: _Handle) -> None:
    if handle.retired and handle.cursors <= 0 and handle in _retired:
        _retired.remove(handle)
        handle.con.close()


def _replace(p, con, key: str, current: _Handle | None) -> _Handle:
    """Make (con, key) the current handle of store `p`; the one it replaces closes once its cursors are gone.
    Call with `_lock` held."""
    handle = _Handle(str(p), con, key)
    _handles[str(p)] = handle
    if current is not None:
        current.retired = True
        _retired.append(current)
        _close_if_unused(current)
    return handle


def _engine_handle(p) -> _Handle:
    """HOTLINE_ENGINE=clickhouse: the handle on the engine store's current load (data/engine; one
    connection per load, `ship` names each load in the engine's meta table)."""
    from data import engine
    from geo import regions

    con = engine.connect()
    key = engine.load_key(con)
    with _lock:
        current = _handles.get(str(p))
        if current is not None and current.key == key:
            con.close()
            return current
        regions.activate(regions.of_store(con))
        return _replace(p, con, key, current)


def _handle() -> _Handle:
    """The handle on the store's current generation (opened on first use and after every write)."""
    p = settings.db_path()
    if not _embedded():
        return _engine_handle(p)
    key = store.generation_key(p)
    if key is None:
        raise store.StoreError(
            f"数据库文件不存在：{p}。请先运行 `make demo` 生成演示数据，或在“导入”页导入工单数据。"
        )
    with _lock:
        current = _handles.get(str(p))
        if current is not None and current.key == key:
            return current
        if current is not None and _unusable.get(str(p)) == key:
            return current   # the new file cannot be read yet (see below): keep serving the last good one
        try:
            con, key = store.open_reader(p)
        except store.StoreBusy as exc:
            if current is None:
                raise
            # A process holds the new file open for writing by itself (not through data/generations.py): the
            # sessions keep the last good generation and try again at their next run (a lock passes).
            if _busy.get(str(p), ("",))[0] != key:
                print(f"hotline: the store's new file is locked by a writer; still serving the previous "
                      f"generation: {exc}", file=sys.stderr, flush=True)
            _busy[str(p)] = (key, str(exc))
            return current
        except store.StoreError as exc:
            if current is None:
                raise
            # A write committed a generation the dashboard cannot read (an import with --no-refresh left the
            # derived tables stale; `manage.py init` fixes it): the sessions keep the last good generation
            # instead of all showing an error, and the server log says why.
            _unusable[str(p)] = key
            print(f"hotline: the store's new generation cannot be read; still serving the previous one: {exc}",
                  file=sys.stderr, flush=True)
            return current
        _unusable.pop(str(p), None)
        _busy.pop(str(p), None)
        return _replace(p, con, key, current)


def newer_unreadable() -> str | None:
    """Why the sessions still read an older generation than the file now at the store's path, when a writer
    holds that file locked (the wall screen says so quietly); None when they read the newest one."""
    p = settings.db_path()
    with _lock:
        busy = _busy.get(str(p))
    if busy is None or not _embedded() or busy[0] != store.generation_key(p):
        return None
    return busy[1]


def open_generations() -> list[tuple[str, str, int]]:
    """(path, generation key, open cursors) of every handle still open, newest per path first (tests, status)."""
    with _lock:
        return [(h.path, h.key, h.cursors) for h in [*_handles.values(), *_retired]]


def cursor():
    """This session's cursor on the store, limited to the signed-in user's scope (data/scope.py).

    Raises store.StoreError with a user message when the store cannot be opened, and PermissionError when
    nobody is signed in (the sign-in gate in app.py has not passed): nothing may be read then.
    A session keeps its cursor while the store and its scope are unchanged; after a write it gets a cursor of
    the new generation here (the old cursor stays usable by whatever still holds it, and closes when dropped).
    """
    from ui import auth

    who = auth.principal()
    if who is None:
        raise PermissionError("no signed-in user: the store is not readable")
    handle = _handle()
    key = f"{handle.key}|{_scope_key(who.scope)}"
    slot = st.session_state.get(SESSION_KEY)
    if slot is None:
        slot = st.session_state[SESSION_KEY] = _Slot()
    if slot.key != key:
        moved = slot.key is not None and not slot.key.startswith(f"{handle.key}|")
        slot.key, slot.cursor = key, handle.new_cursor(lambda con: scope.scoped_cursor(con, who.scope, ledger=True))
        slot.ledger, slot.generation, slot.scope = None, handle.key, who.scope
        if moved:
            _moved.set()   # its old cursor is garbage once this run's previous namespace is: release_retired()
    if _moved.is_set():
        # Here too, not only at the end of app.py: a fragment's own reruns (the wall screen's) never reach it.
        release_retired()
    slot.ledger = _ledger(handle, slot.cursor)
    return slot.cursor


def release_retired() -> bool:
    """Close replaced generations that only garbage still holds: one full garbage collection, and only when a
    session moved off a replaced generation since the last one and such a generation is still open (app.py
    calls it at the end of every run, and `cursor()` whenever a move is pending, so a fragment's reruns count
    too; Streamlit's own collection after every run is off). True if it collected.

    At most one collection per COLLECT_EVERY_S: right after an import every session moves within seconds, and
    a collection each (0.1-0.2 s holding the GIL) was a tenth of the server's busy time then, just when every
    page runs cold. A move inside the interval stays noted, so the next run after it collects.
    """
    if not _moved.is_set():
        return False
    with _lock:
        if not _retired:
            _moved.clear()
            return False
        now = _clock()
        if _last_collect[0] is not None and now - _last_collect[0] < COLLECT_EVERY_S:
            return False
        _last_collect[0] = now
        _moved.clear()
    gc.collect()
    return True


def _embedded() -> bool:
    from data import engine

    return engine.embedded()


def _ledger(handle: _Handle, cur) -> int | None:
    """Lay the clue ledger's current version over `cur` (data/ledger/overlay.py); returns that version.

    One query of the records store per run; the overlay rows are built once per ledger version and
    generation for the whole process and copied into a session's cursor when its version is older.
    On the distributed engine the overlay rows are tables of the engine store, laid once per ledger version
    for every reader (data/engine/ledger.py); None when that failed (`engine_note` says why).
    """
    from data import records

    if not _embedded():
        return _engine_ledger(handle)
    from data.ledger import overlay

    with records.session(handle.path) as rc:
        base = handle.new_cursor()
        try:
            fr = overlay.frames(base, rc, generation=handle.key)
        finally:
            base.close()
    overlay.sync(cur, fr)
    return fr.version


_ENGINE_LEDGER_ERRORS: dict[str, str] = {}   # store path -> why the ledger could not be laid over the engine


def _engine_ledger(handle: _Handle) -> int | None:
    """Lay the ledger's current version over the engine store (data/engine/ledger.py); None when that failed."""
    import duckdb

    from data import records
    from data.engine import ledger

    try:
        with records.session(handle.path) as rc:
            v = ledger.lay_over(handle.con, rc, handle.key)
    except (duckdb.Error, records.RecordsError) as exc:
        _ENGINE_LEDGER_ERRORS[handle.path] = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return None
    _ENGINE_LEDGER_ERRORS.pop(handle.path, None)
    return v


def engine_note() -> None:
    """On the distributed engine, say above the page when the app's own clue ledger could not be laid over the
    engine's clue tables (app.py calls it once per run, after the session's cursor was made)."""
    if _embedded():
        return
    why = _ENGINE_LEDGER_ERRORS.get(str(settings.db_path()))
    if why:
        st.warning("未能把本系统登记的线索台账叠加到查询引擎（HOTLINE_ENGINE=clickhouse）："
                   f"线索、立案、整改数只含导入的台账。原因：{why}")


def _scope_key(s: scope.Scope) -> str:
    where = "city" if s.districts is None else "d:" + ",".join(sorted(s.districts))
    return f"{where};texts={int(s.texts)}"


def db_version() -> str:
    """The generation and the scope this session reads: part of every cache key at the UI edge.

    It is the generation of the session's cursor, not of the file on disk, so results read from one generation
    are never cached under the key of another; and it carries the signed-in user's scope, so sessions of
    different districts (or without ticket texts) never share a cached answer.
    """
    slot = st.session_state.get(SESSION_KEY)
    if slot is None or slot.key is None:
        cursor()
        slot = st.session_state[SESSION_KEY]
    return f"{slot.key}|ledger={slot.ledger}"


def tickets_version(*, texts: bool = True) -> str:
    """The generation and the districts this session reads, without the clue ledger's version: the cache key
    of results computed from the tickets alone (no clue table), so a clue registered anywhere does not make
    every session compute them again. texts=False also leaves out whether the session may read ticket texts:
    for results that read no text column (hotspot places and counts), shared by sessions with and without
    texts of the same districts."""
    slot = st.session_state.get(SESSION_KEY)
    if slot is None or slot.key is None:
        cursor()
        slot = st.session_state[SESSION_KEY]
    where = _scope_key(slot.scope).split(";")[0]
    return f"{slot.generation}|{where}" + (f";texts={int(slot.scope.texts)}" if texts else "")


@contextlib.contextmanager
def borrow(sc: scope.Scope) -> Iterator[tuple[object, str]]:
    """A cursor on the current generation limited to `sc`, and its generation key, for work outside a
    session's script run (a download made on click: pass the user's `Principal.scope`); closed after."""
    handle = _handle()
    cur = handle.new_cursor(lambda con: scope.scoped_cursor(con, sc, ledger=True))
    try:
        _ledger(handle, cur)
        yield cur, handle.key
    finally:
        cur.close()


def require_cursor():
    """The session cursor, or stop the page with a clear message."""
    try:
        return cursor()
    except store.StoreError as exc:
        st.error(md(exc))
        st.stop()
