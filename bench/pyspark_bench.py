"""PySpark over Gatun against stock PySpark (Py4J), side by side in one run.

Each sample is a fresh Python process driving a fresh local Spark driver, so start-up is measured
the way a user meets it; the bridges alternate (Gatun, Py4J, Gatun, ...) so that drift in the
machine's load hits both alike. Per sample the job measures:

- SparkSession start-up: process start to a usable session (imports, JVM, SparkContext);
- building a 200-column `select` of Column expressions (first build, and the median of the next
  ones): almost all of it is driver-side Column/DataFrame API calls through the bridge;
- 1,000 small actions, `spark.range(10).count()`: a Spark job each, where the bridge is a part;
- `df.schema` + `df.columns` round trips (PySpark 4 caches `schema` per DataFrame; the job drops
  that cache each time, so each asks the JVM for the schema's JSON and parses it);
- a few thousand single bridge calls (`spark.conf.get`), the per-call floor.

It also splits a later 200-column build into JVM execution (measured inside Gatun's server,
`dev.gatun.server.ExecutionTime`), the bridge's overhead (time inside the bridge's Python entry
points minus that) and PySpark's own Python, to show the driver-side overhead by itself.

With `--doctests`, it also times PySpark doctest modules under each bridge (bench/pyspark_doctests.py).

Every cell is the median over the samples with their min–max; each sample is a fresh driver, so
start-up and the first build are cold by design, the other steps warm within their sample. The
load average is recorded at the start and end; a sample that fails stops the run, so none is
dropped (the report says so).

Writes <out>/pyspark.md, <out>/pyspark.json and <out>/pyspark.png.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import pyspark_demo  # bench/ is on the path when this runs as a script
from honest import dropped_text, load_text, loadavg, spread

NAME = "pyspark"
HERE = os.path.dirname(os.path.abspath(__file__))

JOB = r'''
import json, os, statistics, sys, time
t0 = time.perf_counter()
if os.environ.get("GATUN_PYSPARK") == "1":
    import gatun.pyspark
    gatun.pyspark.install()
from pyspark.sql import SparkSession, functions as F
builder = (SparkSession.builder.master("local[2]").appName("gatun-bench")
           .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
           # Gatun's server then measures its own execution time (dev.gatun.server.ExecutionTime);
           # the flag means nothing to a Py4J driver and is passed to both alike.
           .config("spark.driver.extraJavaOptions", "-Dgatun.measureExecution=true"))
for kv in filter(None, os.environ.get("BENCH_CONF", "").split(",")):
    builder = builder.config(*kv.split("=", 1))
spark = builder.getOrCreate()
m = {"startup_s": time.perf_counter() - t0}
spark.sparkContext.setLogLevel("ERROR")
bridge = "gatun" if type(spark.sparkContext._gateway).__module__.startswith("gatun") else "py4j"
df = spark.range(1000).withColumn("g", F.col("id") % 7)

def select200():
    t = time.perf_counter()
    df.select(*[(F.col("id") * i + F.col("g")).alias(f"c{i}") for i in range(200)])
    return time.perf_counter() - t

m["select_first_ms"] = select200() * 1e3


def time_in_bridge(build):
    """Runs build() with the bridge's Python entry points (method calls, constructors, attribute
    navigation) timed, outermost only; returns the seconds spent inside them."""
    import importlib
    mod = importlib.import_module("gatun.py4j_compat" if bridge == "gatun" else "py4j.java_gateway")
    spent, depth, saved = [0.0], [0], []
    def timed(f):
        def w(*a, **k):
            if depth[0]:
                return f(*a, **k)
            depth[0] = 1
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                spent[0] += time.perf_counter() - t
                depth[0] = 0
        return w
    for cname, meth in [("JavaMember", "__call__"), ("JavaClass", "__call__"), ("JavaClass", "__getattr__"),
                        ("JavaObject", "__getattr__"), ("JavaPackage", "__getattr__"), ("JVMView", "__getattr__")]:
        cls = getattr(mod, cname)
        saved.append((cls, meth, cls.__dict__.get(meth)))
        setattr(cls, meth, timed(getattr(cls, meth)))
    t = time.perf_counter()
    try:
        build()
        m["select_in_bridge_wall_ms"] = (time.perf_counter() - t) * 1e3
    finally:
        for cls, meth, f in saved:
            if f is None:
                delattr(cls, meth)
            else:
                setattr(cls, meth, f)
    return spent[0]


if bridge == "gatun":
    timer = spark._jvm.dev.gatun.server.ExecutionTime
    if not timer.enabled():
        sys.exit("the driver JVM did not get -Dgatun.measureExecution=true")
    walls, jvm, calls = [], [], []
    for _ in range(9):
        n0, r0 = timer.nanos(), timer.requests()
        walls.append(select200())
        n1, r1 = timer.nanos(), timer.requests()
        jvm.append((n1 - n0) / 1e9)
        calls.append(r1 - r0 - 2)  # requests() before and nanos() after the build are counted too
    m["select_steady_ms"] = statistics.median(walls) * 1e3
    m["select_jvm_ms"] = statistics.median(jvm) * 1e3
    m["select_calls"] = statistics.median(calls)
    # One more build, untimed, with the bridge's entry points timed.
    n0 = timer.nanos()
    m["select_in_bridge_ms"] = time_in_bridge(select200) * 1e3
    m["select_in_bridge_jvm_ms"] = (timer.nanos() - n0) / 1e6
else:
    m["select_steady_ms"] = statistics.median(select200() for _ in range(9)) * 1e3
    # Py4J's requests per build, counted in one more (untimed) build.
    from py4j.clientserver import ClientServerConnection
    sent = [0]
    send = ClientServerConnection.send_command
    def counting(self, command):
        sent[0] += 1
        return send(self, command)
    ClientServerConnection.send_command = counting
    select200()
    ClientServerConnection.send_command = send
    m["select_calls"] = sent[0]
    m["select_in_bridge_ms"] = time_in_bridge(select200) * 1e3

N = int(os.environ["BENCH_ACTIONS"])
t = time.perf_counter()
for _ in range(N):
    spark.range(10).count()
m["action_ms"] = (time.perf_counter() - t) / N * 1e3

t = time.perf_counter()
for _ in range(1000):
    df.__dict__.pop("schema", None)  # a cached_property in PySpark 4: drop it so the JVM is asked
    df.schema
    df.columns
m["schema_columns_us"] = (time.perf_counter() - t) / 1000 * 1e6

t = time.perf_counter()
for _ in range(5000):
    spark.conf.get("spark.sql.shuffle.partitions")
m["conf_get_us"] = (time.perf_counter() - t) / 5000 * 1e6
spark.stop()
print("RESULT " + json.dumps({"bridge": bridge, "metrics": m}))
'''

# (key, label, unit, what "better" means for the ratio)
METRICS = [
    ("startup_s", "SparkSession start-up", "s"),
    ("select_first_ms", "200-column select, first build", "ms"),
    ("select_steady_ms", "200-column select, later builds (median)", "ms"),
    ("action_ms", "small action `spark.range(10).count()`", "ms"),
    ("schema_columns_us", "`df.schema` (uncached) + `df.columns`", "µs"),
    ("conf_get_us", "`spark.conf.get` (one bridge call)", "µs"),
]


def run_job(bridge: str, actions: int, conf: list[str]) -> dict:
    out = pyspark_demo.run(bridge, JOB, {"BENCH_CONF": ",".join(conf), "BENCH_ACTIONS": str(actions)}, timeout=1200)
    if out["bridge"] != bridge:
        raise SystemExit(f"asked for {bridge}, the session ran on {out['bridge']}")
    return out["metrics"]


def run_doctests(bridge: str, modules: list[str], out_dir: str) -> list[dict]:
    js = os.path.join(out_dir, f".doctests-{bridge}.json")
    cmd = [sys.executable, os.path.join(HERE, "pyspark_doctests.py"), "--python", sys.executable, "--json", js,
           *modules]
    if bridge == "gatun":
        cmd[4:4] = ["--env", "GATUN_PYSPARK=1"]  # after "--python <interpreter>"
    env = dict(os.environ)
    env.pop("GATUN_PYSPARK", None)
    subprocess.run(cmd, env=env, check=False, stdout=subprocess.DEVNULL)
    with open(js) as f:
        results = json.load(f)["results"]
    os.unlink(js)
    return results


def with_range(samples: list[dict], key: str, unit: str) -> str:
    sp = spread([x[key] for x in samples if key in x])
    if sp is None:
        return "–"
    if sp["runs"] == 1:
        return f"{num(sp['median'])} {unit}"
    return f"{num(sp['median'])} {unit} ({num(sp['min'])}–{num(sp['max'])})"


def num(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def markdown(summary: dict, samples: dict, doctests: dict | None, meta: dict) -> str:
    L = ["# PySpark over Gatun vs stock PySpark (Py4J)", "",
         f"{meta['date']}, {meta['machine']}; pyspark {meta['pyspark']}, local[2]. "
         f"{meta['rounds']} fresh driver processes per bridge, alternating; medians across them, with"
         " their min–max. The ratio is Py4J's median ÷ Gatun's (above 1: Gatun is faster)."
         + (f" Extra SparkConf: {', '.join(meta['conf'])}." if meta.get("conf") else ""), "",
         load_text(meta["loadavg_start"], meta["loadavg_end"]) + " " + dropped_text(meta["dropped"]), "",
         "| step | Gatun | Py4J | Py4J ÷ Gatun |", "|---|---:|---:|---:|"]
    for key, label, unit in METRICS:
        g, p = summary["gatun"][key], summary["py4j"][key]
        L.append(f"| {label} | {with_range(samples['gatun'], key, unit)} | {with_range(samples['py4j'], key, unit)}"
                 f" | **{p / g:.2f}x** |")
    L += split_table(summary)
    if doctests:
        L += ["", "Doctest modules, wall time of the whole module run (one run per bridge):", "",
              "| module | examples | Gatun | Py4J | Py4J ÷ Gatun |", "|---|---:|---:|---:|---:|"]
        by_mod = {r["module"]: r for r in doctests["py4j"]}
        for r in doctests["gatun"]:
            p = by_mod.get(r["module"])
            if p:
                L.append(f"| `{r['module']}` | {r['attempted']} | {r['wall_s']:.1f} s | {p['wall_s']:.1f} s | "
                         f"**{p['wall_s'] / r['wall_s']:.2f}x** |")
    L += ["", "Every sample (Gatun / Py4J):", ""]
    for key, label, unit in METRICS:
        g = ", ".join(num(x[key]) for x in samples["gatun"])
        p = ", ".join(num(x[key]) for x in samples["py4j"])
        L.append(f"- {label} ({unit}): {g} / {p}")
    L += ["", f"Chart: `{NAME}.png`; raw numbers: `{NAME}.json`. Regenerate with `make bench-pyspark`."]
    return "\n".join(L) + "\n"


def split_table(summary: dict) -> list[str]:
    """Where a later 200-column build's time goes, from the extra instrumented build of each sample."""
    g, p = summary["gatun"], summary["py4j"]
    jvm = g["select_jvm_ms"]
    bridge_g = g["select_in_bridge_ms"] - g["select_in_bridge_jvm_ms"]
    bridge_p = p["select_in_bridge_ms"] - jvm
    return ["", "Where a later 200-column build goes. `JVM execution` is measured inside Gatun's server "
            "(`-Dgatun.measureExecution=true`: decoding, reflection, Spark's own work, encoding; not the "
            "transport); the JVM does the same Spark work whichever bridge asks, so Py4J's is taken to be "
            "the same. `in the bridge` is the time inside the bridge's Python entry points (method calls, "
            "constructors, attribute navigation), timed in one more build per sample (whose own wall time "
            "gives PySpark's share); minus the JVM "
            "execution it is the **bridge overhead**: the Python side, the transport and the server's "
            "dispatch. The rest of the wall time is PySpark's own Python, the same code under both.", "",
            "| per build | Gatun | Py4J | Py4J ÷ Gatun |", "|---|---:|---:|---:|",
            f"| wall time | {num(g['select_steady_ms'])} ms | {num(p['select_steady_ms'])} ms | "
            f"{p['select_steady_ms'] / g['select_steady_ms']:.2f}x |",
            f"| JVM execution | {num(jvm)} ms | ({num(jvm)} ms) | |",
            f"| in the bridge | {num(g['select_in_bridge_ms'])} ms | {num(p['select_in_bridge_ms'])} ms | |",
            f"| **bridge overhead** (in the bridge − JVM execution) | {num(bridge_g)} ms | {num(bridge_p)} ms | "
            f"**{bridge_p / bridge_g:.1f}x** |",
            f"| PySpark's own Python (wall − in the bridge) | "
            f"{num(g['select_in_bridge_wall_ms'] - g['select_in_bridge_ms'])} ms | "
            f"{num(p['select_in_bridge_wall_ms'] - p['select_in_bridge_ms'])} ms | |",
            f"| bridge requests | {g['select_calls']:,.0f} | {p['select_calls']:,.0f} | |",
            f"| bridge overhead per request | {num(bridge_g / g['select_calls'] * 1e3)} µs | "
            f"{num(bridge_p / p['select_calls'] * 1e3)} µs | |"]


def chart(path: str, summary: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [label.replace("`", "") for _, label, _ in METRICS]
    ratios = [summary["py4j"][k] / summary["gatun"][k] for k, _, _ in METRICS]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    bars = ax.barh(labels[::-1], ratios[::-1], color="#2a7ab0")
    ax.axvline(1, color="#999", lw=1, ls="--")
    ax.bar_label(bars, labels=[f"{r:.1f}x" for r in ratios[::-1]], padding=3)
    ax.set_xlabel("speed-up over stock PySpark (Py4J time ÷ Gatun time)")
    ax.set_title("PySpark driver over Gatun vs Py4J (local[2], fresh driver per sample)")
    ax.set_xlim(0, max(ratios) * 1.18)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="driver processes per bridge (default 3)")
    ap.add_argument("--actions", type=int, default=1000, help="small actions per sample (default 1000)")
    ap.add_argument("--doctests", nargs="*", metavar="MODULE",
                    help="also time these doctest modules per bridge (no names: a default trio)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                    help="a SparkConf entry for every session, e.g. spark.gatun.warmUp=0")
    a = ap.parse_args()
    load_start = loadavg()
    samples: dict[str, list[dict]] = {"gatun": [], "py4j": []}
    for r in range(a.rounds):
        for bridge in ("gatun", "py4j"):
            print(f"round {r + 1}/{a.rounds}: {bridge} ...", flush=True)
            samples[bridge].append(run_job(bridge, a.actions, a.conf))
    summary = {b: {k: statistics.median(x[k] for x in s if k in x) for k in s[0]} for b, s in samples.items()}
    doctests = None
    if a.doctests is not None:
        modules = a.doctests or ["pyspark.sql.types", "pyspark.sql.classic.column", "pyspark.sql.session"]
        doctests = {}
        for bridge in ("gatun", "py4j"):
            print(f"doctests over {bridge}: {' '.join(modules)} ...", flush=True)
            doctests[bridge] = run_doctests(bridge, modules, a.out)
    import pyspark
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} cores",
            "loadavg_start": load_start, "loadavg_end": loadavg(), "dropped": [],
            "pyspark": pyspark.__version__, "rounds": a.rounds, "actions": a.actions, "conf": a.conf}
    os.makedirs(a.out, exist_ok=True)
    md = markdown(summary, samples, doctests, meta)
    with open(os.path.join(a.out, f"{NAME}.md"), "w") as f:
        f.write(md)
    with open(os.path.join(a.out, f"{NAME}.json"), "w") as f:
        json.dump({"meta": meta, "summary": summary, "samples": samples, "doctests": doctests}, f, indent=1)
    chart(os.path.join(a.out, f"{NAME}.png"), summary)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
