"""Locating tickets without coordinates by their address text, to a district (and a street where the pack has
streets), with `cpca` (Chinese Province, City and Area recognition; MIT, offline: its 2020 table of
administrative codes ships inside the package, about 180 KB).

Why: many exports have no coordinates and no district column, only an address such as "蚌山区东海大道100号" or
"新野县城郊乡王庄村". Such a ticket still belongs to a district for rankings and for district scope. The text is
read with the region's own province and city put in front (so "朝阳区" is Beijing's, not Changchun's), and a
result counts only when its district is one of the active region's. The import flags these tickets
`located_by_address` (geo_flag `by_address`): they count per district, never as points on a map.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import pandas as pd

from geo import names, regions

_STREET_END = re.compile(r"(街道|镇|乡|地区)")


@lru_cache(maxsize=1)
def _cpca():
    import cpca

    logging.getLogger("cpca").setLevel(logging.WARNING)
    return cpca


def locate(texts: list[str]) -> pd.DataFrame:
    """District and street of each address text in the active region: text, district, street (None when the
    text names no place of the region)."""
    r = regions.active()
    out = pd.DataFrame({"text": pd.Series(texts, dtype=object)})
    out["district"] = pd.Series([None] * len(out), dtype=object)
    out["street"] = pd.Series([None] * len(out), dtype=object)
    if not len(out) or not r.has_geography:
        return out
    prefix = r.province + r.label if r.province != r.label else r.label
    found = _cpca().transform([prefix + str(t) for t in texts])
    city_ok = {r.label, "市辖区", ""}
    districts, streets = [], []
    for city, area, rest in zip(found["市"], found["区"], found["地址"], strict=True):
        city = "" if pd.isna(city) else str(city)
        d = names.canonical_district(area) if isinstance(area, str) and city in city_ok else None
        districts.append(d)
        streets.append(_street(d, "" if pd.isna(rest) else str(rest)) if d else None)
    out["district"] = pd.Series(districts, dtype=object)
    out["street"] = pd.Series(streets, dtype=object)
    return out


def _street(district: str, rest: str) -> str | None:
    """The street/township the rest of the address starts with ("城郊乡王庄村" → 城郊乡), if the pack has it."""
    m = _STREET_END.search(rest[:12])
    if not m:
        return None
    _d, s = names.canonical_street(rest[: m.end()], district)
    return s
