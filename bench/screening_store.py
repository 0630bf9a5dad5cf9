"""A 25 M-ticket year for the screening benchmark, made from a smaller demo store by SQL (issue 18).

A real demo build of 25 M tickets takes many hours on this machine; the screening targets need one year of
25 M tickets (65-70 k a day) with Beijing's hot places as dense as they would be. This script writes a new
store from a 2-year demo store (e.g. the 5 M one) and never changes the source:

- every ticket of the source's second year keeps its day; every ticket of its first year is moved 365 days
  later (the source must span exactly two years ending on its last day), so one year holds all of them;
- `--copies` copies of that year are written (copy 0 is the source's tickets with their own ids; copy k > 0
  gets ids `<id>-k`); each copy k > 0 has its point moved by up to `--jitter-m` metres north-south and
  east-west and its times (received, responded, closed, due) by up to ±3 h, both fixed per ticket by a hash,
  so the copies do not collapse onto the same points and instants (a time moved out of the year is not moved);
- the rows are written month by month in time order, as daily imports would append them;
- clues, cases, rectifications, their ticket links, the import log and the demo's planted truth are copied
  as they are (their tickets are copy 0's);
- then the derived tables are built by the product's own refresh code (`data.derived` pieces: ticket_daily
  and cubes, funnel tables, hotspot tables, the screening copy); the word tables are left empty (segmenting
  25 M texts takes hours and screening does not read them).

Usage (niced; DuckDB memory limited):
  nice -n 10 python -m bench.screening_store SRC DST [--copies 5] [--jitter-m 60] [--memory 6GB] [--step all|tickets|derived]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

TICKET_COLUMNS = ("ticket_id, received_at, channel, appeal_type, category_l1, category_l2, category_l3, topic, "
                  "content, district, street, street_code, address, lon, lat, source_crs, geo_flag, handling_unit, "
                  "status, responded_at, closed_at, satisfaction, resolved, complainant_name, complainant_phone, "
                  "row_hash, import_id, updated_at, reply, due_at, extra")
COPIED_TABLES = ("imports", "clues", "cases", "rectifications", "clue_tickets", "demo_truth")

# One month of the new year: the source rows of that month in either year, times `copies`, moved.
_MONTH_SQL = """
INSERT INTO tickets ({cols})
WITH src AS (
    SELECT t.*, k.range AS copy,
           CASE WHEN t.received_at < $year_start THEN INTERVAL 365 DAY ELSE INTERVAL 0 DAY END AS yshift,
           hash(t.ticket_id, k.range) AS h
    FROM srcdb.tickets t CROSS JOIN range($copies) k
    WHERE (t.received_at >= $m1_lo AND t.received_at < $m1_hi) OR (t.received_at >= $m2_lo AND t.received_at < $m2_hi)
), moved AS (
    SELECT *, CASE WHEN copy = 0 THEN INTERVAL 0 SECOND
                   ELSE to_seconds(CAST(h % 21601 AS BIGINT) - 10800) END AS tshift0
    FROM src
), timed AS (
    SELECT *, CASE WHEN received_at + yshift + tshift0 >= $year_start AND received_at + yshift + tshift0 < $year_end
                   THEN tshift0 ELSE INTERVAL 0 SECOND END AS tshift
    FROM moved
)
SELECT CASE WHEN copy = 0 THEN ticket_id ELSE ticket_id || '-' || CAST(copy AS VARCHAR) END AS ticket_id,
       received_at + yshift + tshift AS received_at, channel, appeal_type, category_l1, category_l2, category_l3, topic,
       content, district, street, street_code, address,
       CASE WHEN copy = 0 OR lon IS NULL THEN lon
            ELSE lon + ((CAST((h >> 20) % 2001 AS DOUBLE) / 1000.0) - 1.0) * $jitter_m / ($m_per_deg * cos(radians(lat))) END AS lon,
       CASE WHEN copy = 0 OR lat IS NULL THEN lat
            ELSE lat + ((CAST((h >> 40) % 2001 AS DOUBLE) / 1000.0) - 1.0) * $jitter_m / $m_per_deg END AS lat,
       source_crs, geo_flag, handling_unit, status,
       responded_at + yshift + tshift AS responded_at, closed_at + yshift + tshift AS closed_at, satisfaction, resolved,
       complainant_name, complainant_phone, row_hash, import_id, updated_at, reply, due_at + yshift + tshift AS due_at,
       extra
FROM timed
ORDER BY received_at, ticket_id
"""


def months(year_start: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The twelve months of the year starting at `year_start` (a first of a month)."""
    out, lo = [], dt.datetime.combine(year_start, dt.time())
    for _ in range(12):
        hi = (lo.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        out.append((lo, hi))
        lo = hi
    return out


def write_tickets(src: str, dst: str, copies: int, jitter_m: float, memory: str) -> None:
    from data import store

    store.connect(dst).close()   # a new store: schema, geography, empty derived tables
    import duckdb

    con = duckdb.connect(dst)
    con.execute(f"SET memory_limit = '{memory}'")
    con.execute("SET threads = 2")
    con.execute("SET preserve_insertion_order = true")
    con.execute("ATTACH $p AS srcdb (READ_ONLY)", {"p": src})
    lo, hi = con.execute("SELECT min(received_at), max(received_at) FROM srcdb.tickets").fetchone()
    year_end = dt.datetime.combine(hi.date() + dt.timedelta(days=1), dt.time())
    year_start = year_end - dt.timedelta(days=365)
    if lo < year_start - dt.timedelta(days=365):
        raise SystemExit(f"the source spans more than two years ({lo} to {hi})")
    (n_before,) = con.execute("SELECT count(*) FROM tickets").fetchone()
    if n_before:
        raise SystemExit(f"{dst} already holds {n_before:,} tickets")
    for m_lo, m_hi in months(year_start.date()):
        t0 = time.perf_counter()
        prev = (m_lo - dt.timedelta(days=365), m_hi - dt.timedelta(days=365))
        con.execute(_MONTH_SQL.format(cols=TICKET_COLUMNS),
                    {"year_start": year_start, "year_end": year_end, "copies": copies, "jitter_m": float(jitter_m),
                     "m_per_deg": 111_320.0, "m1_lo": prev[0], "m1_hi": prev[1], "m2_lo": m_lo, "m2_hi": m_hi})
        (n,) = con.execute("SELECT count(*) FROM tickets").fetchone()
        print(f"  {m_lo:%Y-%m}: {n:,} tickets so far ({time.perf_counter() - t0:.0f} s)", flush=True)
    for t in COPIED_TABLES:
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'srcdb' AND table_name = $t "
            "ORDER BY ordinal_position", {"t": t}).fetchall()]
        if not cols:
            continue
        names = ", ".join(cols)   # the source's own column names (read from its catalogue)
        (have,) = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog <> 'srcdb' "
                              "AND table_name = $t", {"t": t}).fetchone()
        if not have:   # a table the demo writes outside the schema (demo_truth)
            con.execute(f"CREATE TABLE {t} AS SELECT * FROM srcdb.{t}")
            continue
        con.execute(f"DELETE FROM {t}")
        con.execute(f"INSERT INTO {t} ({names}) SELECT {names} FROM srcdb.{t}")
    con.execute("DELETE FROM meta WHERE key LIKE 'demo_%'")
    con.execute("INSERT INTO meta SELECT * FROM srcdb.meta WHERE key IN ('demo_seed', 'demo_years', 'demo_end')")
    con.execute("INSERT INTO meta VALUES ('demo_tickets', (SELECT CAST(count(*) AS VARCHAR) FROM tickets))")
    con.execute("INSERT INTO meta VALUES ('demo_made_by', $v)",
                {"v": f"bench.screening_store from {Path(src).name}: {copies} copies, jitter {jitter_m} m"})
    con.execute("DETACH srcdb")
    con.execute("CHECKPOINT")
    con.close()


def build_derived(dst: str, memory: str) -> None:
    """The derived tables, by the product's own refresh code (as `derived.refresh` does, without the words)."""
    import duckdb

    from data import derived, links, positions, screen_tickets
    from data.summaries import build_daily, refresh_cubes

    con = duckdb.connect(dst)
    con.execute(f"SET memory_limit = '{memory}'")
    con.execute("SET threads = 2")
    out: dict = {"seconds": {}}
    derived._timed(out, "ticket_daily", lambda: build_daily(con))
    derived._timed(out, "cubes", lambda: refresh_cubes(con))
    derived._timed(out, "links", lambda: links.refresh(con))
    derived._timed(out, "hotspot", lambda: positions.refresh(con))
    derived._timed(out, "screening", lambda: screen_tickets.refresh(con))
    derived._write_state(con, rebuilt=True)
    con.execute("CHECKPOINT")
    con.close()
    print(f"  derived tables: {out['seconds']}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--copies", type=int, default=5)
    ap.add_argument("--jitter-m", type=float, default=60.0)
    ap.add_argument("--memory", default="6GB")
    ap.add_argument("--step", choices=("all", "tickets", "derived"), default="all")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    t0 = time.perf_counter()
    if args.step in ("all", "tickets"):
        write_tickets(args.src, args.dst, args.copies, args.jitter_m, args.memory)
        print(f"tickets written ({time.perf_counter() - t0:.0f} s)", flush=True)
    if args.step in ("all", "derived"):
        build_derived(args.dst, args.memory)
        print(f"derived tables built ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
