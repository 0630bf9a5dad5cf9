"""Back after a close (办结后再诉): a ticket received again at the same place after a ticket about the same
problem there was closed.

Why: a complaint that comes back after the agency closed it is the sign the seeds name in the Dongcheng
river case (polluted again a month after a fix) and a sign that an agency may not be acting (不作为). The
hotspot view flags such tickets (data/positions.py stores the flag per located ticket at import); the
screening rules reuse the same condition ("received again after a ticket at the same place was closed")
through `ids_sql` and `Rule`.

The rule (`Rule`, defaults from the settings HOTLINE_RETURN_MIN_DAYS, HOTLINE_RETURN_MAX_DAYS and
HOTLINE_RETURN_RADIUS_M: 7, 90 days and 50 m): a ticket is back after a close when it was received more
than `min_days` and at most `max_days` days after a ticket about the same problem was closed near it.

"Near" is measured with four square grids of side 2 x radius, shifted by half a side in each direction: two
tickets are near when one of the grids puts them in the same cell. Every pair less than the radius apart
(east-west and north-south) shares a cell in one of the grids, so no return within the radius is missed;
no pair 2 x radius or more apart (either way) does, so none farther than 2.83 x radius counts. Within a
cell of one grid the answer is exact and cheap: one ASOF join per grid picks, for each ticket, the latest
close of its cell at least `min_days` earlier, and the ticket is back when that close is at most `max_days`
earlier. Four sorts of the located tickets, like the single one of the old same-position rule, instead of
a pair join (a busy crossing has 10^5 ticket pairs a quarter) or copying every close to every position
within the radius (about 20 copies a close at Beijing's density).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from data import settings

M_PER_DEG_LAT = 111_320.0
REF_LAT = 40.0
SHIFTS = ((0.0, 0.0), (0.0, 0.5), (0.5, 0.0), (0.5, 0.5))   # (rows, columns) of each grid, in cells


@dataclass(frozen=True)
class Rule:
    """The window (days after the close) and the radius of "back after a close"."""

    min_days: int = 7
    max_days: int = 90
    radius_m: float = 50.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_days < self.max_days:
            raise ValueError(f"the window must satisfy 0 <= min_days < max_days, got {self.min_days}-{self.max_days}")
        if not 5 <= self.radius_m <= 1000:
            raise ValueError(f"the radius must be between 5 and 1,000 m, got {self.radius_m}")

    @classmethod
    def from_settings(cls) -> Rule:
        return cls(int(settings.get("HOTLINE_RETURN_MIN_DAYS")), int(settings.get("HOTLINE_RETURN_MAX_DAYS")),
                   float(settings.get("HOTLINE_RETURN_RADIUS_M")))

    @property
    def key(self) -> str:
        """A short text that changes with the rule (stored with the flags, so other settings mark them stale)."""
        return f"after_close:{self.min_days}-{self.max_days}d:{self.radius_m:g}m"

    def describe(self) -> str:
        """The rule in Chinese, for the method line and the docs."""
        return f"在约 {self.radius_m:g} 米内同一问题的工单办结后 {self.min_days}–{self.max_days} 天内再次投诉"

    @property
    def cell_m(self) -> float:
        return 2.0 * float(self.radius_m)

    def degrees(self) -> tuple[float, float]:
        """(dlat, dlon) of a grid cell."""
        return self.cell_m / M_PER_DEG_LAT, self.cell_m / (M_PER_DEG_LAT * math.cos(math.radians(REF_LAT)))

    def cells(self, lon, lat) -> list[tuple[np.ndarray, np.ndarray]]:
        """(row, column) of each point in each of the four grids, as the SQL computes them."""
        dlat, dlon = self.degrees()
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        return [(np.floor(lat / dlat + a).astype(np.int64), np.floor(lon / dlon + b).astype(np.int64))
                for a, b in SHIFTS]

    def near(self, lon_a, lat_a, lon_b, lat_b) -> np.ndarray:
        """Whether points a and b (broadcast) are near: in the same cell of one of the grids."""
        out = np.zeros(np.broadcast_shapes(np.shape(lon_a), np.shape(lon_b)), dtype=bool)
        for (ia, ja), (ib, jb) in zip(self.cells(lon_a, lat_a), self.cells(lon_b, lat_b), strict=True):
            out |= (ia == ib) & (ja == jb)
        return out

    def reach_cells(self, cell_m: float) -> int:
        """How many cells of `cell_m` metres two near tickets can be apart, row or column (for the incremental
        refresh's neighbourhoods, data/positions.py)."""
        return math.ceil(self.cell_m / cell_m) + 1

    def params(self, prefix: str = "ac") -> dict:
        dlat, dlon = self.degrees()
        return {f"{prefix}_dlat": dlat, f"{prefix}_dlon": dlon, f"{prefix}_min": int(self.min_days),
                f"{prefix}_max": int(self.max_days)}


def ids_sql(rows: str, closes: str, *, prefix: str = "ac", closes_where: str = "") -> str:
    """SQL of the ids of the tickets of `rows` that are back after a close among `closes` (a SELECT, usable as
    a subquery or after `CREATE TABLE ... AS`).

    `rows` and `closes` are relations (fixed names or CTE names from the caller, never user text) with
    problem, lon, lat, and ticket_id and received_at (`rows`) or closed_at (`closes`); `closes_where`
    (optional, fixed SQL) further limits the closes. Bind `Rule.params(prefix)`.
    """
    p = prefix
    more = f" AND ({closes_where})" if closes_where else ""
    parts = []
    for g, (a, b) in enumerate(SHIFTS):
        ci = f"CAST(floor(lat / ${p}_dlat + {a}) AS BIGINT)"   # the shifts are this module's constants
        cj = f"CAST(floor(lon / ${p}_dlon + {b}) AS BIGINT)"
        parts.append(f"""SELECT r.ticket_id
FROM (SELECT ticket_id, problem, received_at, {ci} AS ci, {cj} AS cj FROM {rows}) r
ASOF JOIN (SELECT problem, {ci} AS ci, {cj} AS cj, closed_at,
                  closed_at + CAST(${p}_min AS INTEGER) * INTERVAL 1 DAY AS after_min
           FROM {closes} WHERE closed_at IS NOT NULL{more}) c{g}
     ON r.problem = c{g}.problem AND r.ci = c{g}.ci AND r.cj = c{g}.cj AND r.received_at > c{g}.after_min
WHERE r.received_at <= c{g}.closed_at + CAST(${p}_max AS INTEGER) * INTERVAL 1 DAY""")
    return "\nUNION\n".join(parts)


def flags(received: np.ndarray, closed: np.ndarray, lon: np.ndarray, lat: np.ndarray, rule: Rule) -> np.ndarray:
    """The reference (tickets in memory, all pairs): per ticket, back after a close among these tickets (one
    problem). The same answer as `ids_sql` on the same tickets; for tests and small selections."""
    k = received.size
    if k < 2:
        return np.zeros(k, dtype=bool)
    gap = received[:, None] - closed[None, :]          # [i, j]: time from j's close to i's arrival
    ok = ~np.isnat(gap) & (gap > np.timedelta64(int(rule.min_days) * 86400, "s"))
    ok &= gap <= np.timedelta64(int(rule.max_days) * 86400, "s")
    ok &= rule.near(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    return ok.any(axis=1)
