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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import ndimage, stats
from scipy.spatial import cKDTree

from analytics import privacy
from analytics.filters import Filters
from analytics.maps import LOCATED_SQL, grid_counts
from geo.grid import Grid, beijing_cells

DEFAULT_CELL_M = 500
DEFAULT_ALPHA = 0.05
REPEAT_RADIUS_M = 100.0
REPEAT_MIN_COUNT = 3
REOPEN_DAYS = 90  # "polluted again a month after a fix": a recurrence within this many days of a close
MAX_TICKETS = 400_000  # per-ticket steps (repeat places, table) beyond this work on the latest ones

PROBLEM_SQL = "coalesce(topic, category_l3, category_l2, category_l1, '未分类')"


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
    to_i, to_j = np.indices(z.shape)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di == 0 and dj == 0:
                continue
            nb = pad[1 + di:1 + di + h, 1 + dj:1 + dj + w]
            better = nb > best
            best = np.where(better, nb, best)
            to_i = np.where(better, to_i + di, to_i)
            to_j = np.where(better, to_j + dj, to_j)
    flat = to_i * w + to_j
    flat = np.where(valid, flat, np.arange(h * w).reshape(h, w)).ravel()
    for _ in range(64):  # pointer jumping: log2 of the longest climb
        nxt = flat[flat]
        if np.array_equal(nxt, flat):
            break
        flat = nxt
    peaks = np.zeros(h * w, dtype=bool)
    peaks[np.unique(flat[valid.ravel()])] = True
    peak_lab, _ = ndimage.label(peaks.reshape(h, w), structure=np.ones((3, 3)))
    labels = peak_lab.ravel()[flat].reshape(h, w)
    return np.where(valid, labels, 0)


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


def _study_area(grid: Grid, f: Filters) -> pd.DataFrame:
    cells = beijing_cells(grid.cell_m)
    if f.districts:
        cells = cells[cells["district"].isin(f.districts)]
    if f.streets:
        cells = cells[cells["street"].isin(f.streets)]
    return cells[["gi", "gj"]]


def gi_star(con, f: Filters, cell_m: int = DEFAULT_CELL_M, *, alpha: float = DEFAULT_ALPHA,
            radius: int = 1) -> GiStar:
    """Getis-Ord Gi* hotspots of the located tickets matching `f` on a grid of `cell_m` metres."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    grid = Grid(cell_m)
    counts = grid_counts(con, f, grid)[["gi", "gj", "n"]]
    area = _study_area(grid, f)
    # cells with tickets whose centre lies just outside the polygons still belong to the study area
    area = pd.concat([area, counts[["gi", "gj"]]]).drop_duplicates()
    empty_cols = ["gi", "gj", "lon", "lat", "n", "local", "z", "p", "q", "hot", "cluster"]
    total = int(counts["n"].sum())
    if total == 0 or len(area) < 2:
        return GiStar(grid, pd.DataFrame(columns=empty_cols),
                      pd.DataFrame(columns=["cluster", "cells", "n", "peak", "z_max", "p_min", "lon", "lat"]),
                      len(area), total, 0, alpha, radius, ["所选条件下没有带坐标的工单"])
    i0, j0 = int(area["gi"].min()) - radius, int(area["gj"].min()) - radius
    shape = (int(area["gi"].max()) - i0 + radius + 1, int(area["gj"].max()) - j0 + radius + 1)
    mask = np.zeros(shape, dtype=bool)
    mask[area["gi"].to_numpy() - i0, area["gj"].to_numpy() - j0] = True
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
        cells["cluster"] = cells["cluster"].map(lambda c: renum.get(c, 0))
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


def _reopened(received: np.ndarray, closed: np.ndarray, window: np.timedelta64) -> np.ndarray:
    """Per ticket (sorted by received): received within `window` after the latest earlier ticket's close."""
    k = received.size
    if k < 2:
        return np.zeros(k, dtype=bool)
    earlier = np.tri(k, k, -1, dtype=bool)                        # [i, j]: j received before i
    before = earlier & (closed[None, :] < received[:, None])      # ... and already closed when i came in
    gap = np.where(before, received[:, None] - closed[None, :], np.timedelta64(10**12, "s"))
    return gap.min(axis=1) <= window


def repeat_places(tickets: pd.DataFrame, *, radius_m: float = REPEAT_RADIUS_M,
                  min_count: int = REPEAT_MIN_COUNT, reopen_days: int = REOPEN_DAYS) -> pd.DataFrame:
    """Places where the same problem was reported at least twice within `radius_m`.

    `tickets` has ticket_id, received_at, closed_at, lon, lat, problem, district,
    street, address (see `located_tickets`). Returns one row per place with n,
    first, last, n_after_close (tickets received within `reopen_days` after an
    earlier ticket there had been closed: the problem came back after a fix),
    repeat (n >= min_count, or back after a fix), lon/lat (mean), district,
    street, address (most frequent) and ticket_ids.
    """
    cols = ["place", "problem", "n", "first", "last", "n_after_close", "repeat", "lon", "lat",
            "district", "street", "address", "ticket_ids"]
    if tickets.empty:
        return pd.DataFrame(columns=cols)
    t = tickets.reset_index(drop=True).copy()
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
    after = np.zeros(len(t), dtype=bool)
    for idx in t.groupby("place", sort=False).indices.values():
        after[idx] = _reopened(rec[idx], clo[idx], window)
    t["after_close"] = after
    g = t.groupby("place")
    out = pd.DataFrame({
        "problem": g["problem"].first(), "n": g.size(), "first": g["received_at"].min(),
        "last": g["received_at"].max(), "n_after_close": g["after_close"].sum().astype(int),
        "lon": g["lon"].mean(), "lat": g["lat"].mean(),
        "district": _modes(t, "place", "district"), "street": _modes(t, "place", "street"),
        "address": _modes(t, "place", "address"), "ticket_ids": _lists(t, "place", "ticket_id"),
    }).reset_index()
    out["repeat"] = (out["n"] >= min_count) | (out["n_after_close"] > 0)
    out = out.sort_values(["repeat", "n_after_close", "n", "last"], ascending=False).reset_index(drop=True)
    out["place"] = np.arange(1, len(out) + 1)
    return out[cols]


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


TABLE_COLUMNS = ["rank", "kind", "district", "street", "address", "n", "first", "last", "trend", "monthly",
                 "repeat", "n_after_close", "clues", "z", "lon", "lat", "problem", "ticket_ids"]


@dataclass(frozen=True)
class Hotspots:
    """Everything the hotspot view and the visit list show."""

    gi: GiStar
    places: pd.DataFrame   # repeat_places() output (all places with >= 2 tickets)
    table: pd.DataFrame    # TABLE_COLUMNS, ranked
    tickets_used: int
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        return (f"{self.gi.method}；重复点位：同一问题 {REPEAT_RADIUS_M:.0f} 米内，所选期间内 ≥{REPEAT_MIN_COUNT} 次，"
                f"或办结后 {REOPEN_DAYS} 天内再次投诉")


def hotspot_table(con, f: Filters, cell_m: int = DEFAULT_CELL_M, *, alpha: float = DEFAULT_ALPHA,
                  radius_m: float = REPEAT_RADIUS_M, min_count: int = REPEAT_MIN_COUNT,
                  max_tickets: int = MAX_TICKETS) -> Hotspots:
    """Gi* hotspots and repeat places of the selection, merged into one ranked table.

    A row is a Gi* hotspot (kind 统计热点: its cells' tickets) or a repeat place
    that lies outside every hotspot (kind 重复点位). A hotspot is flagged as
    repeat when a flagged repeat place lies inside it.
    """
    gi = gi_star(con, f, cell_m, alpha=alpha)
    t = located_tickets(con, f, max_tickets)
    notes = list(gi.notes)
    if len(t) >= max_tickets:
        notes.append(f"带坐标工单超过 {max_tickets:,} 件，重复点位仅按最近 {max_tickets:,} 件计算")
    places = repeat_places(t, radius_m=radius_m, min_count=min_count)
    if t.empty:
        return Hotspots(gi, places, pd.DataFrame(columns=TABLE_COLUMNS), 0, notes)

    grid = gi.grid
    t_gi, t_gj = grid.index(t["lon"].to_numpy(), t["lat"].to_numpy())
    cell_cluster = {(int(a), int(b)): int(c) for a, b, c in
                    gi.cells.loc[gi.cells["hot"], ["gi", "gj", "cluster"]].itertuples(index=False)}
    t["cluster"] = [cell_cluster.get((int(a), int(b)), 0) for a, b in zip(t_gi, t_gj, strict=True)]
    p_gi, p_gj = grid.index(places["lon"].to_numpy(float), places["lat"].to_numpy(float))
    places = places.assign(cluster=[cell_cluster.get((int(a), int(b)), 0) for a, b in zip(p_gi, p_gj, strict=True)])

    # one membership frame (row key, ticket) for every table row, then vectorised aggregates
    hot_rows = gi.clusters[["cluster", "z_max", "lon", "lat"]].copy()
    hot_rows["key"] = "h" + hot_rows["cluster"].astype(str)
    inside = places[places["repeat"] & (places["cluster"] > 0)].groupby("cluster")
    hot_rows["repeat"] = hot_rows["cluster"].map(inside.size()).fillna(0) > 0
    hot_rows["n_after_close"] = hot_rows["cluster"].map(inside["n_after_close"].sum()).fillna(0).astype(int)
    hot_members = t.loc[t["cluster"] > 0, ["ticket_id", "cluster"]]
    hot_members = hot_members.assign(key="h" + hot_members["cluster"].astype(str))[["key", "ticket_id"]]
    lone = places[places["repeat"] & (places["cluster"] == 0)]
    rep_rows = pd.DataFrame({"key": "r" + lone["place"].astype(str), "z_max": np.nan, "lon": lone["lon"],
                             "lat": lone["lat"], "repeat": True, "n_after_close": lone["n_after_close"]})
    rep_members = lone[["place", "ticket_ids"]].explode("ticket_ids")
    rep_members = pd.DataFrame({"key": "r" + rep_members["place"].astype(str),
                                "ticket_id": rep_members["ticket_ids"]})
    heads = pd.concat([hot_rows.assign(kind="统计热点").drop(columns=["cluster"]),
                       rep_rows.assign(kind="重复点位")], ignore_index=True)
    if heads.empty:
        return Hotspots(gi, places, pd.DataFrame(columns=TABLE_COLUMNS), len(t), notes)
    members = pd.concat([hot_members, rep_members], ignore_index=True).merge(
        t.drop(columns=["lon", "lat", "cluster"]), on="ticket_id", how="inner")

    start = pd.Timestamp(f.date_from) if f.date_from else t["received_at"].min()
    end = (pd.Timestamp(f.date_to) + pd.Timedelta(days=1)) if f.date_to else t["received_at"].max()
    last_day = end - pd.Timedelta(microseconds=1) if f.date_to else end
    months = pd.date_range(start.to_period("M").to_timestamp(), last_day.to_period("M").to_timestamp(), freq="MS")
    month_of = members["received_at"].dt.to_period("M").dt.to_timestamp()
    monthly = pd.crosstab(members["key"], month_of).reindex(columns=months, fill_value=0)
    mid = start + (end - start) / 2
    halves = members.assign(late=members["received_at"] >= mid).groupby("key")["late"].agg(["size", "sum"])
    clue_links = _clues(con, members["ticket_id"].unique().tolist())
    clues = clue_links.merge(members[["key", "ticket_id"]], on="ticket_id").drop_duplicates(["key", "clue_id"]) \
        .sort_values("clue_id").groupby("key")["clue_id"].agg("、".join)
    g = members.groupby("key", sort=False)
    table = heads.set_index("key")
    table["n"] = g.size()
    table["first"] = g["received_at"].min()
    table["last"] = g["received_at"].max()
    table["ticket_ids"] = _lists(members.sort_values("received_at", ascending=False), "key", "ticket_id")
    where = members["district"].fillna("") + "|" + members["street"].fillna("") + "|" + members["address"].fillna("")
    triple = _modes(members.assign(_where=where), "key", "_where").reindex(table.index).fillna("||")
    parts = triple.str.split("|", n=2, expand=True)
    table["district"], table["street"], table["address"] = parts[0], parts[1], parts[2]
    table["problem"] = _modes(members, "key", "problem")
    table["monthly"] = pd.Series({k: [int(x) for x in row] for k, row in zip(monthly.index, monthly.to_numpy(),
                                                                              strict=True)})
    late = halves["sum"].astype(int)
    table["trend"] = [_trend_text(int(n - b), int(b)) for n, b in zip(halves["size"].reindex(table.index),
                                                                      late.reindex(table.index), strict=True)]
    table["clues"] = clues.reindex(table.index).fillna("")
    table = table[table["n"].notna()].rename(columns={"z_max": "z"}).reset_index(drop=True)
    table["n"] = table["n"].astype(int)
    table = table.sort_values(["n", "repeat", "last"], ascending=False).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return Hotspots(gi, places, table[TABLE_COLUMNS], len(t), notes)


TABLE_LABELS = {
    "rank": "排名", "kind": "类型", "district": "区", "street": "街道/乡镇", "address": "最常见地址", "n": "工单量",
    "first": "首次", "last": "最近", "trend": "趋势", "monthly": "逐月工单", "repeat": "重复", "n_after_close":
    "办结后再诉", "clues": "关联线索", "z": "Gi* z值", "lon": "经度", "lat": "纬度", "problem": "问题",
}


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The ranked table with Chinese headers for the screen (ticket ids dropped)."""
    df = table.drop(columns=["ticket_ids", "lon", "lat"]).copy()
    df["repeat"] = df["repeat"].map({True: "是", False: ""})
    df["first"] = pd.to_datetime(df["first"]).dt.strftime("%Y-%m-%d")
    df["last"] = pd.to_datetime(df["last"]).dt.strftime("%Y-%m-%d")
    df["z"] = df["z"].astype(float).round(2)
    return df.rename(columns=TABLE_LABELS)
