"""The hotspot page of the pandas baseline: the product's ranked hotspot table, computed the pandas way.

Why a module of its own: the product's page (`analytics.hotspots.hotspot_table`) is more than Gi* on a grid,
and a baseline that stopped there measured unequal work. This computes the same table from the tickets
loaded once (bench/pandas_side.py): the selection is a boolean mask on the frame, and every count, grouping
and join is a pandas operation on it (cells, 20 m positions per problem, the members of each hotspot and
place, their months, modes and linked clues). What a pandas user would reuse rather than rewrite is reused:
the product's pure numpy/scipy functions on arrays or small frames (`gi_star_of_counts`: the Gi* statistic,
FDR, count floor and peaks from the per-cell counts pandas made; `group_positions`; `flag_places` and
`ranked_table`, which test and rank the places and lay out the table from per-key figures pandas computed),
`geo.grid`, and its constants and limits, read at call time so both sides apply the
same ones: MAX_POSITIONS coarsening, MAX_PLACES, the "light" all-problems case above
ALL_PROBLEMS_MAX_LOCATED, and modes and clues from each row's latest MAX_IDS tickets when the members are
more than the product keeps in memory. Nothing here runs SQL.

The per-ticket inputs the loads add for this page: `located` (the product's LOCATED_SQL), `problem` (its
PROBLEM_SQL, mapped in pandas), `back` (received 30-90 days after a close at the same problem and 20 m
position: a property of the whole store, loaded once like the words) and `address` (a categorical in the
slim load). tests/test_bench_hotspots.py checks the table equals the product's; on a real store,
`python -m bench.pandas_hotspots DB [full|slim]` compares them in every bench state.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analytics import hotspot_sql as hsql
from analytics import hotspot_stats as hstats
from analytics import hotspots as hs
from analytics.filters import Filters
from geo.grid import Grid


# ---------------------------------------------------------------- Gi* on the grid
def gi_star(gi: np.ndarray, gj: np.ndarray, f: Filters, grid: Grid, alpha: float) -> hs.GiStar:
    """Gi* hotspots of the located tickets in grid cells (gi, gj): counted per cell by pandas, then the
    product's statistic on those counts (`gi_star_of_counts`: study area, z, FDR, count floor, peaks)."""
    counts = pd.DataFrame({"gi": gi, "gj": gj}).groupby(["gi", "gj"]).size().reset_index(name="n")
    return hs.gi_star_of_counts(counts, grid, f, alpha=alpha)


# ---------------------------------------------------------------- repeat places
def place_positions(sel: pd.DataFrame, radius_m: float, max_positions: int, max_places: int) -> tuple:
    """The selection's tickets per problem and 20 m position, grouped into places within `radius_m`.
    Returns (positions in a place of >= 2 tickets: problem, pi, pj, n, lon, lat, place; shift; notes)."""
    pi, pj = hs.POS_GRID.index(sel["lon"].to_numpy(), sel["lat"].to_numpy())
    pos = (pd.DataFrame({"problem": sel["problem"].to_numpy(), "pi": pi, "pj": pj,
                         "lon": sel["lon"].to_numpy(), "lat": sel["lat"].to_numpy()})
           .groupby(["problem", "pi", "pj"], observed=True)   # sorted: the grouping breaks ties by position
           .agg(n=("lon", "size"), lon=("lon", "mean"), lat=("lat", "mean")).reset_index())
    located = int(pos["n"].sum()) if len(pos) else 0
    notes: list[str] = []
    shift = 0
    while len(pos) > max_positions and shift < 3:
        shift += 1
        pos = hstats.coarsen(pos, 1)
    if shift:
        notes.append(f"带坐标工单 {located:,} 件，重复点位先按 {hs.POS_CELL_M << shift} 米位置合并后再按 "
                     f"{radius_m:.0f} 米聚合")
    cols = ["problem", "pi", "pj", "n", "lon", "lat"]
    pieces = []
    offset = formed_all = 0
    # problems with the most tickets first, so a cap on places keeps the busiest problems whole
    order = pos.groupby("problem", observed=True)["n"].sum().sort_values(ascending=False, kind="stable").index
    groups = pos.groupby("problem", sort=False, observed=True).indices
    for problem in order:
        sub = pos.iloc[groups[problem]]
        ids, formed = hs.group_positions(sub["lon"], sub["lat"], sub["n"], radius_m,
                                         max_places=max(max_places - formed_all, 0))
        keep = ids < formed
        pieces.append(sub.loc[keep, cols].assign(place=ids[keep] + offset))
        offset += formed
        formed_all += formed
    places = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=[*cols, "place"])
    if formed_all >= max_places:
        notes.append(f"重复点位只计算最密集的前 {max_places:,} 处")
    return places, shift, notes


# ---------------------------------------------------------------- per row: counts, months, modes, clues
def _text_codes(s: pd.Series) -> tuple[np.ndarray, object]:
    """(codes, values): integer codes in text order where a missing value and "" both code 0, and a function
    giving the values of an array of codes. A categorical's codes are used as they are when its categories are
    in text order (the loads make them so): no sort of a million addresses per view."""
    if isinstance(s.dtype, pd.CategoricalDtype) and s.cat.categories.is_monotonic_increasing:
        cats = s.cat.categories
        codes = s.cat.codes.to_numpy().astype(np.int64) + 1
        if len(cats) and cats[0] == "":
            codes[codes == 1] = 0

        def values(c: np.ndarray) -> np.ndarray:
            out = np.full(len(c), "", dtype=object)
            out[c > 0] = cats.take(c[c > 0] - 1).to_numpy(object)
            return out

        return codes, values
    codes, uniq = pd.factorize(s.astype(object).where(s.notna(), "").to_numpy(object), sort=True)
    uniq = np.asarray(uniq, dtype=object)
    if not len(uniq) or uniq[0] != "":
        uniq, codes = np.concatenate([np.array([""], dtype=object), uniq]), codes + 1
    return codes, uniq.take


def _modes(key: np.ndarray, cols: list[pd.Series]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The most frequent combination of `cols` per key (missing counts as ""; ties: alphabetical).
    Returns (keys, one value array per column)."""
    coded = [_text_codes(c) for c in cols]
    names = [f"c{i}" for i in range(len(cols))]
    frame = pd.DataFrame({"key": key, **{n: c for n, (c, _) in zip(names, coded, strict=True)}})
    c = frame.value_counts().reset_index(name="count")
    c = c.sort_values(["key", "count", *names], ascending=[True, False, *[True] * len(names)]) \
        .drop_duplicates("key")
    return c["key"].to_numpy(), [vals(c[n].to_numpy()) for n, (_, vals) in zip(names, coded, strict=True)]


def _members(sel: pd.DataFrame, gi: np.ndarray, gj: np.ndarray, hot_cells: pd.DataFrame, places: pd.DataFrame,
             shift: int, n_hot_keys: int) -> pd.DataFrame:
    """(key, row of `sel`) for every selected ticket in a hotspot's cells (key = cluster) or at a place's
    positions (key = n_hot_keys + place): a ticket in both is a member of both."""
    at = pd.Index(hot_cells["gi"].to_numpy(np.int64) << 32 | hot_cells["gj"].to_numpy(np.int64)) \
        .get_indexer(gi << 32 | gj)
    rows_h = np.flatnonzero(at >= 0)
    key_h = hot_cells["cluster"].to_numpy(np.int64)[at[rows_h]]
    if len(places):
        pi, pj = hs.POS_GRID.index(sel["lon"].to_numpy(), sel["lat"].to_numpy())
        problem = sel["problem"]
        pcode = pd.Index(problem.cat.categories).get_indexer(places["problem"].astype(object))   # the same categories
        pos = pd.Index(pcode.astype(np.int64) << 42 | places["pi"].to_numpy(np.int64) << 21
                       | places["pj"].to_numpy(np.int64))
        mine = problem.cat.codes.to_numpy().astype(np.int64) << 42 | (pi >> shift) << 21 | (pj >> shift)
        at_p = pos.get_indexer(mine)
        rows_p = np.flatnonzero(at_p >= 0)
        key_p = n_hot_keys + places["place"].to_numpy(np.int64)[at_p[rows_p]]
    else:
        rows_p = key_p = np.zeros(0, dtype=np.int64)
    rows = np.concatenate([rows_h, rows_p])
    return pd.DataFrame({"key": np.concatenate([key_h, key_p]), "row": rows})


def member_stats(sel: pd.DataFrame, mem: pd.DataFrame, links: pd.DataFrame | None, mid: pd.Timestamp,
                 month0: int, *, light: bool, latest: int | None) -> dict:
    """Per key: n, first, last, late, n_back, the sums of the coordinates (slon, slat), months (month number -
    month0, n); unless `light`: the (district, street, address) mode, the problem mode, the linked clues; with
    `latest`, modes and clues from each key's latest `latest` tickets (and their ids listed), as the product
    does above its in-memory limit."""
    rows = mem["row"].to_numpy()
    got = sel["received_at"].iloc[rows]
    m = pd.DataFrame({"key": mem["key"].to_numpy(), "received_at": got.to_numpy(),
                      "late": (got >= mid).to_numpy(),
                      "month": got.to_numpy().astype("datetime64[M]").astype(np.int64) - month0})
    if not light:
        m["back"] = sel["back"].to_numpy()[rows]
    g = m.groupby("key")
    base = pd.DataFrame({"n": g.size(), "first": g["received_at"].min(), "last": g["received_at"].max(),
                         "late": g["late"].sum()})
    if not light:
        base["n_back"] = g["back"].sum()
    sums = pd.DataFrame({"key": m["key"].to_numpy(), "slon": sel["lon"].to_numpy()[rows],
                         "slat": sel["lat"].to_numpy()[rows]}).groupby("key")[["slon", "slat"]].sum()
    base[["slon", "slat"]] = sums
    out = {"base": base, "months": m.groupby(["key", "month"]).size().rename("n").reset_index()}
    if light:   # no ids for these rows (the product lists [] for them: their tickets are read by cell)
        out["ids"] = pd.Series([[] for _ in range(len(base))], index=base.index, dtype=object)
        return out
    cols = ["district", "street", "address"] if "address" in sel.columns else ["district", "street"]
    pick = np.arange(len(m))
    if latest is not None:   # each key's latest tickets: time, then the larger id first
        ids = sel["ticket_id"].to_numpy()[rows]
        order = m.assign(tid=ids).sort_values(["key", "received_at", "tid"], ascending=[True, False, False])
        pick = order.groupby("key").head(latest).index.to_numpy()
        lists = pd.Series(ids[pick]).groupby(m["key"].to_numpy()[pick], sort=True).agg(list)
        out["ids"] = lists
    key = m["key"].to_numpy()[pick]
    prow = rows[pick]
    k, vals = _modes(key, [sel[c].iloc[prow].reset_index(drop=True) for c in cols])
    out["where"] = pd.DataFrame(dict(zip(cols, vals, strict=True)), index=k)
    k, (prob,) = _modes(key, [sel["problem"].iloc[prow].reset_index(drop=True)])
    out["problem"] = pd.Series(prob, index=k)
    out["clues"] = pd.Series(dtype=object)
    if links is not None and len(links):
        pairs = pd.DataFrame({"key": key, "ticket_id": sel["ticket_id"].to_numpy()[prow]})
        lk = pairs.merge(links, on="ticket_id")[["key", "clue_id"]].drop_duplicates()
        if len(lk):
            lk = lk.assign(clue_id=lk["clue_id"].astype(str)).sort_values(["key", "clue_id"])
            out["clues"] = lk.groupby("key")["clue_id"].agg("、".join)
    return out


def _problem_counts(sel: pd.DataFrame, problems) -> pd.DataFrame:
    """The selection's located tickets per problem, district and street, for these problems."""
    sp = sel[["problem", "district", "street"]]
    sp = sp[sp["problem"].isin(problems)]
    counts = sp.groupby(["problem", "district", "street"], observed=True, dropna=False).size() \
        .rename("n").reset_index()
    return counts[counts["n"] > 0].astype({"problem": object, "district": object, "street": object})


# ---------------------------------------------------------------- the page
def hotspot_table(d: dict, f: Filters, cell_m: int | None = None, *, alpha: float | None = None,
                  radius_m: float | None = None, min_count: int | None = None, max_positions: int | None = None,
                  max_places: int | None = None, max_ids: int | None = None) -> dict:
    """The product's hotspot table (`analytics.hotspots.hotspot_table`) from the loaded frames.

    Returns {"table": TABLE_COLUMNS (ticket_ids listed only where the product lists them by default, in the
    load's id type), "places": the places with >= 2 tickets, "cells": the Gi* cells, "notes"}."""
    cell_m = hs.DEFAULT_CELL_M if cell_m is None else cell_m
    alpha = hs.DEFAULT_ALPHA if alpha is None else alpha
    radius_m = hs.REPEAT_RADIUS_M if radius_m is None else radius_m
    min_count = hs.REPEAT_MIN_COUNT if min_count is None else min_count
    max_positions = hs.MAX_POSITIONS if max_positions is None else max_positions
    max_places = hs.MAX_PLACES if max_places is None else max_places
    max_ids = hs.MAX_IDS if max_ids is None else max_ids
    from bench.pandas_side import _mask

    t = d["tickets"]
    m = _mask(t, f) & t["located"]
    # the located tickets of the selection, copied once with the columns this view needs: only the times and
    # coordinates in the light all-problems case (above ALL_PROBLEMS_MAX_LOCATED: no places, no modes)
    light = not (f.topics or f.categories or f.text) and int(m.sum()) > hs.ALL_PROBLEMS_MAX_LOCATED
    cols = ["received_at", "lon", "lat"] if light else \
        ["ticket_id", "received_at", "lon", "lat", "problem", "district", "street", "back"] \
        + (["address"] if "address" in t.columns else [])
    sel = t.loc[m, cols]
    del m
    grid = Grid(cell_m)
    cell_i, cell_j = grid.index(sel["lon"].to_numpy(), sel["lat"].to_numpy())   # the tickets' Gi* cells
    gi = gi_star(cell_i, cell_j, f, grid, alpha)
    notes = list(gi.notes)
    total = gi.total
    if total == 0:
        return {"table": pd.DataFrame(columns=hs.TABLE_COLUMNS), "places": pd.DataFrame(columns=hs.PLACE_COLUMNS),
                "cells": gi.cells, "notes": notes}
    if light:
        places, shift = pd.DataFrame(columns=["problem", "pi", "pj", "n", "lon", "lat", "place"]), 0
        notes.append(f"未选择具体问题且带坐标工单达 {total:,} 件（超过 {hs.ALL_PROBLEMS_MAX_LOCATED:,} 件）：只计算统计"
                     "热点及其工单量、日期和趋势，未计算重复点位、最常见地址和关联线索；点击热点行查看其网格内的工单。"
                     "请选择具体问题后查看完整结果")
    else:
        places, shift, more = place_positions(sel, radius_m, max_positions, max_places)
        notes += more

    start = pd.Timestamp(f.date_from) if f.date_from else sel["received_at"].min()
    end = (pd.Timestamp(f.date_to) + pd.Timedelta(days=1)) if f.date_to else sel["received_at"].max()
    last_day = end - pd.Timedelta(microseconds=1) if f.date_to else end
    months = pd.date_range(start.to_period("M").to_timestamp(), last_day.to_period("M").to_timestamp(), freq="MS")
    month0 = (months[0].year - 1970) * 12 + months[0].month - 1   # months since 1970-01, as datetime64[M]
    mid = start + (end - start) / 2

    cells, clusters = gi.cells, gi.clusters
    hot_cells = cells.loc[cells["hot"], ["gi", "gj", "cluster"]]
    n_hot_keys = int(clusters["cluster"].max()) + 1 if len(clusters) else 1
    expected = int(cells.loc[cells["hot"], "n"].sum()) + (int(places["n"].sum()) if len(places) else 0)
    in_memory = expected <= (hsql.MEMBERS_IN_MEMORY_FAST if d.get("hot_fast") and f.uses_summary
                             else hsql.MEMBERS_IN_MEMORY)
    mem = _members(sel, cell_i, cell_j, hot_cells, places, shift, n_hot_keys)
    del cell_i, cell_j
    st = member_stats(sel, mem, d.get("clue_tickets"), mid, month0, light=light,
                      latest=None if in_memory or light else max_ids)
    base = st["base"]
    listed = "ids" in st

    # ---- places (>= 2 tickets), flagged against the problem's local density
    if len(places):
        p = places.assign(wlon=places["lon"] * places["n"], wlat=places["lat"] * places["n"])
        sums = p.groupby("place")[["wlon", "wlat", "n"]].sum()
        keys = n_hot_keys + sums.index.to_numpy(np.int64)
        b = base.reindex(keys)
        wh = st["where"].reindex(keys)
        npos = sums["n"].to_numpy()
        pl = pd.DataFrame({
            "key": keys, "lon": sums["wlon"].to_numpy() / npos, "lat": sums["wlat"].to_numpy() / npos,
            "n": b["n"].fillna(0).astype(int).to_numpy(), "first": b["first"].to_numpy(),
            "last": b["last"].to_numpy(), "n_after_close": b["n_back"].fillna(0).astype(int).to_numpy(),
            "district": wh["district"].to_numpy(), "street": wh["street"].to_numpy(),
            "address": wh["address"].to_numpy() if "address" in wh else np.full(len(keys), None, dtype=object),
            "problem": places.drop_duplicates("place").set_index("place")["problem"].astype(object)
            .reindex(sums.index).to_numpy(),
            "ticket_ids": (st["ids"].reindex(keys).tolist() if listed else [None] * len(keys)),
        })
        pl = hs.flag_places(pl, lambda problems: _problem_counts(sel, problems), grid, hot_cells,
                            radius_m=radius_m, min_count=min_count)
    else:
        pl = pd.DataFrame(columns=[*hs.PLACE_COLUMNS, "key", "cluster"])
    places_out = pl[hs.PLACE_COLUMNS]

    # ---- table rows: hotspots, then flagged places outside every hotspot
    where = pd.DataFrame(columns=["district", "street", "address"]) if light else st["where"]
    if "address" not in where:
        where = where.assign(address=None)
    empty = pd.Series(dtype=object)
    mon = st["months"]
    hot_keys = pd.Index(clusters["cluster"].tolist(), dtype=object)
    means = base.reindex(hot_keys)
    points = hstats.hotspot_points(clusters["cluster"], pl, (means["slon"] / means["n"]).to_numpy(float),
                                   (means["slat"] / means["n"]).to_numpy(float))
    table = hs.ranked_table(clusters, pl, hot_keys, base, where,
                            empty if light else st["problem"], empty if light else st["clues"],
                            st["ids"] if listed else None, light=light,
                            months=(mon["key"].to_numpy(), mon["month"].to_numpy(), mon["n"].to_numpy("int64"),
                                    len(months)), points=points)
    table = pd.DataFrame(columns=hs.TABLE_COLUMNS) if table is None else table[hs.TABLE_COLUMNS]
    return {"table": table, "places": places_out, "cells": cells, "notes": notes}


# ---------------------------------------------------------------- the check that both sides agree
def _plain(v):
    """A cell as a plain Python value (Timestamps whatever their unit, lists as tuples, missing as None)."""
    if isinstance(v, (list, tuple, np.ndarray)):
        return tuple(_plain(x) for x in v)
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(v).as_unit("us")
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return v


def _same(a, b) -> bool:
    """Equal; floats (means of coordinates: DuckDB and pandas sum in other orders) to 1e-9 relative."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def frame_difference(product: pd.DataFrame, ours: pd.DataFrame, what: str, skip=()) -> str | None:
    """The first difference between two frames, row by row in their order, or None."""
    if list(ours.columns) != list(product.columns):
        return f"{what}: columns {list(ours.columns)}, the product {list(product.columns)}"
    if len(ours) != len(product):
        return f"{what}: {len(ours)} rows, the product {len(product)}"
    cols = [c for c in product.columns if c not in skip]
    for i, (p, o) in enumerate(zip(product[cols].to_dict("records"), ours[cols].to_dict("records"), strict=True)):
        for c in cols:
            x, y = _plain(p[c]), _plain(o[c])
            if not _same(x, y):
                return f"{what} row {i} column {c}: product {x!r}, pandas {y!r}"
    return None


def differences(product: hs.Hotspots, ours: dict, *, ids: bool = True) -> list[str]:
    """Where this page's answer differs from the product's: the ranked table, the places, the Gi* cells, the
    notes. `ids=False`: the ticket id lists are not compared (the slim load lists row keys)."""
    skip = () if ids else ("ticket_ids",)
    found = [frame_difference(product.table, ours["table"], "table", skip),
             frame_difference(product.places, ours["places"], "places", skip),
             frame_difference(product.gi.cells, ours["cells"], "Gi* cells")]
    if ours["notes"] != product.notes:
        found.append(f"notes: {ours['notes']}, the product {product.notes}")
    return [x for x in found if x]


def main(argv: list[str]) -> int:
    """`python -m bench.pandas_hotspots DB [full|slim]`: this page against the product's in every bench state."""
    import time

    from bench import pandas_side
    from bench.states import filter_states
    from data import store

    db, load = argv[0], argv[1] if len(argv) > 1 else "full"
    con = store.connect(db, read_only=True)
    con.execute("SET memory_limit = '2GB'")
    t0 = time.perf_counter()
    d = pandas_side.load(con, slim=load == "slim", words=False)
    print(f"{load} load in {time.perf_counter() - t0:.1f} s", flush=True)
    bad = 0
    for name, f in filter_states(con):
        product = hs.hotspot_table(con, f)
        diff = differences(product, hotspot_table(d, f), ids=load == "full")
        bad += bool(diff)
        print(f"{name}: {len(product.table)} rows, {len(product.places)} places: "
              + ("; ".join(diff) if diff else "the same"), flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    import sys
    import warnings

    warnings.filterwarnings("ignore")
    sys.exit(main(sys.argv[1:]))
