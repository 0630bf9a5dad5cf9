"""Build the briefing pack (A4 PDF, or PPTX) for a period and optionally one district.

Example:
  python manage.py briefing --from 2025-03-01 --to 2025-03-31 --out brief.pdf
  python manage.py briefing --from 2025-03-01 --to 2025-03-31 --district 朝阳区 --out chaoyang.pptx
The format follows the extension of --out (.pdf or .pptx).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from cli._common import add_db_argument, ledger_cursor, open_read_only

NAME = "briefing"
HELP = "build the briefing pack (PDF/PPTX) for a period"


def add_arguments(parser) -> None:
    parser.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--district", default=None, help="one district, e.g. 朝阳区 (default: the whole city)")
    parser.add_argument("--out", required=True, help="output file, .pdf or .pptx")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    add_db_argument(parser)


def run(args) -> int:
    import time

    from analytics import briefing, export

    t0 = time.perf_counter()
    try:
        d_from, d_to = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    except ValueError:
        print("日期格式应为 YYYY-MM-DD，例如 2025-03-01")
        return 2
    if d_from > d_to:
        print(f"起始日期 {d_from} 晚于结束日期 {d_to}")
        return 2
    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "pptx"):
        print("--out 的扩展名应为 .pdf 或 .pptx")
        return 2
    con = open_read_only(args.db)
    if con is None:
        return 1
    try:
        district = None
        if args.district:
            from geo import names

            district = _canonical_district(con, names, args.district)
            if district is None:
                print(f"未知的区：{args.district}。可选：" + "、".join(_districts(con)))
                return 2
        f = briefing.pack_filters(d_from, d_to, district)

        b = briefing.build(ledger_cursor(con, db=args.db), f)   # the funnel of the whole ledger
        data = briefing.to_pdf(b) if fmt == "pdf" else briefing.to_pptx(b)
    except export.ExportError as exc:
        print(exc)
        return 1
    finally:
        con.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    if not args.quiet:
        print(f"{out}  {len(data) / 1024:,.0f} KB  {time.perf_counter() - t0:.1f} s")
        print(b.headline)
    return 0


def _districts(con) -> list[str]:
    sql = "SELECT district FROM districts ORDER BY adcode"
    return [r[0] for r in con.execute(sql).fetchall()]


def _canonical_district(con, names, raw: str) -> str | None:
    known = _districts(con)
    if raw in known:
        return raw
    canon = getattr(names, "canonical_district", None)
    if canon is not None:
        try:
            c = canon(raw)
        except Exception:  # a name the normaliser cannot read
            c = None
        if c in known:
            return c
    for d in known:  # 朝阳 -> 朝阳区
        if d.rstrip("区") == raw.rstrip("区"):
            return d
    return None
