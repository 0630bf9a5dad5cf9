"""CPU seconds of the wall screen's first run in new sessions of several scopes, in one warm process.

The first run of a wall-screen session computes its frame (and the next one, drawn out of sight) from the
store; its results are cached per store generation and scope for every other session (views/screen.py
`Versions`). This runs the page headless (AppTest) on a copy of a store, as: a warm-up session (a district
nobody else reads: the process's imports and first queries), a city-wide leader (with ticket texts), the
display account (city, without texts), a 朝阳区 prosecutor (texts) and a 朝阳区 press account (without), then
registers a clue (the clue ledger's version moves) and opens two more display sessions. For each: the
process's CPU seconds (user + system of every thread: DuckDB's and the script's) and wall seconds of that one
run, with the load average. Nothing is asserted; the figures go to docs/performance.md.

    python -m bench.screen_first_frame DB
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="screen-first-") as tmp:
        db = Path(tmp) / a.db.name
        shutil.copy(a.db, db)
        os.environ["HOTLINE_DB"] = str(db)
        os.environ.setdefault("HOTLINE_SCREEN_REFRESH_SECONDS", "300")
        os.environ.setdefault("HOTLINE_SCREEN_ROTATE_SECONDS", "30")
        from data import ledger, records
        from tests.conftest import ROOT, account, app_test

        def first(role: str, districts: tuple = (), label: str = "") -> None:
            at = app_test(str(ROOT / "app.py"), role=role, districts=districts, timeout=600)
            if role != "display":
                at.run()
                at.switch_page("views/screen.py")
            c0, w0 = _cpu(), time.perf_counter()
            at.run()
            bad = " ERROR" if at.exception or at.error else ""
            print(f"{label:42s} cpu {_cpu() - c0:5.2f} s  wall {time.perf_counter() - w0:5.2f} s  "
                  f"load {os.getloadavg()[0]:.1f}{bad}", flush=True)

        first("display", ("怀柔区",), "warm-up (怀柔区 display)")
        first("leader", (), "city leader (texts)")
        first("display", (), "city display (no texts)")
        first("prosecutor", ("朝阳区",), "朝阳区 prosecutor (texts)")
        first("press", ("朝阳区",), "朝阳区 press (no texts)")
        with records.session() as con:
            ledger.register_clue(con, account("clue_admin"), source="other", district="东城区", function="刑事",
                                 subject="测试", place="测试", summary="基准测试线索",
                                 registered_at=datetime(2025, 3, 22, 9, 0))
        first("display", (), "city display after a clue was registered")
        first("display", (), "city display, another wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
