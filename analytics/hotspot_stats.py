"""The statistics of the hotspot analysis, on arrays and small frames (no database): Getis-Ord Gi*, the count
floor, peaks, the 100 m grouping of repeat places, their Poisson test and the "back after a close" flags.

Pure functions of their arguments (and of the shipped street boundaries), tested against the
published formulas and planted points (tests/test_hotspots.py). The SQL that feeds them is
analytics/hotspot_sql.py; analytics/hotspots.py assembles the ranked table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import ndimage, stats
from scipy.spatial import cKDTree

from analytics.filters import Filters
from data import after_close
from data import positions as hpos
from geo import boundaries
from geo.grid import Grid, beijing_cells

DEFAULT_CELL_M = 500
DEFAULT_ALPHA = 0.05
REPEAT_RADIUS_M = 100.0
REPEAT_MIN_COUNT = 3
REPEAT_ALPHA = 0.05   # a place repeats when its count is above chance for the problem's local density (BH q)
# "Polluted again a month after a fix" (办结后再诉): the window and radius are settings (data/after_close.py).

POS_CELL_M = hpos.POS_CELL_M  # tickets are first snapped to positions of this size (SQL GROUP BY)

POS_GRID = hpos.POS_GRID


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


def _study_cells(cell_m: int, districts: tuple, streets: tuple) -> tuple[np.ndarray, np.ndarray]:
    from geo import regions

    return _region_study_cells(regions.active().name, cell_m, districts, streets)


@lru_cache(maxsize=64)
def _region_study_cells(region: str, cell_m: int, districts: tuple, streets: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(gi, gj) of the study area's cells (read-only arrays, cached per region: they depend only on the
    boundaries)."""
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


def _area_m2() -> tuple[dict, dict, float]:
    """Areas in m² of the active region's streets (by district and name), of its districts, and of the city."""
    from geo import regions

    return _region_area_m2(regions.active().name)


@lru_cache(maxsize=8)
def _region_area_m2(region: str) -> tuple[dict, dict, float]:
    t = boundaries.street_table()
    streets = {(d, s): a * 1e6 for d, s, a in zip(t["district"], t["street"], t["area_km2"], strict=True)}
    d = boundaries.district_table()   # a pack without streets: the districts' own areas
    districts = (t.groupby("district")["area_km2"].sum() * 1e6).to_dict() if len(t) else \
        dict(zip(d["district"], d["area_km2"] * 1e6, strict=True))
    return streets, districts, float(sum(districts.values())) or 1.0


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
                  min_count: int = REPEAT_MIN_COUNT, rule: after_close.Rule | None = None,
                  alpha: float = REPEAT_ALPHA) -> pd.DataFrame:
    """Places where the same problem was reported at least twice within `radius_m`.

    `tickets` has ticket_id, received_at, closed_at, lon, lat, problem, district,
    street, address (see `located_tickets`). Returns one row per place with n,
    first, last, n_after_close (tickets back after a close by `rule`, default the
    settings', among all these tickets: the problem came back after a fix),
    repeat (n >= min_count, or back after a fix), lon/lat (mean), district,
    street, address (most frequent) and ticket_ids.
    """
    cols = PLACE_COLUMNS
    if tickets.empty:
        return pd.DataFrame(columns=cols)
    rule = rule or after_close.Rule.from_settings()
    t = tickets.reset_index(drop=True).copy()
    counts = t.assign(n=1).groupby(["problem", "district", "street"], dropna=False)["n"].sum().reset_index()
    # back after a close, among every ticket of the same problem (a close may belong to another place)
    rec = t["received_at"].to_numpy("datetime64[s]")
    clo = pd.to_datetime(t["closed_at"]).to_numpy("datetime64[s]")
    lon, lat = t["lon"].to_numpy(float), t["lat"].to_numpy(float)
    after = np.zeros(len(t), dtype=bool)
    t["place"] = -1
    offset = 0
    for _, idx in t.groupby("problem", sort=True).indices.items():
        after[idx] = after_close.flags(rec[idx], clo[idx], lon[idx], lat[idx], rule)
        ids = group_places(t["lon"].to_numpy()[idx], t["lat"].to_numpy()[idx], radius_m)
        t.loc[idx, "place"] = ids + offset
        offset += int(ids.max()) + 1
    t["after_close"] = after
    sizes = t["place"].map(t["place"].value_counts())
    t = t[sizes >= 2].sort_values(["place", "received_at", "ticket_id"]).reset_index(drop=True)
    if t.empty:
        return pd.DataFrame(columns=cols)
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


def coarsen(pos: pd.DataFrame, shift: int) -> pd.DataFrame:
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


def hotspot_points(clusters, places: pd.DataFrame, mean_lon, mean_lat) -> tuple[np.ndarray, np.ndarray]:
    """Where each Gi* hotspot's tickets are: the point of its busiest place (the place of two or more tickets with
    the most tickets among those lying in its cells, ties by place rank), else the mean of its tickets.

    `clusters`: each hotspot row's Gi* cluster number; `mean_lon`, `mean_lat`: the mean of each row's tickets,
    aligned with it. `places`: cluster, n, lon, lat, place of every place (`flag_places`: its cluster is the
    hotspot its point lies in, 0 for none; its point is the mean of its tickets). Returns (lon, lat) aligned
    with `clusters`. A place's members lie within 100 m of its leader, so a hotspot whose tickets gather within a
    few tens of metres of one spot points within those metres of it; the grid cells carry the Gi* statistic only.
    """
    lon = np.array(mean_lon, dtype=float, copy=True)
    lat = np.array(mean_lat, dtype=float, copy=True)
    if len(places) and lon.size:
        pc = places["cluster"].to_numpy(np.int64)
        inside = np.flatnonzero(pc > 0)
        if inside.size:
            order = inside[np.lexsort((places["place"].to_numpy(np.int64)[inside],
                                       -places["n"].to_numpy(np.int64)[inside], pc[inside]))]
            first = order[np.r_[True, pc[order][1:] != pc[order][:-1]]]   # the busiest place of each cluster
            at = {int(c): int(i) for c, i in zip(pc[first], first, strict=True)}
            rows = [(k, at[int(c)]) for k, c in enumerate(np.asarray(clusters, dtype=np.int64)) if int(c) in at]
            if rows:
                k, i = (np.array(x, dtype=np.int64) for x in zip(*rows, strict=True))
                lon[k] = places["lon"].to_numpy(float)[i]
                lat[k] = places["lat"].to_numpy(float)[i]
    return lon, lat


def trend_text(a: int, b: int) -> str:
    """Tickets in the first (a) and second (b) half of the period, in words."""
    if b >= max(a * 1.25, a + 2):
        word = "↑ 上升"
    elif a >= max(b * 1.25, b + 2):
        word = "↓ 下降"
    else:
        word = "→ 持平"
    return f"{word}（前半期 {a} → 后半期 {b}）"
