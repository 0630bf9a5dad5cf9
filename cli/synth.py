"""Write the demo's export files without loading them: 12345 ticket files, clues, cases, rectifications
and demo_truth.csv (planted hotspots and repeat places), e.g. to try the import page or a benchmark.
"""

from __future__ import annotations

import sys

from cli.demo import add_synth_arguments

NAME = "synth"
HELP = "write demo export files (tickets, clues, cases, rectifications, ground truth) to --out"


def add_arguments(parser) -> None:
    add_synth_arguments(parser)
    parser.add_argument("--out", required=True, help="directory for the files")


def run(args) -> int:
    from data.synth.build import generate

    try:
        res = generate(args.out, tickets=args.tickets, years=args.years, seed=args.seed, end=args.end,
                       fmt=args.format, chunk_rows=args.chunk_rows, log=lambda m: print(m, file=sys.stderr))
    except ValueError as exc:
        print(f"参数错误：{exc}", file=sys.stderr)
        return 2
    for p in [*res.ticket_files, *res.funnel_files, res.truth_file]:
        print(p)
    print(f"{res.n_tickets:,} tickets, {res.n_clues:,} clues, {res.n_cases:,} cases, {res.n_rects:,} rectifications "
          f"in {res.seconds_generate:.1f}s", file=sys.stderr)
    return 0
