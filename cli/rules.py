"""Screening rules (法律监督模型): check, import, export, list, enable/disable, install the starter library.

Examples:
  python manage.py rules check my_rules.yaml          # exit 2 with the message when a rule is malformed
  python manage.py rules import my_rules.yaml         # a new version of each rule that changed
  python manage.py rules export --out rules.yaml [--key manhole-covers ...]
  python manage.py rules list
  python manage.py rules install-starter [--region beijing]
  python manage.py rules disable sewage --reason "暂停" / rules enable sewage

Every change is a new version or state row, written to the audit trail as the operating-system user.
"""

from __future__ import annotations

import sys

from cli._common import add_db_argument

NAME = "rules"
HELP = "screening rules: check, import, export, list, enable, disable, install-starter"


def add_arguments(parser) -> None:
    add_db_argument(parser)
    sub = parser.add_subparsers(dest="op", required=True, metavar="OP")
    c = sub.add_parser("check", help="check rule files without storing them")
    c.add_argument("paths", nargs="+")
    i = sub.add_parser("import", help="store the rules of files or folders (new versions where changed)")
    i.add_argument("paths", nargs="+")
    i.add_argument("--note", default="导入规则文件", help="why (kept with each new version)")
    i.add_argument("--inactive", action="store_true", help="store new rules disabled")
    e = sub.add_parser("export", help="write rules (latest versions) to one YAML or JSON file")
    e.add_argument("--key", action="append", default=[], help="a rule key; repeat; default all")
    e.add_argument("--out", required=True, help=".yaml or .json")
    sub.add_parser("list", help="list the rules")
    s = sub.add_parser("install-starter", help="import the starter library of a region (active)")
    s.add_argument("--region", default=None, help="region folder under data/rules (default $HOTLINE_RULES_REGION)")
    for op in ("enable", "disable"):
        p = sub.add_parser(op, help=f"{op} a rule")
        p.add_argument("key")
        p.add_argument("--reason", default="")


def run(args) -> int:
    from pathlib import Path

    from data import audit, records
    from data.screening import library
    from data.screening.rule import RuleError

    actor = audit.cli_actor()
    try:
        if args.op == "check":
            n = 0
            for p in args.paths:
                rules = library.read_files(p)
                n += len(rules)
                for r in rules:
                    print(f"通过：{r.key}（{r.name}）")
            print(f"共 {n} 条规则，检查通过。")
            return 0
        with records.session(args.db) as rec:
            if args.op == "import":
                rules = [r for p in args.paths for r in library.read_files(p)]
                stored = library.import_rules(rec, actor, rules, args.note, activate=False if args.inactive else None)
                for s in stored:
                    print(f"{s.key}：版本 {s.version}，{'启用' if s.active else '停用'}")
            elif args.op == "install-starter":
                for s in library.install_starter(rec, actor, args.region):
                    print(f"{s.key}（{s.rule.name}）：版本 {s.version}，启用")
            elif args.op == "export":
                fmt = "json" if args.out.lower().endswith(".json") else "yaml"
                text = library.export_text(rec, args.key or None, fmt)
                Path(args.out).write_text(text, encoding="utf-8")
                audit.record(actor, "export", args.out, {"what": "rules", "keys": args.key or "all"}, con=rec)
                print(f"已写出 {args.out}")
            elif args.op == "list":
                df = library.table(rec)
                if df.empty:
                    print("尚无规则。可用 manage.py rules install-starter 导入示例规则库。")
                for r in df.itertuples(index=False):
                    print(f"{r.key:24} v{r.version:<3} {'启用' if r.active else '停用'}  {r.project or '—':8} {r.name}"
                          f"（{r.changed_at}，{r.changed_by}）")
            else:
                s = library.set_active(rec, actor, args.key, args.op == "enable", args.reason)
                print(f"{s.key}：{'启用' if s.active else '停用'}")
    except RuleError as exc:
        print(f"规则有误：{exc}", file=sys.stderr)
        return 2
    return 0
