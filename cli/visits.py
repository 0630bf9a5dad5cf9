"""Write the prosecutors' visit list (走访清单) of hotspots and repeat places as a printable XLSX.

Example: python manage.py visits --topic 井盖 --district 平谷区 --from 2025-01-01 --to 2025-12-31 --out visits.xlsx
"""

from __future__ import annotations

from cli._common import add_db_argument, ledger_cursor, open_read_only

NAME = "visits"
HELP = "hotspot visit list (XLSX with map image) for a problem and district"


def add_arguments(parser) -> None:
    add_db_argument(parser)
    parser.add_argument("--topic", action="append", default=[],
                        help="special project (专项), e.g. 井盖; repeat for several")
    parser.add_argument("--category", action="append", default=[], help="category path, e.g. 城乡建设/市政设施")
    parser.add_argument("--district", action="append", default=[], help="district, e.g. 平谷区; repeat for several")
    parser.add_argument("--street", action="append", default=[], help="street/township name")
    parser.add_argument("--text", default="", help="keywords that must all occur in the ticket text")
    parser.add_argument("--from", dest="date_from", default=None, help="first day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="date_to", default=None, help="last day (YYYY-MM-DD), inclusive")
    parser.add_argument("--top", type=int, default=30, help="most places listed (default 30)")
    parser.add_argument("--cell", type=int, default=500, help="Gi* grid cell size in metres (default 500)")
    parser.add_argument("--no-image", action="store_true", help="skip the map image (no Chromium needed)")
    parser.add_argument("--out", required=True, help="output .xlsx file")


def run(args) -> int:
    from pathlib import Path

    from analytics import visits
    from analytics.filters import Filters

    try:
        f = Filters(date_from=args.date_from, date_to=args.date_to, topics=tuple(args.topic),
                    categories=tuple(args.category), districts=tuple(args.district), streets=tuple(args.street),
                    text=args.text)
    except ValueError as exc:
        print(f"参数错误：{exc}")
        return 2
    if args.top < 1:
        print("参数错误：--top 至少为 1")
        return 2
    con = open_read_only(args.db)
    if con is None:
        return 1
    try:

        cur = ledger_cursor(con, db=args.db)   # linked clues from the whole ledger
        data, v = visits.visit_xlsx(cur, f, top=args.top, cell_m=args.cell, with_image=not args.no_image)
    except Exception as exc:  # export errors carry a Chinese message
        from analytics.export import ExportError

        if isinstance(exc, ExportError):
            print(f"{exc}（可加 --no-image 跳过地图图片）")
            return 1
        raise
    finally:
        con.close()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"{v.filters.describe()}：{v.total_hotspots} 处热点/重复点位，清单 {len(v.rows)} 处 → {out}")
    for n in v.notes:
        print(f"  注意：{n}")
    return 0
