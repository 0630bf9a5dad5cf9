"""Manage accounts: add, list, disable, enable, reset-password, set-role, set-districts.

Examples:
  echo 'a long password' | python manage.py users add zhangsan --role prosecutor --district 朝阳区 --password-stdin
  python manage.py users list
  python manage.py users reset-password zhangsan          # prints a new random password once
  python manage.py users set-role zhangsan clue_admin
  python manage.py users set-districts zhangsan --district 朝阳区 --district 通州区
  python manage.py users disable zhangsan

Roles: leader (领导), prosecutor (检察官), clue_admin (线索管理员), press (宣传), admin (管理员), display (大屏展示).
No --district means the whole city (the city procuratorate). Every change is written to the audit trail as the
operating-system user who ran the command (cli:<user>).
"""

from __future__ import annotations

import argparse
import sys

from cli._common import add_db_argument

NAME = "users"
HELP = "manage accounts (add, list, disable, enable, reset-password, set-role, set-districts)"


def add_arguments(parser) -> None:
    add_db_argument(parser)
    sub = parser.add_subparsers(dest="op", required=True, metavar="OP")
    a = sub.add_parser("add", help="create an account")
    a.add_argument("name")
    a.add_argument("--role", required=True, help="leader, prosecutor, clue_admin, press, admin or display")
    a.add_argument("--district", action="append", default=[], help="a district it works on; repeat; none = city")
    a.add_argument("--display-name", default="", help="the person's name as shown in the app")
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    a.add_argument("--sso", default=None, help="OpenID Connect identity (email or sub) that signs in as it")
    sub.add_parser("list", help="list the accounts")
    for op, helptext in (("disable", "stop an account from signing in"), ("enable", "allow it again (and unlock)")):
        p = sub.add_parser(op, help=helptext)
        p.add_argument("name")
    r = sub.add_parser("reset-password", help="set a new password (random unless --password-stdin); unlocks")
    r.add_argument("name")
    r.add_argument("--password-stdin", action="store_true")
    s = sub.add_parser("set-role", help="change an account's role")
    s.add_argument("name")
    s.add_argument("role")
    d = sub.add_parser("set-districts", help="change an account's districts (none = the whole city)")
    d.add_argument("name")
    d.add_argument("--district", action="append", default=[])
    for op_parser in sub.choices.values():   # `users add NAME ... --db PATH` works as well as `users --db PATH add`
        op_parser.add_argument("--db", default=argparse.SUPPRESS, help="DuckDB file (as before the operation)")


def known_districts(db) -> set[str] | None:
    """District names accounts may hold: the store's, else the shipped geography's."""
    from data import store

    try:
        con = store.connect(db, read_only=True)
    except store.StoreError:
        con = None
    if con is not None:
        try:
            names = {r[0] for r in con.execute("SELECT district FROM districts").fetchall()}
        finally:
            con.close()
        if names:
            return names
    from geo import boundaries

    return set(boundaries.district_table()["district"])


def _password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated)."""
    from data import people

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return people.generate_password(), True


def canonical(districts: list[str]) -> list[str]:
    """District names as the import writes them (朝阳 / 朝阳区 / Chaoyang -> 朝阳区); unknown ones unchanged, so
    that the check names them."""
    from geo import names

    return [names.canonical_district(d) or d for d in districts]


def run(args) -> int:
    from data import audit, people, records, roles

    actor = audit.cli_actor()
    try:
        with records.session(args.db) as con:
            if args.op == "list":
                accounts = people.list_accounts(con)
                if not accounts:
                    print("（尚无账号）")
                for a in accounts:
                    state = "停用" if a.disabled else ("锁定" if a.locked_until and a.locked_until > records.now()
                                                      else "正常")
                    print(f"{a.name:20s} {roles.label(a.role):6s} {'、'.join(a.districts) or '全市':20s} {state} "
                          f"{a.display_name}")
                return 0
            if args.op == "add":
                if not args.password_stdin and not args.sso:
                    print("请用 --password-stdin 从标准输入提供密码（或 --sso 设置单点登录身份）。")
                    return 2
                password = _password(True)[0] if args.password_stdin else None
                people.add(con, actor, args.name, args.role, password=password, districts=canonical(args.district),
                           display_name=args.display_name, sso_subject=args.sso,
                           known_districts=known_districts(args.db) if args.district else None)
                print(f"已创建账号 {args.name}（{roles.label(args.role)}，{'、'.join(canonical(args.district)) or '全市'}）")
            elif args.op == "disable":
                people.disable(con, actor, args.name)
                print(f"已停用 {args.name}")
            elif args.op == "enable":
                people.enable(con, actor, args.name)
                print(f"已启用并解锁 {args.name}")
            elif args.op == "reset-password":
                password, generated = _password(args.password_stdin)
                people.reset_password(con, actor, args.name, password)
                print(f"已重置 {args.name} 的密码" + (f"：{password}（仅显示这一次）" if generated else ""))
            elif args.op == "set-role":
                people.set_role(con, actor, args.name, args.role)
                print(f"{args.name} 的角色已改为 {roles.label(args.role)}")
            elif args.op == "set-districts":
                people.set_districts(con, actor, args.name, canonical(args.district),
                                     known_districts=known_districts(args.db) if args.district else None)
                print(f"{args.name} 的辖区已改为 {'、'.join(canonical(args.district)) or '全市'}")
    except people.PeopleError as exc:
        print(f"失败：{exc}")
        return 1
    except records.RecordsError as exc:
        print(str(exc))
        return 1
    return 0
