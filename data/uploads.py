"""Uploaded files on disk only while one run previews or imports them.

An upload holds citizens' names, phones and words. The importer reads files by
path, so an upload is written to a private temporary folder (mode 0700) for the
run that reads it and removed when that run ends, whether the import succeeded,
failed or was interrupted. Folders left by a server that was killed mid-run are
removed by the next upload (their process is gone). Nothing with personal data
stays outside the store.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PREFIX = "hotline-upload-"
TRANSCODED = "hotline-import-"   # UTF-8 copies of GBK files while an import reads them (data/ingest/readers.py)


@contextlib.contextmanager
def staged(files: dict[str, BinaryIO]) -> Iterator[dict[str, Path]]:
    """Write each named upload (name -> readable binary file) to a private folder; remove it all on exit.

    Yields name -> path of its copy. Names are reduced to their last component, so an upload cannot choose
    where it is written.
    """
    remove_stale()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    try:
        paths: dict[str, Path] = {}
        for i, (name, src) in enumerate(files.items()):
            sub = folder / str(i)
            sub.mkdir()
            p = sub / (Path(name).name or "upload")
            with open(p, "wb") as dst:
                src.seek(0)
                shutil.copyfileobj(src, dst, 4 * 2**20)
            paths[name] = p
        yield paths
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale() -> list[Path]:
    """Remove upload folders and transcoded copies whose process no longer runs (killed mid-import), and
    those of older versions (no process id in their name)."""
    removed = []
    tmp = Path(tempfile.gettempdir())
    for prefix in (PREFIX, TRANSCODED):
        for p in tmp.glob(f"{prefix}*"):
            if _owner_alive(p.name[len(prefix):]):
                continue
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _owner_alive(suffix: str) -> bool:
    pid_text, _, _ = suffix.partition("-")
    if not pid_text.isdigit():
        return False   # an older version's folder (no pid in its name): nothing reads it any more
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
