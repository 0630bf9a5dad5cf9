"""The clue ledger from the command line: the monthly report and the whole ledger as files.

Examples:
  python manage.py clues report --month 2026-03 --out 线索月报.pdf
  python manage.py clues report --month 2026-03 --district 朝阳区 --out chaoyang-2026-03.xlsx
  python manage.py clues export --out ledger.xlsx

The report and the export read both kinds of clue: those registered in the app (the records store beside the
ticket store) and those imported from the case system (the ticket store). Each file written is recorded in
the audit trail as the operating-system user who ran the command (cli:<user>).
"""

from __future__ import annotations

from pathlib import Path

from cli._common import add_db_argument, ledger_cursor, open_read_only

NAME = "clues"
HELP = "the clue ledger: monthly report (XLSX/PDF) and export (XLSX)"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="op", required=True, metavar="OP")
    r = sub.add_parser("report", help="the monthly clue report (线索月报) as .xlsx or .pdf")
    r.add_argument("--month", required=True, help="YYYY-MM")
    r.add_argument("--district", default=None, help="one district (default: the whole city)")
    r.add_argument("--out", required=True, help="output file, .xlsx or .pdf")
    add_db_argument(r)
    e = sub.add_parser("export", help="the whole ledger as .xlsx: clues, stage history, linked tickets")
    e.add_argument("--out", required=True, help="output file, .xlsx")
    add_db_argument(e)


def run(args) -> int:
    from analytics import export, ledger_export, ledger_render, ledger_report
    from data import audit, records
    from data.ledger import deadlines, letters, read
    from data.scope import CITY, Scope

    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in (("xlsx", "pdf") if args.op == "report" else ("xlsx",)):
        print("--out 的扩展名应为 " + (".xlsx 或 .pdf" if args.op == "report" else ".xlsx"))
        return 2
    if args.op == "report":
        try:
            deadlines.month_bounds(args.month)
        except ValueError as exc:
            print(exc)
            return 2
    con = open_read_only(args.db)
    if con is None:
        return 1
    today = records.now().date()
    try:
        district = None
        if args.op == "report" and args.district:
            from geo import names

            district = names.canonical_district(args.district) or args.district.strip()
            known = [r[0] for r in con.execute("SELECT district FROM districts ORDER BY district").fetchall()]
            if district not in known:
                print(f"未知的区：{args.district}。可选：" + "、".join(known))
                return 2
        cur = ledger_cursor(con, Scope((district,)) if district else CITY, args.db)
        with records.session(args.db) as rc:
            if args.op == "report":
                rep = ledger_report.build(cur, args.month, district=district, today=today,
                                          rule_names=read.rule_names(rc),
                                          letters=letters.month_figures(rc, CITY, args.month, district=district,
                                                                        today=today))
                data = ledger_render.report_xlsx(rep) if fmt == "xlsx" else ledger_render.report_pdf(rep)
                what = {"month": args.month, "district": district, "format": fmt, "clues": rep.headline["registered"]}
            else:
                clues, history, links = ledger_export.frames(cur, rc, CITY, as_of=today)
                data = ledger_render.ledger_xlsx(clues, history, links, note=f"全市；导出日 {today:%Y-%m-%d}")
                what = {"what": "ledger", "clues": len(clues), "history": len(history), "links": len(links)}
            audit.record(audit.cli_actor(), "report" if args.op == "report" else "export", out.name, what, con=rc)
    except export.ExportError as exc:
        print(exc)
        return 1
    finally:
        con.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    if args.op == "report":
        h = rep.headline
        print(f"{rep.title}：登记 {h['registered']:,} 条，作出决定 {h['decided']:,} 条，立案 {h['filed']:,} 条 -> {out}")
    else:
        print(f"线索台账：{what['clues']:,} 条线索，{what['history']:,} 条办理记录，{what['links']:,} 条关联工单 -> {out}")
    return 0
