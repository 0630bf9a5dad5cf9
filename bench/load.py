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

**Mixed roles and districts** (`--mix`, issue 17): users are spread round-robin over profiles
`role[:district]` (default MIX: a city-wide leader, prosecutors of 东城区 and 朝阳区, a clue administrator
of 东城区, press staff of 朝阳区, a city-wide display account), one account `bench_<role>[_<district>]` each.
Every user visits the pages its role may open (data/roles.py). What the server sends a district user
(tables, charts, texts, options: bench/load_scope.py) is searched for the names of other districts; each
hit is reported as a row of another district, with its page and a snippet.

**While an import runs** (`--import FILE`, repeatable): when the clock starts, `manage.py ingest FILE --db
DB` runs in a process of its own, file after file, as an administrator would from the command line while
people browse (data/generations.py). Runs that overlapped an import are reported separately.

Tool only: the product never imports this. Streamlit's wire protocol is not a
public API, so a Streamlit upgrade may need this client updated
(tests/test_bench_load.py runs it against a live server to notice).

Usage:
  python -m bench.load DB [--users 20] [--rounds 5] [--pages overview,topics,...] [--query 'from=...&to=...']
  python -m bench.load DB --mix default --import new_tickets.csv     (issue 17's load: roles, districts, import)
  python -m bench.load DB --url http://127.0.0.1:8501 ...     (an app already running on DB)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGES = ("overview", "topics", "funnel", "tickets", "map")
# what a mixed user may browse (the pages that read; not import, users, audit, collide: uploads and admin work)
BROWSE = ("overview", "topics", "funnel", "tickets", "map", "rules", "queue", "ledger", "letters", "screen")
MIX = ("leader", "prosecutor:东城区", "prosecutor:朝阳区", "clue_admin:东城区", "press:朝阳区", "display")
TIMEOUT_S = 120.0
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Profile:
    """A kind of user: a role and its districts (none: the whole city)."""

    role: str
    districts: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Profile:
        role, _, ds = text.partition(":")
        return cls(role.strip(), tuple(d for d in ds.split("+") if d))

    @property
    def label(self) -> str:
        return self.role + (":" + "+".join(self.districts) if self.districts else "")

    @property
    def account(self) -> str:
        return "bench_" + self.role + "".join("_" + d for d in self.districts)

    def pages(self, wanted) -> list[str]:
        """The pages of `wanted` this role may open."""
        from data import roles

        return [p for p in wanted if roles.allowed(self.role, roles.PAGES[p])]


@dataclass
class Run:
    page: str
    user: int
    seconds: float
    ok: bool
    exceptions: int = 0
    started: float = 0.0        # seconds after the clock started
    profile: str = ""
    other_district: int = 0     # strings naming a district outside the user's scope
    cpu_s: float | None = None  # the server's CPU seconds for this run (one user only: nothing else runs there)


@dataclass
class Import:
    file: str
    started: float
    seconds: float
    returncode: int
    tail: str


@dataclass
class Result:
    users: int
    runs: list[Run] = field(default_factory=list)
    wall_s: float = 0.0
    imports: list[Import] = field(default_factory=list)
    findings: list = field(default_factory=list)     # bench.load_scope.Finding
    scoped_runs: int = 0                              # runs of district users that were checked
    server_cpu_s: float | None = None                 # CPU seconds the server used while the clock ran
    server_memory_mb: dict | None = None              # the server's VmRSS and VmHWM (peak) at the end, MB

    def cpu_per_run_ms(self) -> int | None:
        """The server's CPU time per page run (imports run in their own process and are not in it)."""
        return round(1000 * self.server_cpu_s / len(self.runs)) if self.server_cpu_s is not None and self.runs else None

    def during_import(self) -> list[Run]:
        spans = [(i.started, i.started + i.seconds) for i in self.imports]
        return [r for r in self.runs if any(a <= r.started <= b for a, b in spans)]

    def summary(self, runs: list[Run] | None = None) -> dict:
        xs = sorted(r.seconds for r in (self.runs if runs is None else runs) if r.ok)
        if not xs:
            return {"runs": 0}
        return {"runs": len(xs), "p50_ms": round(1000 * statistics.median(xs)), "p95_ms": round(1000 * _pct(xs, 0.95)),
                "max_ms": round(1000 * xs[-1])}

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
        for page, xs in sorted(self.by_page().items(), key=lambda kv: BROWSE.index(kv[0]) if kv[0] in BROWSE else 99):
            xs = sorted(xs)
            cpu = [r.cpu_s for r in self.runs if r.page == page and r.ok and r.cpu_s is not None]
            rows.append({"page": page, "runs": len(xs), "p50_ms": round(1000 * statistics.median(xs)),
                         "p95_ms": round(1000 * _pct(xs, 0.95)), "max_ms": round(1000 * xs[-1]),
                         "cpu_p50_ms": round(1000 * statistics.median(cpu)) if cpu else None,
                         "cpu_max_ms": round(1000 * max(cpu)) if cpu else None})
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


async def _run_page(ws, page: str, query: str, kept: list | None = None) -> tuple[float, bool, int]:
    """Ask for one run of `page`; (seconds until the server finished it, finished?, exceptions or sign-in forms).

    `kept`: the data-carrying elements of the run are appended to it (bench/load_scope.py), unparsed."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from bench import load_scope

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
            elif kept is not None and (k := load_scope.keep(el)) is not None:
                kept.append(k)
        elif kind == "script_finished":
            # FINISHED_SUCCESSFULLY, FINISHED_WITH_COMPILE_ERROR, FINISHED_EARLY_FOR_RERUN, ...
            if fm.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue   # the page itself asked for a rerun (st.rerun): the run goes on
            return time.perf_counter() - t0, fm.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY, exceptions


def sessions(db: Path, n: int, role: str = "leader", districts: tuple[str, ...] = ()) -> list[str]:
    """Tokens of `n` signed-in sessions of the account `bench_<role>[_<district>...]` (made with a random password)."""
    import secrets

    from data import audit, people, records

    name = Profile(role, districts).account
    with records.session(db) as con:
        acc = people.get(con, name)
        if acc is None:
            acc = people.add(con, audit.Actor("bench"), name, role, password=secrets.token_urlsafe(18),
                             districts=districts)
        return [people.open_session(con, acc.principal()) for _ in range(n)]


@dataclass
class _User:
    i: int
    token: str
    profile: Profile
    pages: list[str]
    others: frozenset[str]     # districts outside the scope (empty: a city-wide user, not checked)
    cpu_pid: int | None = None  # the server's process, when this is the only user: each run's CPU is measured


async def _user(u: _User, url: str, rounds: int, query: str, result: Result, warmed: list[int],
                start: asyncio.Event, clock: list[float], seed: int, think: float = 0.0) -> None:
    import websockets

    from bench import load_scope
    from ui.auth import COOKIE

    ws_url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
    rng = random.Random(seed + u.i)
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=60,
                                  additional_headers={"Cookie": f"{COOKIE}={u.token}"}) as ws:
        # the first visit starts the session (its sidebar, its cursor): not counted
        await _run_page(ws, "", query)
        warmed.append(u.i)
        await start.wait()
        if think:
            await asyncio.sleep(rng.uniform(0, think))   # users do not all click at the same moment
        for _ in range(rounds):
            order = list(u.pages)
            rng.shuffle(order)
            for page in order:
                if think:
                    await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
                kept: list | None = [] if u.others else None
                began = time.perf_counter() - clock[0]
                c0 = cpu_seconds(u.cpu_pid) if u.cpu_pid else None
                s, ok, exc = await _run_page(ws, page, query, kept)
                c1 = cpu_seconds(u.cpu_pid) if u.cpu_pid else None
                found = load_scope.findings(kept, u.others, page=page, user=u.i, profile=u.profile.label) \
                    if kept is not None else []
                result.findings.extend(found)
                result.scoped_runs += kept is not None
                result.runs.append(Run(page, u.i, s, ok, exc, began, u.profile.label, len(found),
                                       None if c0 is None or c1 is None else c1 - c0))


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` (all its threads), from /proc; None where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> dict | None:
    """Resident memory of process `pid` now and at its peak (VmRSS, VmHWM from /proc), MB; None where there is none."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    kb = {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in lines) if k in ("VmRSS", "VmHWM")}
    return {"rss": round(kb.get("VmRSS", 0) / 1024), "peak": round(kb.get("VmHWM", 0) / 1024)}


def _imports(files: list[Path], db: Path, result: Result, clock: list[float]) -> None:
    """Import `files` one after another with the command line, into the store the app serves."""
    for f in files:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "manage.py", "ingest", str(f), "--db", str(db)], cwd=ROOT,
                           capture_output=True, text=True)
        out = (p.stdout + p.stderr).strip().splitlines()
        result.imports.append(Import(f.name, t0 - clock[0], time.perf_counter() - t0, p.returncode,
                                     "\n".join(out[-6:])))


def run(url: str, db: Path, *, users: int = 20, rounds: int = 5, pages: list[str] | None = None, query: str = "",
        seed: int = 1, role: str = "leader", think: float = 0.0, mix: list[str] | None = None,
        imports: list[Path] | None = None, server_pid: int | None = None) -> Result:
    """Drive `users` concurrent signed-in sessions against the app at `url` (serving `db`); per-page timings.

    `mix`: profiles `role[:district]` the users are spread over (else every user has `role`); `imports`: files
    imported with the command line, one after another, from the moment the clock starts."""
    from bench import load_scope

    profiles = [Profile.parse(m) for m in (mix or [role])]
    every = load_scope.districts(db) if any(p.districts for p in profiles) else frozenset()
    wanted = list(pages or (BROWSE if mix else PAGES))
    by_profile = {p: iter(sessions(db, sum(1 for i in range(users) if profiles[i % len(profiles)] == p),
                                   p.role, p.districts)) for p in profiles}
    plan = []
    for i in range(users):
        p = profiles[i % len(profiles)]
        plan.append(_User(i, next(by_profile[p]), p, p.pages(wanted),
                          every - set(p.districts) if p.districts else frozenset(),
                          server_pid if users == 1 and not imports else None))
    if not all(u.pages for u in plan):
        raise SystemExit(f"a profile may open none of the pages {wanted}: {[u.profile.label for u in plan if not u.pages]}")

    async def main() -> Result:
        result = Result(users)
        start = asyncio.Event()
        warmed: list[int] = []
        clock = [0.0]
        tasks = [asyncio.create_task(_user(u, url, rounds, query, result, warmed, start, clock, seed, think))
                 for u in plan]
        # Every session opens and runs its first page before the clock starts.
        deadline = time.perf_counter() + TIMEOUT_S + 5 * users
        while len(warmed) < users and time.perf_counter() < deadline:
            if any(t.done() for t in tasks):   # a session failed to open: its exception surfaces below
                break
            await asyncio.sleep(0.1)
        clock[0] = t0 = time.perf_counter()
        cpu0 = cpu_seconds(server_pid) if server_pid else None
        importer = asyncio.create_task(asyncio.to_thread(_imports, list(imports or []), db, result, clock))
        start.set()
        await asyncio.gather(*tasks)
        result.wall_s = time.perf_counter() - t0
        cpu1 = cpu_seconds(server_pid) if server_pid else None
        if cpu0 is not None and cpu1 is not None:
            result.server_cpu_s = cpu1 - cpu0
        result.server_memory_mb = memory_mb(server_pid) if server_pid else None
        await importer
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
    ap.add_argument("--role", default="leader", help="role of the signed-in bench account (without --mix)")
    ap.add_argument("--mix", help="profiles role[:district] the users are spread over, comma-separated; "
                                  f"'default' = {','.join(MIX)}")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5, help="visits of every page per user")
    ap.add_argument("--pages", help="URL paths of the pages to visit, comma-separated (default: "
                                    f"{','.join(PAGES)}; with --mix {','.join(BROWSE)}, each role the ones it may open)")
    ap.add_argument("--query", default="", help="query string of every visit, e.g. 'district=朝阳区'")
    ap.add_argument("--import", dest="imports", type=Path, action="append", default=[],
                    help="a file to import with `manage.py ingest` while the users browse (repeatable: one after another)")
    ap.add_argument("--log", type=Path, help="keep the server's log here (tracebacks in it count as errors)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--think", type=float, default=10.0,
                    help="mean pause between two visits of a user, seconds (0: no pause, a saturation test)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--runs", type=Path, help="write every page run here (JSON lines: page, profile, user, "
                                                "started and seconds after the clock, ok), to see where slow runs fall")
    args = ap.parse_args(argv)
    pages = [p for p in (args.pages or "").split(",") if p] or None
    mix = list(MIX) if args.mix == "default" else [m for m in (args.mix or "").split(",") if m] or None
    kw = dict(users=args.users, rounds=args.rounds, pages=pages, query=args.query, seed=args.seed, role=args.role,
              think=args.think, mix=mix, imports=args.imports)
    load0 = os.getloadavg()
    res = run(args.url, args.db, **kw) if args.url else serve_and_run(args.db, log=args.log, **kw)
    load1 = os.getloadavg()
    server_errors = _log_errors(args.log) if args.log and args.log.exists() else None
    report = {"users": res.users, "profiles": _profile_counts(res), "think_s": args.think,
              "wall_s": round(res.wall_s, 1), "page_runs": len(res.runs), "errors": res.errors(),
              "server_cpu_s": None if res.server_cpu_s is None else round(res.server_cpu_s, 1),
              "server_cpu_per_run_ms": res.cpu_per_run_ms(),
              "server_memory_mb": res.server_memory_mb,
              "server_log_tracebacks": server_errors,
              "scoped_runs_checked": res.scoped_runs, "other_district_rows": len(res.findings),
              "all": res.summary(), "during_import": res.summary(res.during_import()),
              "imports": [vars(i) | {"seconds": round(i.seconds, 1), "started": round(i.started, 1)} for i in res.imports],
              "pages": res.table(), "load_average": {"start": [round(x, 1) for x in load0],
                                                     "end": [round(x, 1) for x in load1]},
              "findings": [vars(f) for f in res.findings[:20]],
              "failed_runs": [{"page": r.page, "profile": r.profile, "user": r.user, "seconds": round(r.seconds, 1),
                               "started": round(r.started, 1),
                               "why": "exception or sign-in form" if r.ok else f"unfinished after {TIMEOUT_S:g} s"
                               if r.seconds >= TIMEOUT_S else "script did not finish successfully"}
                              for r in res.runs if not r.ok or r.exceptions]}
    if args.runs:
        args.runs.write_text("".join(json.dumps({"page": r.page, "profile": r.profile, "user": r.user,
                                                 "started": round(r.started, 2), "seconds": round(r.seconds, 3),
                                                 "ok": r.ok}, ensure_ascii=False) + "\n" for r in res.runs))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print(report)
    failed = res.errors() or res.findings or server_errors or any(i.returncode for i in res.imports)
    return 1 if failed else 0


def _profile_counts(res: Result) -> dict[str, int]:
    users: dict[str, set[int]] = {}
    for r in res.runs:
        users.setdefault(r.profile, set()).add(r.user)
    return {k: len(v) for k, v in users.items()}


def _log_errors(log: Path) -> int:
    """Tracebacks and exceptions the server logged."""
    text = log.read_text(errors="replace")
    return text.count("Traceback (most recent call last)")


def _print(r: dict) -> None:
    print(f"{r['users']} concurrent sessions {r['profiles']} (pause {r['think_s']:g} s between visits), "
          f"{r['page_runs']} page runs in {r['wall_s']:.1f} s, {r['errors']} with an error or unfinished; "
          f"server log tracebacks: {'—' if r['server_log_tracebacks'] is None else r['server_log_tracebacks']}")
    if r["server_cpu_s"] is not None:
        print(f"server CPU while the clock ran: {r['server_cpu_s']:.1f} s, {r['server_cpu_per_run_ms']:,} ms per page run")
    if r.get("server_memory_mb"):
        print(f"server memory at the end: {r['server_memory_mb']['rss']:,} MB resident, peak {r['server_memory_mb']['peak']:,} MB")
    print(f"district users' page runs checked: {r['scoped_runs_checked']}, strings naming another district: "
          f"{r['other_district_rows']}")
    for f in r["findings"]:
        print(f"  {f['profile']} user {f['user']} /{f['page']} {f['kind']}: {f['district']} in …{f['snippet']}…")
    for x in r["failed_runs"]:
        print(f"  failed: {x['profile']} user {x['user']} /{x['page']} at {x['started']:.0f} s: {x['why']} "
              f"({x['seconds']:.1f} s)")
    for i in r["imports"]:
        print(f"import {i['file']}: started at {i['started']:.1f} s, {i['seconds']:.1f} s, exit {i['returncode']}")
        for line in i["tail"].splitlines()[-3:]:
            print("    " + line)
    print(f"load average at start {r['load_average']['start']}, at end {r['load_average']['end']}")
    print(f"{'page':<10}{'runs':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}" + ("  server CPU p50 / max ms" if r["users"] == 1 else ""))
    for row in r["pages"]:
        print(f"{row['page']:<10}{row['runs']:>6}{row['p50_ms']:>9,}{row['p95_ms']:>9,}{row['max_ms']:>9,}"
              + (f"{row['cpu_p50_ms']:>17,} / {row['cpu_max_ms']:,}" if row.get("cpu_p50_ms") is not None else ""))
    for name in ("all", "during_import"):
        x = r[name]
        if x.get("runs"):
            print(f"{name:<14}{x['runs']:>6}{x['p50_ms']:>9,}{x['p95_ms']:>9,}{x['max_ms']:>9,}")


def serve_and_run(db: Path, log: Path | None = None, **kwargs) -> Result:
    """Start the app on `db` (serve.py, a free loopback port), run the load, stop the app; its log kept at `log`."""
    import tempfile

    from tests.browser.helpers import serve_app

    with tempfile.TemporaryDirectory() as d:
        with serve_app(Path(db), log or Path(d) / "streamlit.log", how="launch") as (url, proc):
            return run(url, Path(db), server_pid=proc.pid, **kwargs)


if __name__ == "__main__":
    sys.exit(main())
