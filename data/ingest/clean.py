"""Cleaning: SQL expressions that turn raw text cells into typed, normalised values, plus the steps
that need Python (Traditional Chinese, place names, coordinates).

Everything that can run in DuckDB does, over a whole chunk at once: full-width
folding, trimming, date parsing in every form real exports use, numbers,
yes/no. Python only sees what needs it: the few rows written in Traditional
characters (OpenCC is slow, so they are found with one regular expression
first), the distinct place names (a few hundred per file), and the coordinate
arrays (numpy + shapely, vectorised).
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa

from data.ingest.fields import Field, Kind
from geo import boundaries, crs, names

# Full-width ASCII (U+FF01-FF5E), the ideographic space and NBSP, folded to ASCII: what NFKC does to
# the characters that matter in ids, categories and names.
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000\u00a0"
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + "  "
# In free text only letters, digits and blanks are folded: Chinese punctuation (，。（）) stays.
_ALNUM = [c for c in range(0x21, 0x7F) if chr(c).isalnum()]
FULL_WIDTH_ALNUM = "".join(chr(c + 0xFEE0) for c in _ALNUM) + "\u3000\u00a0"
HALF_WIDTH_ALNUM = "".join(chr(c) for c in _ALNUM) + "  "

# Date and time forms tried, in this order, after ISO (with or without offset) and Excel serials.
TIME_FORMATS = [
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
    "%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y%m%d",
    "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M:%S", "%Y年%m月%d日%H时%M分",
    "%Y年%m月%d日",
    "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d",
]
EARLIEST = dt.datetime(1990, 1, 1)

TRUE_WORDS = ["是", "1", "true", "t", "y", "yes", "已解决", "解决", "紧急", "√"]
FALSE_WORDS = ["否", "0", "false", "f", "n", "no", "未解决", "不紧急", "×"]
SATISFACTION = {"非常满意": "满意", "满意": "满意", "基本满意": "基本满意", "比较满意": "基本满意",
                "一般": "基本满意", "不满意": "不满意", "非常不满意": "不满意"}
CRS_CODES = {"wgs84": 0, "gcj02": 1, "bd09": 2}


def q(name: str) -> str:
    """A quoted SQL identifier (headers come from files: quote them, never trust them)."""
    return '"' + str(name).replace('"', '""') + '"'


def base_params() -> dict:
    return {
        "fw": FULL_WIDTH, "hw": HALF_WIDTH,
        "dirty_id": "[\uff01-\uff5e\u3000\u00a0\\s]",
        "dirty_short": "[\uff01-\uff5e\u3000\u00a0\\t\\n\\r\\f\\v]|\\s\\s",
        "dirty_long": "[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000\u00a0]|^\\s|\\s$", "fwan": FULL_WIDTH_ALNUM, "hwan": HALF_WIDTH_ALNUM,
        "time_formats": TIME_FORMATS, "true_words": TRUE_WORDS, "false_words": FALSE_WORDS,
        "sat_from": list(SATISFACTION), "sat_to": list(SATISFACTION.values()),
        "earliest": EARLIEST,
        "latest": dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=8 + 48),
    }


def text_sql(expr: str, ftype: str) -> str:
    """Clean a VARCHAR expression according to the field type (the result is NULL when empty).

    Most values are already clean; one cheap regex test per value decides whether
    the costly folding (translate, ~10 us a value) and blank collapsing run at all.
    """
    if ftype == "id":
        fix = f"regexp_replace(translate({expr}, $fw, $hw), '\\s+', '', 'g')"
        return f"nullif(CASE WHEN regexp_matches({expr}, $dirty_id) THEN {fix} ELSE {expr} END, '')"
    if ftype == "long":
        fix = f"regexp_replace(translate({expr}, $fwan, $hwan), '^\\s+|\\s+$', '', 'g')"
        return f"nullif(CASE WHEN regexp_matches({expr}, $dirty_long) THEN {fix} ELSE {expr} END, '')"
    # short, time, num, bool, list: fold, collapse blanks, trim
    fix = f"regexp_replace(translate({expr}, $fw, $hw), '\\s+', ' ', 'g')"
    return f"nullif(trim(CASE WHEN regexp_matches({expr}, $dirty_short) THEN {fix} ELSE {expr} END), '')"


def time_sql(t: str, user_formats: bool) -> str:
    """Parse a cleaned text expression into a local TIMESTAMP (NULL when it cannot be read)."""
    user = f"try_strptime({t}, $user_formats), " if user_formats else ""
    return f"""(CASE
        WHEN {t} IS NULL THEN NULL
        WHEN regexp_full_match({t}, '\\d{{5}}(\\.\\d+)?') THEN
            CASE WHEN TRY_CAST({t} AS DOUBLE) BETWEEN 20000 AND 80000 THEN
                TIMESTAMP '1899-12-30 00:00:00'
                + to_microseconds(CAST(round(TRY_CAST({t} AS DOUBLE) * 86400000000) AS BIGINT)) END
        WHEN regexp_matches({t}, '\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?\\s*([Zz]|[+-]\\d\\d(:?\\d\\d)?)$') THEN
            TRY_CAST(TRY_CAST({t} AS TIMESTAMPTZ) AS TIMESTAMP)
        ELSE COALESCE({user}TRY_CAST({t} AS TIMESTAMP), try_strptime({t}, $time_formats))
    END)"""


def bool_sql(t: str) -> str:
    return (f"(CASE WHEN list_contains($true_words, lower({t})) THEN true "
            f"WHEN list_contains($false_words, lower({t})) THEN false END)")


def value_sql(kind: Kind, f: Field, t: str) -> str:
    """Field-specific normalisation of a cleaned text value."""
    if kind.name == "tickets" and f.name == "satisfaction":
        return f"coalesce($sat_to[list_position($sat_from, {t})], {t})"
    if kind.name == "clues" and f.name == "district":
        return f"nullif(regexp_replace({t}, '(人民)?检察院.*$', ''), '')"
    if kind.name == "clues" and f.name == "function":
        return f"regexp_replace({t}, '(监督)?检察$', '')"
    return t


# ---------------------------------------------------------------- Traditional Chinese


@lru_cache(maxsize=1)
def traditional_pattern() -> str:
    """A regex class of characters that exist only in Traditional writing (from OpenCC's tables)."""
    import opencc

    d = os.path.join(os.path.dirname(opencc.__file__), "dictionary")

    def load(name):
        out = {}
        with open(os.path.join(d, name), encoding="utf-8") as fh:
            for line in fh:
                k, _, v = line.rstrip("\n").partition("\t")
                out[k] = v.split(" ")
        return out

    ts, st = load("TSCharacters.txt"), load("STCharacters.txt")
    chars = sorted(k for k, v in ts.items() if len(k) == 1 and k not in st and k not in v)
    return "[" + "".join(chars) + "]"


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(values: pd.Series) -> pd.Series:
    conv = _t2s()
    return values.map(lambda v: conv.convert(v) if isinstance(v, str) else v)


# ---------------------------------------------------------------- place names


def resolve_names(pairs: pd.DataFrame) -> pd.DataFrame:
    """Canonical (district, street) for distinct raw (d_raw, s_raw) pairs.

    Adds d_text, s_text (canonical or None), d_unknown and s_unknown (a value was given but
    names no Beijing district / street).
    """
    d_text, s_text, d_unk, s_unk = [], [], [], []
    for d_raw, s_raw in zip(pairs["d_raw"], pairs["s_raw"], strict=True):
        d_raw = None if d_raw is None or (isinstance(d_raw, float) and np.isnan(d_raw)) else d_raw
        s_raw = None if s_raw is None or (isinstance(s_raw, float) and np.isnan(s_raw)) else s_raw
        d = names.canonical_district(d_raw) if d_raw else None
        s = None
        if s_raw:
            sd, s = names.canonical_street(s_raw, d)
            if d is None and sd is not None:
                d = sd
        d_text.append(d)
        s_text.append(s)
        d_unk.append(bool(d_raw) and names.canonical_district(d_raw) is None)
        s_unk.append(bool(s_raw) and s is None)
    out = pairs.copy()
    out["d_text"] = pd.Series(d_text, dtype=object)
    out["s_text"] = pd.Series(s_text, dtype=object)
    out["d_unknown"] = d_unk
    out["s_unknown"] = s_unk
    return out


def resolve_districts(values: list) -> pd.DataFrame:
    """Canonical district for distinct raw district texts (procuratorate names are already stripped)."""
    canon = [names.canonical_district(v) if v else None for v in values]
    return pd.DataFrame({"d_raw": pd.Series(values, dtype=object), "d_text": pd.Series(canon, dtype=object)})


# ---------------------------------------------------------------- coordinates


def locate(rows: np.ndarray, lon: np.ndarray, lat: np.ndarray, crs_code: np.ndarray) -> pa.Table:
    """Validate, fix and convert coordinates, and find the street each point falls in.

    crs_code per row: 0 wgs84, 1 gcj02, 2 bd09. Returns an Arrow table with _row,
    lon, lat (WGS84; NULL when there is no usable point), has_pt, in_region,
    swapped, converted (0/1/2), pt_code (street code of the polygon, NULL outside all or in a pack without
    streets) and pt_dist (its district).
    """
    lon = np.array(lon, dtype=float)
    lat = np.array(lat, dtype=float)
    code = np.nan_to_num(np.asarray(crs_code, dtype=float), nan=0).astype(np.int8)
    has = np.isfinite(lon) & np.isfinite(lat) & ~((lon == 0) & (lat == 0))
    inside = has & boundaries.in_bbox(lon, lat)
    swapped = has & ~inside & boundaries.in_bbox(lat, lon)
    lon[swapped], lat[swapped] = lat[swapped].copy(), lon[swapped].copy()
    converted = np.zeros(len(lon), dtype=np.int8)
    for c, name in ((1, "gcj02"), (2, "bd09")):
        sel = has & (code == c)
        if sel.any():
            lon[sel], lat[sel] = crs.to_wgs84(lon[sel], lat[sel], name)
            converted[sel] = c
    in_region = has & boundaries.in_bbox(lon, lat)
    pt_code = np.full(len(lon), None, dtype=object)
    pt_dist = np.full(len(lon), None, dtype=object)
    if in_region.any():
        found = boundaries.assign_points(lon[in_region], lat[in_region])
        pt_code[in_region] = found["street_code"].to_numpy()
        pt_dist[in_region] = found["district"].to_numpy()   # also in a region pack without streets
    lon[~has] = np.nan
    lat[~has] = np.nan
    return pa.table({
        "_row": pa.array(rows, type=pa.int64()),
        "g_lon": pa.array(lon, type=pa.float64(), from_pandas=True),
        "g_lat": pa.array(lat, type=pa.float64(), from_pandas=True),
        "has_pt": pa.array(has),
        "in_region": pa.array(in_region),
        "swapped": pa.array(swapped),
        "converted": pa.array(converted, type=pa.int8()),
        "crs_eff": pa.array(code, type=pa.int8()),
        "pt_code": pa.array(pt_code, type=pa.string()),
        "pt_dist": pa.array(pt_dist, type=pa.string()),
    })
