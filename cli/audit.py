"""Search the audit trail, or check that it is intact.

Examples:
  python manage.py audit --user zhangsan --since 2026-12-01
  python manage.py audit --action unmask --out unmask.xlsx
  python manage.py audit --verify
"""

from __future__ import annotations

from cli._common import add_db_argument

NAME = "audit"
HELP = "search the audit trail (who did what, when) or verify its hash chain"


def add_arguments(parser) -> None:
    add_db_argument(parser)
    parser.add_argument("--user", default=None, help="account name (or cli:<user>)")
    parser.add_argument("--action", default=None, help="e.g. sign_in, sign_in_failed, ticket_view, unmask, export")
    parser.add_argument("--since", default=None, help="first day, YYYY-MM-DD")
    parser.add_argument("--until", default=None, help="last day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--text", default=None, help="target or details contain this text")
    parser.add_argument("--limit", type=int, default=100_000, help="most rows (default 100,000)")
    parser.add_argument("--out", default=None, help="write the rows to .xlsx or .csv instead of printing them")
    parser.add_argument("--verify", action="store_true", help="check the hash chain and print its head")


def run(args) -> int:
    from datetime import date
    from pathlib import Path

    from analytics import tables
    from data import audit, records

    try:
        since = date.fromisoformat(args.since) if args.since else None
        until = date.fromisoformat(args.until) if args.until else None
    except ValueError as exc:
        print(f"日期格式错误（应为 YYYY-MM-DD）：{exc}")
        return 2
    if args.action and args.action not in audit.ACTIONS:
        print(f"未知操作 {args.action}；可选：{', '.join(audit.ACTIONS)}")
        return 2
    with records.session(args.db) as con:
        if args.verify:
            v = audit.verify(con)
            if v.ok:
                print(f"审计日志完整：{v.rows:,} 条；链尾哈希 {v.head}")
                return 0
            print(f"审计日志被改动：{len(v.broken)} 处，序号 {', '.join(map(str, v.broken[:50]))}")
            return 1
        rows = audit.search(con, user=args.user, action=args.action, since=since, until=until, text=args.text,
                            limit=args.limit)
    cut = len(rows) > args.limit
    rows = rows.head(args.limit)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        df = rows.drop(columns=["action"]).rename(columns={
            "seq": "序号", "at": "时间", "actor": "账号", "role": "角色", "action_label": "操作", "target": "对象",
            "details": "详情"})
        fmt = "csv" if out.suffix.lower() == ".csv" else "xlsx"
        out.write_bytes(tables.table_bytes(df, fmt, title="审计日志", note=None))
        audit.record(audit.cli_actor(), "export", str(out), {"what": "audit", "rows": len(df)}, db_path=args.db)
        print(f"{len(df):,} 条 → {out}" + ("（已截断）" if cut else ""))
        return 0
    for r in rows.itertuples():
        print(f"{r.seq:>6} {r.at} {r.actor:16s} {r.action_label:8s} {r.target} {'' if r.details == '{}' else r.details}")
    print(f"共 {len(rows):,} 条" + ("（已截断，用 --limit 或条件缩小）" if cut else ""))
    return 0
