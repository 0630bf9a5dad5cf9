"""Canonical district and street names of the active region from the forms real exports use.

朝阳 / 朝阳区 / 北京市朝阳区 / Chaoyang / chaoyang district all become 朝阳区 (Beijing); 新野 / 新野县 / 南阳市新野县 /
Xinye / 新野縣 become 新野县 (Nanyang). The forms: the canonical name, the name without its 区/县/市 suffix and
with another one, the region's prefixes (province and city), and the pack's aliases table (pinyin, Traditional,
former names such as 崇文区 → 东城区). Streets: 建国门 / 建国门街道 / 建国门街 become 建国门街道 within its district.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache

from geo import regions

_STREET_SUFFIXES = ("街道办事处", "街道", "地区办事处", "地区", "镇", "乡", "街")
_DISTRICT_SUFFIXES = ("自治县", "区", "县", "市", "旗")


def clean_text(s: str) -> str:
    """NFKC (full-width to half-width), strip, collapse inner spaces."""
    s = unicodedata.normalize("NFKC", s)
    return re.sub(r"\s+", " ", s).strip()


def _latin_key(s: str) -> str:
    return re.sub(r"[^a-z]", "", s.lower().replace("district", "").replace("county", ""))


def short_district(name: str) -> str:
    """朝阳区 → 朝阳, 新野县 → 新野, 邓州市 → 邓州 (a two-character name keeps its suffix: 城区)."""
    for suf in _DISTRICT_SUFFIXES:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return name


@lru_cache(maxsize=8)
def _district_index(name: str) -> dict[str, str]:
    """Every accepted form (as compared) -> canonical district, for region `name`."""
    from geo import boundaries

    r = regions.get(name)
    idx: dict[str, str] = {}
    for d in boundaries._districts(name)["district"].tolist():
        short = short_district(d)
        for form in (d, short, short + "区", short + "县", short + "市"):
            idx.setdefault(form, d)
        idx[d] = d
    f = r.path(r.aliases_file)
    if f is not None and f.exists():
        with f.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                alias, d = row["alias"].strip(), row["district"].strip()
                if alias and d:
                    key = _latin_key(alias) if alias.isascii() else clean_text(alias)
                    idx.setdefault(key, d)
    return idx


@lru_cache(maxsize=8)
def _street_index(name: str) -> tuple[dict, dict]:
    from geo.boundaries import _street_table

    t = _street_table(name)
    by_district: dict[str, dict[str, str]] = {}
    anywhere: dict[str, set[tuple[str, str]]] = {}
    for street, district in zip(t["street"], t["district"], strict=True):
        for key in _street_keys(street):
            by_district.setdefault(district, {})[key] = street
            anywhere.setdefault(key, set()).add((district, street))
    return by_district, anywhere


def _street_keys(name: str) -> set[str]:
    keys = {name}
    for suf in _STREET_SUFFIXES:
        if name.endswith(suf) and len(name) > len(suf) + 1:
            keys.add(name[: -len(suf)])
    return keys


def district_names() -> list[str]:
    """The active region's districts, in adcode order."""
    from geo import boundaries

    return boundaries.districts()["district"].tolist()


def canonical_district(value) -> str | None:
    """The canonical district name, or None when the value names no district of the active region."""
    if value is None:
        return None
    s = clean_text(str(value))
    if not s:
        return None
    r = regions.active()
    for p in r.prefixes:
        if s.startswith(p) and len(s) > len(p):
            s = s[len(p):].strip()
            break
    idx = _district_index(r.name)
    if s in idx:
        return idx[s]
    low = _latin_key(s)
    return idx.get(low) if low else None


def canonical_street(value, district: str | None = None) -> tuple[str | None, str | None]:
    """(district, street) for a street name, using the district to disambiguate.

    Returns (district, None) when the street is unknown.
    """
    if value is None:
        return district, None
    s = clean_text(str(value))
    if not s:
        return district, None
    by_district, anywhere = _street_index(regions.active().name)
    candidates = [s] + [s[: -len(suf)] for suf in _STREET_SUFFIXES if s.endswith(suf) and len(s) > len(suf) + 1]
    if district:
        table = by_district.get(district, {})
        for c in candidates:
            if c in table:
                return district, table[c]
        return district, None
    for c in candidates:
        hits = anywhere.get(c)
        if hits and len(hits) == 1:
            return next(iter(hits))
    return None, None
