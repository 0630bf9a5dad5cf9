"""The store on the distributed engine (HOTLINE_ENGINE=clickhouse; docs/scale-out.md).

`engine ship` loads the embedded store's tables (tickets, ledgers, every derived table) into ClickHouse at
HOTLINE_ENGINE_URL (or --url): whole, each table swapped in atomically, or only the months an import touched
(--months 2025-03,2025-04: each month's partition replaced atomically). The embedded store stays where files
are imported and derived tables are built; the dashboard reads the engine when HOTLINE_ENGINE=clickhouse.
Every row carries the store's city (--city, default the store's region): in a national database a ship replaces
only its own city's rows, and a dashboard reads one city with `city=NAME` in its engine URL. The app's own clue
ledger (the records store beside the store) is laid over the engine's clue tables after the load.
`engine status` prints the tables on the engine, their rows and the load (generation) the dashboard reads.

On Spark (a `spark://HOST:PORT?warehouse=PATH&database=NAME` URL) `ship` writes the store as Parquet partitioned by
city and month into the warehouse (data/engine/spark_ship.py). `engine cluster-start|cluster-status|cluster-stop
--dir DIR` runs a Spark standalone cluster on this machine (one master, --workers workers on loopback:
data/engine/spark_cluster.py) for trials, tests and benchmarks.
"""

from __future__ import annotations

from datetime import date

from cli._common import add_db_argument
from data import settings

NAME = "engine"
HELP = "load the store into the distributed engine (ClickHouse or Spark) or show what it holds; a local Spark cluster"


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=("ship", "status", "cluster-start", "cluster-status", "cluster-stop"))
    add_db_argument(parser)
    parser.add_argument("--url", default=None,
                        help="engine URL (default: $HOTLINE_ENGINE_URL; chdb:PATH?database=NAME or "
                             "clickhouse://USER:PASSWORD@HOST:8123/DATABASE)")
    parser.add_argument("--months", default=None,
                        help="ship only these months (YYYY-MM,YYYY-MM): the partitions an import touched")
    parser.add_argument("--city", default=None,
                        help="the city of the rows in a national database (default: the store's region)")
    parser.add_argument("--dir", default="var/spark",
                        help="cluster-*: the Spark cluster's directory (state, logs, work dirs; default var/spark)")
    parser.add_argument("--workers", type=int, default=2, help="cluster-start: workers (default 2)")
    parser.add_argument("--worker-memory", default="1g", help="cluster-start: memory of each worker (default 1g)")


def _months(text: str | None) -> list[date] | None:
    if not text:
        return None
    out = []
    for part in text.split(","):
        try:
            y, m = part.strip().split("-")
            out.append(date(int(y), int(m), 1))
        except ValueError as exc:
            raise SystemExit(f"--months: {part!r} is not YYYY-MM") from exc
    return out


def _cluster(args) -> int:
    from data.engine import spark_cluster

    if args.action == "cluster-stop":
        print("stopped" if spark_cluster.stop(args.dir) else f"no cluster recorded in {args.dir}")
        return 0
    if args.action == "cluster-start":
        c = spark_cluster.start(args.dir, workers=args.workers, memory=args.worker_memory)
    else:
        c = spark_cluster.running(args.dir)
        if c is None:
            print(f"no cluster running in {args.dir}")
            return 1
    workers = c.alive_workers()
    print(f"master {c.master_url}  web UI {c.web_url}  workers alive: {len(workers)}")
    for w in workers:
        print(f"  {w['id']}  cores {w['cores']} (used {w['coresused']})  memory {w['memory']} MB")
    print(f"pids: {c.pids}")
    print(f"dashboard: HOTLINE_ENGINE=spark HOTLINE_ENGINE_URL='{c.master_url}?warehouse=WAREHOUSE&database=NAME'")
    return 0


def _spark_status(con) -> int:
    from data import engine

    for table in sorted(con.table_columns()):
        n = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]   # names from the store's own catalog
        print(f"{table:24s} {n:>14,}")
    print(f"\nengine: {con.target.describe()}  generation: {engine.generation(con)}")
    return 0


def run(args) -> int:
    from data import engine
    from data.engine import sync

    if args.action.startswith("cluster-"):
        return _cluster(args)
    con = engine.connect(args.url or engine.url(args.db))
    if args.action == "status" and con.engine == "spark":
        return _spark_status(con)
    if args.action == "status":
        rows = con._backend.query(
            "SELECT name, total_rows FROM system.tables WHERE database = {db:String} ORDER BY name",
            {"db": con.database})
        for name, n in zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True):
            print(f"{name:24s} {n or 0:>14,}")
        print(f"\nengine: {con.target.describe()}  generation: {engine.generation(con)}")
        return 0
    db = args.db or settings.db_path()
    res = sync.ship_store(db, con, months=_months(args.months), city=args.city,
                            progress=lambda t: print(f"  {t}", flush=True))
    laid = ("not on Spark yet" if con.engine == "spark" else "no records store") if res["ledger_version"] is None \
        else f"version {res['ledger_version']}"
    print(f"shipped {res['tables']} tables of {db} to {con.target.describe()} as city {res['city']} in "
          f"{res['seconds']} s (tickets: {res['rows'].get('tickets', 0):,}); generation {res['generation']}; "
          f"app ledger laid over: {laid}")
    return 0
