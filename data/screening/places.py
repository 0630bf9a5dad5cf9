"""Grouping hits by place: 40 tickets about one river are one item with 40 tickets, not 40 items.

A located hit belongs to a grid cell of HOTLINE_SCREEN_PLACE_M metres. An item is anchored at one cell and
takes the hits of its own and the 8 neighbouring cells, so a place stays one item when its tickets spread a
little (a river bank, a market) and the grouping is stable from one run to the next: tomorrow's hit at the same
place joins today's item. Cells are taken busiest first, each starting an item unless an item is anchored
within one cell of it. A hit without coordinates is grouped by its address (else its street); a rule may group
by street or district instead (`group_by`).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from data import settings

M_PER_DEG_LAT = 111_320.0
REF_LAT = 40.0


def cell_degrees(cell_m: float | None = None) -> tuple[float, float]:
    m = float(cell_m or settings.get("HOTLINE_SCREEN_PLACE_M"))
    return m / M_PER_DEG_LAT, m / (M_PER_DEG_LAT * math.cos(math.radians(REF_LAT)))


def normal_address(s) -> str:
    """An address for comparing: no spaces or punctuation, full-width digits and letters folded."""
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return ""
    import unicodedata

    t = unicodedata.normalize("NFKC", str(s)).lower()
    return re.sub(r"[\s,，。.、;；:：()（）\-—_#·]+", "", t)


def place_keys(hits: pd.DataFrame, group_by: str = "place", cell_m: float | None = None) -> pd.DataFrame:
    """`hits` (district, street, address, lon, lat) with place_key, ci, cj (cells only for located places)."""
    out = hits.copy()
    n = len(out)
    ci = np.full(n, np.nan)
    cj = np.full(n, np.nan)
    district = out["district"].fillna("").astype(str).to_numpy()
    street = out["street"].fillna("").astype(str).to_numpy()
    if group_by == "district":
        keys = np.array([f"district:{d}" for d in district], dtype=object)
    elif group_by == "street":
        keys = np.array([f"street:{d}|{s}" for d, s in zip(district, street, strict=True)], dtype=object)
    else:
        lon = pd.to_numeric(out["lon"], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(out["lat"], errors="coerce").to_numpy(dtype=float)
        located = ~(np.isnan(lon) | np.isnan(lat))
        dlat, dlon = cell_degrees(cell_m)
        ci[located] = np.floor(lat[located] / dlat)
        cj[located] = np.floor(lon[located] / dlon)
        addr = [normal_address(a) for a in out["address"]]
        keys = np.array([f"addr:{d}|{s}|{a}" if a else f"street:{d}|{s}"
                         for d, s, a in zip(district, street, addr, strict=True)], dtype=object)
        keys[located] = [f"cell:{int(i)}:{int(j)}" for i, j in zip(ci[located], cj[located], strict=True)]
    out["place_key"] = keys
    out["ci"] = ci
    out["cj"] = cj
    return out


def assign(keyed: pd.DataFrame, anchors: dict[tuple[int, int], int]) -> tuple[pd.Series, list[tuple[int, int]]]:
    """The anchor cell of each located hit: an existing anchor (`anchors`: cell -> item) within one cell, else a
    new anchor (busiest cells first). Returns (anchor key "cell:i:j" per row, the new anchors)."""
    located = keyed["ci"].notna()
    taken = set(anchors)
    new: list[tuple[int, int]] = []
    mapping: dict[tuple[int, int], tuple[int, int]] = {}
    if located.any():
        counts = keyed.loc[located].groupby(["ci", "cj"]).size().sort_values(ascending=False, kind="stable")
        for (i, j) in counts.index:
            cell = (int(i), int(j))
            near = [(abs(a - cell[0]) + abs(b - cell[1]), (a, b)) for a in range(cell[0] - 1, cell[0] + 2)
                    for b in range(cell[1] - 1, cell[1] + 2) if (a, b) in taken]
            if near:
                mapping[cell] = min(near)[1]
            else:
                taken.add(cell)
                new.append(cell)
                mapping[cell] = cell
    anchor = keyed["place_key"].copy()
    if located.any():
        cells = list(zip(keyed.loc[located, "ci"].astype(int), keyed.loc[located, "cj"].astype(int), strict=True))
        anchor.loc[located] = [f"cell:{a}:{b}" for a, b in (mapping[c] for c in cells)]
    return anchor, new


def group(hits: pd.DataFrame, group_by: str = "place", cell_m: float | None = None) -> pd.DataFrame:
    """Hits grouped into places without any stored items (the CLI's report and the form's preview):
    place_key, district, street, label (most frequent address), lon, lat, n, first, last, ticket_ids."""
    cols = ["place_key", "district", "street", "label", "lon", "lat", "n", "first", "last", "ticket_ids"]
    if hits.empty:
        return pd.DataFrame(columns=cols)
    keyed = place_keys(hits, group_by, cell_m)
    keyed["place_key"], _new = assign(keyed, {})
    return summarise(keyed, "place_key")[cols].sort_values(["n", "last"], ascending=False, kind="stable") \
        .reset_index(drop=True)


def summarise(keyed: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per group: district, street and label (most frequent), mean position, count, first and last, ids."""
    keyed = keyed.sort_values("received_at", kind="stable")
    g = keyed.groupby(by, sort=False)
    groups = g.size().index
    out = pd.DataFrame({
        "district": _modes(keyed, by, "district", groups),
        "street": _modes(keyed, by, "street", groups),
        "label": _modes(keyed, by, "address", groups),
        "lon": g["lon"].mean(),
        "lat": g["lat"].mean(),
        "n": g.size(),
        "first": g["received_at"].min(),
        "last": g["received_at"].max(),
        "ticket_ids": g["ticket_id"].agg(list),
    }).reset_index()
    blank = out["label"].eq("")
    out.loc[blank, "label"] = (out.loc[blank, "district"].fillna("") + out.loc[blank, "street"].fillna(""))
    return out


def _modes(keyed: pd.DataFrame, by: str, col: str, groups: pd.Index) -> pd.Series:
    """The most frequent non-blank value of `col` in each group of `by` (ties: the smallest), "" for none,
    indexed by `groups`. One grouped count for all groups (a Python call per group cost 27 s for a day's
    7 k items at 5 M tickets)."""
    s = keyed[col]
    s = s[s.notna()].astype(str)
    s = s[s != ""]
    if s.empty:
        return pd.Series("", index=groups, dtype=object)
    pairs = pd.DataFrame({"g": keyed.loc[s.index, by].to_numpy(dtype=object), "v": s.to_numpy(dtype=object)})
    counts = pairs.groupby(["g", "v"], sort=False).size().reset_index(name="n")
    best = counts.sort_values(["g", "n", "v"], ascending=[True, False, True], kind="stable").drop_duplicates("g")
    return best.set_index("g")["v"].reindex(groups).fillna("").astype(object)
