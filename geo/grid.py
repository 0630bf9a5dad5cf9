"""A square grid over Beijing in plain degrees, shared by SQL binning, hotspots and the map.

DuckDB cannot load its spatial extension offline, so points are binned in SQL
with `floor(lat / dlat)` and `floor(lon / dlon)`. One cell size in metres is
turned into degrees at Beijing's latitude (40°N: cells are square to ±1.5 %
between 39.4° and 41.1°), and the same conversion gives each cell's centre and
outline back for drawing. `beijing_cells()` (`region_cells`) lists the cells whose centre lies in
the active region (with district and street), which is the study area for Gi*. The degree size of a cell is
computed at 40°N (Beijing); further south (Bengbu 33°N, Nanyang 33°N) cells are 8-10 % wider east-west.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

M_PER_DEG_LAT = 111_320.0
REF_LAT = 40.0
CELL_SIZES_M = (100, 250, 500, 1000, 2000, 4000, 8000)


@dataclass(frozen=True)
class Grid:
    """Cell size in metres and its size in degrees."""

    cell_m: int

    def __post_init__(self) -> None:
        if not (10 <= int(self.cell_m) <= 50_000):
            raise ValueError(f"cell size must be between 10 m and 50 km, got {self.cell_m}")

    @property
    def dlat(self) -> float:
        return self.cell_m / M_PER_DEG_LAT

    @property
    def dlon(self) -> float:
        return self.cell_m / (M_PER_DEG_LAT * math.cos(math.radians(REF_LAT)))

    def index(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Row (from latitude) and column (from longitude) of each point, as in the SQL binning."""
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        return np.floor(lat / self.dlat).astype(np.int64), np.floor(lon / self.dlon).astype(np.int64)

    def centre(self, gi, gj) -> tuple[np.ndarray, np.ndarray]:
        """(lon, lat) of the centres of cells (gi, gj)."""
        gi = np.asarray(gi, dtype=float)
        gj = np.asarray(gj, dtype=float)
        return (gj + 0.5) * self.dlon, (gi + 0.5) * self.dlat

    def bounds(self, gi: int, gj: int) -> tuple[float, float, float, float]:
        """min lon, min lat, max lon, max lat of one cell."""
        return gj * self.dlon, gi * self.dlat, (gj + 1) * self.dlon, (gi + 1) * self.dlat

    def sql_params(self) -> dict:
        return {"g_dlat": self.dlat, "g_dlon": self.dlon}

    def label(self) -> str:
        return f"{self.cell_m:,} m" if self.cell_m < 1000 else f"{self.cell_m / 1000:g} km"


# SQL fragments for binning; the sizes are bound as $g_dlat / $g_dlon parameters.
SQL_GI = "CAST(floor(lat / $g_dlat) AS BIGINT)"
SQL_GJ = "CAST(floor(lon / $g_dlon) AS BIGINT)"


def cells_geojson(grid: Grid, gi, gj, properties: list[dict] | None = None) -> dict:
    """Square outlines of the cells as a GeoJSON FeatureCollection (for folium / plotly)."""
    feats = []
    for k, (i, j) in enumerate(zip(np.asarray(gi).tolist(), np.asarray(gj).tolist(), strict=True)):
        x0, y0, x1, y1 = grid.bounds(i, j)
        props = {"gi": i, "gj": j}
        if properties is not None:
            props.update(properties[k])
        feats.append({
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [[
                [round(x0, 6), round(y0, 6)], [round(x1, 6), round(y0, 6)], [round(x1, 6), round(y1, 6)],
                [round(x0, 6), round(y1, 6)], [round(x0, 6), round(y0, 6)]]]},
        })
    return {"type": "FeatureCollection", "features": feats}


def beijing_cells(cell_m: int) -> pd.DataFrame:
    """Every cell of this size whose centre lies in the active region: gi, gj, lon, lat, district, street.

    (The name is from when the region was always Beijing.) Computed once per region and size (about 0.4 s for
    Beijing's 500 m cells, 134 k candidates); street is None in a pack without streets.
    """
    from geo import regions

    return _region_cells(regions.active().name, int(cell_m))


region_cells = beijing_cells


@lru_cache(maxsize=16)
def _region_cells(region: str, cell_m: int) -> pd.DataFrame:
    from geo import boundaries  # geopandas: imported when cells are first needed, not by every store open

    grid = Grid(cell_m)
    lon0, lat0, lon1, lat1 = boundaries.bbox(region)
    i0, j0 = grid.index(lon0, lat0)
    i1, j1 = grid.index(lon1, lat1)
    gi, gj = np.meshgrid(np.arange(int(i0), int(i1) + 1), np.arange(int(j0), int(j1) + 1), indexing="ij")
    gi, gj = gi.ravel(), gj.ravel()
    lon, lat = grid.centre(gi, gj)
    where = boundaries.assign_points(lon, lat)
    inside = where["district"].notna().to_numpy()
    return pd.DataFrame({
        "gi": gi[inside], "gj": gj[inside], "lon": lon[inside], "lat": lat[inside],
        "district": where["district"].to_numpy()[inside], "street": where["street"].to_numpy()[inside],
    }).reset_index(drop=True)
