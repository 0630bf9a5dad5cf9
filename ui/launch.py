"""Start the dashboard so that its first page appears sooner after a cold start (issue 7).

`streamlit run app.py` runs nothing of ours until the first browser session
arrives: the first script run then imports pandas, duckdb, pyarrow and plotly
while the user waits. `python -m ui.launch [streamlit options]` starts Streamlit in the
same process exactly as `python -m streamlit run app.py` does (its documented
command line, run with runpy) and a background thread (ui/warmup.start_early)
that imports them once the server answers its health check: the imports
overlap the browser's page load. `make run` starts it; `python -m bench.coldstart DB --how
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


def _flag(args: list[str], name: str) -> str | None:
    """The value of `--name VALUE` or `--name=VALUE` on the command line, or None."""
    for i, a in enumerate(args):
        if a == f"--{name}" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return None


def health_url(args: list[str]) -> str:
    """The server's health check (`/_stcore/health`) for these command-line options, else Streamlit's settings
    (.streamlit/config.toml, STREAMLIT_* variables)."""
    import streamlit as st

    port = _flag(args, "server.port") or st.get_option("server.port")
    address = _flag(args, "server.address") or st.get_option("server.address") or ""
    host = "127.0.0.1" if address in ("", "0.0.0.0", "::", "localhost") else address
    base = (_flag(args, "server.baseUrlPath") or st.get_option("server.baseUrlPath") or "").strip("/")
    return f"http://{host}:{port}/{base + '/' if base else ''}_stcore/health"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    first_admin()
    from ui import warmup

    warmup.start_early(health_url(args))
    sys.argv = ["streamlit", "run", str(APP), *args]
    try:
        runpy.run_module("streamlit", run_name="__main__", alter_sys=True)
    except SystemExit as exc:   # the command line exits through click
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
