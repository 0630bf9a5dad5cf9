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
    # The tiny store's periods hold 3 to 12 tickets: let the pages compare them (the floor of real data,
    # HOTLINE_MIN_COMPARE_BASE, is tested in test_honest_screens).
    monkeypatch.setenv("HOTLINE_MIN_COMPARE_BASE", "1")
    return p


# The generated demo shared by the tests that check real properties on it (test_demo, the screening library).
DEMO_N = 100_000
DEMO_SEED = 20250301
DEMO_END = __import__("datetime").date(2026, 10, 31)


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """(BuildResult, path) of a 100k-ticket, two-year demo store built once per session (read it only)."""
    from data.synth.build import build_database

    d = tmp_path_factory.mktemp("demo")
    res = build_database(d / "demo.duckdb", tickets=DEMO_N, years=2, seed=DEMO_SEED, end=DEMO_END, fmt="csv",
                         out_dir=d / "files", keep_files=True)
    return res, d / "demo.duckdb"


TEST_PASSWORD = "test-password-1"


def account(role: str = "leader", districts: tuple[str, ...] = (), name: str | None = None, *, db_path=None):
    """The account `name` (default: one per role and districts) in the records store of `db_path` (default
    HOTLINE_DB), created with TEST_PASSWORD when missing, with this role and these districts; returns its
    Principal."""
    from data import audit, people, records

    name = name or "_".join(["t", role, *districts])
    with records.session(db_path) as con:
        acc = people.get(con, name)
        if acc is None:
            acc = people.add(con, audit.Actor("pytest"), name, role, password=TEST_PASSWORD, districts=districts)
        if acc.role != role:
            acc = people.set_role(con, audit.Actor("pytest"), name, role)
        if tuple(acc.districts) != tuple(districts):
            acc = people.set_districts(con, audit.Actor("pytest"), name, districts)
    return acc.principal()


def sign_in(at, role: str = "leader", districts: tuple[str, ...] = (), name: str | None = None):
    """Sign an AppTest in (a live session of `account(...)`), as the sign-in form would; returns the Principal."""
    from data import people, records

    p = account(role, districts, name)
    with records.session() as con:
        at.session_state["auth_token"] = people.open_session(con, p)
    return p


def app_test(path: str | Path | None = None, *, role: str = "leader", districts: tuple[str, ...] = (),
             timeout: float = 120, signed_in: bool = True):
    """An AppTest of app.py (or `path`), signed in as `role` unless signed_in=False. Set HOTLINE_DB first."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(path or ROOT / "app.py"), default_timeout=timeout)
    if signed_in:
        sign_in(at, role, districts)
    return at


# ------------------------------------------------------------------ the store on another engine (issue 21)
@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory) -> Path:
    """The data directory of the in-process ClickHouse (chdb allows one per process: every engine test of
    the session shares it; each store is a database of its own in it)."""
    return tmp_path_factory.mktemp("chdb") / "engine"


@pytest.fixture(scope="session")
def tiny_engine(tiny_db_path, engine_dir):
    """The tiny store shipped to ClickHouse (chdb, in process): a connection with DuckDB's API."""
    from data.engine import clickhouse, ship

    con = clickhouse.connect(f"chdb:{engine_dir}?database=tiny")
    ship.ship(tiny_db_path, con)
    return con


@pytest.fixture(scope="session")
def demo_engine(demo, engine_dir):
    """The shared generated demo store (fixture `demo`: 100k tickets, two years, fixed seed) shipped to ClickHouse
    (chdb, in process), for the golden tests on generated data."""
    from data.engine import clickhouse, ship

    con = clickhouse.connect(f"chdb:{engine_dir}?database=demo")
    ship.ship(demo[1], con)
    return con


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """A Spark standalone cluster on loopback for the whole test session: one master, two workers of one core
    each (data/engine/spark_cluster.py), stopped at the end with the session's Spark driver."""
    from data.engine import spark, spark_cluster

    c = spark_cluster.start(tmp_path_factory.mktemp("spark") / "cluster", workers=2, cores=1, memory="768m")
    yield c
    spark.stop_session()
    c.stop()


@pytest.fixture(scope="session")
def spark_warehouse(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spark") / "warehouse"


@pytest.fixture(scope="session")
def tiny_spark(tiny_db_path, spark_cluster, spark_warehouse):
    """The tiny store shipped to the Spark warehouse (Parquet by city and month) and read on the cluster."""
    from data import engine
    from data.engine import sync

    # the driver's web UI on (loopback only): its monitoring API says which executors ran the tasks
    con = engine.connect(f"{spark_cluster.master_url}?warehouse={spark_warehouse}&database=tiny"
                         "&spark.ui.enabled=true&spark.ui.port=0")
    sync.ship_store(tiny_db_path, con)
    con.execute("SELECT count(*) FROM tickets").fetchall()   # the driver starts here, not inside a page's timeout
    return con
