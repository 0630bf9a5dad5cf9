"""Putting a store on another region pack (`python manage.py region install NAME`): its geography, and the
tickets located again against it.

Why: a user who imported Bengbu's export into a Beijing store (every point flagged outside_region, every
district name unknown) must not lose it. Points outside the region are kept in the store (data/ingest), so
installing the right pack locates them: the point decides district, street and flag, as at import. Tickets
without a point keep a district name only when it is one of the new region's; the derived tables are rebuilt.
Re-importing the files gives the same result and also locates the tickets by their address text.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from data import derived, store
from geo import boundaries, names

CHUNK = 500_000
_POINTS_SQL = """
SELECT ticket_id, lon, lat FROM tickets WHERE lon IS NOT NULL AND lat IS NOT NULL
ORDER BY ticket_id LIMIT $lim OFFSET $off
"""
_UPDATE_POINTS_SQL = """
UPDATE tickets SET district = u.district, street = u.street, street_code = u.street_code, geo_flag = u.geo_flag
FROM _relocated u WHERE tickets.ticket_id = u.ticket_id
"""


def install(con: duckdb.DuckDBPyConnection, region: str) -> dict:
    """Load `region`'s geography into the store behind `con` (read-write) and locate its tickets again.

    Returns counts: located (points inside the region's polygons), outside (points outside it), kept and
    cleared (district names of tickets without a point that are / are not the new region's)."""
    store.load_geography(con, region)
    out = {"located": 0, "outside": 0, "kept": 0, "cleared": 0}
    (n,) = con.execute("SELECT count(*) FROM tickets WHERE lon IS NOT NULL AND lat IS NOT NULL").fetchone()
    for off in range(0, n, CHUNK):
        df = con.execute(_POINTS_SQL, {"lim": CHUNK, "off": off}).fetchdf()
        lon, lat = df["lon"].to_numpy(float), df["lat"].to_numpy(float)
        inside = boundaries.in_bbox(lon, lat)
        where = boundaries.assign_points(lon, lat)
        flag = np.where(~inside, "outside_region", np.where(where["district"].isna(), "outside_polygons", None))
        keep = pd.Series(inside)
        rel = pd.DataFrame({
            "ticket_id": df["ticket_id"],
            "district": where["district"].where(keep, None),
            "street": where["street"].where(keep, None),
            "street_code": where["street_code"].where(keep, None),
            "geo_flag": pd.Series(flag, dtype=object).where(pd.notna(flag), None),
        })
        out["located"] += int((inside & where["district"].notna()).sum())
        out["outside"] += int((~inside).sum())
        con.register("_relocated_df", rel)
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE _relocated AS SELECT * FROM _relocated_df")
            con.execute(_UPDATE_POINTS_SQL)
        finally:
            con.unregister("_relocated_df")
            con.execute("DROP TABLE IF EXISTS _relocated")
    # tickets without a point: a district name of the new region is kept (canonical), another one cleared
    given = [r[0] for r in con.execute(
        "SELECT DISTINCT district FROM tickets WHERE lon IS NULL AND district IS NOT NULL").fetchall()]
    canon = pd.DataFrame({"old": given, "new": [names.canonical_district(d) for d in given]}, dtype=object)
    con.register("_canon_df", canon)
    try:
        (out["kept"], out["cleared"]) = con.execute(
            "SELECT count(*) FILTER (WHERE c.new IS NOT NULL), count(*) FILTER (WHERE c.new IS NULL) "
            "FROM tickets t JOIN _canon_df c ON c.old = t.district WHERE t.lon IS NULL").fetchone()
        con.execute("UPDATE tickets SET district = c.new, street = CASE WHEN c.new IS NULL THEN NULL ELSE street END "
                    "FROM _canon_df c WHERE tickets.district = c.old AND tickets.lon IS NULL")
    finally:
        con.unregister("_canon_df")
    (has,) = con.execute("SELECT count(*) FROM tickets").fetchone()
    if has:
        derived.refresh(con)
    return out
