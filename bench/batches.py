"""Import batches made from a store's own tickets, for the incremental-refresh test and benchmark
(tests/test_incremental.py, scripts/bench_incremental.py): written as the hotline's export CSV, so they go
through the whole import pipeline."""

from __future__ import annotations

from pathlib import Path

from data.synth.build import TICKET_HEADERS

_EXPORT_COLS = ", ".join(f'{c} AS "{h}"' for c, h in TICKET_HEADERS.items())

# Updates: of $n sampled located tickets (`{sample}`: a fixed condition over `tickets` from the caller), every
# fourth one moves in time (40 days earlier), place (district, street, address and position), category or
# closing time, taking the values of another sampled ticket, so that they land on problems and 20 m positions
# that have tickets.
MOVED_UPDATES_SQL = """
WITH s AS (SELECT *, row_number() OVER (ORDER BY hash(ticket_id)) AS k FROM tickets
           WHERE lon IS NOT NULL AND {sample}),
pick AS (SELECT * FROM s WHERE k <= $n),
donor AS (SELECT k - $n AS k, district, street, address, lon, lat, category_l1, category_l2, category_l3
          FROM s WHERE k > $n AND k <= 2 * $n)
SELECT p.* REPLACE (
    CASE WHEN p.k % 4 = 0 THEN p.received_at - INTERVAL 40 DAY ELSE p.received_at END AS received_at,
    CASE WHEN p.k % 4 = 1 THEN d.district ELSE p.district END AS district,
    CASE WHEN p.k % 4 = 1 THEN d.street ELSE p.street END AS street,
    CASE WHEN p.k % 4 = 1 THEN d.address ELSE p.address END AS address,
    CASE WHEN p.k % 4 = 1 THEN d.lon ELSE p.lon END AS lon,
    CASE WHEN p.k % 4 = 1 THEN d.lat ELSE p.lat END AS lat,
    CASE WHEN p.k % 4 = 2 THEN d.category_l1 ELSE p.category_l1 END AS category_l1,
    CASE WHEN p.k % 4 = 2 THEN d.category_l2 ELSE p.category_l2 END AS category_l2,
    CASE WHEN p.k % 4 = 2 THEN d.category_l3 ELSE p.category_l3 END AS category_l3,
    CASE WHEN p.k % 4 = 3 THEN coalesce(p.closed_at, p.received_at) + INTERVAL 3 DAY ELSE p.closed_at END
        AS closed_at,
    'wgs84' AS source_crs)
FROM pick p JOIN donor d USING (k)
"""


def export(con, path: Path, select: str, params: dict | None = None) -> Path:
    """Write the tickets chosen by `select` (a query over `tickets` with its columns) as an export CSV."""
    sql = f"COPY (SELECT {_EXPORT_COLS} FROM ({select})) TO '{path}' (HEADER, DELIMITER ',')"
    con.execute(sql, params or {})
    return path
