"""Data collision (数据碰撞): match another list (traffic accidents, administrative penalties, licensed businesses,
care homes) against the tickets by place, time, address, company names, phones and names; write the matches.

Examples:
  python manage.py collide accidents.xlsx --out matches.xlsx
  python manage.py collide penalties.csv --mapping penalties.yaml --distance 300 --days 60 --record --out m.xlsx
  python manage.py collide penalties.xlsx --inaction --topic 井盖 --min-tickets 3 --from 2025-01-01 --out p.xlsx

With --inaction the question is reversed (可能不作为): places where at least --min-tickets tickets of --topic (or
--category) were received in the period and no record of the list lies within --distance m and --days of them;
one row per place.

The mapping is in the import's format (`columns: {field: header}`, `crs`, `encoding`, `sheet`); fields:
record_id, name, company, address, lon, lat, time, phone, district, note. Phones are compared as hashes and
written masked. With --record the matches also become items of the queue to assess (待研判).
"""

from __future__ import annotations

import sys

from cli._common import add_db_argument, open_read_only

NAME = "collide"
HELP = "match another list against the tickets (data collision); write the matches as XLSX/CSV"


def add_arguments(parser) -> None:
    add_db_argument(parser)
    parser.add_argument("file", help="the list: CSV (UTF-8/GBK/GB18030), XLSX or Parquet")
    parser.add_argument("--mapping", default=None, help="mapping YAML (columns, crs, encoding, sheet)")
    parser.add_argument("--name", default=None, help="name of this collision (default: the file name)")
    parser.add_argument("--distance", type=float, default=200.0, help="place: metres (default 200)")
    parser.add_argument("--days", type=int, default=30, help="time window either side, days (default 30)")
    parser.add_argument("--record", action="store_true", help="also put the matches in the queue")
    parser.add_argument("--inaction", action="store_true",
                        help="reverse: places of repeated complaints with no record of the list nearby")
    parser.add_argument("--topic", default=None, help="--inaction: the tickets' special project (e.g. 井盖)")
    parser.add_argument("--category", default=None, help="--inaction: or their first-level category")
    parser.add_argument("--min-tickets", type=int, default=3, help="--inaction: tickets at one place (default 3)")
    parser.add_argument("--from", dest="date_from", default=None, help="--inaction: first day YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", default=None, help="--inaction: last day YYYY-MM-DD")
    parser.add_argument("--out", required=True, help="output .xlsx or .csv")


def run(args) -> int:
    from pathlib import Path

    import pandas as pd

    from data import audit, records
    from data.screening import collide, report

    if not args.out.lower().endswith((".csv", ".xlsx")):
        print("参数错误：--out 应为 .csv 或 .xlsx 文件", file=sys.stderr)
        return 2
    if not 1 <= args.distance <= 5000 or not 0 <= args.days <= 3650:
        print("参数错误：--distance 应在 1–5000 米，--days 应在 0–3650 天", file=sys.stderr)
        return 2
    try:
        recs, used = collide.read_list(args.file, args.mapping)
    except collide.CollisionError as exc:
        print(f"名单无法使用：{exc}", file=sys.stderr)
        return 2
    con = open_read_only(args.db)
    if con is None:
        return 1
    params = collide.Params(distance_m=args.distance, days=args.days)
    if args.inaction:
        try:
            return _inaction(args, con, recs, used, params)
        finally:
            con.close()
    try:
        ev = collide.evidence(recs, collide.match(con, recs, params))
    finally:
        con.close()
    actor = audit.cli_actor()
    name = args.name or Path(args.file).name
    if args.record:
        with records.session(args.db) as rec:
            cid, n_items = collide.record(rec, actor, name, Path(args.file).name, recs, ev, params, used)
        print(f"已记入待研判队列：碰撞 {cid}，{n_items} 项")
    rows = collide.report_rows(recs, ev)
    data = report.to_bytes(rows, "xlsx" if args.out.lower().endswith(".xlsx") else "csv", sheet="碰撞结果")
    Path(args.out).write_bytes(data)
    audit.record(actor, "export", args.out, {"what": "collision", "rows": len(recs), "matches": len(ev)},
                 db_path=args.db)
    matched = ev["row_number"].nunique() if not ev.empty else 0
    print(f"名单 {len(recs):,} 行，{matched:,} 行有匹配，共 {len(ev):,} 对（名单行 × 工单）；已写出 {args.out}")
    return 0 if isinstance(rows, pd.DataFrame) else 1


def _inaction(args, con, recs, used, params) -> int:
    from datetime import date
    from pathlib import Path

    from data import audit, records
    from data.screening import inaction, report

    try:
        ask = inaction.Ask(topic=args.topic, category=args.category, min_tickets=args.min_tickets,
                           date_from=date.fromisoformat(args.date_from) if args.date_from else None,
                           date_to=date.fromisoformat(args.date_to) if args.date_to else None)
    except ValueError:
        print("参数错误：--from / --to 应为 YYYY-MM-DD", file=sys.stderr)
        return 2
    if args.min_tickets < 1:
        print("参数错误：--min-tickets 至少为 1", file=sys.stderr)
        return 2
    places = inaction.places_without_records(con, recs, ask, params)
    actor = audit.cli_actor()
    if args.record:
        with records.session(args.db) as rec:
            cid, n_items = inaction.record(rec, actor, args.name or Path(args.file).name, Path(args.file).name, recs,
                                           places, ask, params, used)
        print(f"已记入待研判队列：碰撞 {cid}，{n_items} 项")
    rows = inaction.report_rows(places)
    Path(args.out).write_bytes(report.to_bytes(rows, "xlsx" if args.out.lower().endswith(".xlsx") else "csv",
                                               sheet="附近无名单记录的反复投诉"))
    audit.record(actor, "export", args.out, {"what": "inaction", "rows": len(recs), "places": len(places)},
                 db_path=args.db)
    located = int((recs["lon"].notna() & recs["lat"].notna()).sum())
    print(f"{ask.describe()}、且 {params.distance_m:g} 米内前后 {params.days} 天无名单记录的地点：{len(places):,} 处"
          f"（名单 {len(recs):,} 行，有坐标 {located:,} 行；无坐标的记录无法比对地点）；已写出 {args.out}")
    return 0
