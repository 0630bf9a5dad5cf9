"""A Spark standalone cluster on this machine: one master and N workers on loopback (issue 21's multi-node run).

The pyspark wheel carries Spark (its jars and `bin/spark-class`), so a real standalone cluster needs only Java:
the master (`org.apache.spark.deploy.master.Master`) and each worker (`...deploy.worker.Worker`) are separate
JVMs with their own ports, work directories and logs under one directory (DIR/master.log, DIR/worker-1/...).
A Spark application (data/engine/spark.py's session, the dashboard process being the driver) connects to
`spark://127.0.0.1:PORT` and gets one executor per worker: its tasks run in those executors' JVMs, not in the
driver. That is the same topology as a real cluster with the hosts on one machine; on a real deployment the
organisation's own Spark cluster (or `sbin/start-master.sh` / `start-worker.sh` on each host) takes its place
(docs/scale-out.md).

Used by the tests (one cluster per test session, tests/conftest.py), the benchmark (bench/engines.py) and by hand:

    python manage.py engine cluster start --dir var/spark     # prints the master URL, web UI and pids
    python manage.py engine cluster status --dir var/spark
    python manage.py engine cluster stop --dir var/spark

Nothing is downloaded at run time (no `--packages`): Parquet and the SQL engine are in the wheel's jars.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
STATE_FILE = "cluster.json"


class ClusterError(RuntimeError):
    """The cluster could not be started or reached (the message says which process and where its log is)."""


def spark_home() -> Path:
    """Spark as the pyspark wheel installed it (its bin/spark-class and jars/)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """A running cluster: where it lives and how to reach it."""

    dir: str
    port: int
    web_port: int
    pids: dict[str, int] = field(default_factory=dict)    # "master", "worker-1", ... -> process id
    worker_cores: int = 1
    worker_memory: str = "1g"

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    @property
    def web_url(self) -> str:
        return f"http://{HOST}:{self.web_port}"

    def status(self, timeout: float = 5) -> dict:
        """The master's own view (its web UI's JSON): workers, their state and cores, applications."""
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=timeout) as r:   # loopback only
            return json.loads(r.read().decode("utf-8"))

    def alive_workers(self) -> list[dict]:
        try:
            return [w for w in self.status().get("workers", []) if w.get("state") == "ALIVE"]
        except OSError:
            return []

    def stop(self) -> None:
        """Stop every process of the cluster (its own process groups only), workers first."""
        for name in sorted(self.pids, key=lambda n: n == "master"):
            _stop_group(self.pids[name])
        self.pids = {}
        Path(self.dir, STATE_FILE).unlink(missing_ok=True)

    def save(self) -> None:
        Path(self.dir, STATE_FILE).write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")


def _stop_group(pid: int, wait: float = 20) -> None:
    """TERM the process group that `start` made for one JVM (its launcher shell and the JVM), then KILL."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _env(d: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": HOST,          # every process binds loopback only
        "SPARK_LOG_DIR": str(d),
        "SPARK_NO_DAEMONIZE": "1",
        "SPARK_MASTER_OPTS": "-Dspark.ui.showConsoleProgress=false",
    })
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    return env


def _launch(d: Path, name: str, args: list[str]) -> int:
    log = open(d / f"{name}.log", "ab")   # the child keeps it open
    proc = subprocess.Popen([str(spark_home() / "bin" / "spark-class"), *args], cwd=d, env=_env(d),
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    return proc.pid


def start(directory: str | Path, *, workers: int = 2, cores: int = 1, memory: str = "1g",
          timeout: float = 120) -> Cluster:
    """Start a master and `workers` workers (each `cores` cores, `memory` for executors) with state under
    `directory`; returns when every worker has registered with the master (else stops them and raises)."""
    d = Path(directory).resolve()
    d.mkdir(parents=True, exist_ok=True)
    existing = running(d)
    if existing is not None:
        return existing
    c = Cluster(str(d), _free_port(), _free_port(), worker_cores=cores, worker_memory=memory)
    c.pids["master"] = _launch(d, "master", ["org.apache.spark.deploy.master.Master", "--host", HOST,
                                              "--port", str(c.port), "--webui-port", str(c.web_port)])
    c.save()
    try:
        _wait(lambda: c.status(timeout=2), timeout, f"the master did not answer (log: {d / 'master.log'})")
        for i in range(1, workers + 1):
            wd = d / f"worker-{i}"
            wd.mkdir(exist_ok=True)
            c.pids[f"worker-{i}"] = _launch(d, f"worker-{i}", [
                "org.apache.spark.deploy.worker.Worker", "--host", HOST, "--port", str(_free_port()),
                "--webui-port", str(_free_port()), "--cores", str(cores), "--memory", memory,
                "--work-dir", str(wd), c.master_url])
            c.save()
        _wait(lambda: len(c.alive_workers()) >= workers or None, timeout,
              f"{workers} workers did not register with the master (logs: {d}/worker-*.log)")
    except BaseException:
        c.stop()
        raise
    return c


def _wait(probe, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            got = probe()
        except OSError:
            got = None
        if got:
            return got
        time.sleep(0.5)
    raise ClusterError(message)


def running(directory: str | Path) -> Cluster | None:
    """The cluster started under `directory` if its master still answers, else None."""
    f = Path(directory).resolve() / STATE_FILE
    if not f.exists():
        return None
    c = Cluster(**json.loads(f.read_text(encoding="utf-8")))
    try:
        c.status(timeout=2)
    except OSError:
        return None
    return c


def stop(directory: str | Path) -> bool:
    """Stop the cluster started under `directory`; False when none was recorded there."""
    f = Path(directory).resolve() / STATE_FILE
    if not f.exists():
        return False
    Cluster(**json.loads(f.read_text(encoding="utf-8"))).stop()
    return True
