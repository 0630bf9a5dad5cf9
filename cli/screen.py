"""Run screening rules (过筛子) over the store and write one row per grouped item (rule, version, place, district,
street, ticket count, first and last date, ticket ids).

Examples:
  python manage.py screen --out hits.xlsx                                  # the active rules, all tickets
  python manage.py screen --rules data/rules/beijing --from 2025-01-01 --to 2025-03-31 --out hits.csv
  python manage.py screen --from 2025-03-01 --to 2025-03-31 --record --out hits.xlsx   # also into the queue

Without --rules the active rules of the records store run (at their latest versions). Given files or folders
are checked first (a malformed rule stops the command with its message). With --record the hits also go into
the queue to assess (待研判), as after an import; without it nothing is written but the output file.
"""

from __future__ import annotations

import sys

from cli._common import add_db_argument, open_read_only

NAME = "screen"
HELP = "run screening rules over the store, one row per grouped item (CSV/XLSX); --record puts hits in the queue"


def add_arguments(parser) -> None:
    add_db_argument(parser)
    parser.add_argument("--rules", action="append", default=[], help="rule file or folder (repeat); default: the active rules")
    parser.add_argument("--from", dest="date_from", default=None, help="first day received (YYYY-MM-DD)")
    parser.add_argument("--to", dest="date_to", default=None, help="last day received (YYYY-MM-DD), inclusive")
    parser.add_argument("--record", action="store_true", help="also record the hits in the queue (active rules only)")
    parser.add_argument("--out", required=True, help="output .csv or .xlsx")


def run(args) -> int:
    from datetime import date

    import pandas as pd

    from data import audit, records
    from data.screening import library, report
    from data.screening import run as screening
    from data.screening.compile import Target
    from data.screening.rule import RuleError

    if not args.out.lower().endswith((".csv", ".xlsx")):
        print("参数错误：--out 应为 .csv 或 .xlsx 文件", file=sys.stderr)
        return 2
    try:
        target = Target(date.fromisoformat(args.date_from) if args.date_from else None,
                        date.fromisoformat(args.date_to) if args.date_to else None)
    except ValueError as exc:
        print(f"参数错误：日期应写成 YYYY-MM-DD（{exc}）", file=sys.stderr)
        return 2
    if target.date_from and target.date_to and target.date_from > target.date_to:
        print("参数错误：--from 晚于 --to", file=sys.stderr)
        return 2
    if args.record and args.rules:
        print("参数错误：--record 只记录已启用的规则（请先用 manage.py rules import 导入并启用）", file=sys.stderr)
        return 2
    con = open_read_only(args.db)
    if con is None:
        return 1
    actor = audit.cli_actor()
    try:
        with records.session(args.db) as rec:
            try:
                if args.rules:
                    files = [r for path in args.rules for r in library.read_files(path)]
                    known = {r.key: r for r in files}
                    todo = [(r, "文件") for r in files]
                else:
                    todo = [(s.rule, s.version) for s in library.all_rules(rec, active_only=True)]
                    known = {}
            except RuleError as exc:
                print(f"规则有误：{exc}", file=sys.stderr)
                return 2
            if not todo:
                print("没有可运行的规则：请用 --rules 指定规则文件，或先用 manage.py rules import/install-starter 导入。",
                      file=sys.stderr)
                return 2

            def resolve(key):
                if key in known:
                    return known[key]
                s = library.get(rec, key)
                return s.rule if s else None

            rows, failed = [], 0
            for rule, version in todo:
                try:
                    hits = screening.find(con, rule, target, resolve=resolve)
                except RuleError as exc:
                    print(f"规则 {rule.key} 未运行：{exc}", file=sys.stderr)
                    failed += 1
                    continue
                part = report.grouped(rule, version, hits)
                print(f"{rule.key}（{rule.name}）：命中 {len(hits):,} 件工单，{len(part):,} 处地点")
                rows.append(part)
            out_rows = pd.concat(rows, ignore_index=True) if rows else report.grouped(todo[0][0], "", pd.DataFrame(
                columns=screening.HIT_COLUMNS))
            if args.record:
                res = screening.screen(con, rec, actor, target, trigger="cli")
                print(res.describe())
            audit.record(actor, "export", args.out, {"what": "screening", "rules": len(todo), "items": len(out_rows),
                                                     "target": target.describe()}, con=rec)
    finally:
        con.close()
    path = report.write(out_rows, args.out)
    print(f"已写出 {path}（{len(out_rows):,} 行，每行一处地点）")
    return 1 if failed else 0
