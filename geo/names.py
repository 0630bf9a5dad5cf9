"""Canonical district and street names from the forms real exports use.

朝阳 / 朝阳区 / 北京市朝阳区 / Chaoyang / chaoyang district all become 朝阳区.
Streets: 建国门 / 建国门街道 / 建国门街 become 建国门街道 within its district.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

DISTRICT_PINYIN = {
    "dongcheng": "东城区", "xicheng": "西城区", "chaoyang": "朝阳区", "fengtai": "丰台区",
    "shijingshan": "石景山区", "haidian": "海淀区", "mentougou": "门头沟区", "fangshan": "房山区",
    "tongzhou": "通州区", "shunyi": "顺义区", "changping": "昌平区", "daxing": "大兴区",
    "huairou": "怀柔区", "pinggu": "平谷区", "miyun": "密云区", "yanqing": "延庆区",
}
# Districts merged away in 2010 whose names still appear in old records.
FORMER_DISTRICTS = {"崇文区": "东城区", "宣武区": "西城区", "密云县": "密云区", "延庆县": "延庆区"}
_STREET_SUFFIXES = ("街道办事处", "街道", "地区办事处", "地区", "镇", "乡", "街")


def clean_text(s: str) -> str:
    """NFKC (full-width to half-width), strip, collapse inner spaces."""
    s = unicodedata.normalize("NFKC", s)
    return re.sub(r"\s+", " ", s).strip()


@lru_cache(maxsize=1)
def _street_index() -> tuple[dict, dict]:
    from geo.boundaries import street_table

    t = street_table()
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
    return list(DISTRICT_PINYIN.values())


def canonical_district(value) -> str | None:
    """The canonical district name, or None when the value names no Beijing district."""
    if value is None:
        return None
    s = clean_text(str(value))
    if not s:
        return None
    s = s.removeprefix("北京市").removeprefix("北京").strip()
    if s in FORMER_DISTRICTS:
        return FORMER_DISTRICTS[s]
    low = re.sub(r"[^a-z]", "", s.lower().replace("district", ""))
    if low in DISTRICT_PINYIN:
        return DISTRICT_PINYIN[low]
    for d in DISTRICT_PINYIN.values():
        if s == d or s == d[:-1] or s == d[:-1] + "县":
            return d
    return None


def canonical_street(value, district: str | None = None) -> tuple[str | None, str | None]:
    """(district, street) for a street name, using the district to disambiguate.

    Returns (district, None) when the street is unknown.
    """
    if value is None:
        return district, None
    s = clean_text(str(value))
    if not s:
        return district, None
    by_district, anywhere = _street_index()
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
