"""Shared fixtures: a tiny hand-checked store built fresh in tmp_path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TINY_SQL = ROOT / "tests" / "data" / "tiny" / "load.sql"


def build_tiny(path: Path) -> Path:
    """Create the tiny database at `path` (schema, geography, 20 tickets, funnel, derived tables)."""
    from data import derived, store

    con = store.connect(path)
    con.execute(TINY_SQL.read_text(encoding="utf-8"))
    derived.refresh(con)
    con.close()
    return path


@pytest.fixture(scope="session")
def tiny_db_path(tmp_path_factory) -> Path:
    """Path of a read-only-safe tiny database shared by the session (do not write to it)."""
    return build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")


@pytest.fixture()
def tiny_con(tiny_db_path):
    from data import store

    con = store.connect(tiny_db_path, read_only=True)
    yield con
    con.close()


@pytest.fixture()
def empty_db_path(tmp_path) -> Path:
    """A fresh store with schema and geography but no tickets."""
    from data import store

    p = tmp_path / "empty.duckdb"
    store.connect(p).close()
    return p


@pytest.fixture()
def app_db(tiny_db_path, tmp_path, monkeypatch) -> Path:
    """A private copy of the tiny store that the app (AppTest) opens through HOTLINE_DB."""
    import shutil

    p = tmp_path / "app.duckdb"
    shutil.copy(tiny_db_path, p)
    monkeypatch.setenv("HOTLINE_DB", str(p))
    return p
