"""The active region's districts and streets/townships, and assigning points to them.

The polygons come from the active region pack (geo/regions.py): Beijing's 343 street/township polygons ship in
`geo/assets/` (MIT, see LICENSE-bj-subdistricts.txt) and its district polygons are the dissolved streets;
other packs ship district/county polygons (and streets when a file of them was given). `assign_points` puts
many points into the finest polygons at once with shapely 2's vectorised STRtree query, which is what the
import and the demo generator use (DuckDB's spatial extension cannot be installed offline).

A pack without streets gives an empty `streets()`: points are assigned to districts only (street None).
Everything is cached per region name.
"""

from __future__ import annotations

import json
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import regions

STREET_COLUMNS = ["street_code", "street", "district", "district_adcode", "geometry"]
BBOX_MARGIN_DEG = 0.05   # around a pack's district bounds when it names no bounds of its own


def _region(name: str | None) -> regions.Region:
    return regions.get(name) if name else regions.active()


def attribution(name: str | None = None) -> str:
    """The sources of the active region's boundaries and population, for captions and exports."""
    return _region(name).attribution


@lru_cache(maxsize=8)
def _streets(name: str) -> gpd.GeoDataFrame:
    r = regions.get(name)
    f = r.path(r.streets_file)
    if f is None:
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in STREET_COLUMNS[:-1]},
                                geometry=gpd.GeoSeries([], crs=4326))
    gdf = gpd.read_file(f)
    gdf = gdf.rename(columns={"code": "street_code", "name": "street"})
    if "district_adcode" not in gdf:
        gdf["district_adcode"] = None
    gdf = gdf[STREET_COLUMNS]
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    return gdf.sort_values("street_code").reset_index(drop=True).set_crs(4326, allow_override=True)


def streets() -> gpd.GeoDataFrame:
    """The street polygons of the active region: street_code, street, district, district_adcode, geometry
    (EPSG:4326); empty for a pack without streets."""
    return _streets(regions.active().name)


def _population(r: regions.Region) -> pd.DataFrame | None:
    f = r.path(r.population_file)
    if f is None:
        return None
    pop = pd.read_csv(f, dtype={"district_adcode": str, "adcode": str})
    pop = pop.rename(columns={"district_adcode": "adcode", "population_2020": "population"})
    return pop[["district", "population"]]


@lru_cache(maxsize=8)
def _districts(name: str) -> gpd.GeoDataFrame:
    r = regions.get(name)
    f = r.path(r.districts_file)
    if f is not None:
        d = gpd.read_file(f)[["district", "adcode", "geometry"]].set_crs(4326, allow_override=True)
        d["geometry"] = shapely.make_valid(d.geometry.values)
    elif r.streets_file:
        st = _streets(name)
        d = st.dissolve(by="district", as_index=False)[["district", "geometry"]]
        codes = st.groupby("district")["district_adcode"].first()
        d["adcode"] = d["district"].map(codes)
    else:
        return gpd.GeoDataFrame({"district": pd.Series(dtype=object), "adcode": pd.Series(dtype=object),
                                 "population": pd.Series(dtype="Int64")}, geometry=gpd.GeoSeries([], crs=4326))
    pop = _population(r)
    if pop is not None:
        d = d.drop(columns=[c for c in ("population",) if c in d]).merge(pop, on="district", how="left")
    else:
        d["population"] = pd.NA
    d["population"] = d["population"].astype("Int64")
    return d.sort_values("adcode").reset_index(drop=True)


def districts() -> gpd.GeoDataFrame:
    """District polygons of the active region, with population (NA where the pack has none)."""
    return _districts(regions.active().name)


@lru_cache(maxsize=8)
def _tree(name: str) -> tuple[shapely.STRtree | None, np.ndarray, bool]:
    """The finest polygons of the region (streets, else districts), their tree, and whether they are streets."""
    st = _streets(name)
    by_street = len(st) > 0
    geoms = (st if by_street else _districts(name)).geometry.values.copy()
    if len(geoms) == 0:
        return None, geoms, by_street
    shapely.prepare(geoms)
    return shapely.STRtree(geoms), geoms, by_street


@lru_cache(maxsize=8)
def _street_table(name: str) -> pd.DataFrame:
    r = regions.get(name)
    cols = ["street_code", "street", "district", "area_km2", "population_est", "lon", "lat"]
    st = _streets(name)
    if not len(st):
        return pd.DataFrame({c: pd.Series(dtype=object if c in cols[:3] else float) for c in cols})
    pts = r.path(r.street_points_file)
    if pts is not None:
        c = pd.read_csv(pts, dtype={"code": str, "district_adcode": str})
        c = c.rename(columns={"code": "street_code", "name": "street", "inner_lon": "lon", "inner_lat": "lat"})
    else:
        inner = st.geometry.representative_point()
        c = pd.DataFrame({"street_code": st["street_code"], "street": st["street"], "district": st["district"],
                          "area_km2": _area_km2(st).round(3), "lon": inner.x.round(6), "lat": inner.y.round(6)})
    pop = _districts(name).set_index("district")["population"]
    per_street = pop / c.groupby("district").size()
    c["population_est"] = c["district"].map(per_street).astype("Float64").round(0)
    return c[cols]


def street_table() -> pd.DataFrame:
    """Rows for the `streets` table: code, name, district, area, estimated population, label point."""
    return _street_table(regions.active().name).copy()


def _area_km2(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Areas in km² (an equal-area projection)."""
    return gdf.geometry.to_crs(6933).area / 1e6


def district_table() -> pd.DataFrame:
    """Rows for the `districts` table."""
    r = regions.active()
    d = districts()
    if not len(d):
        return pd.DataFrame({"district": [], "adcode": [], "population": [], "area_km2": [], "lon": [], "lat": [],
                             "is_core": []})
    s = street_table()
    area = s.groupby("district")["area_km2"].sum() if len(s) else pd.Series(_area_km2(d).round(3).values,
                                                                             index=d["district"])
    pts = d.geometry.representative_point()
    return pd.DataFrame({
        "district": d["district"],
        "adcode": d["adcode"],
        "population": d["population"].astype("Int64"),
        "area_km2": d["district"].map(area).round(3),
        "lon": pts.x.round(6),
        "lat": pts.y.round(6),
        "is_core": d["district"].isin(r.core),
    })


def bbox(name: str | None = None) -> tuple[float, float, float, float]:
    """Generous bounds of the region (min lon, min lat, max lon, max lat), for validating coordinates.

    A region without geography has empty bounds (nothing is inside)."""
    r = _region(name)
    if r.bbox:
        return r.bbox
    d = _districts(r.name)
    if not len(d):
        return (0.0, 0.0, 0.0, 0.0)
    x0, y0, x1, y1 = d.total_bounds
    m = BBOX_MARGIN_DEG
    return (round(x0 - m, 4), round(y0 - m, 4), round(x1 + m, 4), round(y1 + m, 4))


def centre(name: str | None = None) -> tuple[float, float]:
    """Where maps of the region are centred (lon, lat)."""
    r = _region(name)
    if r.centre:
        return r.centre
    x0, y0, x1, y1 = bbox(r.name)
    return ((x0 + x1) / 2, (y0 + y1) / 2)


def __getattr__(name: str):
    # BBOX and CITY_CENTRE were constants of Beijing; they now follow the active region.
    if name == "BBOX":
        return bbox()
    if name == "CITY_CENTRE":
        return centre()
    raise AttributeError(name)


def in_bbox(lon, lat) -> np.ndarray:
    x0, y0, x1, y1 = bbox()
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def assign_points(lon, lat) -> pd.DataFrame:
    """Street and district of each WGS84 point, vectorised.

    Returns a frame aligned with the input: street_code, street, district (None where the point is missing
    or outside every polygon; street None everywhere in a pack without streets).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape:
        raise ValueError("lon and lat must have the same length")
    n = lon.shape[0]
    name = regions.active().name
    tree, geoms, by_street = _tree(name)
    idx = np.full(n, -1, dtype=np.int64)
    ok = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    if ok.size and tree is not None:
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
    out = pd.DataFrame({"street_code": None, "street": None, "district": None}, index=range(n), dtype=object)
    found = idx >= 0
    if found.any():
        if by_street:
            rows = _streets(name).iloc[idx[found]]
            out.loc[found, "street_code"] = rows["street_code"].to_numpy()
            out.loc[found, "street"] = rows["street"].to_numpy()
        else:
            rows = _districts(name).iloc[idx[found]]
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
    if "population" in gdf:
        gdf = gdf.assign(population=gdf["population"].astype(object).where(gdf["population"].notna(), None))
    return json.loads(gdf.to_json(drop_id=True))
