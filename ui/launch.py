"""Start the dashboard so that its first page appears sooner after a cold start (issue 7).

`streamlit run app.py` runs nothing of ours until the first browser session
arrives: the first script run then imports pandas, duckdb and plotly, opens
the store with its upgrade check and reads the filter options while the user
waits (≈ 3 s of CPU). `python -m ui.launch [streamlit options]` starts that work in a background thread (ui/warmup.start_early) and then
starts Streamlit in the same process, the same way `streamlit run app.py` does:
the work overlaps Streamlit's own start and the browser's page load, and the
first script run finds it done. `make run` starts it: on an idle machine the first
page's KPI tiles appeared 5.0-5.9 s after the start, against 6.5-7.8 s with plain
`streamlit run app.py` (`python -m bench.coldstart DB --how launch|streamlit`,
docs/performance.md). Under heavy load it gave no gain (the thread shares the GIL
with the server while the server sends the page's JavaScript).

Usage: .venv/bin/python -m ui.launch --server.address 127.0.0.1 --server.port 8501
"""

from __future__ import annotations

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
    from ui import warmup

    warmup.start_early()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *args]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
