#!/usr/bin/env python3
"""The bridges under CPU load: Gatun (Python and Go) vs Py4J vs JPype, and PySpark over Gatun vs
stock PySpark while the cores are busy (`make bench-load`).

Parts (``--parts``, default all):

- ``calls``: per-call time of single calls (pre-bound, navigated static, object creation,
  callback), each call timed on its own, with K = 0, nproc and 2 x nproc busy processes
  (``python -c`` loops) beside the bridges. Per load level the bridges' workers start afresh;
  in each run every bridge measures every operation in turn (Gatun, Py4J, JPype, then the Go
  client's ``gatun-gobench -per-call``). Median and p99 per run; the report gives the median over
  runs with the min-max of the runs.
- ``pyspark``: a fresh driver per sample (``local[2]``), Gatun and stock alternating: start-up,
  ``spark.conf.get`` and a 200-column select idle and while a long Spark job runs in another
  thread; then the same fixed Spark job timed alone and while the driver makes 1,000 calls a
  second, paced (the job's own time: does the bridge take the executors' CPU?).
- ``startup``: SparkSession start-up with nproc busy processes beside it, Gatun and stock
  alternating.

The load average is recorded at the start and end of every part and load level. Nothing is
dropped: a run that failed is reported as failed. Writes <out>/load.md, load.json, load.png.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bridges as B  # noqa: E402
import run_bench as R  # noqa: E402

NAME = "load"
NPROC = os.cpu_count() or 1
OPS = ["prebound_call", "static_call", "new_object", "callback"]
GO_DIR = os.path.join(os.path.dirname(HERE), "go")
GO_WARMUP_S = 3.0
HOG = "import time\nend = time.monotonic() + {limit}\nwhile time.monotonic() < end:\n    pass\n"

# Targets from the load issue: Gatun's median at least this much faster than Py4J's at every load,
# its p99 no worse; idle pre-bound at least 30x; PySpark during a job at least 2x stock; the job's
# own time at most 1.05x stock's; start-up with busy cores no slower than stock.
TARGETS = {"median_speedup": 2.0, "idle_prebound_speedup": 30.0, "pyspark_speedup": 2.0,
           "job_ratio_max": 1.05, "startup_ratio_max": 1.0}


def loadavg() -> list[str]:
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return []


class Hogs:
    """K busy processes; each ends by itself after `limit` seconds if we die first."""

    def __init__(self, k: int, limit: float = 1800):
        self.procs = [subprocess.Popen([sys.executable, "-c", HOG.format(limit=limit)])
                      for _ in range(k)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()


def med_range(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


# --------------------------------------------------------------------------------------------
# calls
# --------------------------------------------------------------------------------------------

def build_gobench(log) -> str | None:
    exe = os.path.join(tempfile.gettempdir(), f"gatun-gobench-{os.getpid()}")
    try:
        subprocess.run(["go", "build", "-o", exe, "./cmd/gatun-gobench"], cwd=GO_DIR, check=True,
                       capture_output=True, text=True, timeout=600)
        return exe
    except (OSError, subprocess.SubprocessError) as e:
        log(f"go client: cannot build gatun-gobench: {B.short_error(e)}")
        return None


def run_go(exe: str, seconds: float, warmup: float, ops: list[str]) -> dict:
    jar = os.path.join(os.path.dirname(HERE), "python", "gatun", "jars", "gatun-server.jar")
    env = dict(os.environ, GATUN_JAR=jar)
    p = subprocess.run([exe, "-per-call", "-duration", f"{seconds}s", "-warmup", f"{warmup}s",
                        "-ops", ",".join(ops)], capture_output=True, text=True, env=env,
                       timeout=120 + 4 * len(ops) * (seconds + warmup))
    if p.returncode != 0:
        raise RuntimeError(f"gatun-gobench exited {p.returncode}: {p.stderr.strip()[-200:]}")
    out = json.loads(p.stdout)["operation"]
    return {o: ({"error": out[o]["error"]} if out[o].get("error") else
                {"n": out[o]["calls"], "median_ns": out[o]["median_ns"], "p99_ns": out[o]["p99_ns"]})
            for o in ops}


def run_calls(bridges: list[str], loads: list[int], runs: int, seconds: float, warmup: float,
              go: bool, log) -> dict:
    exe = build_gobench(log) if go else None
    levels = []
    try:
        for k in loads:
            level = {"busy": k, "loadavg_start": loadavg(), "runs": []}
            log(f"== calls with {k} busy processes (loadavg {' '.join(level['loadavg_start'])})")
            with Hogs(k), tempfile.TemporaryDirectory() as logs:
                workers, errors = {}, {}
                env = dict(os.environ)
                for b in bridges:
                    w = R.Worker(b, env, logs)
                    try:
                        hello = w.hello(R.START_TIMEOUT)
                        if not hello.get("ok"):
                            raise R.WorkerError(hello.get("error"))
                        workers[b] = w
                    except R.WorkerError as e:
                        errors[b] = str(e)
                        w.close()
                for r in range(runs):
                    run = {}
                    for b in bridges:
                        run[b] = {}
                        for o in OPS:
                            if b in errors:
                                run[b][o] = {"error": errors[b]}
                                continue
                            try:
                                res = workers[b].request({"cmd": "percall", "op": o, "seconds": seconds,
                                                          "warmup": warmup}, seconds + warmup + 120)
                            except R.WorkerError as e:
                                res = {"error": str(e)}
                            run[b][o] = res if "median_ns" in res else {"error": res.get("error", "?")}
                    if exe:
                        try:
                            # gatun-gobench starts its own server, whose start-up warm-up (30,000
                            # requests to itself) must be over before the timing starts, as the
                            # Python workers' has been by then.
                            run["gatun-go"] = run_go(exe, seconds, max(warmup, GO_WARMUP_S), OPS)
                        except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
                            run["gatun-go"] = {o: {"error": B.short_error(e)} for o in OPS}
                    level["runs"].append(run)
                    log("   run %d: %s" % (r + 1, ", ".join(
                        f"{b} {run[b]['prebound_call'].get('median_ns', float('nan')) / 1000:.1f} us"
                        for b in run)))
                for w in workers.values():
                    w.close()
            level["loadavg_end"] = loadavg()
            levels.append(level)
    finally:
        if exe:
            try:
                os.unlink(exe)
            except OSError:
                pass
    return {"levels": levels, "seconds": seconds, "warmup": warmup}


def summarize_calls(calls: dict) -> dict:
    """Per level, bridge and op: median over runs of the runs' medians and p99s, with min-max."""
    out = {}
    for level in calls["levels"]:
        k = level["busy"]
        out[k] = {}
        names = sorted({b for run in level["runs"] for b in run}, key=BRIDGE_ORDER.index)
        for b in names:
            out[k][b] = {}
            for o in OPS:
                ok = [run[b][o] for run in level["runs"] if "median_ns" in run.get(b, {}).get(o, {})]
                bad = [run[b][o]["error"] for run in level["runs"] if "error" in run.get(b, {}).get(o, {})]
                cell = {"failed_runs": len(bad)}
                if bad:
                    cell["error"] = bad[0]
                if ok:
                    cell["median"] = med_range([c["median_ns"] for c in ok])
                    cell["p99"] = med_range([c["p99_ns"] for c in ok])
                    cell["calls"] = sum(c["n"] for c in ok)
                out[k][b][o] = cell
    return out


BRIDGE_ORDER = ["gatun", "gatun-go", "py4j", "jpype"]


# --------------------------------------------------------------------------------------------
# PySpark
# --------------------------------------------------------------------------------------------

PYSPARK_JOB = r'''
import json, os, statistics, sys, threading, time
t0 = time.perf_counter()
if os.environ.get("GATUN_PYSPARK") == "1":
    import gatun.pyspark
    gatun.pyspark.install()
from pyspark.sql import SparkSession, functions as F
spark = (SparkSession.builder.master("local[2]").appName("gatun-load-bench")
         .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate())
out = {"startup_s": time.perf_counter() - t0}
sc = spark.sparkContext
sc.setLogLevel("ERROR")
QUICK = os.environ.get("LOAD_QUICK") == "1"
base = spark.range(1000).withColumn("g", F.col("id") % 7)

def percall(f, n):
    s = []
    for _ in range(n):
        t = time.perf_counter_ns(); f(); s.append(time.perf_counter_ns() - t)
    s.sort()
    return {"median_ns": s[len(s) // 2], "p99_ns": s[min(len(s) - 1, len(s) * 99 // 100)], "n": n}

def select200():
    t = time.perf_counter()
    base.select(*[(F.col("id") * i + F.col("g")).alias(f"c{i}") for i in range(200)])
    return time.perf_counter() - t

def measure(tag):
    out[tag + "_conf_get"] = percall(lambda: spark.conf.get("spark.sql.shuffle.partitions"), 300 if QUICK else 3000)
    sel = [select200() for _ in range(2 if QUICK else 8)]
    out[tag + "_select200_s"] = statistics.median(sel)

for _ in range(3):
    select200()
measure("idle")

# A long job in another thread: the executors' threads (local[2]) take both cores.
stop = threading.Event()
def background():
    sc.setJobGroup("bg", "background load", interruptOnCancel=True)
    while not stop.is_set():
        try:
            spark.range(0, 10**12, 1, 2).selectExpr("sum(hash(id) % 13)").collect()
        except Exception:
            pass
bg = threading.Thread(target=background, daemon=True)
bg.start()
deadline = time.monotonic() + 60
while not sc.statusTracker().getActiveJobsIds() and time.monotonic() < deadline:
    time.sleep(0.05)
out["job_was_running"] = bool(sc.statusTracker().getActiveJobsIds())
measure("during_job")
stop.set()
sc.cancelJobGroup("bg")
bg.join(60)

# The job's own time, alone and while the driver keeps calling the JVM.
N = 2 * 10**7 if QUICK else 2 * 10**8
def job():
    t = time.perf_counter()
    spark.range(0, N, 1, 2).selectExpr("sum(hash(id) % 13)").collect()
    return time.perf_counter() - t
job()
out["job_alone_s"] = statistics.median([job() for _ in range(2)])
calls = [0]
busy = threading.Event(); busy.set()
def caller():
    # The same driver work under both bridges: 10 calls every 10 ms (1,000 a second), paced, as a
    # driver that does something between its calls; a tight loop would make the faster bridge do
    # more work and take more CPU from the executors.
    nxt = time.monotonic()
    while busy.is_set():
        for _ in range(10):
            spark.conf.get("spark.sql.shuffle.partitions"); calls[0] += 1
        nxt += 0.01
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
th = threading.Thread(target=caller, daemon=True)
th.start()
out["job_with_calls_s"] = statistics.median([job() for _ in range(2)])
busy.clear(); th.join(60)
out["driver_calls_during_job"] = calls[0]
print("RESULT " + json.dumps(out), flush=True)
spark.stop()
'''

STARTUP_JOB = r'''
import os, time, json
t_script = time.time()
start = float(os.environ["LOAD_T0"])  # the parent's clock when it started this process
marks = {"interpreter_s": t_script - start}
if os.environ.get("GATUN_PYSPARK") == "1":
    import gatun.pyspark
    gatun.pyspark.install()
from pyspark.sql import SparkSession
import pyspark.core.context as context
marks["imports_s"] = time.time() - t_script
launch, do_init = context.launch_gateway, context.SparkContext._do_init
def timed_launch(*a, **k):
    t = time.time(); g = launch(*a, **k); marks["launch_gateway_s"] = time.time() - t; return g
def timed_init(self, *a, **k):
    t = time.time(); r = do_init(self, *a, **k); marks["spark_context_s"] = time.time() - t; return r
context.launch_gateway, context.SparkContext._do_init = timed_launch, timed_init
t = time.time()
spark = (SparkSession.builder.master("local[2]").appName("gatun-startup")
         .config("spark.ui.enabled", "false").getOrCreate())
marks["session_rest_s"] = time.time() - t - marks["launch_gateway_s"] - marks["spark_context_s"]
t = time.time()
spark.range(10).count()
marks["first_job_s"] = time.time() - t
marks["startup_s"] = time.time() - start
print("RESULT " + json.dumps(marks), flush=True)
spark.stop()
'''

STARTUP_PHASES = [("interpreter_s", "Python start (interpreter, site, GATUN_PYSPARK hook)"),
                  ("imports_s", "imports (pyspark; gatun.pyspark.install)"),
                  ("launch_gateway_s", "launch_gateway (spark-submit to a connected gateway)"),
                  ("spark_context_s", "SparkContext init"),
                  ("session_rest_s", "the rest of getOrCreate (SparkSession)"),
                  ("first_job_s", "first job, spark.range(10).count()")]


def run_driver(script: str, bridge: str, quick: bool, timeout: float = 900) -> dict:
    env = dict(os.environ, LOAD_QUICK="1" if quick else "0", SPARK_TESTING="1", LOAD_T0=repr(time.time()))
    env.pop("GATUN_PYSPARK", None)
    if bridge == "gatun":
        env["GATUN_PYSPARK"] = "1"
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                       timeout=timeout)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-300:]}"}


def run_pyspark(runs: int, quick: bool, log) -> dict:
    res = {"loadavg_start": loadavg(), "samples": {"gatun": [], "stock": []}}
    for r in range(runs):
        for bridge in (["gatun", "stock"] if r % 2 == 0 else ["stock", "gatun"]):
            s = run_driver(PYSPARK_JOB, bridge, quick)
            res["samples"][bridge].append(s)
            log(f"   pyspark run {r + 1} {bridge}: " + (s.get("error") or
                f"conf.get idle {s['idle_conf_get']['median_ns'] / 1e3:.0f} us, during job "
                f"{s['during_job_conf_get']['median_ns'] / 1e3:.0f} us; job {s['job_alone_s']:.2f} s alone, "
                f"{s['job_with_calls_s']:.2f} s with calls"))
    res["loadavg_end"] = loadavg()
    return res


def run_startup(runs: int, busy: int, log) -> dict:
    res = {"busy": busy, "loadavg_start": loadavg(), "samples": {"gatun": [], "stock": []}}
    with Hogs(busy):
        for r in range(runs):
            for bridge in (["gatun", "stock"] if r % 2 == 0 else ["stock", "gatun"]):
                s = run_driver(STARTUP_JOB, bridge, False)
                res["samples"][bridge].append(s)
                log(f"   start-up run {r + 1} {bridge}: " + (s.get("error") or f"{s['startup_s']:.1f} s"))
    res["loadavg_end"] = loadavg()
    return res


def ok_samples(samples: list[dict]) -> list[dict]:
    return [s for s in samples if "error" not in s]


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------

def us(ns: float) -> str:
    v = ns / 1000
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:,.0f}"


def mr(cell: dict | None, key: str, fmt=us) -> str:
    if not cell or key not in cell:
        return "failed" if cell and cell.get("error") else "–"
    m = cell[key]
    if m["runs"] == 1:
        return fmt(m["median"])
    return f"{fmt(m['median'])} ({fmt(m['min'])}–{fmt(m['max'])})"


def speedup(summary_k: dict, b: str, o: str, key: str) -> float | None:
    try:
        return summary_k["py4j"][o][key]["median"] / summary_k[b][o][key]["median"]
    except (KeyError, ZeroDivisionError):
        return None


def markdown(doc: dict) -> str:
    m, st = doc["machine"], doc["settings"]
    L = [f"# Gatun under CPU load ({m['date']})", "",
         f"Machine: {m['nproc']} CPUs ({m['cpu']}), kernel {m['kernel']}, Python {m['python']}, "
         f"{m['java'][0] if m['java'] else 'java ?'}; checkout {m.get('git', '?')}. "
         f"Load average at start {' '.join(m['loadavg_start'])}, at end {' '.join(m.get('loadavg_end', []))}. "
         f"Written by `bench/load_bench.py {' '.join(st['argv'])}` in {st['elapsed_s']:.0f} s.", ""]
    if "calls" in doc:
        c = doc["calls"]
        L += ["## Single calls with busy processes beside the bridges", "",
              f"Each call timed on its own for {c['seconds']} s per operation after {c['warmup']} s of warm-up; "
              f"{st['runs']} runs per load level, bridges started afresh per level. Cells: median over runs of "
              "each run's median (or p99) in µs, with the runs' min–max. Speed-up = Py4J's median / the "
              "client's median. \"busy\" = `python -c` loops beside the bridges; Gatun's wait policy: "
              f"`{st['wait_policy']}`. No run was dropped; a failed run is counted in the json.", ""]
        for k, level in c["summary"].items():
            raw = next(l for l in c["levels"] if str(l["busy"]) == str(k))
            L += [f"### {k} busy processes (load average {' '.join(raw['loadavg_start'])} → "
                  f"{' '.join(raw['loadavg_end'])})", "",
                  "| operation | client | median µs | p99 µs | median speed-up vs Py4J | p99 vs Py4J's p99 |",
                  "|---|---|---|---|---|---|"]
            for o in OPS:
                for b in level:
                    cell = level[b][o]
                    s = speedup(level, b, o, "median") if b.startswith("gatun") else None
                    t = speedup(level, b, o, "p99") if b.startswith("gatun") else None
                    L.append(f"| {o} | {b} | {mr(cell, 'median')} | {mr(cell, 'p99')} | "
                             f"{'' if s is None else f'{s:.1f}x'} | "
                             f"{'' if t is None else ('better' if t >= 1 else 'WORSE') + f' ({t:.2f}x)'} |")
            L.append("")
    if "pyspark" in doc:
        p = doc["pyspark"]
        g, s = ok_samples(p["samples"]["gatun"]), ok_samples(p["samples"]["stock"])
        L += ["## PySpark (`local[2]`) idle and while a Spark job runs", "",
              f"A fresh driver per sample, Gatun and stock alternating; {len(g)} Gatun and {len(s)} stock samples "
              f"(failed: {len(p['samples']['gatun']) - len(g)} Gatun, {len(p['samples']['stock']) - len(s)} stock). "
              f"Load average {' '.join(p['loadavg_start'])} → {' '.join(p['loadavg_end'])}. "
              "Median over samples, min–max in brackets.", "",
              "| measure | Gatun | stock | stock / Gatun |", "|---|---|---|---|"]

        def row(label, f, fmt):
            gv, sv = [f(x) for x in g], [f(x) for x in s]
            if not gv or not sv:
                L.append(f"| {label} | – | – | |")
                return
            gm, sm = statistics.median(gv), statistics.median(sv)
            L.append(f"| {label} | {fmt(gm)} ({fmt(min(gv))}–{fmt(max(gv))}) | "
                     f"{fmt(sm)} ({fmt(min(sv))}–{fmt(max(sv))}) | {sm / gm:.2f}x |")
        ms = lambda v: f"{v * 1000:.1f} ms"  # noqa: E731
        sec = lambda v: f"{v:.2f} s"  # noqa: E731
        row("`spark.conf.get` median, idle", lambda x: x["idle_conf_get"]["median_ns"], us)
        row("`spark.conf.get` p99, idle", lambda x: x["idle_conf_get"]["p99_ns"], us)
        row("`spark.conf.get` median, during a job", lambda x: x["during_job_conf_get"]["median_ns"], us)
        row("`spark.conf.get` p99, during a job", lambda x: x["during_job_conf_get"]["p99_ns"], us)
        row("200-column select, idle", lambda x: x["idle_select200_s"], ms)
        row("200-column select, during a job", lambda x: x["during_job_select200_s"], ms)
        row("the job alone", lambda x: x["job_alone_s"], sec)
        row("the job while the driver calls", lambda x: x["job_with_calls_s"], sec)
        row("SparkSession start-up (no busy processes added)", lambda x: x["startup_s"], sec)
        L += ["", "(µs for `conf.get`; \"stock / Gatun\" above 1 means Gatun is faster. The job rows compare "
              "the executors' time: a ratio below 1 there means the job ran slower under Gatun.)", ""]
        jg = [x["job_with_calls_s"] for x in g]
        js = [x["job_with_calls_s"] for x in s]
        if jg and js:
            L += [f"The job while the driver calls, Gatun / stock: "
                  f"{statistics.median(jg) / statistics.median(js):.3f} (target ≤ {TARGETS['job_ratio_max']}). "
                  f"Driver calls made during those jobs: Gatun {statistics.median([x['driver_calls_during_job'] for x in g]):,.0f}, "
                  f"stock {statistics.median([x['driver_calls_during_job'] for x in s]):,.0f} (median per sample).", ""]
    if "startup" in doc:
        p = doc["startup"]
        g = [x["startup_s"] for x in ok_samples(p["samples"]["gatun"])]
        s = [x["startup_s"] for x in ok_samples(p["samples"]["stock"])]
        L += [f"## SparkSession start-up with {p['busy']} busy processes", "",
              f"Process start to a session that ran one job; alternating. Load average "
              f"{' '.join(p['loadavg_start'])} → {' '.join(p['loadavg_end'])}.", ""]
        if g and s:
            L += [f"Gatun {statistics.median(g):.1f} s ({min(g):.1f}–{max(g):.1f}), stock "
                  f"{statistics.median(s):.1f} s ({min(s):.1f}–{max(s):.1f}); Gatun / stock "
                  f"{statistics.median(g) / statistics.median(s):.2f} (target ≤ {TARGETS['startup_ratio_max']}).", ""]
            gs, ss = ok_samples(p["samples"]["gatun"]), ok_samples(p["samples"]["stock"])
            if all(k in x for x in gs + ss for k, _ in STARTUP_PHASES):
                L += ["Where the time goes (median, min–max, s):", "",
                      "| phase | Gatun | stock | Gatun − stock |", "|---|---|---|---|"]
                for k, label in STARTUP_PHASES:
                    a, b = [x[k] for x in gs], [x[k] for x in ss]
                    L.append(f"| {label} | {statistics.median(a):.2f} ({min(a):.2f}–{max(a):.2f}) | "
                             f"{statistics.median(b):.2f} ({min(b):.2f}–{max(b):.2f}) | "
                             f"{statistics.median(a) - statistics.median(b):+.2f} |")
                L.append("")
        else:
            L += ["failed: " + "; ".join(x.get("error", "") for x in p["samples"]["gatun"] + p["samples"]["stock"]
                                         if "error" in x)[:400], ""]
    return "\n".join(L) + "\n"


def chart(path: str, doc: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    summ = doc["calls"]["summary"]
    levels = list(summ)
    fig, axes = plt.subplots(1, len(OPS), figsize=(4 * len(OPS), 4), sharey=True)
    for ax, o in zip(axes, OPS):
        names = [b for b in BRIDGE_ORDER if any(b in summ[k] for k in levels)]
        width = 0.8 / max(1, len(names))
        for i, b in enumerate(names):
            med = [summ[k].get(b, {}).get(o, {}).get("median", {}).get("median", float("nan")) / 1000 for k in levels]
            p99 = [summ[k].get(b, {}).get(o, {}).get("p99", {}).get("median", float("nan")) / 1000 for k in levels]
            xs = [j + i * width for j in range(len(levels))]
            ax.bar(xs, med, width, label=b)
            ax.scatter(xs, p99, marker="_", color="black", s=80, zorder=3)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(levels))])
        ax.set_xticklabels([f"{k} busy" for k in levels])
        ax.set_yscale("log")
        ax.set_title(o)
    axes[0].set_ylabel("µs per call (bar: median, tick: p99)")
    axes[-1].legend(fontsize=8)
    fig.suptitle(f"Single calls under CPU load ({doc['machine']['nproc']} CPUs)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def machine() -> dict:
    java = B.resolve_java()
    info = R.machine_info(java)
    info["loadavg_start"] = loadavg()
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default="calls,pyspark,startup")
    ap.add_argument("--bridges", default="gatun,py4j,jpype")
    ap.add_argument("--no-go", action="store_true", help="leave out the Go client")
    ap.add_argument("--loads", default=f"0,{NPROC},{2 * NPROC}", help="busy processes per level")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=1.5, help="timed seconds per op per run")
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--pyspark-runs", type=int, default=3)
    ap.add_argument("--startup-runs", type=int, default=6)
    ap.add_argument("--quick", action="store_true", help="short everything (smoke test; numbers not meaningful)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-chart", action="store_true")
    a = ap.parse_args(argv)
    parts = [p for p in a.parts.split(",") if p]
    if set(parts) - {"calls", "pyspark", "startup"}:
        ap.error(f"unknown part in {a.parts}")
    if a.quick:
        a.runs, a.seconds, a.warmup, a.pyspark_runs, a.startup_runs = 1, 0.2, 0.1, 1, 1
    t0 = time.monotonic()
    log = lambda m: print(m, flush=True)  # noqa: E731
    doc = {"machine": machine(),
           "settings": {"argv": sys.argv[1:] if argv is None else list(argv), "runs": a.runs,
                        "wait_policy": os.environ.get("GATUN_WAIT_POLICY") or "adaptive",
                        "quick": a.quick},
           "targets": TARGETS}
    if "calls" in parts:
        bridges = [b for b in a.bridges.split(",") if b]
        loads = [int(k) for k in a.loads.split(",")]
        calls = run_calls(bridges, loads, a.runs, a.seconds, a.warmup, not a.no_go, log)
        calls["summary"] = summarize_calls(calls)
        doc["calls"] = calls
    if "pyspark" in parts:
        log("== PySpark idle and during a job")
        doc["pyspark"] = run_pyspark(a.pyspark_runs, a.quick, log)
    if "startup" in parts:
        log(f"== SparkSession start-up with {NPROC} busy processes")
        doc["startup"] = run_startup(a.startup_runs, NPROC, log)
    doc["machine"]["loadavg_end"] = loadavg()
    doc["settings"]["elapsed_s"] = time.monotonic() - t0
    os.makedirs(a.out, exist_ok=True)
    md = os.path.join(a.out, f"{NAME}.md")
    with open(md, "w") as f:
        f.write(markdown(doc))
    with open(os.path.join(a.out, f"{NAME}.json"), "w") as f:
        json.dump(doc, f, indent=1, default=str)
    if "calls" in doc and not a.no_chart:
        try:
            chart(os.path.join(a.out, f"{NAME}.png"), doc)
        except Exception as e:  # noqa: BLE001
            log(f"chart failed: {B.short_error(e)}")
    print(open(md).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
