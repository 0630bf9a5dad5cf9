"""Many users at once: the server's time per page with N concurrent sessions, measured with cheap clients.

A browser per user would measure the browsers (20 Chromiums on 2 cores), not the
server. Each simulated user here is one websocket session speaking Streamlit's
own protocol (the protobuf messages of `streamlit.proto`, as the browser does):
it asks the server to run a page (a `rerun_script` message with the page's URL
path and query string) and times until the server reports the run finished
(`script_finished`). That is the server's time for the page: the script run with
its queries, under the load of the other sessions, plus serialisation and the
loopback hop. The client only parses message envelopes, so 20 of them cost
little CPU next to the server.

Each user is signed in (an account `bench_<role>` in the store's records, one
session per user, its token in the session cookie as a browser keeps it), opens
the app, then visits the pages in its own shuffled order, round after round.
Between two visits a user pauses `--think` seconds on average (uniform between
half and one and a half times it, like a person reading the page); `--think 0`
clicks without pause, every session always waiting for the server (a saturation
test, far harsher than people). Errors are counted: an exception element, a
sign-in form, or a run that does not finish in time.

Tool only: the product never imports this. Streamlit's wire protocol is not a
public API, so a Streamlit upgrade may need this client updated
(tests/test_bench_load.py runs it against a live server to notice).

Usage:
  python -m bench.load DB [--users 20] [--rounds 5] [--pages overview,topics,...] [--query 'from=...&to=...']
  python -m bench.load DB --url http://127.0.0.1:8501 ...     (an app already running on DB)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGES = ("overview", "topics", "funnel", "tickets", "map")
TIMEOUT_S = 120.0


@dataclass
class Run:
    page: str
    user: int
    seconds: float
    ok: bool
    exceptions: int = 0


@dataclass
class Result:
    users: int
    runs: list[Run] = field(default_factory=list)
    wall_s: float = 0.0

    def by_page(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for r in self.runs:
            if r.ok:
                out.setdefault(r.page, []).append(r.seconds)
        return out

    def errors(self) -> int:
        return sum(1 for r in self.runs if not r.ok or r.exceptions)

    def table(self) -> list[dict]:
        rows = []
        for page, xs in sorted(self.by_page().items(), key=lambda kv: PAGES.index(kv[0]) if kv[0] in PAGES else 99):
            xs = sorted(xs)
            rows.append({"page": page, "runs": len(xs), "p50_ms": round(1000 * statistics.median(xs)),
                         "p95_ms": round(1000 * _pct(xs, 0.95)), "max_ms": round(1000 * xs[-1])})
        return rows


def _pct(xs: list[float], q: float) -> float:
    """The q-quantile by the nearest-rank method (xs sorted)."""
    k = max(0, min(len(xs) - 1, math.ceil(q * len(xs)) - 1))
    return xs[k]


def _rerun(page: str, query: str) -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    msg.rerun_script.query_string = query
    msg.rerun_script.page_name = page
    return msg.SerializeToString()


SIGN_IN_LABEL = "账号"   # the sign-in form's first field (ui/auth.py): a run that draws it was not signed in


async def _run_page(ws, page: str, query: str) -> tuple[float, bool, int]:
    """Ask for one run of `page`; (seconds until the server finished it, finished?, exceptions or sign-in forms)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    t0 = time.perf_counter()
    await ws.send(_rerun(page, query))
    exceptions = 0
    deadline = t0 + TIMEOUT_S
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            return time.perf_counter() - t0, False, exceptions
        try:
            data = await asyncio.wait_for(ws.recv(), timeout=left)
        except TimeoutError:
            return time.perf_counter() - t0, False, exceptions
        fm = ForwardMsg()
        fm.ParseFromString(data)
        kind = fm.WhichOneof("type")
        if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
            el = fm.delta.new_element
            what = el.WhichOneof("type")
            if what == "exception" or (what == "text_input" and el.text_input.label == SIGN_IN_LABEL):
                exceptions += 1
        elif kind == "script_finished":
            # FINISHED_SUCCESSFULLY, FINISHED_WITH_COMPILE_ERROR, FINISHED_EARLY_FOR_RERUN, ...
            if fm.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue   # the page itself asked for a rerun (st.rerun): the run goes on
            return time.perf_counter() - t0, fm.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY, exceptions


def sessions(db: Path, n: int, role: str = "leader") -> list[str]:
    """Tokens of `n` signed-in sessions of the account `bench_<role>` (created with a random password)."""
    import secrets

    from data import audit, people, records

    name = f"bench_{role}"
    with records.session(db) as con:
        acc = people.get(con, name)
        if acc is None:
            acc = people.add(con, audit.Actor("bench"), name, role, password=secrets.token_urlsafe(18))
        return [people.open_session(con, acc.principal()) for _ in range(n)]


async def _user(i: int, url: str, token: str, pages: list[str], rounds: int, query: str, result: Result,
                warmed: list[int], start: asyncio.Event, seed: int, think: float = 0.0) -> None:
    import websockets

    from ui.auth import COOKIE

    ws_url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
    rng = random.Random(seed + i)
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=60,
                                  additional_headers={"Cookie": f"{COOKIE}={token}"}) as ws:
        # the first visit starts the session (its sidebar, its cursor): not counted
        await _run_page(ws, "", query)
        warmed.append(i)
        await start.wait()
        if think:
            await asyncio.sleep(rng.uniform(0, think))   # users do not all click at the same moment
        for _ in range(rounds):
            order = list(pages)
            rng.shuffle(order)
            for page in order:
                if think:
                    await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
                s, ok, exc = await _run_page(ws, page, query)
                result.runs.append(Run(page, i, s, ok, exc))


def run(url: str, db: Path, *, users: int = 20, rounds: int = 5, pages: list[str] | None = None, query: str = "",
        seed: int = 1, role: str = "leader", think: float = 0.0) -> Result:
    """Drive `users` concurrent signed-in sessions against the app at `url` (serving `db`); per-page timings."""
    pages = list(pages or PAGES)
    tokens = sessions(db, users, role)

    async def main() -> Result:
        result = Result(users)
        start = asyncio.Event()
        warmed: list[int] = []
        tasks = [asyncio.create_task(_user(i, url, tokens[i], pages, rounds, query, result, warmed, start, seed,
                                           think))
                 for i in range(users)]
        # Every session opens and runs its first page before the clock starts.
        deadline = time.perf_counter() + TIMEOUT_S + 5 * users
        while len(warmed) < users and time.perf_counter() < deadline:
            if any(t.done() for t in tasks):   # a session failed to open: its exception surfaces below
                break
            await asyncio.sleep(0.1)
        t0 = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        result.wall_s = time.perf_counter() - t0
        return result

    # In a thread of its own: the caller's thread may already run an event loop (a test process that also
    # drives Playwright's sync API), and asyncio.run refuses to start a second one there.
    out: list = []
    worker = threading.Thread(target=lambda: out.append(_capture(lambda: asyncio.run(main()))))
    worker.start()
    worker.join()
    ok, value = out[0]
    if not ok:
        raise value
    return value


def _capture(fn):
    try:
        return True, fn()
    except BaseException as exc:   # re-raised in the caller's thread
        return False, exc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path, help="the store (the app is started on it on a free port, unless --url)")
    ap.add_argument("--url", help="an app already running on DB")
    ap.add_argument("--role", default="leader", help="role of the signed-in bench account")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5, help="visits of every page per user")
    ap.add_argument("--pages", default=",".join(PAGES), help="URL paths of the pages to visit, comma-separated")
    ap.add_argument("--query", default="", help="query string of every visit, e.g. 'district=朝阳区'")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--think", type=float, default=10.0,
                    help="mean pause between two visits of a user, seconds (0: no pause, a saturation test)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    pages = [p for p in args.pages.split(",") if p]
    kw = dict(users=args.users, rounds=args.rounds, pages=pages, query=args.query, seed=args.seed, role=args.role,
              think=args.think)
    res = run(args.url, args.db, **kw) if args.url else serve_and_run(args.db, **kw)
    rows = res.table()
    if args.json:
        print(json.dumps({"users": res.users, "wall_s": round(res.wall_s, 1), "errors": res.errors(), "pages": rows},
                         ensure_ascii=False, indent=2))
    else:
        print(f"{res.users} concurrent sessions (pause {args.think:g} s between visits), {len(res.runs)} page runs "
              f"in {res.wall_s:.1f} s ({len(res.runs) / res.wall_s:.2f} runs/s), {res.errors()} with an error or "
              "unfinished")
        print(f"{'page':<10}{'runs':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        for r in rows:
            print(f"{r['page']:<10}{r['runs']:>6}{r['p50_ms']:>9,}{r['p95_ms']:>9,}{r['max_ms']:>9,}")
    return 0 if res.errors() == 0 else 1


def serve_and_run(db: Path, **kwargs) -> Result:
    """Start the app on `db` (ui.launch, a free loopback port), run the load, stop the app."""
    import tempfile

    from tests.browser.helpers import serve_app

    with tempfile.TemporaryDirectory() as d, serve_app(Path(db), Path(d) / "streamlit.log", how="launch") as (url, _p):
        return run(url, Path(db), **kwargs)


if __name__ == "__main__":
    sys.exit(main())
