"""Beijing's 16 districts and 343 streets/townships, and assigning points to them.

The street polygons ship in `geo/assets/` (MIT, see LICENSE-bj-subdistricts.txt);
district polygons are the dissolved streets. `assign_points` puts many points
into streets at once with shapely 2's vectorised STRtree query, which is what
the import and the demo generator use (DuckDB's spatial extension cannot be
installed offline).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ASSETS = Path(__file__).with_name("assets")
STREETS_FILE = ASSETS / "beijing_subdistricts_wgs84.geojson"
POPULATION_FILE = ASSETS / "beijing_district_population_2020.csv"
CENTROIDS_FILE = ASSETS / "beijing_subdistrict_centroids_wgs84.csv"
ATTRIBUTION = "街乡边界：thebamboogrove/bj-subdistricts（MIT）；人口：北京市第七次全国人口普查公报"

# Generous bounding box of Beijing, for validating coordinates.
BBOX = (115.40, 39.40, 117.52, 41.07)  # min lon, min lat, max lon, max lat
CORE_DISTRICTS = ("东城区", "西城区")
CITY_CENTRE = (116.3975, 39.9087)  # Tiananmen, WGS84


@lru_cache(maxsize=1)
def streets() -> gpd.GeoDataFrame:
    """The 343 street polygons: street_code, street, district, district_adcode, geometry (EPSG:4326)."""
    gdf = gpd.read_file(STREETS_FILE)
    gdf = gdf.rename(columns={"code": "street_code", "name": "street"})
    gdf = gdf[["street_code", "street", "district", "district_adcode", "geometry"]]
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    return gdf.sort_values("street_code").reset_index(drop=True).set_crs(4326, allow_override=True)


@lru_cache(maxsize=1)
def districts() -> gpd.GeoDataFrame:
    """District polygons dissolved from the streets, with population."""
    d = streets().dissolve(by="district", as_index=False)[["district", "geometry"]]
    pop = pd.read_csv(POPULATION_FILE, dtype={"district_adcode": str})
    d = d.merge(pop.rename(columns={"district_adcode": "adcode", "population_2020": "population"}), on="district")
    return d.sort_values("adcode").reset_index(drop=True)


@lru_cache(maxsize=1)
def _tree() -> tuple[shapely.STRtree, np.ndarray]:
    geoms = streets().geometry.values.copy()
    shapely.prepare(geoms)
    return shapely.STRtree(geoms), geoms


def street_table() -> pd.DataFrame:
    """Rows for the `streets` table: code, name, district, area, estimated population, label point."""
    c = pd.read_csv(CENTROIDS_FILE, dtype={"code": str, "district_adcode": str})
    c = c.rename(columns={"code": "street_code", "name": "street", "inner_lon": "lon", "inner_lat": "lat"})
    pop = pd.read_csv(POPULATION_FILE)
    per_street = pop.set_index("district")["population_2020"] / c.groupby("district").size()
    c["population_est"] = c["district"].map(per_street).round(0)
    return c[["street_code", "street", "district", "area_km2", "population_est", "lon", "lat"]]


def district_table() -> pd.DataFrame:
    """Rows for the `districts` table."""
    s = street_table()
    area = s.groupby("district")["area_km2"].sum()
    d = districts()
    pts = d.geometry.representative_point()
    return pd.DataFrame({
        "district": d["district"],
        "adcode": d["adcode"],
        "population": d["population"].astype("int64"),
        "area_km2": d["district"].map(area).round(3),
        "lon": pts.x.round(6),
        "lat": pts.y.round(6),
        "is_core": d["district"].isin(CORE_DISTRICTS),
    })


def in_bbox(lon, lat) -> np.ndarray:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= BBOX[0]) & (lon <= BBOX[2]) & (lat >= BBOX[1]) & (lat <= BBOX[3])


def assign_points(lon, lat) -> pd.DataFrame:
    """Street and district of each WGS84 point, vectorised.

    Returns a frame aligned with the input: street_code, street, district
    (None where the point is missing or outside every polygon).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape:
        raise ValueError("lon and lat must have the same length")
    n = lon.shape[0]
    idx = np.full(n, -1, dtype=np.int64)
    ok = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    if ok.size:
        tree, geoms = _tree()
        # bounding-box candidates from the tree, then an exact test per polygon
        # with prepared geometries: ~10x faster than a predicate query here.
        src, poly = tree.query(shapely.points(lon[ok], lat[ok]))
        order = np.argsort(poly, kind="stable")
        src, poly = ok[src[order]], poly[order]
        cuts = np.flatnonzero(np.diff(poly)) + 1
        for pts, polys in zip(np.split(src, cuts), np.split(poly, cuts), strict=True):
            if pts.size == 0:
                continue
            inside = shapely.contains_xy(geoms[polys[0]], lon[pts], lat[pts])
            # a point on a shared border may match two polygons: the first wins
            pts = pts[inside]
            free = idx[pts] < 0
            idx[pts[free]] = polys[0]
    s = streets()
    found = idx >= 0
    out = pd.DataFrame({"street_code": None, "street": None, "district": None}, index=range(n), dtype=object)
    if found.any():
        rows = s.iloc[idx[found]]
        out.loc[found, "street_code"] = rows["street_code"].to_numpy()
        out.loc[found, "street"] = rows["street"].to_numpy()
        out.loc[found, "district"] = rows["district"].to_numpy()
    return out


def streets_geojson(simplify: float = 0.0) -> dict:
    """Street outlines as a GeoJSON dict (optionally simplified, degrees)."""
    return _geojson(streets(), simplify)


def districts_geojson(simplify: float = 0.0) -> dict:
    return _geojson(districts()[["district", "adcode", "population", "geometry"]], simplify)


def _geojson(gdf: gpd.GeoDataFrame, simplify: float) -> dict:
    if simplify:
        gdf = gdf.copy()
        gdf["geometry"] = gdf.geometry.simplify(simplify, preserve_topology=True)
    return json.loads(gdf.to_json(drop_id=True))
