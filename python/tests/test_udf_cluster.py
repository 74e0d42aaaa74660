"""Gatun's UDF planner extension on distributed engines (issue 16): the same application under stock
PySpark (`spark-submit` from SPARK_HOME) and under Gatun (`python -m gatun.submit`, whose driver adds
dev.gatun.spark.udf.GatunSparkExtensions), with executors in JVMs of their own:

* `local-cluster[2,1,1024]` (a master and 2 workers inside the driver JVM, each executor a JVM);
* a standalone cluster started with SPARK_HOME's own scripts (`sbin/spark-daemon.sh start` of
  org.apache.spark.deploy.master.Master and org.apache.spark.deploy.worker.Worker, with the
  arguments start-master.sh and start-worker.sh give them), its logs, pid files and work directory
  in tmp dirs, stopped with `spark-daemon.sh stop` even when a test fails.

The application reads cached data and a Parquet scan, with nulls, through identity pandas_udfs (and
one that tags each row with its batch), Arrow-optimized udfs, mapInArrow (also one row per batch,
which shows where batches end), mapInPandas, grouped and cogrouped applyInPandas and a grouped-agg
pandas_udf. Every query's sorted rows must be the same under Gatun as under stock; Gatun's plans of
the scalar UDFs must have GatunArrowInputExec and GatunArrowOutputExec, of mapInArrow and mapInPandas
GatunMapInBatchExec, and stock's no Gatun node;
each of Gatun's executors must have loaded gatun-spark.jar (the driver ships it: it is
spark-submit's primary resource) and the Gatun nodes must be on the stack of the executor tasks a
raising pandas_udf failed; its ValueError and traceback must reach the driver as a PythonException
under both. Every process a run or the cluster started is found by its session id (each is started
in a session of its own) and must be gone at the end; Gatun's regions in /dev/shm too.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="pyspark is part of the dev dependencies (make venv)")
pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

import gatun.pyspark  # noqa: E402

if gatun.pyspark.spark_line() is None or gatun.pyspark.spark_line() < (4, 0):
    pytest.skip("the UDF extension is Spark 4 only", allow_module_level=True)

SPARK_HOME = Path(gatun.pyspark.spark_home())
PACKAGE = "dev.gatun.spark.udf"

APP = r'''
import json, sys, time
t0 = time.monotonic()
import pandas as pd
import pyarrow as pa
from pyspark.sql import SparkSession, functions as F

out_path, parquet_path = sys.argv[1], sys.argv[2]
out = open(out_path, "w")

def emit(kind, name, value):
    out.write(json.dumps({"kind": kind, "name": name, "value": value, "t": round(time.monotonic() - t0, 2)}) + "\n")
    out.flush()
    print(kind, name, flush=True)

spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
emit("APPID", "", sc.applicationId)
import gatun.pyspark
emit("BRIDGE", "", gatun.pyspark.bridge(spark))
emit("EXTENSIONS", "", spark.conf.get("spark.sql.extensions", ""))
emit("JARS", "", sc.getConf().get("spark.jars", ""))
# Several batches per partition (5000 or 5001 rows each) and an uneven last batch.
spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")

base = spark.range(0, 20_003, numPartitions=4).selectExpr(
    "id",
    "CASE WHEN id % 7 = 0 THEN NULL ELSE cast(id AS double) * 0.5 END AS x",
    "CASE WHEN id % 11 = 0 THEN NULL ELSE cast(id AS int) END AS i")
cached = base.cache()
cached.count()
base.selectExpr(
    "*",
    "CASE WHEN id % 5 = 0 THEN NULL ELSE concat('s', id, '日本') END AS s",
    "CASE WHEN id % 13 = 0 THEN NULL ELSE cast(id / 3 AS decimal(12, 3)) END AS dec",
).write.parquet(parquet_path)
parquet = spark.read.parquet(parquet_path)
sources = {"cache": cached, "parquet": parquet}

def same(s: pd.Series) -> pd.Series:
    return s

p_x, p_i, p_s, p_dec = (F.pandas_udf(same, t) for t in ("double", "int", "string", "decimal(12,3)"))
a_x = F.udf(lambda v: v, "double", useArrow=True)
a_i = F.udf(lambda v: v, "int", useArrow=True)

@F.pandas_udf("string")
def batch_of(i: pd.Series, x: pd.Series) -> pd.Series:
    return pd.Series([f"{i.iloc[0]}+{len(i)}"] * len(i))  # the batch's first id and size, for each of its rows

sizes_schema = pa.schema([("first", pa.int64()), ("n", pa.int64())])

def batch_sizes(batches):  # one row per input batch: its first id (null if it has no rows) and its size
    for b in batches:
        yield pa.RecordBatch.from_pydict({"first": [b.column(0)[0].as_py() if b.num_rows else None],
                                          "n": [b.num_rows]}, schema=sizes_schema)

@F.pandas_udf("double")
def pmean(v: pd.Series) -> float:
    return v.mean()  # exact: the values are halves and integers, their sums below 2**53

@F.pandas_udf("long")
def pcount(v: pd.Series) -> int:
    return int(v.count())

def boom(s: pd.Series) -> pd.Series:
    raise ValueError("boom-from-udf")

key = (F.col("id") % 5).alias("k")

def plan_classes(p):
    children = p.children()
    return [p.getClass().getName()] + [c for k in range(children.size()) for c in plan_classes(children.apply(k))]

def pandas_udf_q(df):
    cols = ["id", p_x("x").alias("px"), p_i("i").alias("pi"), "x", "i"]
    if "s" in df.columns:
        cols += [p_s("s").alias("ps"), p_dec("dec").alias("pdec"), "s", "dec"]
    return df.select(*cols)

queries = {
    "pandas_udf": pandas_udf_q,
    "pandas_udf_batches": lambda df: df.select("id", batch_of("id", "x").alias("batch")),
    "arrow_udf": lambda df: df.select("id", a_x("x").alias("ax"), a_i("i").alias("ai"), "x", "i"),
    "map_in_arrow": lambda df: df.mapInArrow(lambda it: it, df.schema),
    "map_in_arrow_batches": lambda df: df.mapInArrow(batch_sizes, "first long, n long"),
    "map_in_pandas": lambda df: df.mapInPandas(lambda it: it, df.schema),
    "apply_in_pandas": lambda df: df.groupBy(key).applyInPandas(lambda pdf: pdf, df.schema),
    "cogroup_apply_in_pandas": lambda df: df.groupBy(key).cogroup(df.filter("id % 2 = 0").groupBy(key))
        .applyInPandas(lambda l, r: pd.concat([l, r]), df.schema),
    "grouped_agg_pandas_udf": lambda df: df.groupBy(key).agg(pmean("x").alias("mx"), pmean("i").alias("mi"),
                                                            pcount("x").alias("nx")),
}

for source, df in sources.items():
    for name, make in queries.items():
        q = make(df)
        plan = q._jdf.queryExecution().executedPlan()
        emit("PLAN", f"{name}_{source}", {"tree": plan.toString(), "classes": plan_classes(plan)})
        rows = [[None if v is None else str(v) for v in r] for r in q.collect()]
        rows.sort(key=json.dumps)
        emit("RESULT", f"{name}_{source}", {"columns": q.columns, "rows": rows})

# Over the cache (Gatun's Arrow input under Gatun). Tasks fail on the executors; the job is aborted
# once one task failed spark.task.maxFailures times (4 on a cluster).
try:
    cached.select("id", F.pandas_udf(boom, "double")("x")).collect()
    emit("RAISE", "cache", {"class": None})
except Exception as e:
    text = str(e)
    emit("RAISE", "cache", {"class": type(e).__name__, "message": "boom-from-udf" in text,
                            "value_error": "ValueError: boom-from-udf" in text,
                            "traceback": "Traceback" in text, "in_boom": "in boom" in text,
                            "head": text[:300]})

emit("EXECUTORS", "", len(sc._jsc.sc().statusTracker().getExecutorInfos()) - 1)
spark.stop()
emit("END", "", True)
'''

CONFS = ["--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=4"]


# --- processes, by session id -------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, str] | None:
    """(session id, state) of a live process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp session ...
    return int(fields[3]), fields[0]


def _alive(pid: int) -> bool:
    """Running: not gone, and not a zombie that its parent (init, for a daemon) has yet to reap."""
    st = _stat(pid)
    return st is not None and st[1] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:300]
    except OSError:
        return "?"


def session_members(sid: int) -> dict[int, str]:
    """The live (not zombie) processes of session `sid`, with their command lines."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[0] == sid and st[1] != "Z":
                found[int(entry)] = _cmdline(int(entry))
    return found


def wait_until(condition, timeout: float, interval: float = 0.2):
    """Polls `condition` until it returns something truthy (returned) or `timeout` seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def kill_pids(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _shm_gatun() -> set[str]:
    try:
        return {n for n in os.listdir("/dev/shm") if n.startswith("gatun")}
    except FileNotFoundError:
        return set()


def _shm_owner_alive(name: str) -> bool:
    """gatun-PID-* / gatun-arrow-PID-*: whether process PID still lives (another user's session)."""
    for part in name.split("-")[1:3]:
        if part.isdigit():
            return _alive(int(part))
    return False


# --- one spark-submit run -------------------------------------------------------------------------

@dataclass(repr=False)
class Run:
    label: str
    cmd: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    left: dict[int, str]  # processes of its session still alive 60 s after it ended
    records: dict[str, dict] = field(default_factory=dict)
    times: list[tuple[float, str, str]] = field(default_factory=list)  # (seconds into the app, kind, name)
    executor_logs: dict[str, list[str]] = field(default_factory=dict)  # executor -> its stderr's Gatun lines

    def get(self, kind: str, name: str = ""):
        return self.records.get(kind, {}).get(name)

    def __repr__(self) -> str:
        return f"<{self.label} run, exit {self.returncode}>"

    def show(self) -> str:
        return (f"{self.label}: exit {self.returncode} after {self.seconds:.0f} s\n"
                f"command: {' '.join(self.cmd)}\nstdout (tail):\n{self.stdout[-2500:]}\n"
                f"stderr (tail):\n{self.stderr[-5000:]}")


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1",
               SPARK_CONF_DIR=str(tmp / "conf"))
    for name in ("GATUN_PYSPARK", "GATUN_GATEWAY_INFO", "PYSPARK_SUBMIT_ARGS", "PYSPARK_DRIVER_PYTHON"):
        env.pop(name, None)
    (tmp / "conf").mkdir(exist_ok=True)  # no spark-defaults.conf or spark-env.sh of SPARK_HOME's
    return env


def submit(tmp: Path, label: str, master: str, gatun: bool) -> Run:
    work = tmp / label
    work.mkdir()
    (work / "app.py").write_text(APP, encoding="utf-8")
    out = work / "records.jsonl"
    launcher = [sys.executable, "-m", "gatun.submit"] if gatun else [str(SPARK_HOME / "bin" / "spark-submit")]
    cmd = [*launcher, "--master", master, *CONFS, "app.py", str(out), str(work / "data.parquet")]
    start = time.monotonic()
    # A session of its own: spark-submit's JVM, the application, local-cluster's executors and the
    # Python workers under them (whose daemon makes a process group of its own, not a session).
    proc = subprocess.Popen(cmd, cwd=work, env=_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        kill_pids(session_members(proc.pid))
        stdout, stderr = proc.communicate()
        stderr += "\n[test] timed out after 600 s; killed the run's session"
    seconds = time.monotonic() - start
    left: dict[int, str] = {}
    if not wait_until(lambda: not session_members(proc.pid), 60):
        left = session_members(proc.pid)
        kill_pids(left)
    run = Run(label, cmd, proc.returncode, stdout, stderr, seconds, left)
    if out.exists():
        for line in out.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            run.records.setdefault(rec["kind"], {})[rec["name"]] = rec["value"]
            run.times.append((rec["t"], rec["kind"], rec["name"]))
    return run


# --- a standalone cluster from SPARK_HOME's scripts ------------------------------------------------

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Standalone:
    """A master and a worker (2 cores, 2g) started as start-master.sh and start-worker.sh start them."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port, self.ui, self.worker_ui = _free_port(), _free_port(), _free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.env = dict(_env(tmp), SPARK_HOME=str(SPARK_HOME), SPARK_LOG_DIR=str(tmp / "logs"),
                        SPARK_PID_DIR=str(tmp / "pids"), SPARK_WORKER_DIR=str(tmp / "work"),
                        SPARK_IDENT_STRING=f"gatun-test-{os.getpid()}")
        self.sessions: dict[str, int] = {}  # "master"/"worker" -> session id of its spark-daemon.sh
        self.pids: dict[str, int] = {}
        self.json: dict | None = None
        self.left_after_stop: dict[int, str] = {}
        self.stop_output = ""

    def _daemon(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(SPARK_HOME / "sbin" / "spark-daemon.sh"), *args], env=self.env,
                              capture_output=True, text=True, timeout=120, start_new_session=True)

    def _start(self, role: str, *args: str) -> None:
        cls = MASTER_CLASS if role == "master" else WORKER_CLASS
        # Popen, not run: the daemon's session id is its pid, and the JVM (nohup'd) stays in it.
        proc = subprocess.Popen([str(SPARK_HOME / "sbin" / "spark-daemon.sh"), "start", cls, "1", *args],
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        self.sessions[role] = proc.pid
        output, _ = proc.communicate(timeout=120)
        pid_file = Path(self.env["SPARK_PID_DIR"]) / f"spark-{self.env['SPARK_IDENT_STRING']}-{cls}-1.pid"
        assert proc.returncode == 0 and pid_file.exists(), (
            f"spark-daemon.sh start {cls}: exit {proc.returncode}\n{output}\n{self.log_tail(role)}")
        self.pids[role] = int(pid_file.read_text().strip())

    def log_tail(self, role: str) -> str:
        cls = MASTER_CLASS if role == "master" else WORKER_CLASS
        logs = sorted(Path(self.env["SPARK_LOG_DIR"]).glob(f"*{cls}-1-*.out"))
        return f"{role} log (tail):\n" + (logs[-1].read_text(errors="replace")[-3000:] if logs else "(none)")

    def master_json(self) -> dict | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ui}/json", timeout=5) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return None

    def start(self) -> None:
        self._start("master", "--host", "127.0.0.1", "--port", str(self.port), "--webui-port", str(self.ui))
        up = wait_until(lambda: not _alive(self.pids["master"])
                        or (self.master_json() or {}).get("status") == "ALIVE", 60)
        assert up and _alive(self.pids["master"]), f"the master's /json never said ALIVE\n{self.log_tail('master')}"
        self._start("worker", "--webui-port", str(self.worker_ui), "--host", "127.0.0.1", "--cores", "2",
                    "--memory", "2g", "--work-dir", str(self.tmp / "work"), self.url)

        def registered():
            if not _alive(self.pids["worker"]):
                return {"worker": "died"}
            j = self.master_json() or {}
            if j.get("aliveworkers") == 1 and any(w.get("state") == "ALIVE" for w in j.get("workers", ())):
                return j
            return None
        self.json = wait_until(registered, 60)
        assert self.json and "worker" not in self.json, (f"no worker registered with the master: {self.master_json()}\n"
                           f"{self.log_tail('worker')}\n{self.log_tail('master')}")

    def executors_gone(self) -> dict[int, str] | None:
        """After an application: the worker's session holds the Worker JVM alone again (None if not in 60 s)."""
        worker_only = lambda: set(session_members(self.sessions["worker"])) == {self.pids["worker"]}  # noqa: E731
        if wait_until(worker_only, 60):
            return {}
        return {p: c for p, c in session_members(self.sessions["worker"]).items() if p != self.pids["worker"]}

    def stop(self) -> None:
        """spark-daemon.sh stop (as stop-worker.sh and stop-master.sh), then SIGKILL whatever of
        their sessions is still there after 60 s (recorded in left_after_stop)."""
        for role, cls in (("worker", WORKER_CLASS), ("master", MASTER_CLASS)):
            if role in self.sessions:
                r = self._daemon("stop", cls, "1")
                self.stop_output += r.stdout + r.stderr
        sessions = list(self.sessions.values())
        everyone = lambda: {p: c for s in sessions for p, c in session_members(s).items()}  # noqa: E731
        if not wait_until(lambda: not everyone(), 60):
            self.left_after_stop = everyone()
            kill_pids(self.left_after_stop)


# --- the runs --------------------------------------------------------------------------------------

MASTERS = ["local-cluster", "standalone"]


@dataclass
class Runs:
    stock: Run
    gatun: Run
    shm_left: list[str]
    cluster: Standalone | None = None
    executors_left: dict[str, dict[int, str]] = field(default_factory=dict)
    work_dirs_left: list[str] = field(default_factory=list)
    home_new: list[str] = field(default_factory=list)  # what the runs added to SPARK_HOME (and SPARK_HOME/work)


def _home_listing() -> set[str]:
    work = SPARK_HOME / "work"
    return set(os.listdir(SPARK_HOME)) | ({f"work/{n}" for n in os.listdir(work)} if work.is_dir() else set())


@pytest.fixture(scope="module", params=MASTERS)
def runs(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    cluster = None
    home_before = _home_listing()
    try:
        if request.param == "standalone":
            cluster = Standalone(tmp)
            cluster.start()
            master = cluster.url
        else:
            master = "local-cluster[2,1,1024]"
        runs = {}
        shm_before = _shm_gatun()
        executors_left = {}
        if cluster is not None:
            print("the master's /json:", {k: v for k, v in cluster.json.items() if k != "workers"},
                  "workers:", [{k: w.get(k) for k in ("id", "host", "state", "cores", "memory")}
                               for w in cluster.json.get("workers", ())])
        for label, gatun in (("stock", False), ("gatun", True)):
            runs[label] = r = submit(tmp, label, master, gatun)
            if cluster is not None:
                executors_left[label] = cluster.executors_gone()
            print(f"{request.param} {label}: exit {r.returncode} in {r.seconds:.1f} s; seconds into the app:",
                  ", ".join(f"{kind} {name} {t:.0f}" for t, kind, name in r.times
                            if kind in ("APPID", "RESULT", "RAISE", "END")))
            print(f"{request.param} {label}: Gatun's nodes in the plans:", {
                name: [c.rsplit(".", 1)[1] for c in plan["classes"] if "gatun" in c]
                for name, plan in r.records.get("PLAN", {}).items()})
        shm_left = sorted(n for n in _shm_gatun() - shm_before if not _shm_owner_alive(n))
    finally:
        if cluster is not None:
            cluster.stop()
    # Each executor ran in <work dir>/<app id>/<executor id>, its stderr there. local-cluster's
    # workers use SPARK_HOME/work (LocalSparkCluster gives them no work directory outside tests):
    # this module removes its own applications' directories from it.
    work_dirs_left = []
    for run in runs.values():
        app_id = run.get("APPID")
        if not app_id:
            continue
        app_dir = (SPARK_HOME / "work" if cluster is None else tmp / "work") / app_id
        for stderr in sorted(app_dir.glob("*/stderr")):
            run.executor_logs[stderr.parent.name] = [
                line for line in stderr.read_text(errors="replace").splitlines() if "gatun" in line.lower()]
        if cluster is None and app_dir.exists():
            shutil.rmtree(app_dir, ignore_errors=True)
            if app_dir.exists():
                work_dirs_left.append(str(app_dir))
    # Only local-cluster's SPARK_HOME/work, where Spark puts it; app directories of others (running
    # at the same time) are not this module's.
    app_ids = {run.get("APPID") for run in runs.values()}
    home_new = sorted(n for n in _home_listing() - home_before
                      if n != "work" and (not n.startswith("work/") or n[5:] in app_ids))
    return Runs(runs["stock"], runs["gatun"], shm_left, cluster, executors_left, work_dirs_left, home_new)


def _first_difference(a: list, b: list) -> str:
    for n, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"row {n}: stock {x} != gatun {y}"
    return f"{len(a)} rows under stock, {len(b)} under Gatun; first extra: {(a[len(b):] or b[len(a):])[0]}"


def _both_ran(r: Runs) -> None:
    for run in (r.stock, r.gatun):
        assert run.returncode == 0 and run.get("END") is True, run.show()


QUERIES = [f"{q}_{s}" for s in ("cache", "parquet") for q in (
    "pandas_udf", "pandas_udf_batches", "arrow_udf", "map_in_arrow", "map_in_arrow_batches", "map_in_pandas",
    "apply_in_pandas",
    "cogroup_apply_in_pandas", "grouped_agg_pandas_udf")]


def test_the_runs_exit_0_on_their_bridges(runs):
    _both_ran(runs)
    assert runs.stock.get("BRIDGE") == "py4j", runs.stock.show()
    assert runs.gatun.get("BRIDGE") == "gatun", runs.gatun.show()
    assert "dev.gatun.spark.udf.GatunSparkExtensions" in runs.gatun.get("EXTENSIONS"), runs.gatun.get("EXTENSIONS")
    assert "Gatun" not in runs.stock.get("EXTENSIONS"), runs.stock.get("EXTENSIONS")


def test_executors_are_jvms_of_their_own(runs):
    for run in (runs.stock, runs.gatun):
        assert run.get("EXECUTORS") is not None and run.get("EXECUTORS") >= 1, run.show()


@pytest.mark.parametrize("query", QUERIES)
def test_results_identical_to_stock(runs, query):
    _both_ran(runs)
    stock, gatun = runs.stock.get("RESULT", query), runs.gatun.get("RESULT", query)
    assert stock is not None, f"stock gave no result for {query}\n{runs.stock.show()}"
    assert gatun is not None, f"Gatun gave no result for {query}\n{runs.gatun.show()}"
    assert gatun["columns"] == stock["columns"], (stock["columns"], gatun["columns"])
    assert gatun["rows"] == stock["rows"], f"{query}: {_first_difference(stock['rows'], gatun['rows'])}"
    rows = stock["rows"]
    if query.startswith("pandas_udf_batches"):
        # Each row names its batch (first id + size) and each batch holds that many rows. (Spark's
        # columnar UDF input, stock's and Gatun's alike, does not cut at maxRecordsPerBatch.)
        sizes: dict[str, int] = {}
        for _, batch in rows:
            sizes[batch] = sizes.get(batch, 0) + 1
        assert all(int(b.split("+")[1]) == n for b, n in sizes.items()), sizes
        assert sum(sizes.values()) == 20_003 and len(sizes) >= 4, sizes
    elif query.startswith("map_in_arrow_batches"):
        # one row per batch: Spark's map-in-batch input cuts at maxRecordsPerBatch
        assert sum(int(n) for _, n in rows) == 20_003 and all(int(n) <= 1000 for _, n in rows), rows
    elif query.startswith("grouped_agg"):
        assert [r[0] for r in rows] == ["0", "1", "2", "3", "4"], rows
    elif query.startswith("cogroup"):
        assert len(rows) == 20_003 + 10_002
    else:
        assert len(rows) == 20_003
        assert sum(r[1] is None for r in rows) > 2000, rows[:3]  # x (or its UDF's result) is null for id % 7 == 0


@pytest.mark.parametrize("query", ["pandas_udf_cache", "arrow_udf_cache", "pandas_udf_parquet", "arrow_udf_parquet"])
def test_gatun_plans_the_arrow_input_node(runs, query):
    _both_ran(runs)
    stock, gatun = runs.stock.get("PLAN", query), runs.gatun.get("PLAN", query)
    assert not [c for c in stock["classes"] if "gatun" in c], stock["tree"]
    assert f"{PACKAGE}.GatunArrowInputExec" in gatun["classes"], f"{gatun['classes']}\n{gatun['tree']}"
    assert f"{PACKAGE}.GatunArrowOutputExec" in gatun["classes"], f"{gatun['classes']}\n{gatun['tree']}"


@pytest.mark.parametrize("query", [f"{q}_{source}" for q in ("map_in_arrow", "map_in_arrow_batches", "map_in_pandas")
                                   for source in ("cache", "parquet")])
def test_gatun_replaces_map_in_batch_operators(runs, query):
    _both_ran(runs)
    stock, gatun = runs.stock.get("PLAN", query), runs.gatun.get("PLAN", query)
    assert not [c for c in stock["classes"] if "gatun" in c], stock["tree"]
    assert f"{PACKAGE}.GatunMapInBatchExec" in gatun["classes"], f"{gatun['classes']}\n{gatun['tree']}"


def test_the_gatun_nodes_ran_in_the_executors(runs):
    """Each executor JVM fetched gatun-spark.jar (spark-submit's primary resource, which it lists in
    spark.jars) from the driver into its class loader, and the raising UDF's task failed there with
    the Gatun nodes on its stack; stock's executors never saw the jar."""
    _both_ran(runs)
    assert "gatun-spark.jar" in runs.gatun.get("JARS"), runs.gatun.get("JARS")
    assert "gatun" not in runs.stock.get("JARS"), runs.stock.get("JARS")
    stock, gatun = runs.stock.executor_logs, runs.gatun.executor_logs
    assert len(gatun) >= 1 and len(stock) >= 1, (stock, gatun)
    assert not [line for lines in stock.values() for line in lines if "gatun-spark" in line or PACKAGE in line], stock
    for executor, lines in gatun.items():
        assert any("gatun-spark.jar to class loader" in line for line in lines), (executor, lines)
    frames = [line for lines in gatun.values() for line in lines if f"at {PACKAGE}.GatunArrow" in line]
    assert frames, gatun


def test_a_raising_udf_reaches_the_driver(runs):
    stock, gatun = runs.stock.get("RAISE", "cache"), runs.gatun.get("RAISE", "cache")
    assert stock is not None and gatun is not None, runs.gatun.show() if stock else runs.stock.show()
    for name, r in (("stock", stock), ("gatun", gatun)):
        assert r["class"] == "PythonException", (name, r)
        assert r["message"] and r["value_error"] and r["traceback"] and r["in_boom"], (name, r)
    assert {k: v for k, v in gatun.items() if k != "head"} == {k: v for k, v in stock.items() if k != "head"}


def test_nothing_is_left_behind(runs):
    for run in (runs.stock, runs.gatun):
        assert not run.left, f"{run.label}: processes of its session still alive 60 s after it ended: {run.left}"
    for label, left in runs.executors_left.items():
        assert left == {}, f"{label}: the worker still ran these 60 s after the application ended: {left}"
    assert runs.shm_left == [], f"Gatun's runs left these in /dev/shm: {runs.shm_left}"
    assert runs.work_dirs_left == [], runs.work_dirs_left
    assert runs.home_new == [], f"the runs left these in SPARK_HOME={SPARK_HOME}: {runs.home_new}"
    if runs.cluster is not None:
        c = runs.cluster
        assert c.left_after_stop == {}, (
            f"still alive 60 s after spark-daemon.sh stop (then killed): {c.left_after_stop}\n{c.stop_output}")
        for role, pid in c.pids.items():
            assert not _alive(pid), f"the {role} JVM {pid} is still alive: {_cmdline(pid)}"
        # Logs, pid files and the worker's directory were tmp dirs (not SPARK_HOME's logs/ and work/).
        assert any((c.tmp / "work").iterdir()), "the worker ran no application in its tmp work dir"
