"""Where a problem concentrates, and where it keeps coming back: the list prosecutors walk.

Two published, explainable methods, so a prosecutor can say on what basis a
place was chosen:

- **Getis-Ord Gi*** (Getis & Ord 1992; Ord & Getis 1995) over a square grid
  (500 m by default) with binary weights on the (2r+1)×(2r+1) block of cells
  around each cell, itself included. The study area is every cell of Beijing
  (or of the chosen districts/streets), empty cells included. One-sided
  p-values for hot spots, Benjamini-Hochberg FDR across all cells.
  Significant cells are split into hotspots at the peaks of z (`peak_labels`),
  so a dense city core is not one hotspot of hundreds of cells. Because Gi*'s
  normal approximation is generous with sparse counts, a hot cell's neighbourhood must also hold at
  least as many tickets as a uniform Poisson scatter would put in any
  neighbourhood of the study area with probability < alpha (a count floor).
- **Repeat places**: tickets about the same problem (topic, else the finest
  category) within ~100 m of each other in the selected period, grouped around
  the ticket with most neighbours; flagged when they occur several times or
  again after an earlier ticket there was closed (the Dongcheng river case).

`hotspot_table()` merges both into one ranked table: where (street + most
frequent address), how many, first/last dates, trend, repeat flag, linked clues.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import ndimage, stats
from scipy.spatial import cKDTree

from analytics import privacy
from analytics.filters import Filters
from analytics.maps import LOCATED_SQL
from data import links
from data import positions as hpos
from geo import boundaries
from geo.grid import SQL_GI, SQL_GJ, Grid, beijing_cells

DEFAULT_CELL_M = 500
DEFAULT_ALPHA = 0.05
REPEAT_RADIUS_M = 100.0
REPEAT_MIN_COUNT = 3
REPEAT_ALPHA = 0.05   # a place repeats when its count is above chance for the problem's local density (BH q)
# "polluted again a month after a fix": a ticket received 30-90 days after a ticket about the same problem at
# the same 20 m position was closed (sooner is the same complaint not yet settled); data/positions.py
REOPEN_DAYS = hpos.REOPEN_MAX_DAYS
REOPEN_MIN_DAYS = hpos.REOPEN_MIN_DAYS
MAX_TICKETS = 400_000  # per-ticket steps (repeat places, table) beyond this work on the latest ones

PROBLEM_SQL = hpos.PROBLEM_SQL


# ---------------------------------------------------------------- where the located tickets are read
@dataclass(frozen=True)
class Source:
    """Where the located tickets of a selection are read: `hotspot_tickets` (data/positions.py) when it is
    current and the filters are columns it has, else `tickets` (same rows, slower at scale)."""

    table: str        # fixed identifiers only: hpos.TABLE or "tickets"
    located: str      # the located condition on that table ("TRUE" for hotspot_tickets)
    cells: bool       # hpos.CELLS can answer Gi* counts for filters on dates/district/street only

    @property
    def fast(self) -> bool:
        return self.table == hpos.TABLE


TICKETS_SOURCE = Source("tickets", LOCATED_SQL, False)


def source(con, f: Filters) -> Source:
    """The quickest source that gives exactly the answer `tickets` would."""
    if not f.uses_summary or not hpos.ready(con):
        return TICKETS_SOURCE
    cells = f.filter_columns() <= set(hpos.CELL_FILTER_COLUMNS) and bool(f.date_from and f.date_to)
    return Source(hpos.TABLE, "TRUE", cells)


# ---------------------------------------------------------------- statistics
def getis_ord_gi_star(x: np.ndarray, mask: np.ndarray, radius: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z-scores of a raster of counts `x` over the cells where `mask` is True.

    Weights are 1 for the cells of the (2r+1)² block around a cell (itself
    included) that lie in the study area, 0 elsewhere. Returns (z, local sum);
    both are NaN outside the mask.
    """
    x = np.where(mask, np.asarray(x, dtype=float), 0.0)
    m = mask.astype(float)
    n = float(m.sum())
    if n < 2:
        raise ValueError("the study area needs at least two cells")
    kernel = np.ones((2 * radius + 1, 2 * radius + 1))
    local = ndimage.convolve(x, kernel, mode="constant", cval=0.0)
    w = ndimage.convolve(m, kernel, mode="constant", cval=0.0)  # sum of weights (= sum of squared weights)
    xbar = x.sum() / n
    s = np.sqrt(max((x * x).sum() / n - xbar * xbar, 0.0))
    denom = s * np.sqrt(np.maximum(n * w - w * w, 0.0) / (n - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(denom > 0, (local - xbar * w) / denom, 0.0)
    z = np.where(mask, z, np.nan)
    return z, np.where(mask, local, np.nan)


def count_floor(total: float, n_cells: int, block_cells: int, alpha: float) -> int:
    """Fewest tickets in one neighbourhood that a uniform scatter of `total` tickets over `n_cells`
    cells would reach anywhere with probability < alpha (Poisson, Bonferroni over cells)."""
    lam = total / max(n_cells, 1) * block_cells
    if lam <= 0:
        return 1
    return int(stats.poisson.isf(alpha / max(n_cells, 1), lam)) + 1


def peak_labels(z: np.ndarray) -> np.ndarray:
    """Split significant cells (finite z) into hotspots, one per peak of z.

    Each cell climbs to its highest neighbour (3×3, itself included) until it
    reaches a peak; adjacent peak cells (plateaus) form one hotspot. Unlike
    plain connected components, a whole dense district does not become one
    "hotspot" of hundreds of cells: every separate summit is its own place to
    visit. Returns 0 for non-significant cells, 1..k otherwise.
    """
    valid = np.isfinite(z)
    labels = np.zeros(z.shape, dtype=np.int64)
    if not valid.any():
        return labels
    h, w = z.shape
    zz = np.where(valid, z, -np.inf)
    pad = np.pad(zz, 1, constant_values=-np.inf)
    best = zz.copy()
    own_i, own_j = np.indices(z.shape)
    to_i, to_j = own_i, own_j
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di == 0 and dj == 0:
                continue
            nb = pad[1 + di:1 + di + h, 1 + dj:1 + dj + w]
            better = nb > best
            best = np.where(better, nb, best)
            # the neighbour's offset from the cell itself (not from the best neighbour found so far)
            to_i = np.where(better, own_i + di, to_i)
            to_j = np.where(better, own_j + dj, to_j)
    # Follow the pointers from the significant cells only (pointer jumping: log2 of the longest climb steps).
    # A cell only ever points at a significant neighbour inside the raster (the padding and the
    # non-significant cells are -inf, never better), and z strictly rises along a climb, so there are no cycles.
    n = h * w
    cells = np.flatnonzero(valid.ravel())
    target = (to_i * w + to_j).ravel()[cells]
    nodes = np.union1d(cells, target)
    compact = np.full(n, -1, dtype=np.int64)
    compact[nodes] = np.arange(nodes.size)
    up = np.arange(nodes.size)
    up[compact[cells]] = compact[target]
    for _ in range(64):
        nxt = up[up]
        if np.array_equal(nxt, up):
            break
        up = nxt
    top = nodes[up[compact[cells]]]  # where each significant cell's climb ends (raster index)
    peaks = np.zeros(n, dtype=bool)
    peaks[top] = True
    peak_lab, _ = ndimage.label(peaks.reshape(h, w), structure=np.ones((3, 3)))
    labels.ravel()[cells] = peak_lab.ravel()[top]
    return labels


@dataclass(frozen=True)
class GiStar:
    """Result of the grid Gi* analysis."""

    grid: Grid
    cells: pd.DataFrame     # study-area cells with tickets or in a hotspot: gi, gj, lon, lat, n, local, z, p, q, hot, cluster
    clusters: pd.DataFrame  # one row per hotspot: cluster, cells, n, peak, z_max, p_min, lon, lat
    n_cells: int            # cells in the study area
    total: int              # located tickets counted
    floor: int              # count floor a hotspot's peak neighbourhood must reach
    alpha: float
    radius: int
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        k = 2 * self.radius + 1
        return (f"Getis-Ord Gi*，网格 {self.grid.label()}，邻域 {k}×{k} 格，FDR q<{self.alpha:g}"
                f"（Benjamini-Hochberg，研究区 {self.n_cells:,} 格，热点邻域至少 {self.floor} 件）")


@lru_cache(maxsize=64)
def _study_cells(cell_m: int, districts: tuple, streets: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(gi, gj) of the study area's cells (read-only arrays, cached: they depend only on the boundaries)."""
    cells = beijing_cells(cell_m)
    if districts:
        cells = cells[cells["district"].isin(districts)]
    if streets:
        cells = cells[cells["street"].isin(streets)]
    gi, gj = cells["gi"].to_numpy(np.int64).copy(), cells["gj"].to_numpy(np.int64).copy()
    gi.flags.writeable = gj.flags.writeable = False
    return gi, gj


def _study_area(grid: Grid, f: Filters) -> tuple[np.ndarray, np.ndarray]:
    return _study_cells(grid.cell_m, tuple(f.districts), tuple(f.streets))


def _cells_shift(src: Source, grid: Grid) -> int | None:
    """k when `grid` cells are 2**k x 2**k cells of `hotspot_cells` (exact in floating point), else None."""
    if not src.cells:
        return None
    for k in range(5):
        if grid.cell_m == hpos.CELLS_M << k:
            return k
    return None


def cell_counts(con, f: Filters, grid: Grid, src: Source | None = None) -> pd.DataFrame:
    """Located tickets of the selection per grid cell: gi, gj, n."""
    src = src or source(con, f)
    k = _cells_shift(src, grid)
    if k is not None:  # from the day x street x 500 m cell counts
        w = f.where(prefix="q", time_column="day")
        sql = f"""SELECT gi >> $k AS gi, gj >> $k AS gj, CAST(sum(n) AS BIGINT) AS n FROM {hpos.CELLS}
                  WHERE {w.sql} GROUP BY ALL ORDER BY n DESC, gi, gj"""
        return con.execute(sql, {**w.params, "k": k}).df()
    w = f.where(prefix="q")
    sql = f"""SELECT {SQL_GI} AS gi, {SQL_GJ} AS gj, count(*) AS n FROM {src.table}
              WHERE {w.sql} AND {src.located} GROUP BY ALL ORDER BY n DESC, gi, gj"""
    return con.execute(sql, {**w.params, **grid.sql_params()}).df()


def gi_star(con, f: Filters, cell_m: int = DEFAULT_CELL_M, *, alpha: float = DEFAULT_ALPHA,
            radius: int = 1, src: Source | None = None) -> GiStar:
    """Getis-Ord Gi* hotspots of the located tickets matching `f` on a grid of `cell_m` metres."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    src = src or source(con, f)
    grid = Grid(cell_m)
    return gi_star_of_counts(cell_counts(con, f, grid, src), grid, f, alpha=alpha, radius=radius)


def gi_star_of_counts(counts: pd.DataFrame, grid: Grid, f: Filters, *, alpha: float = DEFAULT_ALPHA,
                      radius: int = 1) -> GiStar:
    """`gi_star` from the selection's tickets per grid cell (`counts`: gi, gj, n; however they were counted)."""
    area = _study_area(grid, f)
    # cells with tickets whose centre lies just outside the polygons still belong to the study area
    agi = np.concatenate([area[0], counts["gi"].to_numpy(np.int64)])
    agj = np.concatenate([area[1], counts["gj"].to_numpy(np.int64)])
    empty_cols = ["gi", "gj", "lon", "lat", "n", "local", "z", "p", "q", "hot", "cluster"]
    total = int(counts["n"].sum())
    if agi.size:
        i0, j0 = int(agi.min()) - radius, int(agj.min()) - radius
        shape = (int(agi.max()) - i0 + radius + 1, int(agj.max()) - j0 + radius + 1)
        mask = np.zeros(shape, dtype=bool)
        mask[agi - i0, agj - j0] = True
    else:
        mask = np.zeros((0, 0), dtype=bool)
    if total == 0 or mask.sum() < 2:
        return GiStar(grid, pd.DataFrame(columns=empty_cols),
                      pd.DataFrame(columns=["cluster", "cells", "n", "peak", "z_max", "p_min", "lon", "lat"]),
                      int(mask.sum()), total, 0, alpha, radius, ["所选条件下没有带坐标的工单"])
    x = np.zeros(shape)
    x[counts["gi"].to_numpy() - i0, counts["gj"].to_numpy() - j0] = counts["n"].to_numpy()
    z, local = getis_ord_gi_star(x, mask, radius)
    ii, jj = np.nonzero(mask)
    zc = z[ii, jj]
    p = stats.norm.sf(zc)
    q = stats.false_discovery_control(p, method="bh")
    n_cells = int(mask.sum())
    floor = max(2, count_floor(total, n_cells, (2 * radius + 1) ** 2, alpha))
    hot = np.zeros(shape, dtype=bool)
    # a hot cell's own neighbourhood must reach the floor, or sparse single tickets next to a real
    # hotspot would be merged into it (Gi*'s normal approximation calls almost any lone ticket significant)
    hot[ii, jj] = (q < alpha) & (zc > 0) & (local[ii, jj] >= floor)
    labels = peak_labels(np.where(hot, z, np.nan))
    cells = pd.DataFrame({"gi": ii + i0, "gj": jj + j0, "n": x[ii, jj].astype(int), "local": local[ii, jj],
                          "z": zc, "p": p, "q": q, "hot": hot[ii, jj], "cluster": labels[ii, jj]})
    lon, lat = grid.centre(cells["gi"].to_numpy(), cells["gj"].to_numpy())
    cells.insert(2, "lon", lon)
    cells.insert(3, "lat", lat)
    cells = cells[(cells["n"] > 0) | cells["hot"]].reset_index(drop=True)
    hot_cells = cells[cells["hot"]]
    if len(hot_cells):
        g = hot_cells.assign(wn=hot_cells["n"] * hot_cells["lon"], wa=hot_cells["n"] * hot_cells["lat"]) \
            .groupby("cluster")
        clusters = pd.DataFrame({
            "cells": g.size(), "n": g["n"].sum(), "peak": g["local"].max(), "z_max": g["z"].max(),
            "p_min": g["p"].min(), "wn": g["wn"].sum(), "wa": g["wa"].sum(),
        }).reset_index()
        clusters = clusters[(clusters["peak"] >= floor) & (clusters["n"] > 0)].copy()
        clusters["lon"] = clusters["wn"] / clusters["n"]
        clusters["lat"] = clusters["wa"] / clusters["n"]
        clusters = clusters.drop(columns=["wn", "wa"]).sort_values(["n", "z_max"], ascending=False)
        kept = set(clusters["cluster"].tolist())
        # significant cells of clusters below the count floor are not hotspots
        drop = cells["hot"] & ~cells["cluster"].isin(kept)
        cells.loc[drop, "hot"] = False
        cells.loc[~cells["hot"], "cluster"] = 0
        cells = cells[(cells["n"] > 0) | cells["hot"]].reset_index(drop=True)
        # renumber 1..k by rank
        renum = {old: k + 1 for k, old in enumerate(clusters["cluster"].tolist())}
        clusters["cluster"] = clusters["cluster"].map(renum)
        lookup = np.zeros(int(cells["cluster"].max()) + 1, dtype=np.int64)
        lookup[list(renum)] = list(renum.values())
        cells["cluster"] = lookup[cells["cluster"].to_numpy(np.int64)]
        clusters = clusters.reset_index(drop=True)
    else:
        clusters = pd.DataFrame(columns=["cluster", "cells", "n", "peak", "z_max", "p_min", "lon", "lat"])
    notes = [] if len(clusters) else ["未发现统计显著的聚集（热点）"]
    return GiStar(grid, cells, clusters, n_cells, total, floor, alpha, radius, notes)


# ---------------------------------------------------------------- tickets
def located_tickets(con, f: Filters, limit: int = MAX_TICKETS) -> pd.DataFrame:
    """The located tickets of the selection with what the hotspot steps need (latest `limit`)."""
    w = f.where(prefix="h")
    sql = f"""
        SELECT ticket_id, received_at, closed_at, lon, lat, {PROBLEM_SQL} AS problem,
               district, street, address
        FROM tickets
        WHERE {w.sql} AND {LOCATED_SQL}
        ORDER BY received_at DESC, ticket_id
        LIMIT $lim
    """
    return con.execute(sql, {**w.params, "lim": int(limit)}).df()


def _xy_m(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Local equirectangular metres (good to < 0.1 % over Beijing)."""
    lat0 = np.radians(40.0)
    return np.column_stack([np.radians(lon) * 6371008.8 * np.cos(lat0), np.radians(lat) * 6371008.8])


def group_places(lon, lat, radius_m: float = REPEAT_RADIUS_M) -> np.ndarray:
    """Group points within `radius_m` of a leader into places; returns a place id per point.

    Leaders are taken greedily, the point with most unassigned neighbours first,
    so every member lies within `radius_m` of its place's leader (no chaining).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    n = lon.size
    place = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return place
    xy = _xy_m(lon, lat)
    tree = cKDTree(xy)
    # neighbour counts without materialising pairs (a busy crossing has 10^6 pairs within 100 m)
    degree = tree.query_ball_point(xy, radius_m, return_length=True) - 1
    next_id = 0
    for idx in np.argsort(-degree, kind="stable"):
        if degree[idx] == 0:
            break
        if place[idx] >= 0:
            continue
        nb = np.asarray(tree.query_ball_point(xy[idx], radius_m), dtype=np.int64)  # includes idx itself
        place[nb[place[nb] < 0]] = next_id
        next_id += 1
    alone = place < 0
    place[alone] = np.arange(next_id, next_id + int(alone.sum()))
    return place


def _modes(df: pd.DataFrame, key: str, col: str) -> pd.Series:
    """Most frequent non-empty value of `col` per `key` (ties: alphabetical), "" where none.

    Works on integer codes: pandas groupby over Arrow strings is ~10x slower.
    """
    kc, kuniq = pd.factorize(df[key], sort=False)
    vals = df[col].astype(object).where(df[col].notna(), "").astype(str)
    vc, vuniq = pd.factorize(vals, sort=True)
    ok = vals.to_numpy() != ""
    out = pd.Series("", index=pd.Index(kuniq, name=key), dtype=object)
    if ok.any():
        c = pd.DataFrame({"k": kc[ok], "v": vc[ok]}).value_counts().reset_index(name="n")
        c = c.sort_values(["k", "n", "v"], ascending=[True, False, True]).drop_duplicates("k")
        out.iloc[c["k"].to_numpy()] = np.asarray(vuniq, dtype=object)[c["v"].to_numpy()]
    return out


def _lists(df: pd.DataFrame, key: str, col: str) -> pd.Series:
    """Values of `col` per `key` as lists, in the frame's order (faster than groupby.agg(list))."""
    kc, kuniq = pd.factorize(df[key], sort=False)
    order = np.argsort(kc, kind="stable")
    vals = df[col].to_numpy(object)[order]
    cuts = np.flatnonzero(np.diff(kc[order])) + 1
    return pd.Series([list(x) for x in np.split(vals, cuts)], index=pd.Index(kuniq[np.unique(kc)], name=key)) \
        if len(df) else pd.Series([], dtype=object)


def _reopened(received: np.ndarray, closed: np.ndarray, window: np.timedelta64,
              min_window: np.timedelta64 | None = None, spot: np.ndarray | None = None) -> np.ndarray:
    """Per ticket: received between `min_window` and `window` after a ticket there was closed
    (with `spot`, a position id per ticket: a ticket at the same position)."""
    k = received.size
    if k < 2:
        return np.zeros(k, dtype=bool)
    gap = received[:, None] - closed[None, :]                     # [i, j]: time from j's close to i's arrival
    ok = ~np.isnat(gap) & (gap <= window) & (gap > np.timedelta64(0, "s"))
    if min_window is not None:
        ok &= gap >= min_window
    if spot is not None:
        ok &= spot[:, None] == spot[None, :]
    return ok.any(axis=1)


@lru_cache(maxsize=1)
def _area_m2() -> tuple[dict, dict, float]:
    """Areas in m² of Beijing's streets (by district and name), of its districts, and of the city."""
    t = boundaries.street_table()
    streets = {(d, s): a * 1e6 for d, s, a in zip(t["district"], t["street"], t["area_km2"], strict=True)}
    districts = (t.groupby("district")["area_km2"].sum() * 1e6).to_dict()
    return streets, districts, float(t["area_km2"].sum() * 1e6)


def expected_in_disc(places: pd.DataFrame, counts: pd.DataFrame, radius_m: float = REPEAT_RADIUS_M) -> np.ndarray:
    """Tickets of each place's problem expected in a disc of `radius_m` by chance over the same period.

    `places`: problem, district, street (the place's most frequent ones). `counts`: problem, district,
    street, n: the located tickets of the selection. The rate is the problem's tickets per m² of the
    place's street, else of its district (no street), else of the city (no district)."""
    streets, districts, city = _area_m2()
    c = counts.assign(district=counts["district"].fillna(""), street=counts["street"].fillna(""))
    by_street = c.groupby(["problem", "district", "street"])["n"].sum().to_dict()
    by_district = c.groupby(["problem", "district"])["n"].sum().to_dict()
    by_city = c.groupby("problem")["n"].sum().to_dict()
    disc = np.pi * radius_m * radius_m
    out = np.empty(len(places))
    for k, (pr, d, s) in enumerate(zip(places["problem"].tolist(), places["district"].fillna("").tolist(),
                                       places["street"].fillna("").tolist(), strict=True)):
        if s and (d, s) in streets:
            out[k] = by_street.get((pr, d, s), 0) / streets[(d, s)] * disc
        elif d and d in districts:
            out[k] = by_district.get((pr, d), 0) / districts[d] * disc
        else:
            out[k] = by_city.get(pr, 0) / city * disc
    return out


def repeat_flags(n: np.ndarray, expected: np.ndarray, n_after_close: np.ndarray, *,
                 min_count: int = REPEAT_MIN_COUNT, alpha: float = REPEAT_ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """(repeat flag, BH q-value) per place: at least `min_count` tickets and significantly more than a
    Poisson count with mean `expected` (Benjamini-Hochberg over the places), or back after a close."""
    n = np.asarray(n, dtype=float)
    if n.size == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    p = stats.poisson.sf(n - 1, np.maximum(np.asarray(expected, dtype=float), 1e-12))
    q = stats.false_discovery_control(p, method="bh")
    return ((n >= min_count) & (q < alpha)) | (np.asarray(n_after_close) > 0), q


PLACE_COLUMNS = ["place", "problem", "n", "first", "last", "n_after_close", "repeat", "lon", "lat",
                 "district", "street", "address", "ticket_ids", "expected", "q"]


def repeat_places(tickets: pd.DataFrame, *, radius_m: float = REPEAT_RADIUS_M,
                  min_count: int = REPEAT_MIN_COUNT, reopen_days: int = REOPEN_DAYS,
                  alpha: float = REPEAT_ALPHA) -> pd.DataFrame:
    """Places where the same problem was reported at least twice within `radius_m`.

    `tickets` has ticket_id, received_at, closed_at, lon, lat, problem, district,
    street, address (see `located_tickets`). Returns one row per place with n,
    first, last, n_after_close (tickets received within `reopen_days` after an
    earlier ticket there had been closed: the problem came back after a fix),
    repeat (n >= min_count, or back after a fix), lon/lat (mean), district,
    street, address (most frequent) and ticket_ids.
    """
    cols = PLACE_COLUMNS
    if tickets.empty:
        return pd.DataFrame(columns=cols)
    t = tickets.reset_index(drop=True).copy()
    counts = t.assign(n=1).groupby(["problem", "district", "street"], dropna=False)["n"].sum().reset_index()
    t["place"] = -1
    offset = 0
    for _, idx in t.groupby("problem", sort=True).indices.items():
        ids = group_places(t["lon"].to_numpy()[idx], t["lat"].to_numpy()[idx], radius_m)
        t.loc[idx, "place"] = ids + offset
        offset += int(ids.max()) + 1
    sizes = t["place"].map(t["place"].value_counts())
    t = t[sizes >= 2].sort_values(["place", "received_at", "ticket_id"]).reset_index(drop=True)
    if t.empty:
        return pd.DataFrame(columns=cols)
    rec = t["received_at"].to_numpy("datetime64[s]")
    clo = pd.to_datetime(t["closed_at"]).to_numpy("datetime64[s]")
    window = np.timedelta64(int(reopen_days) * 86400, "s")
    min_window = np.timedelta64(REOPEN_MIN_DAYS * 86400, "s")
    pi, pj = POS_GRID.index(t["lon"].to_numpy(float), t["lat"].to_numpy(float))
    spot = pi * (1 << 32) + pj
    after = np.zeros(len(t), dtype=bool)
    for idx in t.groupby("place", sort=False).indices.values():
        after[idx] = _reopened(rec[idx], clo[idx], window, min_window, spot[idx])
    t["after_close"] = after
    g = t.groupby("place")
    out = pd.DataFrame({
        "problem": g["problem"].first(), "n": g.size(), "first": g["received_at"].min(),
        "last": g["received_at"].max(), "n_after_close": g["after_close"].sum().astype(int),
        "lon": g["lon"].mean(), "lat": g["lat"].mean(),
        "district": _modes(t, "place", "district"), "street": _modes(t, "place", "street"),
        "address": _modes(t, "place", "address"), "ticket_ids": _lists(t, "place", "ticket_id"),
    }).reset_index()
    out["expected"] = expected_in_disc(out, counts, radius_m)
    out["repeat"], out["q"] = repeat_flags(out["n"].to_numpy(), out["expected"].to_numpy(),
                                           out["n_after_close"].to_numpy(), min_count=min_count, alpha=alpha)
    out = out.sort_values(["repeat", "n_after_close", "n", "last"], ascending=False).reset_index(drop=True)
    out["place"] = np.arange(1, len(out) + 1)
    return out[cols]


# ---------------------------------------------------------------- repeat places and the table, in SQL
POS_CELL_M = hpos.POS_CELL_M  # tickets are first snapped to positions of this size (SQL GROUP BY)
MAX_POSITIONS = 120_000    # above this many positions they are merged 2x2 (40 m, 80 m, ...) before grouping
MAX_PLACES = 5_000         # the greedy grouping stops after this many places (densest first)
MAX_IDS = 1_000            # ticket ids kept per table row / place (latest first; drill-down shows 1,000)

POS_GRID = hpos.POS_GRID
SQL_PI = "(CAST(floor(lat / $p_dlat) AS BIGINT) >> $p_shift)"
SQL_PJ = "(CAST(floor(lon / $p_dlon) AS BIGINT) >> $p_shift)"


def _pos_sql(src: Source, shift: int) -> tuple[str, str, str, dict]:
    """(problem, pi, pj) expressions on `src` and their parameters: `hotspot_tickets` stores the three
    (the same expressions, evaluated at import), `tickets` computes them."""
    if src.fast:
        return "problem", "(pi >> $p_shift)", "(pj >> $p_shift)", {"p_shift": int(shift)}
    return PROBLEM_SQL, SQL_PI, SQL_PJ, {"p_dlat": POS_GRID.dlat, "p_dlon": POS_GRID.dlon, "p_shift": int(shift)}


def positions(con, f: Filters, src: Source | None = None) -> pd.DataFrame:
    """Located tickets of the selection counted per problem and 20 m position (one SQL GROUP BY).

    Columns: problem, pi, pj, n, lon, lat (mean of the tickets).
    """
    src = src or source(con, f)
    w = f.where(prefix="h")
    problem, pi, pj, pp = _pos_sql(src, 0)
    sql = f"""
        SELECT {problem} AS problem, {pi} AS pi, {pj} AS pj, count(*) AS n,
               avg(lon) AS lon, avg(lat) AS lat
        FROM {src.table}
        WHERE {w.sql} AND {src.located}
        GROUP BY ALL
        ORDER BY problem, pi, pj  -- a fixed order: the greedy grouping breaks ties by position
    """
    return con.execute(sql, {**w.params, **pp}).df()


def _positions_on_own_cursor(con, f: Filters, src: Source) -> pd.DataFrame:
    """`positions()` on a cursor of its own (a connection's statements run one at a time)."""
    cur = con.cursor()
    try:
        return positions(cur, f, src)
    finally:
        cur.close()


def _coarsen(pos: pd.DataFrame, shift: int) -> pd.DataFrame:
    """Positions merged into cells 2**shift times larger (weighted mean position)."""
    p = pos.assign(pi=pos["pi"].to_numpy() >> shift, pj=pos["pj"].to_numpy() >> shift,
                   wlon=pos["lon"] * pos["n"], wlat=pos["lat"] * pos["n"])
    g = p.groupby(["problem", "pi", "pj"], sort=False, observed=True)  # (a categorical problem: only its rows)
    out = pd.DataFrame({"n": g["n"].sum(), "wlon": g["wlon"].sum(), "wlat": g["wlat"].sum()}).reset_index()
    out["lon"] = out["wlon"] / out["n"]
    out["lat"] = out["wlat"] / out["n"]
    return out.drop(columns=["wlon", "wlat"])


def group_positions(lon, lat, weight, radius_m: float = REPEAT_RADIUS_M,
                    max_places: int | None = None) -> tuple[np.ndarray, int]:
    """`group_places` for weighted positions (a position holds `weight` tickets).

    A position's priority is the number of other tickets within `radius_m`
    (exact, from the pairs of positions closer than the radius); leaders are
    taken greedily from the highest. With `max_places`, grouping stops after
    that many places of two or more tickets; the rest stay alone (-1 is never
    returned: every position gets an id). Returns (place ids, number of places formed).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    w = np.asarray(weight, dtype=np.int64)
    n = lon.size
    place = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return place, 0
    xy = _xy_m(lon, lat)
    tree = cKDTree(xy, balanced_tree=False, compact_nodes=False)  # built ~2x faster, queried as fast here
    # weighted degrees from the pairs; the neighbours themselves are asked of the tree for the few positions
    # that lead a place (sorting ~10^6 pairs into neighbour lists cost more than those queries)
    pairs = tree.query_pairs(radius_m, output_type="ndarray")
    degree = w - 1
    if len(pairs):
        a, b = pairs[:, 0], pairs[:, 1]
        degree = degree + (np.bincount(a, weights=w[b], minlength=n)
                           + np.bincount(b, weights=w[a], minlength=n)).astype(np.int64)
    order = np.lexsort((-w, -degree))
    order = order[:int(np.count_nonzero(degree > 0))]  # the rest have no neighbour and hold one ticket
    cap = n if max_places is None else max_places
    next_id = 0
    for start in range(0, len(order), 512):  # skip positions already placed a block at a time
        block = order[start:start + 512]
        for idx in block[place[block] < 0].tolist():
            if next_id >= cap:
                break
            if place[idx] >= 0:
                continue
            nb = np.asarray(tree.query_ball_point(xy[idx], radius_m, return_sorted=False), dtype=np.int64)
            nb = nb[place[nb] < 0]  # idx itself included (distance 0)
            if w[nb].sum() < 2:
                continue
            place[nb] = next_id
            next_id += 1
        if next_id >= cap:
            break
    formed = next_id
    alone = place < 0
    place[alone] = np.arange(next_id, next_id + int(alone.sum()))
    return place, formed


@dataclass(frozen=True)
class _Places:
    places: pd.DataFrame    # problem, pi, pj, n, lon, lat, place of every position in a place of >= 2 tickets
    shift: int              # positions are POS_CELL_M * 2**shift metres
    located: int
    notes: list[str]
    problems: tuple = ()    # the distinct problems of the selection's located tickets (empty: not known)


def _place_positions(con, f: Filters, radius_m: float, max_positions: int, max_places: int,
                     src: Source | None = None, pos: pd.DataFrame | None = None) -> _Places:
    """The repeat places of the selection (`pos`: its `positions()` when already counted)."""
    pos = positions(con, f, src) if pos is None else pos
    located = int(pos["n"].sum()) if len(pos) else 0
    notes: list[str] = []
    shift = 0
    while len(pos) > max_positions and shift < 3:
        shift += 1
        pos = _coarsen(pos, 1)
    if shift:
        notes.append(f"带坐标工单 {located:,} 件，重复点位先按 {POS_CELL_M << shift} 米位置合并后再按 "
                     f"{radius_m:.0f} 米聚合")
    cols = ["problem", "pi", "pj", "n", "lon", "lat"]
    pieces = []
    offset = formed_all = 0
    # problems with the most tickets first, so a cap on places keeps the busiest problems whole
    order = pos.groupby("problem")["n"].sum().sort_values(ascending=False, kind="stable").index
    groups = pos.groupby("problem", sort=False).indices
    for problem in order:
        sub = pos.iloc[groups[problem]]
        ids, formed = group_positions(sub["lon"], sub["lat"], sub["n"], radius_m,
                                      max_places=max(max_places - formed_all, 0))
        keep = ids < formed  # positions in a place of two or more tickets
        pieces.append(sub.loc[keep, cols].assign(place=ids[keep] + offset))
        offset += formed
        formed_all += formed
    places = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=[*cols, "place"])
    if formed_all >= max_places:
        notes.append(f"重复点位只计算最密集的前 {max_places:,} 处")
    return _Places(places, shift, located, notes, tuple(order.tolist()))


def problem_counts(con, f: Filters, src: Source, problems) -> pd.DataFrame:
    """Located tickets of the selection per problem, district and street (for these problems)."""
    w = f.where(prefix="h")
    sql = f"""SELECT {PROBLEM_SQL} AS problem, district, street, count(*) AS n FROM {src.table}
              WHERE {w.sql} AND {src.located} AND {PROBLEM_SQL} IN (SELECT unnest($probs::VARCHAR[]))
              GROUP BY ALL"""
    return con.execute(sql, {**w.params, "probs": [str(x) for x in problems]}).df()


ALL_PROBLEMS_MAX_LOCATED = 200_000  # without a chosen problem, repeat places only below this many located tickets


def _temp_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"  # our own identifier, not user input


def _member_cte(f: Filters, hot_keys: str, place_keys: str, grid: Grid, shift: int,
                src: Source = TICKETS_SOURCE, *, lean: bool = False, extra: str = "") -> tuple[str, dict]:
    """`m`: (key, ticket) for every located ticket of the selection in a hotspot cell or a place.

    `lean`: only the ids, times and positions (for `ticket_ids`), not the address columns nor `back`.
    `extra`: a further condition on the tickets (fixed SQL, e.g. " AND ticket_id IN (SELECT ... lk)")."""
    w = f.where(prefix="h")
    # `back` (received 30-90 days after a close at the same problem and 20 m position, over the whole store):
    # stored in hotspot_tickets, else computed the same way from tickets (slow: every located ticket)
    back = "back" if src.fast else f"ticket_id IN ({hpos.back_ids_sql(w.sql)})"
    problem, pi, pj, pp = _pos_sql(src, shift)
    if not src.fast and not lean:  # back_ids_sql bins the positions itself
        pp = {**pp, "p_dlat": POS_GRID.dlat, "p_dlon": POS_GRID.dlon}
    cols = "" if lean else f"district, street, address, {back} AS back, "
    sql = f"""
        t AS (SELECT ticket_id, received_at, {cols}{problem} AS problem,
                     {pi} AS pi, {pj} AS pj, {SQL_GI} AS gi, {SQL_GJ} AS gj
              FROM {src.table} WHERE {w.sql} AND {src.located}{extra}),
        m AS (SELECT k.key, t.* FROM t JOIN {hot_keys} k USING (gi, gj)
              UNION ALL
              SELECT k.key, t.* FROM t JOIN {place_keys} k USING (problem, pi, pj))
    """
    return sql, {**w.params, **grid.sql_params(), **pp}


def _light_stats(con, f: Filters, hot_keys: str, k: int, mid: pd.Timestamp) -> dict:
    """`_member_stats(light=True)` from the day x street x cell counts (`hotspot_cells`, cells 2**k of them).

    Exact: `mid` is a midnight or a noon, and the cells carry the tickets received after noon."""
    w = f.where(prefix="c", time_column="day")
    sql = f"""SELECT k.key, date_trunc('month', c.day)::DATE AS month, CAST(sum(c.n) AS BIGINT) AS n,
                     min(c.first) AS first, max(c.last) AS last,
                     CAST(sum(CASE WHEN c.day > $midday THEN c.n
                                   WHEN c.day = $midday THEN (CASE WHEN $noon THEN c.n_pm ELSE c.n END)
                                   ELSE 0 END) AS BIGINT) AS late
              FROM {hpos.CELLS} c JOIN {hot_keys} k ON (c.gi >> $k) = k.gi AND (c.gj >> $k) = k.gj
              WHERE {w.sql}
              GROUP BY ALL"""
    params = {**w.params, "k": int(k), "midday": mid.date(), "noon": bool(mid.hour == 12)}
    months = con.execute(sql, params).df()
    base = _key_totals(months)
    base["ids"] = [[] for _ in range(len(base))]
    return {"months": months, "base": base, "where": pd.DataFrame(columns=["district", "street", "address"]),
            "problem": pd.Series(dtype=object), "clues": pd.Series(dtype=object), "after": pd.Series(dtype="int64")}


def _keyed(df: pd.DataFrame) -> pd.DataFrame:
    """`df` indexed by its `key` column as plain Python strings (isin/alignment on pandas' Arrow strings are
    10x slower, and the keys are only looked up)."""
    out = df.set_index("key")
    out.index = out.index.astype(object)
    return out


def _key_totals(months: pd.DataFrame) -> pd.DataFrame:
    """n, first, last, late (and n_back when present) per key from the per-key-and-month rows."""
    g = months.groupby(months["key"].astype(object))
    cols = [c for c in ("n", "late", "n_back") if c in months.columns]
    out = g[cols].sum()
    out["first"] = g["first"].min()
    out["last"] = g["last"].max()
    return out[["n", "first", "last", "late", *cols[2:]]]


CLUES_SQL = """WITH l AS (SELECT DISTINCT x.key, ct.clue_id FROM (SELECT key, ticket_id FROM {members}) x
                           JOIN {links} ct USING (ticket_id))
                SELECT key, string_agg(clue_id, '、' ORDER BY clue_id) AS clues FROM l GROUP BY key"""


# the same from the members CTE restricted to the linked tickets (`lk`: the selection's links)
LINKED_CLUES_SQL = """WITH lk AS (SELECT ticket_id, clue_id FROM {links} WHERE {where}), {cte}
    SELECT key, string_agg(DISTINCT clue_id, '、' ORDER BY clue_id) AS clues FROM m JOIN lk USING (ticket_id)
    GROUP BY key"""
LINKED_ONLY = " AND ticket_id IN (SELECT ticket_id FROM lk)"


def _key_clues(con, f: Filters, members: str, params: dict, src: Source,
               linked: tuple[str, dict] | None = None) -> pd.Series:
    """The linked clues of each key ("、"-joined, sorted) from a (key, ticket_id) relation `members`.

    The selection's links come from `funnel_tickets` (data/links.py: one row per distinct clue-ticket link of
    an existing ticket, with the ticket's filter columns, sorted by time) when it is current and the filters
    are columns it has (always so for `hotspot_tickets`): about a tenth of the members. `linked`: the members
    CTE (`_member_cte(extra=LINKED_ONLY)`) and its parameters, so only the linked tickets are joined to the
    keys. Else from `clue_tickets`, limited to the members' id range (ids carry the date: DuckDB skips row
    groups)."""
    if src.fast and links.ready(con):
        w = f.where(prefix="l")
        if linked is not None:
            sql = LINKED_CLUES_SQL.format(links=links.TABLE, where=w.sql, cte=linked[0])
            return _keyed(con.execute(sql, {**linked[1], **w.params}).df())["clues"]
        sql = CLUES_SQL.format(members=members, links=f"(SELECT ticket_id, clue_id FROM {links.TABLE} WHERE {w.sql})")
        return _keyed(con.execute(sql, {**params, **w.params}).df())["clues"]
    sql = f"SELECT min(ticket_id), max(ticket_id) FROM {members}"
    lo, hi = con.execute(sql, params).fetchall()[0]
    sql = CLUES_SQL.format(members=members, links="(SELECT DISTINCT ticket_id, clue_id FROM clue_tickets "
                                                  "WHERE ticket_id BETWEEN $lo AND $hi)")
    return _keyed(con.execute(sql, {**params, "lo": lo or "", "hi": hi or ""}).df())["clues"]


MEMBERS_IN_MEMORY = 100_000  # at most this many (row, ticket) pairs are kept in a temporary table ...
MEMBERS_IN_MEMORY_FAST = 600_000  # ... or this many when they come from the narrow hotspot_tickets
MEMBERS_DIRECT_FROM = 200_000  # from hotspot_tickets, above this many pairs each query joins again (no temp table)


# The latest `max_ids` ticket ids of each key, newest first (ties on the time: the larger id first, so the lists
# do not depend on the order DuckDB reads the members in: the eager and the lazy path give the same lists).
IDS_SQL = "SELECT key, max_by(ticket_id, (received_at, ticket_id), $max_ids) AS ids FROM {src} GROUP BY key"


def _member_stats(con, f: Filters, hot_cells: pd.DataFrame, places: pd.DataFrame, grid: Grid, shift: int, *,
                  mid: pd.Timestamp, max_ids: int, expected: int, light: bool = False,
                  source: Source = TICKETS_SOURCE, ids: bool = True, problem: str | None = None) -> dict:
    """Per key (h<cluster> / p<place>): counts, dates, halves, ids, modes, months, clues, after-close counts.

    `ids=False`: the ticket ids are not listed (None per key; `ticket_ids()` fetches them for the rows a user
    opens) unless the modes need them (more members than fit the temporary table). `problem`: the one problem
    of every located ticket of the selection, when known (then it is every row's problem, not asked of SQL).

    The (key, ticket) pairs are computed once into a temporary table when there are at most
    MEMBERS_IN_MEMORY of them (`expected`); above that every aggregate streams over the tickets again,
    so memory stays bounded by the number of rows, not of tickets. `light`: counts and months only
    (one streaming scan), for the capped all-problem case.
    """
    hk, pk, mt, lt = (_temp_name(p) for p in ("hs_hot", "hs_place", "hs_members", "hs_latest"))
    # the keys from two small frames (a replacement scan of the local frame: no list parameters to bind)
    # (the keys are made in SQL: building ~10^5 key strings in pandas cost more than the join)
    hot_keys = hot_cells[["gi", "gj", "cluster"]]  # noqa: F841 - read by the SQL below
    place_keys = places[["problem", "pi", "pj", "place"]]  # noqa: F841 - read by the SQL below
    # Temp table names come from _temp_name (fixed prefixes), never from the user.
    sql = f"CREATE TEMP TABLE {hk} AS SELECT gi::BIGINT AS gi, gj::BIGINT AS gj, 'h' || cluster AS key FROM hot_keys"
    con.execute(sql)
    sql = (f"CREATE TEMP TABLE {pk} AS SELECT problem::VARCHAR AS problem, pi::BIGINT AS pi, pj::BIGINT AS pj, "
           "'p' || place AS key FROM place_keys")
    con.execute(sql)
    try:
        k = _cells_shift(source, grid)
        if light and k is not None and mid in (mid.normalize(), mid.normalize() + pd.Timedelta(hours=12)):
            return _light_stats(con, f, hk, k, mid)
        cte, params = _member_cte(f, hk, pk, grid, shift, source)
        select = f"""WITH {cte}
            SELECT key, ticket_id, received_at, problem, coalesce(district, '') AS district,
                   coalesce(street, '') AS street, coalesce(address, '') AS address, back
            FROM m"""
        in_memory = expected <= (MEMBERS_IN_MEMORY_FAST if source.fast else MEMBERS_IN_MEMORY)
        # From the narrow hotspot_tickets, with many pairs, each query joins the selection to the keys again: that
        # costs less than materialising the (key, ticket) pairs with their address strings (≈ 0.2 s CPU for 480 k
        # pairs at 25 M); below MEMBERS_DIRECT_FROM the temporary table is as cheap or cheaper.
        direct = in_memory and source.fast and expected > MEMBERS_DIRECT_FROM
        if in_memory and not direct:
            sql = f"CREATE TEMP TABLE {mt} AS {select}"
            con.execute(sql, params)
            src, sp = mt, {}
        else:
            src, sp = f"({select}) AS members", params
        out: dict = {}
        # per key and month; with the places, how many came back after a fix (the members received 30-90 days
        # after a close at their problem and 20 m position: `back`)
        n_back = "" if light else ", count(*) FILTER (WHERE back) AS n_back"
        sql = f"""SELECT key, date_trunc('month', received_at)::DATE AS month, count(*) AS n,
                         min(received_at) AS first, max(received_at) AS last,
                         count(*) FILTER (WHERE received_at >= $mid) AS late{n_back}
                  FROM {src} GROUP BY ALL"""
        months = con.execute(sql, {**sp, "mid": mid.to_pydatetime()}).df()
        out["months"] = months
        base = _key_totals(months)
        if light:
            base["ids"] = [[] for _ in range(len(base))]
            out["base"] = base
            out["where"] = pd.DataFrame(columns=["district", "street", "address"])
            out["problem"] = out["clues"] = pd.Series(dtype=object)
            out["after"] = pd.Series(dtype="int64")
            return out
        if ids or not in_memory:
            sql = IDS_SQL.format(src=src)
            ids = _keyed(con.execute(sql, {**sp, "max_ids": int(max_ids)}).df())["ids"].map(list)
            base["ids"] = ids.reindex(base.index)
        else:
            base["ids"] = None
        out["base"] = base
        if in_memory:
            modes_src, msp = src, sp
        else:  # too many tickets to group them all: modes and clues from each row's latest `max_ids` tickets
            w = f.where(prefix="x")
            pairs = ids.explode()
            sql = f"""CREATE TEMP TABLE {lt} AS
                SELECT k.key, t.ticket_id, {PROBLEM_SQL} AS problem, coalesce(t.district, '') AS district,
                       coalesce(t.street, '') AS street, coalesce(t.address, '') AS address
                FROM {source.table} t JOIN (SELECT unnest($mk::VARCHAR[]) AS key, unnest($ml::VARCHAR[]) AS ticket_id) k
                     USING (ticket_id)
                WHERE {w.sql}"""
            con.execute(sql, {**w.params, "mk": pairs.index.astype(str).tolist(), "ml": pairs.astype(str).tolist()})
            modes_src, msp = lt, {}
        # the most frequent (district, street, address) and problem of each row (ties: alphabetical); a place's
        # members all have its problem (they are joined on it)
        sql = f"""WITH c AS (SELECT key, district, street, address, count(*) AS c FROM {modes_src} GROUP BY ALL)
                  SELECT key, district, street, address FROM c
                  QUALIFY row_number() OVER (PARTITION BY key ORDER BY c DESC, district, street, address) = 1"""
        out["where"] = _keyed(con.execute(sql, msp).df())
        if problem is not None:
            hot = base.index[base.index.str.startswith("h")]
            hot_problem = pd.Series(problem, index=hot, dtype=object)
        else:
            hot_src = modes_src
            if direct:  # the hotspot rows' members only (the places' join to an empty key table)
                hot_cte, _ = _member_cte(f, hk, f"(SELECT problem, pi, pj, key FROM {pk} LIMIT 0)", grid, shift, source)
                hot_src = f"(WITH {hot_cte} SELECT key, problem FROM m) AS members"
            sql = f"""WITH c AS (SELECT key, problem, count(*) AS c FROM {hot_src} WHERE key LIKE 'h%' GROUP BY ALL)
                      SELECT key, problem FROM c QUALIFY row_number() OVER (PARTITION BY key ORDER BY c DESC, problem) = 1"""
            hot_problem = _keyed(con.execute(sql, msp).df())["problem"]
        first = places.drop_duplicates("place")
        place_problem = pd.Series(first["problem"].to_numpy(object),
                                  index=pd.Index(("p" + first["place"].astype(str)).to_numpy(object), dtype=object))
        out["problem"] = pd.concat([hot_problem, place_problem[place_problem.index.isin(base.index)]]).astype("str")
        linked = _member_cte(f, hk, pk, grid, shift, source, lean=True, extra=LINKED_ONLY) if direct else None
        out["clues"] = _key_clues(con, f, modes_src, msp, source, linked)
        if places.empty:
            out["after"] = pd.Series(dtype="int64")
            return out
        out["after"] = base.loc[base.index.str.startswith("p"), "n_back"].rename("n_after_close")
    finally:
        for name in (mt, lt, hk, pk):
            sql = f"DROP TABLE IF EXISTS {name}"
            con.execute(sql)
    return out


# ---------------------------------------------------------------- the ranked table
def _trend_text(a: int, b: int) -> str:
    """Tickets in the first (a) and second (b) half of the period, in words."""
    if b >= max(a * 1.25, a + 2):
        word = "↑ 上升"
    elif a >= max(b * 1.25, b + 2):
        word = "↓ 下降"
    else:
        word = "→ 持平"
    return f"{word}（前半期 {a} → 后半期 {b}）"


def _clues(con, ticket_ids: list[str]) -> pd.DataFrame:
    if not ticket_ids:
        return pd.DataFrame(columns=["ticket_id", "clue_id"])
    sql = """SELECT ticket_id, clue_id FROM clue_tickets
             WHERE ticket_id IN (SELECT unnest($ids::VARCHAR[])) ORDER BY clue_id"""
    return con.execute(sql, {"ids": list(ticket_ids)}).df()


def latest_texts(con, ticket_ids: list[str], f: Filters | None = None) -> pd.DataFrame:
    """ticket_id, received_at and masked content of these tickets.

    `f` (the filters the ids came from) lets DuckDB skip row groups outside the dates.
    """
    if not ticket_ids:
        return pd.DataFrame(columns=["ticket_id", "received_at", "content"])
    w = (f or Filters()).where(prefix="x")
    sql = f"""SELECT ticket_id, received_at, content, complainant_name FROM tickets
              WHERE {w.sql} AND ticket_id IN (SELECT unnest($ids::VARCHAR[]))"""
    df = con.execute(sql, {**w.params, "ids": list(ticket_ids)}).df()
    return privacy.mask_frame(df).drop(columns=["complainant_name"])


def cluster_tickets(con, f: Filters, gi: GiStar, cluster: int, limit: int = 1000) -> pd.DataFrame:
    """The latest `limit` located tickets in the cells of one Gi* hotspot, masked (drill-down when the
    table row carries no ticket ids: the capped all-problem case)."""
    from analytics.maps import TICKET_COLUMNS

    cells = gi.cells[gi.cells["hot"] & (gi.cells["cluster"] == int(cluster))]
    if cells.empty:
        return pd.DataFrame(columns=list(TICKET_COLUMNS))
    w = f.where(prefix="q")
    cols = ", ".join(TICKET_COLUMNS)
    sql = f"""
        SELECT {cols}, complainant_name FROM tickets
        WHERE {w.sql} AND {LOCATED_SQL}
          AND ({SQL_GI}, {SQL_GJ}) IN (SELECT (unnest($cgi::BIGINT[]), unnest($cgj::BIGINT[])))
        ORDER BY received_at DESC LIMIT $lim
    """
    params = {**w.params, **gi.grid.sql_params(), "cgi": cells["gi"].astype("int64").tolist(),
              "cgj": cells["gj"].astype("int64").tolist(), "lim": int(limit)}
    return privacy.mask_frame(con.execute(sql, params).df()).drop(columns=["complainant_name"])


REPEAT_RULE = (f"重复点位：同一问题 {REPEAT_RADIUS_M:.0f} 米内的工单，所选期间内至少 {REPEAT_MIN_COUNT} 件，且显著多于"
               f"该问题在本街道（无街道时按区、全市）的平均密度下一个半径 {REPEAT_RADIUS_M:.0f} 米圆内的偶然件数"
               f"（泊松分布，Benjamini-Hochberg FDR q<{REPEAT_ALPHA:g}）；或在同一 {POS_CELL_M} 米位置上一件工单办结后"
               f" {REOPEN_MIN_DAYS}–{REOPEN_DAYS} 天内再次投诉（办结后再诉）")


TABLE_COLUMNS = ["rank", "kind", "district", "street", "address", "n", "first", "last", "trend", "monthly",
                 "repeat", "n_after_close", "clues", "z", "lon", "lat", "problem", "ticket_ids", "cluster"]


@dataclass(frozen=True, eq=False)
class Members:
    """What `ticket_ids()` needs to list the tickets of a table row or place after the fact: the selection,
    the hotspot cells and place positions the rows were joined on, and each row's key (h<cluster>/p<place>)."""

    f: Filters
    grid: Grid
    shift: int
    src: Source
    hot_cells: pd.DataFrame     # gi, gj, cluster
    positions: pd.DataFrame     # problem, pi, pj, place (the grouping's place ids)
    table_keys: tuple[str, ...]
    place_keys: tuple[str, ...]
    max_ids: int


@dataclass(frozen=True)
class Hotspots:
    """Everything the hotspot view and the visit list show.

    `ticket_ids` (table and places) is None per row when not listed (`hotspot_table(ids=False)`, the
    default): `ticket_ids(con, hot, rows)` lists them for the rows a user opens, from `members`."""

    gi: GiStar
    places: pd.DataFrame   # repeat_places() output (all places with >= 2 tickets)
    table: pd.DataFrame    # TABLE_COLUMNS, ranked
    tickets_used: int
    notes: list[str] = field(default_factory=list)
    members: Members | None = None

    @property
    def method(self) -> str:
        return f"{self.gi.method}；{REPEAT_RULE}"


def _empty_places() -> pd.DataFrame:
    return pd.DataFrame(columns=PLACE_COLUMNS)


def flag_places(places: pd.DataFrame, counts_for: Callable[[np.ndarray], pd.DataFrame], grid: Grid,
                hot_cells: pd.DataFrame, *, radius_m: float = REPEAT_RADIUS_M,
                min_count: int = REPEAT_MIN_COUNT) -> pd.DataFrame:
    """The places of two or more tickets, tested against their problem's local density and ranked.

    `places`: one row per place (key, lon, lat, n, first, last, n_after_close, district, street, address,
    problem, ticket_ids); `counts_for(problems)`: the selection's located tickets per problem, district and
    street for these problems (however they are counted). Adds expected, repeat, q, the Gi* cluster the place
    lies in (0: none) and the rank `place`; blank names become None."""
    places = places[places["n"].to_numpy() >= 2].reset_index(drop=True)
    places["expected"] = expected_in_disc(places, counts_for(places["problem"].unique()), radius_m)
    places["repeat"], places["q"] = repeat_flags(places["n"].to_numpy(), places["expected"].to_numpy(),
                                                 places["n_after_close"].to_numpy(), min_count=min_count)
    places = places.sort_values(["repeat", "n_after_close", "n", "last"], ascending=False)
    cell_cluster = {(int(a), int(b)): int(c) for a, b, c in hot_cells.itertuples(index=False)}
    p_gi, p_gj = grid.index(places["lon"].to_numpy(float), places["lat"].to_numpy(float))
    places["cluster"] = [cell_cluster.get(ij, 0) for ij in zip(p_gi.tolist(), p_gj.tolist(), strict=True)]
    places = places.reset_index(drop=True)
    places["place"] = np.arange(1, len(places) + 1)
    for c in ("district", "street", "address"):
        places[c] = places[c].replace("", None)
    return places


def _id_lists(ids: pd.Series | None, n: int) -> list:
    """Each row's ticket id list (missing: an empty list), or None per row when the ids are not listed."""
    return [x if isinstance(x, list) else [] for x in ids.tolist()] if ids is not None else [None] * n


def ranked_table(clusters: pd.DataFrame, places: pd.DataFrame, hot_keys: pd.Index, base: pd.DataFrame,
                 where: pd.DataFrame, problem: pd.Series, clues: pd.Series, ids: pd.Series | None, *, light: bool,
                 months: tuple[np.ndarray, np.ndarray, np.ndarray, int]) -> pd.DataFrame | None:
    """The table's rows, ranked: every Gi* hotspot (`clusters`, keyed `hot_keys`), then the flagged places
    outside every hotspot (`flag_places`, keyed by their `key`); None when there is neither.

    Per key: `base` (n, first, last, late), `where` (district, street, address modes), `problem`, `clues`,
    `ids` (lists, or None: not listed). `months`: (key, month position, count) of the per-key-and-month rows
    and the number of months. A hotspot is a repeat when a flagged place lies in it. Adds `_key`."""
    flagged = places["repeat"].to_numpy(bool) if len(places) else np.zeros(0, dtype=bool)
    p_cluster = places["cluster"].to_numpy(np.int64)
    p_after = places["n_after_close"].to_numpy(np.int64)
    h_cluster = clusters["cluster"].to_numpy(np.int64)
    inside = flagged & (p_cluster > 0)
    size = max(int(h_cluster.max()) if h_cluster.size else 0, int(p_cluster.max()) if p_cluster.size else 0) + 1
    h_repeat = np.bincount(p_cluster[inside], minlength=size)[h_cluster] > 0
    h_after = np.bincount(p_cluster[inside], weights=p_after[inside], minlength=size)[h_cluster].astype(np.int64)
    lone = flagged & (p_cluster == 0)
    n_hot, n_lone = h_cluster.size, int(lone.sum())
    if n_hot + n_lone == 0:
        return None
    keys = pd.Index([*hot_keys.tolist(), *places["key"].to_numpy(object)[lone].tolist()], dtype=object)
    kept = keys.isin(base.index)
    keys = keys[kept]
    b = base.reindex(keys)
    wh = where.reindex(keys).fillna("")
    table = pd.DataFrame({
        "kind": np.array(["统计热点"] * n_hot + ["重复点位"] * n_lone, dtype=object)[kept],
        "z": np.concatenate([clusters["z_max"].to_numpy(float), np.full(n_lone, np.nan)])[kept],
        "lon": np.concatenate([clusters["lon"].to_numpy(float), places["lon"].to_numpy(float)[lone]])[kept],
        "lat": np.concatenate([clusters["lat"].to_numpy(float), places["lat"].to_numpy(float)[lone]])[kept],
        "repeat": np.concatenate([h_repeat, np.ones(n_lone, dtype=bool)])[kept],
        "n_after_close": np.concatenate([h_after, p_after[lone]])[kept],
        "cluster": np.concatenate([h_cluster, np.zeros(n_lone, dtype=np.int64)])[kept],
        "n": b["n"].astype(int).to_numpy(), "first": b["first"].to_numpy(), "last": b["last"].to_numpy(),
        "ticket_ids": _id_lists(ids.reindex(keys) if ids is not None else None, len(keys)),
        "district": wh["district"].to_numpy(), "street": wh["street"].to_numpy(), "address": wh["address"].to_numpy(),
        "problem": problem.reindex(keys).fillna("全部问题" if light else "").to_numpy(),
        "clues": clues.reindex(keys).fillna("").to_numpy(),
        "_key": keys.to_numpy(object),
    })
    if light and len(table):  # where the hotspot's centre lies
        at = boundaries.assign_points(table["lon"].to_numpy(float), table["lat"].to_numpy(float))
        table["district"] = at["district"].fillna("").to_numpy()
        table["street"] = at["street"].fillna("").to_numpy()
    mon_key, mpos, mon_n, n_months = months
    kpos = keys.get_indexer(mon_key)
    ok = (kpos >= 0) & (mpos >= 0) & (mpos < n_months)
    monthly = np.zeros((len(table), n_months), dtype=np.int64)
    np.add.at(monthly, (kpos[ok], mpos[ok]), mon_n[ok])
    table["monthly"] = monthly.tolist()
    late = b["late"].astype(int).to_numpy()
    table["trend"] = [_trend_text(n - lt, lt) for n, lt in zip(table["n"].tolist(), late.tolist(), strict=True)]
    table = table.sort_values(["n", "repeat", "last"], ascending=False).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def hotspot_table(con, f: Filters, cell_m: int = DEFAULT_CELL_M, *, alpha: float = DEFAULT_ALPHA,
                  radius_m: float = REPEAT_RADIUS_M, min_count: int = REPEAT_MIN_COUNT,
                  max_positions: int = MAX_POSITIONS,
                  max_places: int = MAX_PLACES, max_ids: int = MAX_IDS, ids: bool = False) -> Hotspots:
    """Gi* hotspots and repeat places of the selection, merged into one ranked table.

    A row is a Gi* hotspot (kind 统计热点: its cells' tickets) or a repeat place
    that lies outside every hotspot (kind 重复点位). A hotspot is flagged as
    repeat when a flagged repeat place lies inside it.

    Everything per ticket runs in DuckDB: cell counts for Gi*, tickets per
    problem and 20 m position for the places (only the positions come to
    Python, to be grouped within `radius_m`), then one join of the tickets to
    the hotspot cells and place positions for the table's figures. The cost
    follows the number of cells and positions, not of tickets.

    `ids`: list the latest `max_ids` ticket ids of every row and place (`ticket_ids` columns); by default
    they are None and `ticket_ids()` lists them for the rows a user opens (the drill-down, the visit list).
    """
    src = source(con, f)
    # With a chosen problem the places are always computed: their positions are counted by DuckDB on a second
    # connection while this thread runs Gi* (mostly Python), the two overlapping on the two cores.
    early = None
    if f.topics or f.categories or f.text:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hotspot-positions")
        early = pool.submit(_positions_on_own_cursor, con, f, src)
        pool.shutdown(wait=False)
    gi = gi_star(con, f, cell_m, alpha=alpha, src=src)
    notes = list(gi.notes)
    if gi.total == 0:
        if early is not None:
            early.result()
        return Hotspots(gi, _empty_places(), pd.DataFrame(columns=TABLE_COLUMNS), 0, notes)
    grid = gi.grid
    light = not (f.topics or f.categories or f.text) and gi.total > ALL_PROBLEMS_MAX_LOCATED
    if light:
        pp = _Places(pd.DataFrame(columns=["problem", "pi", "pj", "n", "lon", "lat", "place"]), 0, gi.total, [
            f"未选择具体问题且带坐标工单达 {gi.total:,} 件（超过 {ALL_PROBLEMS_MAX_LOCATED:,} 件）：只计算统计热点及其"
            "工单量、日期和趋势，未计算重复点位、最常见地址和关联线索；点击热点行查看其网格内的工单。"
            "请选择具体问题后查看完整结果"])
    else:
        pp = _place_positions(con, f, radius_m, max_positions, max_places, src,
                              early.result() if early is not None else None)
    notes += pp.notes

    start = pd.Timestamp(f.date_from) if f.date_from else None
    end = (pd.Timestamp(f.date_to) + pd.Timedelta(days=1)) if f.date_to else None
    if start is None or end is None:
        w = f.where(prefix="d")
        sql = f"SELECT min(received_at), max(received_at) FROM {src.table} WHERE {w.sql} AND {src.located}"
        lo, hi = con.execute(sql, w.params).fetchall()[0]
        start = start if start is not None else pd.Timestamp(lo)
        end = end if end is not None else pd.Timestamp(hi)
    last_day = end - pd.Timedelta(microseconds=1) if f.date_to else end
    months = pd.date_range(start.to_period("M").to_timestamp(), last_day.to_period("M").to_timestamp(), freq="MS")
    mid = start + (end - start) / 2

    hot_cells = gi.cells.loc[gi.cells["hot"], ["gi", "gj", "cluster"]]
    expected = int(gi.cells.loc[gi.cells["hot"], "n"].sum()) + (int(pp.places["n"].sum()) if len(pp.places) else 0)
    st = _member_stats(con, f, hot_cells, pp.places, grid, pp.shift, mid=mid,
                       max_ids=max_ids, expected=expected, light=light, source=src, ids=ids,
                       problem=pp.problems[0] if len(pp.problems) == 1 else None)
    base, where, problem, after, clues = st["base"], st["where"], st["problem"], st["after"], st["clues"]
    listed = bool(len(base)) and bool(base["ids"].notna().any())  # ids listed (else None per row: lazy)

    # ---- places (>= 2 tickets within radius_m of a leader); frames built whole from arrays (pandas' per-column
    # assignment and alignment cost more than the numbers here)
    if len(pp.places):
        p = pp.places.assign(wlon=pp.places["lon"] * pp.places["n"], wlat=pp.places["lat"] * pp.places["n"])
        sums = p.groupby("place")[["wlon", "wlat", "n"]].sum()
        keys = pd.Index([f"p{i}" for i in sums.index], dtype=object)
        b = base.reindex(keys)
        wh = where.reindex(keys)
        npos = sums["n"].to_numpy()
        places = pd.DataFrame({
            "key": keys, "lon": sums["wlon"].to_numpy() / npos, "lat": sums["wlat"].to_numpy() / npos,
            "n": b["n"].fillna(0).astype(int).to_numpy(), "first": b["first"].to_numpy(), "last": b["last"].to_numpy(),
            "n_after_close": after.reindex(keys).fillna(0).astype(int).to_numpy(),
            "district": wh["district"].to_numpy(), "street": wh["street"].to_numpy(),
            "address": wh["address"].to_numpy(), "problem": problem.reindex(keys).to_numpy(),
            "ticket_ids": _id_lists(b["ids"] if listed else None, len(b)),
        })
        places = flag_places(places, lambda problems: problem_counts(con, f, src, problems), grid, hot_cells,
                             radius_m=radius_m, min_count=min_count)
    else:
        places = _empty_places().assign(key=pd.Series(dtype=object), cluster=pd.Series(dtype="int64"))

    # ---- table rows: hotspots, then flagged places outside every hotspot
    places_out = places.drop(columns=["key", "cluster"])[_empty_places().columns]
    mon = st["months"]
    mpos = months.get_indexer(pd.to_datetime(mon["month"]).to_numpy("datetime64[ns]"))
    table = ranked_table(gi.clusters, places, pd.Index([f"h{c}" for c in gi.clusters["cluster"].tolist()], dtype=object),
                         base, where, problem, clues, base["ids"] if listed else None, light=light,
                         months=(mon["key"].to_numpy(object), mpos, mon["n"].to_numpy("int64"), len(months)))
    if table is None:
        table = pd.DataFrame(columns=[*TABLE_COLUMNS, "_key"])
    members = None if listed else Members(
        f, grid, pp.shift, src, hot_cells.reset_index(drop=True), pp.places[["problem", "pi", "pj", "place"]],
        tuple(table["_key"].tolist()), tuple(places["key"].tolist()), int(max_ids))
    return Hotspots(gi, places_out, table[TABLE_COLUMNS], gi.total, notes, members)


def _fetch_ids(con, m: Members, keys: list[str]) -> dict[str, list]:
    """The latest `m.max_ids` ticket ids of these keys, newest first: the eager path's lists (`IDS_SQL` over the
    same join), computed for these keys only."""
    hot = m.hot_cells[m.hot_cells["cluster"].isin([int(k[1:]) for k in keys if k.startswith("h")])]
    pos = m.positions[m.positions["place"].isin([int(k[1:]) for k in keys if k.startswith("p")])]
    if hot.empty and pos.empty:
        return {}
    hot_keys = ("(SELECT unnest($hk_gi::BIGINT[]) AS gi, unnest($hk_gj::BIGINT[]) AS gj, "
                "unnest($hk_key::VARCHAR[]) AS key)")
    place_keys = ("(SELECT unnest($pk_problem::VARCHAR[]) AS problem, unnest($pk_pi::BIGINT[]) AS pi, "
                  "unnest($pk_pj::BIGINT[]) AS pj, unnest($pk_key::VARCHAR[]) AS key)")
    cte, params = _member_cte(m.f, hot_keys, place_keys, m.grid, m.shift, m.src, lean=True)
    sql = f"WITH {cte} " + IDS_SQL.format(src="m")
    params = {**params, "max_ids": m.max_ids,
              "hk_gi": hot["gi"].astype("int64").tolist(), "hk_gj": hot["gj"].astype("int64").tolist(),
              "hk_key": [f"h{c}" for c in hot["cluster"].tolist()],
              "pk_problem": [str(x) for x in pos["problem"].tolist()], "pk_pi": pos["pi"].astype("int64").tolist(),
              "pk_pj": pos["pj"].astype("int64").tolist(), "pk_key": [f"p{c}" for c in pos["place"].tolist()]}
    df = con.execute(sql, params).df()
    return {str(k): list(v) for k, v in zip(df["key"].tolist(), df["ids"].tolist(), strict=True)}


def ticket_ids(con, hot: Hotspots, rows, *, places: bool = False) -> list[list[str]]:
    """The latest ticket ids (newest first, at most MAX_IDS) of these rows (positions) of `hot.table`, or of
    `hot.places` with `places=True`: what `hotspot_table(ids=True)` lists, fetched for the rows a user opens
    (the drill-down, the visit list) instead of for every row. [] for a capped all-problem row (no ids: its
    tickets are read by cell, `cluster_tickets`)."""
    frame = hot.places if places else hot.table
    rows = [int(r) for r in rows]
    have = frame["ticket_ids"].tolist() if len(frame) else []
    out: dict[int, list] = {r: list(have[r]) for r in rows if have[r] is not None}
    missing = [r for r in rows if r not in out]
    if missing:
        m = hot.members
        if m is None:
            raise ValueError("these hotspots carry no member list to fetch ticket ids from")
        row_keys = m.place_keys if places else m.table_keys
        keys = [row_keys[r] for r in missing]
        fetched = _fetch_ids(con, m, keys)
        out.update({r: fetched.get(k, []) for r, k in zip(missing, keys, strict=True)})
    return [out[r] for r in rows]


def with_ticket_ids(con, hot: Hotspots, top: int) -> pd.DataFrame:
    """The first `top` rows of the ranked table with their ticket ids listed (for the visit list)."""
    t = hot.table.head(top).copy()
    if len(t):
        t["ticket_ids"] = ticket_ids(con, hot, range(len(t)))
    return t


TABLE_LABELS = {
    "rank": "排名", "kind": "类型", "district": "区", "street": "街道/乡镇", "address": "最常见地址", "n": "工单量",
    "first": "首次", "last": "最近", "trend": "趋势", "monthly": "逐月工单", "repeat": "重复", "n_after_close":
    "办结后再诉", "clues": "关联线索", "z": "Gi* z值", "lon": "经度", "lat": "纬度", "problem": "问题",
}


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The ranked table with Chinese headers for the screen (ticket ids dropped)."""
    df = table.drop(columns=["ticket_ids", "lon", "lat", "cluster"], errors="ignore").copy()
    df["repeat"] = df["repeat"].map({True: "是", False: ""})
    df["first"] = pd.to_datetime(df["first"]).dt.strftime("%Y-%m-%d")
    df["last"] = pd.to_datetime(df["last"]).dt.strftime("%Y-%m-%d")
    df["z"] = df["z"].astype(float).round(2)
    return df.rename(columns=TABLE_LABELS)
