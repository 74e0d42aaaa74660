"""Where an identity Python UDF's time goes in stock PySpark (issue 16: measure first).

    .venv/bin/python bench/udf_breakdown.py              # 10M rows, local[2], 1 cold + 5 warm runs
    .venv/bin/python bench/udf_breakdown.py --quick      # 1M rows, 1 cold + 2 warm runs (a smoke test)
    make bench-udf

Stock PySpark over Py4J (no Gatun bridge): this measures what a shared-memory transport could win;
the columnar parts add Gatun's encoder classes (below).
On the same cached DataFrame (`spark.range(N)` with `id` and a double `x`, Spark's default
partitioning for local[2]) it times, per run:

end to end (the issue's jobs): `scan_sum` (sum(x), no Python), `pandas_udf` (identity scalar
pandas_udf on x, then sum), `arrow_udf` (identity Arrow-optimized `udf` on x, then sum),
`mapInArrow` (identity over both columns, then sum(x)), and `pandas_udf_row_input` (pandas_udf
with `spark.sql.execution.arrow.pythonUDF.columnarInput.enabled` off, on by default),
`pandas_udf_arrow_input` and `arrow_udf_arrow_input` (the same UDFs with Gatun's planner extension
on: the cache's columnar batches re-encoded as Arrow by ColumnarArrowEncoder so Spark's columnar
input sends them directly; the session has the extension installed and off for every other job); for each, the wall time, the CPU seconds
of the driver/executor JVM (`OperatingSystemMXBean.getProcessCpuTime`) and of its Python worker
processes (/proc: the JVM's descendants).

the parts, each on its own:
* JVM row -> Arrow encoding: a Spark job that runs Spark's `ArrowConverters.toBatchIterator`
  (the `ArrowWriter` the Arrow Python runners use, plus IPC serialization into a byte array) over
  the same rows, minus a job that only scans them (`queryExecution().toRdd().count()`);
  for x alone (what the UDFs send) and for (id, x) (what mapInArrow sends);
* JVM columnar -> Arrow encoding with Gatun's `ColumnarArrowEncoder` (issue 16's next step): the
  same cached rows as the cache's columnar batches (`InMemoryTableScanExec.executeColumnar`, what
  the runners' columnar input gets), copied into Arrow vectors in bulk and serialized the same way,
  minus a job that only counts those batches (`scan_columnar_*`); the report sets it beside rows ->
  ArrowWriter and checks that both produce the same number of bytes;
* JVM Arrow -> rows decoding: a job that loads cached IPC batches of the same data into vectors
  and iterates them as rows (`ArrowConverters.fromBatchIterator`, a columnar batch's row
  iterator) summing x, minus a job that only touches the cached batches;
* the socket: the same number of bytes, cut into messages of the same average size, written by
  the JVM through a `BufferedOutputStream` of spark.buffer.size over loopback TCP (stock's default
  transport: `spark.python.unix.domain.socket.enabled` is off) and read in Python through a
  buffered file of the same size as the worker reads it, then back the other way; CPU seconds of
  both ends;
* Python's Arrow reading and writing: a second Spark session whose Python daemon is stock
  `pyspark.daemon` with a probe in each forked worker (`bench/udf_probe/gatun_udf_probe.py`) that
  times the worker's socket reads and writes, the deserializer's `load_stream` (arrow_read), the
  per-batch function (udf: PySpark's conversions and the user's function) and the serializer's
  `dump_stream` (arrow_write), exclusive of each other, wall and thread CPU.

Run 0 of each job in a session is the cold run (first use: JIT, worker start-up), reported on its
own; the warm runs give the median and min-max. The load average (1 min) is recorded at the start
and end of each session and of every job. Writes <out>/udf_breakdown.md and .json (default
bench/results). Nothing here depends on Gatun but the columnar parts (`encode_columnar_*`,
`*_arrow_input`), which compile Gatun's java/spark/src/spark4/java/dev/gatun/spark/udf sources with
the helper (no Gatun bridge: PySpark runs over stock Py4J).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from load_bench import Hogs  # noqa: E402  (the busy processes of `--busy`)
NAME = "udf_breakdown"
E2E_JOBS = ("scan_sum", "pandas_udf", "pandas_udf_row_input", "pandas_udf_arrow_input", "arrow_udf",
            "arrow_udf_arrow_input", "mapInArrow", "mapInArrow_arrow_input", "mapInPandas", "mapInPandas_arrow_input",
            "pandas_udf_heavy", "pandas_udf_heavy_arrow_input")
# The compute-heavy pandas_udf: this many passes of sin over each batch (numpy, in the worker), its
# result then the input again, so the job's sum still checks.
HEAVY_PASSES = 12
COLUMNAR_INPUT = "spark.sql.execution.arrow.pythonUDF.columnarInput.enabled"
# Gatun's planner extension (java/spark/src/spark4/.../udf): installed in the stock session but off
# (the rule leaves every plan as it is) except in the *_arrow_input jobs.
ARROW_INPUT = "spark.gatun.udf.arrowInput.enabled"
EXTENSIONS = "dev.gatun.spark.udf.GatunSparkExtensions"
PROBE_JOBS = ("pandas_udf", "arrow_udf", "mapInArrow")


def loadavg() -> float:
    return os.getloadavg()[0]


# ---------------------------------------------------------------------------------------------
# The child: one Spark session (stock or probed), prints one JSON document on its last line.

def child(opts: dict) -> dict:
    import numpy as np
    import pandas as pd
    from pyspark.sql import SparkSession, functions as F
    from pyspark.sql.functions import pandas_udf, udf

    probe_dir = opts.get("probe_dir")
    builder = (SparkSession.builder.master("local[2]").appName("gatun-udf-breakdown")
               .config("spark.ui.enabled", "false").config("spark.driver.memory", opts["driver_memory"])
               .config("spark.driver.extraClassPath", opts["helper_dir"]))
    if not opts.get("worker_reuse", True):
        builder = builder.config("spark.python.worker.reuse", "false")
    if not probe_dir:
        builder = builder.config("spark.sql.extensions", EXTENSIONS).config(ARROW_INPUT, "false")
    if probe_dir:
        builder = (builder.config("spark.python.daemon.module", "gatun_udf_probe")
                   .config("spark.executorEnv.PYTHONPATH", os.path.join(HERE, "udf_probe"))
                   .config("spark.executorEnv.GATUN_UDF_PROBE_DIR", probe_dir))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    jvm = spark.sparkContext._jvm
    helper = jvm.UdfBreakdownHelper
    jvm_pid = int(jvm.java.lang.ProcessHandle.current().pid())
    conf = {k: spark.conf.get(k, None) for k in (
        "spark.sql.execution.arrow.maxRecordsPerBatch", "spark.sql.execution.pythonUDF.arrow.enabled",
        "spark.python.unix.domain.socket.enabled", "spark.buffer.size", "spark.sql.session.timeZone")}
    conf["spark.python.unix.domain.socket.enabled"] = spark.sparkContext.getConf().get(
        "spark.python.unix.domain.socket.enabled", "false (default)")
    conf["spark.buffer.size"] = spark.sparkContext.getConf().get("spark.buffer.size", "65536 (default)")
    max_records = int(conf["spark.sql.execution.arrow.maxRecordsPerBatch"] or 10000)
    tz = conf["spark.sql.session.timeZone"] or "UTC"

    rows = opts["rows"]
    df = spark.range(0, rows).selectExpr("id", "cast(id as double) * 0.5 as x").cache()
    df.count()
    partitions = df.rdd.getNumPartitions()
    expected = 0.5 * rows * (rows - 1) / 2

    def ident_series(s):
        return s

    # Real annotations (this module's are strings): PySpark infers the pandas UDF kind from them.
    ident_series.__annotations__ = {"s": pd.Series, "return": pd.Series}
    ident_pandas = pandas_udf(ident_series, "double")

    def heavy_series(s):
        acc = s.to_numpy(dtype="float64", na_value=0.0)
        for _ in range(HEAVY_PASSES):
            acc = np.sin(acc)
        return s + 0.0 * acc

    heavy_series.__annotations__ = {"s": pd.Series, "return": pd.Series}
    heavy_pandas = pandas_udf(heavy_series, "double")

    @udf("double", useArrow=True)
    def ident_arrow(v):
        return v

    def identity_batches(it):
        yield from it

    def identity_frames(it):
        yield from it

    def check(v):
        if abs(v - expected) > 1e-6 * max(1.0, abs(expected)):
            raise AssertionError(f"wrong sum {v} (expected {expected})")
        return v

    x_only = df.select("x")
    jobs = {
        "scan_sum": lambda: check(df.agg(F.sum("x")).collect()[0][0]),
        "pandas_udf": lambda: check(df.select(ident_pandas("x").alias("y")).agg(F.sum("y")).collect()[0][0]),
        "arrow_udf": lambda: check(df.select(ident_arrow("x").alias("y")).agg(F.sum("y")).collect()[0][0]),
        "mapInArrow": lambda: check(df.mapInArrow(identity_batches, df.schema).agg(F.sum("x")).collect()[0][0]),
        "mapInPandas": lambda: check(df.mapInPandas(identity_frames, df.schema).agg(F.sum("x")).collect()[0][0]),
        "pandas_udf_heavy": lambda: check(df.select(heavy_pandas("x").alias("y")).agg(F.sum("y")).collect()[0][0]),
    }
    if not probe_dir:
        cached = {}

        def cache_batches(key, frame):
            if key not in cached:
                cached[key] = helper.cacheEncoded(frame._jdf, max_records, tz)
            return cached[key]

        def with_conf(key, value, fn):
            old = spark.conf.get(key)
            spark.conf.set(key, value)
            try:
                return fn()
            finally:
                spark.conf.set(key, old)

        pandas_job = jobs["pandas_udf"]
        arrow_job = jobs["arrow_udf"]

        def arrow_input(fn, counter=helper.arrowInputBatches, node="GatunArrowInputExec"):
            def run():
                before = int(counter())
                value = with_conf(ARROW_INPUT, "true", fn)
                if int(counter()) == before:
                    raise AssertionError(f"{ARROW_INPUT}=true but {node} sent no batch")
                return value
            return run

        jobs.update({
            # The same UDFs with Gatun's planner rule on: the cache's batches re-encoded as Arrow
            # (ColumnarArrowEncoder) so that Spark's columnar input sends them as they are.
            "pandas_udf_arrow_input": arrow_input(pandas_job),
            "arrow_udf_arrow_input": arrow_input(arrow_job),
            # A UDF whose Python work dominates: the extension must not make it slower.
            "pandas_udf_heavy_arrow_input": arrow_input(jobs["pandas_udf_heavy"]),
            # mapInArrow / mapInPandas replaced by GatunMapInBatchExec: the cache's batches cut and
            # sent as Arrow, no rows, no ArrowWriter.
            "mapInArrow_arrow_input": arrow_input(jobs["mapInArrow"], helper.mapInBatchSent, "GatunMapInBatchExec"),
            "mapInPandas_arrow_input": arrow_input(jobs["mapInPandas"], helper.mapInBatchSent, "GatunMapInBatchExec"),
            # pandas_udf with Spark 4.3's columnar input path off (on by default): rows -> ArrowWriter.
            "pandas_udf_row_input": lambda: with_conf(COLUMNAR_INPUT, "false", pandas_job),
            "scan_rows_1col": lambda: helper.scanCount(x_only._jdf),
            "scan_rows_2col": lambda: helper.scanCount(df._jdf),
            "encode_1col": lambda: helper.encodeBytes(x_only._jdf, max_records, tz),
            "encode_2col": lambda: helper.encodeBytes(df._jdf, max_records, tz),
            "touch_1col": lambda: helper.touchBytes(cache_batches("1col", x_only)),
            "touch_2col": lambda: helper.touchBytes(cache_batches("2col", df)),
            "decode_1col": lambda: check(helper.decodeSum(cache_batches("1col", x_only), x_only._jdf.schema(), tz, 0)),
            "decode_2col": lambda: check(helper.decodeSum(cache_batches("2col", df), df._jdf.schema(), tz, 1)),
            # The same cached rows read as the cache's columnar batches and copied into Arrow by
            # Gatun's ColumnarArrowEncoder (issue 16), against rows -> ArrowWriter above.
            "scan_columnar_1col": lambda: helper.scanColumnar(x_only._jdf),
            "scan_columnar_2col": lambda: helper.scanColumnar(df._jdf),
            "encode_columnar_1col": lambda: helper.encodeColumnarBytes(x_only._jdf, tz),
            "encode_columnar_2col": lambda: helper.encodeColumnarBytes(df._jdf, tz),
        })
        for key, frame in (("1col", x_only), ("2col", df)):
            cache_batches(key, frame)

    results: dict[str, list] = {name: [] for name in jobs}
    probe_records: dict[str, list] = {name: [] for name in jobs}
    load_start = loadavg()
    for run in range(opts["runs"] + 1):
        for name, fn in jobs.items():
            if probe_dir and name in PROBE_JOBS:
                for f in glob.glob(os.path.join(probe_dir, "*.json")):
                    os.remove(f)
            la0 = loadavg()
            if not probe_dir:
                helper.resetArrowInputPeak()
                helper.startMemoryPeaks()
            j0, p0, g0 = float(helper.processCpuSeconds()), workers_cpu(jvm_pid), jvm_threads_cpu(jvm_pid)
            with WorkersRss(jvm_pid) as rss:
                t0 = time.perf_counter()
                value = fn()
                wall = time.perf_counter() - t0
            j1, p1, g1 = float(helper.processCpuSeconds()), workers_cpu(jvm_pid), jvm_threads_cpu(jvm_pid)
            arrow_input = int(helper.arrowInputPeak()) if not probe_dir else 0
            memory = [int(v) for v in helper.stopMemoryPeaks()] if not probe_dir else [0, 0, 0]
            results[name].append({"run": run, "cold": run == 0, "wall": wall, "jvm_cpu": j1 - j0,
                                  "arrow_input_memory": arrow_input,
                                  "jvm_arrow_peak": memory[0], "jvm_execution_peak": memory[1],
                                  "jvm_in_flight_peak": memory[2], "workers_rss_peak": rss.peak,
                                  "jvm_threads_cpu": {k: g1[k] - g0.get(k, 0.0) for k in g1},
                                  "python_cpu": p1 - p0, "value": value, "load_start": la0, "load_end": loadavg()})
            if probe_dir and name in PROBE_JOBS:
                probe_records[name].append(collect_probe(probe_dir, run, partitions))
    sampled = {}
    if not probe_dir and opts.get("sample_ms"):
        # One more run of each UDF job with the JVM's task threads sampled (not in the timings above).
        for name in PROBE_JOBS + ("pandas_udf_arrow_input",):
            helper.startSampling(opts["sample_ms"])
            t0 = time.perf_counter()
            jobs[name]()
            wall = time.perf_counter() - t0
            counts = {str(k): int(v) for k, v in dict(helper.stopSampling(opts["sample_ms"])).items()}
            sampled[name] = {"wall": wall, "counts": counts}
    out = {"mode": "probe" if probe_dir else "stock", "rows": rows, "partitions": partitions,
           "max_records_per_batch": max_records, "conf": conf, "load_start": load_start, "load_end": loadavg(),
           "jobs": results}
    if probe_dir:
        out["probe"] = probe_records
    else:
        out["sampled"] = sampled
        out["socket"] = socket_bench(helper, opts, int(helper.encodeBytes(x_only._jdf, max_records, tz)),
                                     int(helper.encodeBytes(df._jdf, max_records, tz)), rows, max_records)
    spark.stop()
    return out


def workers_cpu(jvm_pid: int) -> float:
    """CPU seconds (user + system) of every live descendant process of the JVM (the Python
    daemon and its forked workers), including what they reaped from their own children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in descendants(jvm_pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
    return total


def descendants(pid: int) -> list[int]:
    """Every live descendant process of `pid`."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    out = []
    for p in parent:
        q = parent.get(p)
        while q and q != pid:
            q = parent.get(q)
        if q == pid:
            out.append(p)
    return out


class WorkersRss:
    """The most resident memory the JVM's Python processes (the daemon and its forked workers) held
    together during a job: their RSS summed every 5 ms, the process list refreshed every 50 ms
    (workers are forked as tasks start). Workers are reused between jobs, so a job's figure includes
    what the worker kept from earlier ones (with `--fresh-workers` each task has a new worker)."""

    def __init__(self, jvm_pid: int):
        self.jvm_pid, self.peak, self.page = jvm_pid, 0, os.sysconf("SC_PAGE_SIZE")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        pids, refreshed = [], 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            if now - refreshed > 0.05:
                pids, refreshed = descendants(self.jvm_pid), now
            total = 0
            for p in pids:
                try:
                    with open(f"/proc/{p}/statm") as f:
                        total += int(f.read().split()[1]) * self.page
                except OSError:
                    continue
            self.peak = max(self.peak, total)
            self.stop.wait(0.005)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


JVM_THREAD_GROUPS = (("task threads", ("Executor task",)),
                     ("GC", ("GC Thread", "G1 ", "VM Thread", "VM Periodic")),
                     ("JIT", ("C1 CompilerThre", "C2 CompilerThre", "C1 CompilerThread", "C2 CompilerThread")))


def jvm_threads_cpu(jvm_pid: int) -> dict:
    """CPU seconds of the JVM's live threads by group (/proc/PID/task/*: the OS thread names, which
    HotSpot sets for Java threads and its own GC and compiler threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {name: 0.0 for name, _ in JVM_THREAD_GROUPS}
    out["other"] = 0.0
    try:
        tids = os.listdir(f"/proc/{jvm_pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{jvm_pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / tick
        group = next((name for name, prefixes in JVM_THREAD_GROUPS if comm.startswith(prefixes)), "other")
        out[group] += cpu
    return out


def collect_probe(probe_dir: str, run: int, tasks: int) -> dict:
    """Sums the per-task probe records of one job run (`tasks` of them expected)."""
    deadline = time.monotonic() + 30
    records = []
    while True:  # a worker writes its record after its task's last reply: wait until all are there
        records = [json.load(open(f)) for f in glob.glob(os.path.join(probe_dir, "*.json"))]
        if len(records) >= tasks:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"probe: {len(records)} task records after 30 s, expected {tasks}")
        time.sleep(0.01)
    total = {"run": run, "tasks": len(records), "wall": 0.0, "thread_cpu": 0.0, "process_cpu": 0.0,
             "exclusive_wall": {}, "exclusive_cpu": {}, "bytes": {}}
    for r in records:
        total["wall"] += r["wall"]
        total["thread_cpu"] += r["thread_cpu"]
        total["process_cpu"] += r["process_user"] + r["process_system"]
        for key in ("exclusive_wall", "exclusive_cpu", "bytes"):
            for k, v in r[key].items():
                total[key][k] = total[key].get(k, 0) + v
    return total


def socket_bench(helper, opts: dict, bytes_1col: int, bytes_2col: int, rows: int, max_records: int) -> dict:
    """The same bytes through loopback TCP, JVM -> Python then Python -> JVM, per shape."""
    buffer_size = 65536
    out = {}
    for shape, nbytes in (("1col", bytes_1col), ("2col", bytes_2col)):
        batches = max(1, -(-rows // max_records))
        chunk = max(1, nbytes // batches)
        runs = []
        for run in range(opts["runs"] + 1):
            srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            srv.bind(("127.0.0.1", 0))
            srv.listen(1)
            port = srv.getsockname()[1]
            py = {}

            def serve():
                conn, _ = srv.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                infile = os.fdopen(os.dup(conn.fileno()), "rb", buffer_size)
                outfile = os.fdopen(os.dup(conn.fileno()), "wb", buffer_size)
                c0 = time.thread_time()
                got = 0
                while got < nbytes:
                    b = infile.read(min(chunk, nbytes - got))
                    if not b:
                        break
                    got += len(b)
                c1 = time.thread_time()
                payload = b"\x01" * chunk
                left = nbytes
                while left > 0:
                    outfile.write(payload if left >= chunk else payload[:left])
                    left -= chunk
                outfile.flush()
                c2 = time.thread_time()
                py.update(read_cpu=c1 - c0, write_cpu=c2 - c1, got=got)
                infile.close()
                outfile.close()
                conn.close()

            t = threading.Thread(target=serve)
            t.start()
            la0 = loadavg()
            w_wall, w_cpu, r_wall, r_cpu = list(helper.socketRoundTrip(port, nbytes, chunk, buffer_size))
            t.join()
            srv.close()
            runs.append({"run": run, "cold": run == 0, "jvm_write_wall": w_wall, "jvm_write_cpu": w_cpu,
                         "jvm_read_wall": r_wall, "jvm_read_cpu": r_cpu, "python_read_cpu": py["read_cpu"],
                         "python_write_cpu": py["write_cpu"], "load_start": la0, "load_end": loadavg()})
        out[shape] = {"bytes": nbytes, "chunk": chunk, "runs": runs}
    return out


# ---------------------------------------------------------------------------------------------
# The parent: builds the helper, runs the children, writes the report.

# Gatun's columnar encoder, its plan node and planner extension, compiled with the helper.
ENCODER_DIR = os.path.join(HERE, "..", "java", "spark", "src", "spark4", "java", "dev", "gatun", "spark", "udf")


def build_helper(dest: str) -> None:
    import pyspark

    jars = os.path.join(os.path.dirname(pyspark.__file__), "jars", "*")
    javac = os.path.join(os.environ["JAVA_HOME"], "bin", "javac") if os.environ.get("JAVA_HOME") else "javac"
    subprocess.run([javac, "-nowarn", "-d", dest, "-cp", jars, os.path.join(HERE, "UdfBreakdownHelper.java")]
                   + sorted(glob.glob(os.path.join(os.path.normpath(ENCODER_DIR), "*.java"))), check=True)


def run_child(opts: dict) -> dict:
    env = dict(os.environ)
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.pop("GATUN_PYSPARK", None)  # stock PySpark: the gatun-pyspark.pth hook stays off
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(opts)],
                          env=env, stdout=subprocess.PIPE, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"the {opts.get('probe_dir') and 'probe' or 'stock'} session failed "
                         f"(exit {proc.returncode}); its output is above")
    return json.loads(lines[-1])


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def summarize(stock: dict, probe: dict) -> dict:
    def warm(samples, key):
        return stats([s[key] for s in samples if not s["cold"]])

    def cold(samples, key):
        return next(s[key] for s in samples if s["cold"])

    jobs = {}
    for name, samples in stock["jobs"].items():
        jobs[name] = {k: {"warm": warm(samples, k), "cold": cold(samples, k)} for k in ("wall", "jvm_cpu", "python_cpu")}
        for k in ("arrow_input_memory", "jvm_arrow_peak", "jvm_execution_peak", "jvm_in_flight_peak",
                  "workers_rss_peak"):
            if samples and k in samples[0]:
                jobs[name][k] = {"warm": warm(samples, k), "cold": cold(samples, k)}
        if samples and "jvm_threads_cpu" in samples[0]:
            groups = samples[0]["jvm_threads_cpu"].keys()
            jobs[name]["jvm_threads_cpu"] = {
                g: stats([s["jvm_threads_cpu"][g] for s in samples if not s["cold"]]) for g in groups}
    probed = {}
    for name, samples in probe["jobs"].items():
        probed[name] = {k: {"warm": warm(samples, k), "cold": cold(samples, k)} for k in ("wall", "jvm_cpu", "python_cpu")}
    probe_parts = {}
    for name in PROBE_JOBS:
        records = probe["probe"][name]
        warm_records = [r for r in records if r["run"] > 0]
        cats = sorted({c for r in warm_records for c in r["exclusive_cpu"]})
        probe_parts[name] = {
            "cpu": {c: stats([r["exclusive_cpu"].get(c, 0.0) for r in warm_records]) for c in cats},
            "wall": {c: stats([r["exclusive_wall"].get(c, 0.0) for r in warm_records]) for c in cats},
            "process_cpu": stats([r["process_cpu"] for r in warm_records]),
            "bytes": warm_records[-1]["bytes"] if warm_records else {},
            "tasks": warm_records[-1]["tasks"] if warm_records else 0,
        }
    sock = {}
    for shape, s in stock["socket"].items():
        w = [r for r in s["runs"] if not r["cold"]]
        sock[shape] = {"bytes": s["bytes"], "chunk": s["chunk"]}
        for k in ("jvm_write_wall", "jvm_write_cpu", "jvm_read_wall", "jvm_read_cpu", "python_read_cpu", "python_write_cpu"):
            sock[shape][k] = stats([r[k] for r in w])
        sock[shape]["cpu_both_ends_both_ways"] = stats(
            [r["jvm_write_cpu"] + r["jvm_read_cpu"] + r["python_read_cpu"] + r["python_write_cpu"] for r in w])
    # Per UDF job: the parts in CPU seconds (warm medians), and what removing the socket could win.
    shapes = {"pandas_udf": "1col", "arrow_udf": "1col", "mapInArrow": "2col"}
    breakdown = {}
    for name, shape in shapes.items():
        m = lambda job, k="wall": jobs[job][k]["warm"]["median"]  # noqa: E731
        encode = m(f"encode_{shape}", "jvm_cpu") - m(f"scan_rows_{shape}", "jvm_cpu")
        decode = m(f"decode_{shape}", "jvm_cpu") - m(f"touch_{shape}", "jvm_cpu")
        encode_wall = m(f"encode_{shape}") - m(f"scan_rows_{shape}")
        decode_wall = m(f"decode_{shape}") - m(f"touch_{shape}")
        sk = sock[shape]
        socket_jvm = sk["jvm_write_cpu"]["median"] + sk["jvm_read_cpu"]["median"]
        socket_py = sk["python_read_cpu"]["median"] + sk["python_write_cpu"]["median"]
        pp = probe_parts[name]["cpu"]
        py_arrow = pp.get("arrow_read", {"median": 0})["median"] + pp.get("arrow_write", {"median": 0})["median"]
        py_udf = pp.get("udf", {"median": 0})["median"]
        py_sock_insitu = pp.get("socket_read", {"median": 0})["median"] + pp.get("socket_write", {"median": 0})["median"]
        jvm_extra = m(name, "jvm_cpu") - m("scan_sum", "jvm_cpu")
        py_total = m(name, "python_cpu")
        wall, base = m(name), m("scan_sum")
        cpu_total = m(name, "jvm_cpu") + py_total
        # What a transport that costs nothing could save, at most: the socket's CPU on both ends.
        # On 2 cores running 2 tasks, a CPU second saved is at most a second of one core: the wall
        # time saved is at most (CPU saved) / 2 when both cores are busy, and at most the CPU saved
        # when the path is serial; the bound below takes the optimistic serial case per task:
        # (CPU saved) / tasks-in-parallel (2).
        saved_cpu = socket_jvm + socket_py
        best_wall = max(base, wall - saved_cpu / 2)
        breakdown[name] = {
            "wall": wall, "scan_sum_wall": base, "overhead_wall": wall - base,
            "jvm_cpu_total": m(name, "jvm_cpu"), "jvm_cpu_extra_over_scan_sum": jvm_extra,
            "python_cpu_total": py_total, "cpu_total": cpu_total,
            "parts_cpu": {
                "jvm_encode": encode, "jvm_decode": decode,
                "socket_jvm_side": socket_jvm, "socket_python_side_isolated": socket_py,
                "socket_python_side_in_job": py_sock_insitu,
                "python_arrow_read_write": py_arrow, "python_udf_and_conversions": py_udf,
                "jvm_rest": jvm_extra - encode - decode - socket_jvm,
            },
            "parts_wall_isolated": {"jvm_encode": encode_wall, "jvm_decode": decode_wall},
            "jvm_threads_cpu_extra_over_scan_sum": {
                g: jobs[name]["jvm_threads_cpu"][g]["median"] - jobs["scan_sum"]["jvm_threads_cpu"][g]["median"]
                for g in jobs[name].get("jvm_threads_cpu", {})},
            "zero_cost_transport": {"saved_cpu": saved_cpu, "best_wall": best_wall, "best_speedup": wall / best_wall},
        }
    columnar = {}
    for shape in ("1col", "2col"):
        if f"encode_columnar_{shape}" not in jobs:
            continue  # a raw file from before the columnar parts (--from-raw)
        m = lambda job, k="wall": jobs[job][k]["warm"]["median"]  # noqa: E731
        row_cpu = m(f"encode_{shape}", "jvm_cpu") - m(f"scan_rows_{shape}", "jvm_cpu")
        col_cpu = m(f"encode_columnar_{shape}", "jvm_cpu") - m(f"scan_columnar_{shape}", "jvm_cpu")
        values = lambda job: sorted({s["value"] for s in stock["jobs"][job]})  # noqa: E731
        columnar[shape] = {
            "rows_arrowwriter_cpu": row_cpu, "columnar_encoder_cpu": col_cpu,
            "rows_arrowwriter_wall": m(f"encode_{shape}") - m(f"scan_rows_{shape}"),
            "columnar_encoder_wall": m(f"encode_columnar_{shape}") - m(f"scan_columnar_{shape}"),
            "encode_total_cpu": m(f"encode_{shape}", "jvm_cpu"), "encode_columnar_total_cpu": m(f"encode_columnar_{shape}", "jvm_cpu"),
            "bytes_rows": values(f"encode_{shape}"), "bytes_columnar": values(f"encode_columnar_{shape}"),
        }
    return {"jobs": jobs, "probed_jobs": probed, "probe_parts": probe_parts, "socket": sock, "breakdown": breakdown,
            "columnar_encode": columnar}


def report_name(meta: dict) -> str:
    """udf_breakdown, with _busy<K> for a run with K busy processes beside it, _fresh_workers for
    one without worker reuse."""
    return (NAME + (f"_busy{meta['busy']}" if meta.get("busy") else "")
            + ("_fresh_workers" if meta.get("fresh_workers") else ""))


def fmt(s: dict, unit: str = "s") -> str:
    return f"{s['median']:.3f} {unit} ({s['min']:.3f}–{s['max']:.3f})"


def write_report(out_dir: str, meta: dict, stock: dict, probe: dict, summary: dict) -> None:
    os.makedirs(out_dir, exist_ok=True)
    report = report_name(meta)
    with open(os.path.join(out_dir, report + ".json"), "w") as f:
        json.dump({"meta": meta, "summary": summary, "raw": {"stock": stock, "probe": probe}}, f, indent=1)
    jobs, bd = summary["jobs"], summary["breakdown"]
    warm_runs = meta["runs"]
    lines = [
        "# Identity Python UDFs in stock PySpark: where the time goes",
        "",
        f"Written by `bench/udf_breakdown.py` ({meta['argv']}) on {meta['date']}, {meta['machine']}.",
        f"{stock['rows']:,} rows (`id` bigint, `x` double) cached, local[2], {stock['partitions']} partitions, "
        f"{stock['max_records_per_batch']} rows per Arrow batch; stock PySpark {meta['pyspark']} over Py4J (no Gatun bridge; "
        "the `*_arrow_input` and `encode_columnar_*` jobs use Gatun's ColumnarArrowEncoder classes).",
        f"Each job ran once cold (run 0, the session's first use of it) and {warm_runs} times warm; "
        "tables give the warm median with min–max. No run was dropped.",
        *(["**Python workers not reused** (`spark.python.worker.reuse=false`): each task forks a new one, so "
           "the workers' RSS below is each job's own. The end-to-end table's Python workers' CPU is not measured "
           "in this mode: it reads 0, since by the time it is read after the job the workers have exited and are "
           "no longer among the JVM's live descendants (udf_breakdown.md has it)."] if meta.get("fresh_workers") else []),
        *([f"**{meta['busy']} busy processes** (`python -c` loops, bench/load_bench.py's) ran beside Spark for the whole "
           "measurement, as on a driver or executor host whose cores are taken."] if meta.get("busy") else []),
        f"Load average (1 min): {meta['load_start']:.2f} at the start, {stock['load_start']:.2f}–{stock['load_end']:.2f} "
        f"over the stock session, {probe['load_start']:.2f}–{probe['load_end']:.2f} over the probed one, "
        f"{meta['load_end']:.2f} at the end (per-job values in the JSON).",
        "",
        "## End to end",
        "",
        "| job | wall, warm | wall, cold | JVM CPU, warm | Python workers' CPU, warm |",
        "|---|---|---|---|---|",
    ]
    for name in (n for n in E2E_JOBS if n in jobs):
        j = jobs[name]
        lines.append(f"| {name} | {fmt(j['wall']['warm'])} | {j['wall']['cold']:.3f} s | {fmt(j['jvm_cpu']['warm'])} | "
                     f"{fmt(j['python_cpu']['warm'])} |")
    pairs = [(n[:-len("_arrow_input")], n) for n in E2E_JOBS if n.endswith("_arrow_input") and n in jobs
             and n[:-len("_arrow_input")] in jobs]
    if pairs:
        with_peak = "jvm_in_flight_peak" in jobs[pairs[0][0]]
        with_rss = "workers_rss_peak" in jobs[pairs[0][0]]
        lines += ["", "Stock against Gatun's planner extension, the same job in the same session (warm medians with "
                  "min–max; speed-up = stock wall / extension wall"
                  + ("; in-flight memory = the most the driver/executor JVM held at once during the job in Arrow "
                     "memory (Spark's root allocator: stock's ArrowWriter roots, the extension's encoded batches, "
                     "the batches read back) plus Spark's execution memory (stock's row queue of rows sent to "
                     "Python), sampled every ms" if with_peak else "")
                  + ("; workers' RSS = the most resident memory the Python daemon and its workers held together, "
                     "sampled every 5 ms (reused workers keep what earlier jobs left)" if with_rss else "")
                  + ("; in MiB" if with_peak or with_rss else "")
                  + "):", "",
                  "| job | stock | with the extension | speed-up |" + (" in-flight memory, stock | with the extension |"
                                                                      if with_peak else "")
                  + (" workers' RSS, stock | with the extension |" if with_rss else ""),
                  "|---|---|---|---|" + ("---|---|" if with_peak else "") + ("---|---|" if with_rss else "")]
        for stock_job, ext_job in pairs:
            a, b = jobs[stock_job]["wall"]["warm"], jobs[ext_job]["wall"]["warm"]
            row = f"| {stock_job} | {fmt(a)} | {fmt(b)} | {a['median'] / b['median']:.2f}x |"
            mib = lambda job, key: "{median:.1f} ({min:.1f}–{max:.1f})".format(  # noqa: E731
                **{k: v / 2**20 for k, v in jobs[job][key]["warm"].items() if k in ("median", "min", "max")})
            if with_peak:
                row += f" {mib(stock_job, 'jvm_in_flight_peak')} | {mib(ext_job, 'jvm_in_flight_peak')} |"
            if with_rss:
                row += f" {mib(stock_job, 'workers_rss_peak')} | {mib(ext_job, 'workers_rss_peak')} |"
            lines.append(row)
    if "jvm_threads_cpu" in jobs["scan_sum"]:
        groups = list(jobs["scan_sum"]["jvm_threads_cpu"])
        lines += ["", "JVM CPU by thread (/proc/PID/task, warm medians; GC and JIT threads are invisible to JFR below):", "",
                  "| job | " + " | ".join(groups) + " |", "|---" * (len(groups) + 1) + "|"]
        for name in (n for n in E2E_JOBS if n in jobs):
            g = jobs[name]["jvm_threads_cpu"]
            lines.append(f"| {name} | " + " | ".join(fmt(g[k]) for k in groups) + " |")
    if "arrow_input_memory" in jobs["scan_sum"]:
        arrow_jobs = [n for n in E2E_JOBS if n in jobs and n.endswith("_arrow_input") and not n.startswith("mapIn")]
        lines += ["", "Arrow memory the extension's encoded input batches held at once in one task (the largest "
                  "of the job's tasks, warm median with min–max): each batch is freed once its rows are consumed, "
                  "so this is what the runner had in flight (written to the Python worker, its output not yet "
                  "consumed), not the partition's whole input. Stock holds the same rows in flight in its row "
                  "queue, in execution memory: the in-flight memory of the table above compares the two.", "",
                  "| job | Arrow input held, MiB |", "|---|---|"]
        for name in arrow_jobs:
            a = jobs[name]["arrow_input_memory"]["warm"]
            lines.append(f"| {name} | {a['median'] / 2**20:.1f} ({a['min'] / 2**20:.1f}–{a['max'] / 2**20:.1f}) |")
    lines += ["", "## The parts, each alone (JVM jobs over the same rows)", "",
              "| job | wall, warm | JVM CPU, warm |", "|---|---|---|"]
    for name in ("scan_rows_1col", "encode_1col", "scan_rows_2col", "encode_2col", "scan_columnar_1col",
                 "encode_columnar_1col", "scan_columnar_2col", "encode_columnar_2col", "touch_1col", "decode_1col",
                 "touch_2col", "decode_2col"):
        if name not in jobs:
            continue
        j = jobs[name]
        lines.append(f"| {name} | {fmt(j['wall']['warm'])} | {fmt(j['jvm_cpu']['warm'])} |")
    if summary.get("columnar_encode"):
        lines += ["", "Encoding the cached rows into Arrow record batches (JVM CPU and wall of the encode job minus its "
                  "scan's, warm medians): Spark's rows -> `ArrowWriter` (what the runners do, `encode_*` - `scan_rows_*`) "
                  "against the cache's columnar batches copied by Gatun's `ColumnarArrowEncoder` "
                  "(`encode_columnar_*` - `scan_columnar_*`); both serialize each batch as a record-batch message "
                  "into a byte array:", "",
                  "| shape | rows -> ArrowWriter: CPU | columnar encoder: CPU | CPU ratio | rows -> ArrowWriter: wall | "
                  "columnar encoder: wall | bytes (ArrowWriter / encoder) |",
                  "|---|---|---|---|---|---|---|"]
        for shape, c in summary["columnar_encode"].items():
            ratio = (f"{c['rows_arrowwriter_cpu'] / c['columnar_encoder_cpu']:.1f}x"
                     if c["columnar_encoder_cpu"] > 0 else "n/a (at the floor)")
            same = "same" if c["bytes_rows"] == c["bytes_columnar"] else "DIFFERENT"
            lines.append(f"| {shape} | {c['rows_arrowwriter_cpu']:.3f} s | {c['columnar_encoder_cpu']:.3f} s | {ratio} | "
                         f"{c['rows_arrowwriter_wall']:.3f} s | {c['columnar_encoder_wall']:.3f} s | "
                         f"{', '.join(f'{b:,}' for b in c['bytes_rows'])} / {', '.join(f'{b:,}' for b in c['bytes_columnar'])} "
                         f"({same}) |")
    lines += ["", "Socket (loopback TCP, 64 KiB buffered streams both ends, one stream; CPU seconds):", "",
              "| shape | bytes each way | JVM write | JVM read | Python read | Python write | all four |",
              "|---|---|---|---|---|---|---|"]
    for shape, s in summary["socket"].items():
        lines.append(f"| {shape} | {s['bytes']:,} | {fmt(s['jvm_write_cpu'])} | {fmt(s['jvm_read_cpu'])} | "
                     f"{fmt(s['python_read_cpu'])} | {fmt(s['python_write_cpu'])} | {fmt(s['cpu_both_ends_both_ways'])} |")
    lines += ["", "Python workers, probed session (CPU seconds summed over tasks, exclusive, warm):", "",
              "| job | socket_read | arrow_read | udf | arrow_write | socket_write | worker process CPU | end-to-end wall (probed) |",
              "|---|---|---|---|---|---|---|---|"]
    for name in PROBE_JOBS:
        p = summary["probe_parts"][name]["cpu"]
        g = lambda c: fmt(p[c]) if c in p else "–"  # noqa: E731
        lines.append(f"| {name} | {g('socket_read')} | {g('arrow_read')} | {g('udf')} | {g('arrow_write')} | "
                     f"{g('socket_write')} | {fmt(summary['probe_parts'][name]['process_cpu'])} | "
                     f"{fmt(summary['probed_jobs'][name]['wall']['warm'])} |")
    if stock.get("sampled"):
        lines += ["", "## Inside the job: the executor task threads (JFR samples, one extra warm run per job)", "",
                  f"Every {stock['sampled'][PROBE_JOBS[0]]['counts'].get('period_ms', '?')} ms Java Flight Recorder samples "
                  "each thread; shown: the samples of Spark's task threads, by the first category whose classes are "
                  "on the sampled stack (`UdfBreakdownHelper.CATEGORIES`), as a share of the task threads' samples. "
                  "*running* = executing Java code, *in native* = in a native method (for the socket: the system "
                  "calls, and waiting for the Python worker).", ""]
        for name, smp in stock["sampled"].items():
            counts = {k: v for k, v in smp["counts"].items()
                      if k != "period_ms" and not k.startswith(("other threads", "leaf of", "thread "))}
            leaves = sorted(((k[len("leaf of runner: other: "):], v) for k, v in smp["counts"].items()
                             if k.startswith("leaf of")), key=lambda kv: -kv[1])[:6]
            total = sum(counts.values()) or 1
            period = smp["counts"].get("period_ms", 0) / 1000
            top = sorted(counts.items(), key=lambda kv: -kv[1])
            shown = top[:12]
            rest = sum(v for _, v in top[12:])
            parts = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in shown)
            if rest:
                parts += f", {len(top) - 12} more {100 * rest / total:.0f}%"
            lines.append(f"* **{name}** (run wall {smp['wall']:.2f} s, {total} task-thread samples ≈ {total * period:.2f} "
                         f"thread-seconds): {parts}")
            if leaves:
                lines.append("  - top frames of *runner: other*: " + ", ".join(
                    f"`{k}` {100 * v / total:.0f}%" for k, v in leaves))
    lines += ["", "## Breakdown per job (warm medians, CPU seconds; 2 cores)", "",
              "| job | wall | over scan_sum | JVM encode | JVM decode | socket, JVM side | socket, Python side | "
              "Python Arrow read+write | Python udf + conversions | JVM rest | zero-cost transport: best wall (speed-up) |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, b in bd.items():
        p = b["parts_cpu"]
        z = b["zero_cost_transport"]
        lines.append(f"| {name} | {b['wall']:.3f} s | {b['overhead_wall']:.3f} s | {p['jvm_encode']:.3f} | "
                     f"{p['jvm_decode']:.3f} | {p['socket_jvm_side']:.3f} | {p['socket_python_side_isolated']:.3f} "
                     f"(in job: {p['socket_python_side_in_job']:.3f}) | {p['python_arrow_read_write']:.3f} | "
                     f"{p['python_udf_and_conversions']:.3f} | {p['jvm_rest']:.3f} | {z['best_wall']:.3f} s "
                     f"({z['best_speedup']:.2f}x) |")
    lines += [
        "",
        "How to read it: *JVM encode* and *JVM decode* are the JVM CPU of the encode/decode jobs minus their "
        "scan/touch floors; *socket* is the isolated transfer of the job's bytes both ways (the Python side also "
        "as measured inside the job by the probe: CPU in the worker's socket reads and writes); *Python* columns "
        "come from the probe; *JVM rest* is the UDF job's JVM CPU above scan_sum minus encode, decode and the "
        "socket's JVM side (the runner's own work: batching, row projections, the struct wrapping of mapInArrow, "
        "scheduling, GC, JIT: the thread table above splits it). *Zero-cost transport* removes the socket's CPU on both ends and assumes every second "
        "saved on one of the 2 cores shortens the job by half a second (2 tasks in parallel): an optimistic bound "
        "for what any shared-memory transport can save, since writing into an arena still costs one copy.",
        "",
    ]
    with open(os.path.join(out_dir, report + ".md"), "w") as f:
        f.write("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5, help="warm runs per job (after one cold run)")
    ap.add_argument("--quick", action="store_true", help="1M rows, 2 warm runs: a smoke test")
    ap.add_argument("--driver-memory", default="4g")
    ap.add_argument("--sample-ms", type=int, default=5,
                    help="JFR sampling period of the extra sampled run per UDF job (0: no sampled run)")
    ap.add_argument("--busy", type=int, default=0, help="busy processes beside Spark for the whole run "
                    "(written to udf_breakdown_busy<K>.md/.json)")
    ap.add_argument("--fresh-workers", action="store_true", help="spark.python.worker.reuse=false: a new Python "
                    "worker per task, so the workers' RSS is each job's own (udf_breakdown_fresh_workers.md/.json)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--from-raw", help="rewrite the report from the raw sessions a previous run saved "
                    "(it prints their file's path) instead of measuring")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))), flush=True)
        return
    if args.from_raw:
        with open(args.from_raw) as f:
            saved = json.load(f)
        meta, stock, probe = saved["meta"], saved["stock"], saved["probe"]
        write_report(args.out, meta, stock, probe, summarize(stock, probe))
        print(open(os.path.join(args.out, report_name(meta) + ".md")).read())
        return
    if args.quick:
        args.rows, args.runs = min(args.rows, 1_000_000), min(args.runs, 2)
    import pyspark

    meta = {"argv": " ".join(["bench/udf_breakdown.py"] + sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "pyspark": pyspark.__version__, "runs": args.runs, "rows": args.rows, "busy": args.busy,
            "fresh_workers": args.fresh_workers,
            "load_start": loadavg()}
    helper_dir = tempfile.mkdtemp(prefix="gatun-udf-helper-")
    probe_dir = tempfile.mkdtemp(prefix="gatun-udf-probe-")
    try:
        build_helper(helper_dir)
        opts = {"rows": args.rows, "runs": args.runs, "driver_memory": args.driver_memory, "helper_dir": helper_dir,
                "sample_ms": args.sample_ms, "worker_reuse": not args.fresh_workers}
        with Hogs(args.busy):
            stock = run_child(opts)
            probe = run_child(dict(opts, probe_dir=probe_dir))
    finally:
        shutil.rmtree(helper_dir, ignore_errors=True)
        shutil.rmtree(probe_dir, ignore_errors=True)
    meta["load_end"] = loadavg()
    raw = os.path.join(tempfile.gettempdir(), f"{NAME}-raw-{os.getpid()}.json")
    with open(raw, "w") as f:  # the measurements survive a failure of the report (--from-raw)
        json.dump({"meta": meta, "stock": stock, "probe": probe}, f)
    print(f"raw sessions saved in {raw}", flush=True)
    summary = summarize(stock, probe)
    write_report(args.out, meta, stock, probe, summary)
    print(open(os.path.join(args.out, report_name(meta) + ".md")).read())


if __name__ == "__main__":
    main()
