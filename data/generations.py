"""Writing the store while the dashboard reads it: copy-on-write generations.

DuckDB allows one read-write process or many read-only ones, never both, and the
dashboard keeps the store open read-only. So a writer (an import from the 导入
page or `manage.py ingest`, `manage.py words`, `init`, `demo`) never opens the
file the readers hold:

1. it takes the import lock (an exclusive `flock` on `<store>.import.lock`); a
   second writer waits for it and says so;
2. it copies the store to `<store>.import-<pid>.tmp` beside it (a reflink where
   the filesystem can share blocks, else an in-kernel copy), with the store's
   WAL if a crashed writer left one;
3. the caller writes into the copy; the copy is checkpointed, closed and synced;
4. the copy is renamed over the store (`os.replace`, atomic) and the old WAL,
   now folded into the copy, is removed.

Readers that hold the old file keep reading it (its inode lives while it is
open) until they move to the new one: `store.generation_key` changes with every
swap, and ui/db.py moves the dashboard's sessions on their next run. A writer
that fails leaves the store untouched and removes its copy; one that is killed
leaves a copy that the next writer removes. Nothing else beside the store is
touched (the app's own records live in their own file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import shutil
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from data import settings, store
from data.screening import hook

FICLONE = getattr(fcntl, "FICLONE", 0x40049409)   # Linux ioctl: share the source's blocks (btrfs, XFS, ...)
FREE_MARGIN_BYTES = 64 * 2**20   # asked for besides the copy: room for the first of what the write adds


@dataclass
class Generation:
    """A write in progress: the connection on the copy, and what the copy cost."""

    con: duckdb.DuckDBPyConnection
    store_path: Path
    copy_path: Path
    copied_bytes: int
    copy_seconds: float
    copy_method: str          # "reflink", "copy" or "new" (no store yet, or a fresh one asked for)
    waited_seconds: float
    commit_seconds: float = 0.0
    since_import_id: int = 0   # the store's last import id before this write (imports after it are this write's)
    after: object = None       # what ran after the swap: data/screening/hook.AfterImport (screening of new tickets)
    synced: object = None      # the distributed engine brought up to date: data/engine/sync.Synced


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".import.lock")


def copy_paths(path: Path) -> list[Path]:
    """Copies (and their WALs) left beside the store by writers that were killed."""
    return sorted(path.parent.glob(f"{_glob_escape(path.name)}.import-*.tmp")) + \
        sorted(path.parent.glob(f"{_glob_escape(path.name)}.import-*.tmp.wal"))


@contextlib.contextmanager
def write(path: str | Path | None = None, *, purpose: str = "写入",
          on_wait: Callable[[str], None] | None = None, fresh: bool = False) -> Iterator[Generation]:
    """Open a new generation of the store for writing; it replaces the store when the block ends normally.

    `purpose` is shown to a writer that has to wait for this one. `on_wait(message)` is called once if another
    writer holds the lock. `fresh` starts from an empty store instead of a copy (the demo builder's --force).
    On an exception the copy is removed and the store is left as it was.
    """
    p = Path(path) if path is not None else settings.db_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    with _lock(p, purpose, on_wait) as waited:
        for old in copy_paths(p):
            old.unlink(missing_ok=True)
        tmp = p.with_name(f"{p.name}.import-{os.getpid()}.tmp")
        t0 = time.perf_counter()
        method, size = "new", 0
        try:
            if p.exists() and not fresh:
                size = _check_room(p)
                with _no_other_writer(p):
                    method = _copy(p, tmp)
                    wal = Path(str(p) + ".wal")
                    if wal.exists():
                        shutil.copyfile(wal, str(tmp) + ".wal")
            copy_s = time.perf_counter() - t0
            con = store.connect(tmp)
            # a write's memory stays bounded whatever it imports (DuckDB spills to disk past the limit)
            sql = f"SET memory_limit = '{int(settings.get('HOTLINE_IMPORT_MEMORY_MB'))}MB'"   # an int setting
            con.execute(sql)
        except BaseException:
            _remove(tmp)
            raise
        gen = Generation(con, p, tmp, size, copy_s, method, waited, since_import_id=hook.last_import_id(con))
        try:
            yield gen
            t1 = time.perf_counter()
            _commit(con, tmp, p)
            gen.commit_seconds = time.perf_counter() - t1
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.close()
            _remove(tmp)
            raise
        # After the swap, still under the import lock: the distributed engine (when it answers the dashboard)
        # gets what changed, then the active screening rules run over this write's new and changed tickets (a
        # failure in either is reported and never undoes the write).
        from data.engine import sync

        gen.synced = sync.after_write(p, gen.since_import_id)
        gen.after = hook.after_write(p, gen.since_import_id)


@contextlib.contextmanager
def _lock(p: Path, purpose: str, on_wait: Callable[[str], None] | None) -> Iterator[float]:
    with open(lock_path(p), "a+", encoding="utf-8") as f:
        t0 = time.perf_counter()
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "另一个写入"
            if on_wait is not None:
                on_wait(f"另一个导入或重算正在写入数据库（{holder}），等待其结束后开始…")
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        waited = time.perf_counter() - t0
        f.seek(0)
        f.truncate()
        f.write(f"{purpose}，进程 {os.getpid()}，开始于 {dt.datetime.now():%Y-%m-%d %H:%M:%S}")
        f.flush()
        try:
            yield waited
        finally:
            f.seek(0)
            f.truncate()
            f.flush()
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _no_other_writer(p: Path) -> Iterator[None]:
    """Hold a shared lock on the store while it is copied, as DuckDB's readers do; refuse if a writer has it open.

    A process that opened the store read-write itself (not through this module: an older version, a DuckDB
    shell) holds DuckDB's exclusive lock, and its file may be mid-write. An open-file-description lock (Linux),
    so closing it leaves the locks of this process's own DuckDB readers of the file alone.
    """
    with open(p, "rb") as f:
        flock = struct.pack("hhxxxxqqixxxx", fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0)
        try:
            fcntl.fcntl(f.fileno(), getattr(fcntl, "F_OFD_SETLK", fcntl.F_SETLK), flock)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise store.StoreBusy(
                f"数据库文件 {p} 正被另一个进程以写入方式直接打开（不是通过导入命令），复制它可能得到写了一半的数据。"
                "请等该进程结束后重试；数据库未作任何修改。") from exc
        yield


def _check_room(p: Path) -> int:
    size = p.stat().st_size
    wal = Path(str(p) + ".wal")
    need = size + (wal.stat().st_size if wal.exists() else 0) + FREE_MARGIN_BYTES
    free = shutil.disk_usage(p.parent).free
    if free < need:
        raise store.StoreError(
            f"磁盘空间不足：导入先复制数据库（{size / 2**30:.2f} GB）再写入副本，需要约 {need / 2**30:.2f} GB，"
            f"{p.parent} 只剩 {free / 2**30:.2f} GB。请清理磁盘后重试；数据库未作任何修改。")
    return size


def _copy(src: Path, dst: Path) -> str:
    """Copy src to dst: share its blocks where the filesystem allows (`cp --reflink=auto`), else copy in the kernel."""
    with open(src, "rb") as fs, open(dst, "wb") as fd:
        try:
            fcntl.ioctl(fd.fileno(), FICLONE, fs.fileno())
            method = "reflink"
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS):
                raise
            method = "copy"
    if method == "copy":
        shutil.copyfile(src, dst)   # sendfile(2) on Linux: no pass through Python's memory
    shutil.copymode(src, dst)
    return method


def _commit(con: duckdb.DuckDBPyConnection, tmp: Path, p: Path) -> None:
    con.execute("CHECKPOINT")
    con.close()
    if Path(str(tmp) + ".wal").exists():
        raise store.StoreError(f"写入的副本 {tmp} 未能完整落盘（WAL 仍在），数据库未作任何修改。")
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, p)
    # The store's old WAL (left by a writer that crashed) was copied and folded into the new file: beside the
    # new file it would not match it.
    Path(str(p) + ".wal").unlink(missing_ok=True)
    dir_fd = os.open(p.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _remove(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)
    Path(str(tmp) + ".wal").unlink(missing_ok=True)


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
