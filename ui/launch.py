"""Start the dashboard so that its first page appears sooner after a cold start (issue 7).

`streamlit run app.py` runs nothing of ours until the first browser session
arrives: the first script run then imports pandas, duckdb, pyarrow and plotly
while the user waits. `python -m ui.launch [streamlit options]` imports them
in a background thread (ui/warmup.start_early) and starts Streamlit in the same
process exactly as `python -m streamlit run app.py` does (its documented command
line, run with runpy): the imports overlap Streamlit's own start and the
browser's page load. `make run` starts it; `python -m bench.coldstart DB --how
launch|streamlit` compares the two (docs/performance.md).

Usage: .venv/bin/python -m ui.launch --server.address 127.0.0.1 --server.port 8501
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    import streamlit  # noqa: F401  (Streamlit's own imports first: the server starts as soon as without the thread)

    from ui import warmup

    warmup.start_early()
    sys.argv = ["streamlit", "run", str(APP), *args]
    try:
        runpy.run_module("streamlit", run_name="__main__", alter_sys=True)
    except SystemExit as exc:   # the command line exits through click
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
