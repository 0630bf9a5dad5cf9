"""Chinese map coordinate systems: GCJ-02 (AMap, Tencent) and BD-09 (Baidu) to and from WGS84.

Coordinates copied from Chinese web maps are offset 300-600 m from WGS84 in
Beijing and must be converted before they are matched against the street
polygons. The forward transforms are the published formulas; GCJ-02 -> WGS84
has no closed form and is solved by fixed-point iteration to < 1 cm.
All functions take scalars or numpy arrays and are vectorised.
"""

from __future__ import annotations

import numpy as np

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

CRS_NAMES = ("wgs84", "gcj02", "bd09")


def _out_of_china(lon, lat):
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _transform_lat(x, y):
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x, y):
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _as_arrays(lon, lat):
    scalar = np.isscalar(lon) and np.isscalar(lat)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), scalar


def _ret(lon, lat, scalar):
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def wgs84_to_gcj02(lon, lat):
    lon, lat, scalar = _as_arrays(lon, lat)
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = _out_of_china(lon, lat)
    out_lon = np.where(outside, lon, lon + dlon)
    out_lat = np.where(outside, lat, lat + dlat)
    return _ret(out_lon, out_lat, scalar)


def gcj02_to_wgs84(lon, lat, *, tol: float = 1e-9, max_iter: int = 30):
    """Invert wgs84_to_gcj02 by fixed-point iteration (error far below 1 m)."""
    lon, lat, scalar = _as_arrays(lon, lat)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(max_iter):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon = wlon - dlon
        wlat = wlat - dlat
        if np.nanmax(np.abs(np.concatenate([np.atleast_1d(dlon), np.atleast_1d(dlat)])), initial=0) < tol:
            break
    return _ret(wlon, wlat, scalar)


def gcj02_to_bd09(lon, lat):
    lon, lat, scalar = _as_arrays(lon, lat)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return _ret(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006, scalar)


def bd09_to_gcj02(lon, lat):
    lon, lat, scalar = _as_arrays(lon, lat)
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _ret(z * np.cos(theta), z * np.sin(theta), scalar)


def bd09_to_wgs84(lon, lat):
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon, lat):
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def to_wgs84(lon, lat, crs: str):
    """Convert coordinates given in `crs` (wgs84, gcj02 or bd09) to WGS84."""
    crs = normalise_crs(crs)
    if crs == "wgs84":
        lon, lat, scalar = _as_arrays(lon, lat)
        return _ret(lon, lat, scalar)
    if crs == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    return bd09_to_wgs84(lon, lat)


def from_wgs84(lon, lat, crs: str):
    """Convert WGS84 coordinates to `crs` (for phone map apps, tile servers)."""
    crs = normalise_crs(crs)
    if crs == "wgs84":
        lon, lat, scalar = _as_arrays(lon, lat)
        return _ret(lon, lat, scalar)
    if crs == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    return wgs84_to_bd09(lon, lat)


def normalise_crs(crs: str | None) -> str:
    c = (crs or "wgs84").strip().lower().replace("-", "").replace("_", "")
    aliases = {"wgs84": "wgs84", "epsg4326": "wgs84", "4326": "wgs84", "gps": "wgs84",
               "gcj02": "gcj02", "gcj": "gcj02", "amap": "gcj02", "gaode": "gcj02", "tencent": "gcj02",
               "bd09": "bd09", "bd09ll": "bd09", "baidu": "bd09"}
    if c not in aliases:
        raise ValueError(f"unknown coordinate system {crs!r}; use one of {', '.join(CRS_NAMES)}")
    return aliases[c]


def haversine_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (vectorised)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * np.arcsin(np.sqrt(a))
