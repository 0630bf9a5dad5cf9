"""Beijing geography: shipped polygons, dissolved districts, point assignment, names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geo import boundaries, names


def test_shipped_geography_is_complete():
    s = boundaries.streets()
    assert len(s) == 343
    assert s["street_code"].is_unique
    d = boundaries.districts()
    assert len(d) == 16
    assert d["population"].sum() == 21_893_095
    assert d.geometry.is_valid.all()
    assert (Path(boundaries.__file__).with_name("assets") / "LICENSE-bj-subdistricts.txt").exists()


def test_street_table_population_estimates_add_up_per_district():
    t = boundaries.street_table()
    assert len(t) == 343
    by_d = t.groupby("district")["population_est"].sum()
    assert abs(by_d["朝阳区"] - 3_452_460) < 43  # rounding of 43 streets


@pytest.mark.parametrize(
    ("lon", "lat", "district", "street"),
    [
        (116.420606, 39.908785, "东城区", "建国门街道"),
        (116.492054, 39.916981, "朝阳区", "八里庄街道"),
        (116.286495, 39.927929, "海淀区", "八里庄街道"),
        (117.124361, 40.161711, "平谷区", "兴谷街道"),
        (-73.98, 40.75, None, None),  # New York
        (np.nan, np.nan, None, None),
    ],
)
def test_assign_points_known_places(lon, lat, district, street):
    out = boundaries.assign_points([lon], [lat])
    assert out.loc[0, "district"] == district
    assert out.loc[0, "street"] == street


def test_assign_every_street_inner_point_to_its_own_street():
    t = boundaries.street_table()
    out = boundaries.assign_points(t["lon"].to_numpy(), t["lat"].to_numpy())
    assert (out["street_code"].to_numpy() == t["street_code"].to_numpy()).all()


def test_assign_points_is_aligned_and_vectorised():
    t = boundaries.street_table()
    lon = np.concatenate([t["lon"].to_numpy(), [np.nan, 0.0]])
    lat = np.concatenate([t["lat"].to_numpy(), [np.nan, 0.0]])
    out = boundaries.assign_points(lon, lat)
    assert len(out) == 345
    assert out["street"].iloc[:343].notna().all()
    assert out["street"].iloc[343:].isna().all()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("朝阳", "朝阳区"), ("朝阳区", "朝阳区"), ("北京市朝阳区", "朝阳区"), ("Chaoyang", "朝阳区"),
     ("chaoyang district", "朝阳区"), ("ＣＨＡＯＹＡＮＧ", "朝阳区"), (" 海淀区 ", "海淀区"), ("崇文区", "东城区"),
     ("密云县", "密云区"), ("浦东新区", None), ("", None), (None, None)],
)
def test_canonical_district(raw, expected):
    assert names.canonical_district(raw) == expected


@pytest.mark.parametrize(
    ("raw", "district", "expected"),
    [("建国门", "东城区", ("东城区", "建国门街道")), ("建国门街道", None, ("东城区", "建国门街道")),
     ("八里庄", "海淀区", ("海淀区", "八里庄街道")), ("八里庄街道", None, (None, None)),  # ambiguous
     ("不存在街道", "东城区", ("东城区", None))],
)
def test_canonical_street(raw, district, expected):
    assert names.canonical_street(raw, district) == expected
