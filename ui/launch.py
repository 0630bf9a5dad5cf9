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


def first_admin() -> None:
    """On a store whose records have no account yet, create `admin` and print its password once."""
    from data import people, records

    with records.session() as con:
        password = people.ensure_first_admin(con)
    if password:
        bar = "=" * 64
        print(f"{bar}\n首个管理员账号已创建（仅显示这一次，请登录后在“用户”页为同事建账号）：\n"
              f"  账号：admin\n  密码：{password}\n"
              f"忘记密码：python manage.py users reset-password admin\n{bar}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    first_admin()
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
