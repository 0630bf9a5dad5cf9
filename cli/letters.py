"""12309 letters and visits (信访) from the command line: import the 12309 centre's export.

Examples:
  python manage.py letters import 12309导出.xlsx
  python manage.py letters import letters.csv --mapping data/mappings/letters_12309.yaml

Every row read is accounted for (new, updated, unchanged or quarantined with a reason); a row that changed
since the last import becomes a new version of the letter (nothing is overwritten). Exit 1 when the file
could not be read.
"""

from __future__ import annotations

from cli._common import add_db_argument

NAME = "letters"
HELP = "12309 letters and visits: import the 12309 centre's export (CSV/XLSX)"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="op", required=True, metavar="OP")
    i = sub.add_parser("import", help="import a 12309 export")
    i.add_argument("file")
    i.add_argument("--mapping", default=None, help="mapping YAML (default: data/mappings/letters_12309.yaml)")
    i.add_argument("--sheet", default=None, help="XLSX sheet (default: the first)")
    add_db_argument(i)


def run(args) -> int:
    from data import audit, records
    from data.ledger import letters

    try:
        with records.session(args.db) as con:
            res = letters.import_file(con, audit.cli_actor(), args.file, mapping=args.mapping, sheet=args.sheet)
    except letters.LetterFileError as exc:
        print(exc)
        return 2
    if not res.ok:
        print(f"导入失败：{res.message}")
        return 1
    print(f"{res.file}：{res.message}")
    for reason, n in sorted(res.reasons.items(), key=lambda x: -x[1]):
        print(f"  隔离 {n:,} 行：{letters.REASONS.get(reason, reason)}")
    return 0
