"""PySpark's Arrow paths end to end: toPandas() and createDataFrame(pandas_df), Gatun against stock
PySpark with Arrow enabled and with Arrow disabled, at several sizes, in one run.

    .venv/bin/python bench/pyspark_arrow_bench.py                       # quick: 1 MiB and 16 MiB
    .venv/bin/python bench/pyspark_arrow_bench.py --sizes 1MiB,100MiB,1GiB --driver-memory 8g

Each bridge runs in its own Python process (one Spark driver per process): `gatun` (Gatun,
Arrow enabled), `py4j` (stock PySpark, Arrow enabled, then Arrow disabled in the same process).
`--repeat N` timed runs per case (median reported), after one small warm-up of each operation. Sizes are Arrow bytes of the
data (the mixed-type table below), so rows = size / bytes per row.

Arrow-disabled is very slow at large sizes: it runs up to `--no-arrow-max` (default 16 MiB) and
is extrapolated linearly in rows above that, marked as such.

Per case it records: wall time; the peak RSS of the Python process during the first run above
its RSS before (Linux: VmHWM reset through /proc/self/clear_refs), with pyarrow's pool and
Gatun's spare arenas emptied first, against the size of the pandas result (toPandas) or input
(createDataFrame); and where the time goes:
* toPandas: Spark's scan (a `noop` write of the same cached DataFrame), the same job encoding the
  rows as Arrow batches without moving them (`toArrowBatchRdd().count()`), and within toPandas:
  collecting the batches into Python (`_collect_as_arrow`, which includes that job) and PySpark's
  pandas conversion (`_convert_arrow_table_to_pandas`);
* toPandas-selfDestruct: the same with `spark.sql.execution.arrow.pyspark.selfDestruct.enabled`
  (PySpark frees each Arrow column as it converts it: its low-memory mode);
* createDataFrame: time inside PySpark's own pandas -> Arrow conversion
  (`create_arrow_table_from_pandas`), inside `SparkContext._serialize_to_jvm` (the batches to the
  JVM: a temp file on stock PySpark, the arena over Gatun), and the rest.

Writes <out>/pyspark-arrow.md, .json and .png (default out: bench/results).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from honest import dropped_text, load_text, loadavg  # noqa: E402

NAME = "pyspark-arrow"
HERE = os.path.dirname(os.path.abspath(__file__))
# toPandas-selfDestruct: toPandas with spark.sql.execution.arrow.pyspark.selfDestruct.enabled, which
# frees each Arrow column as PySpark converts it (lower peak memory).
OPS = ("toPandas", "toPandas-selfDestruct", "createDataFrame")

# What failed and so is missing from the results (a bridge process that exited early).
FAILED: list[dict] = []

# Runs in a child process: one bridge, every size and operation; prints one JSON line per case.
WORKER = r'''
import contextlib, gc, json, os, statistics, sys, time
bridge, sizes, ops, modes, no_arrow_max, driver_memory, repeat = json.loads(sys.argv[1])
if bridge == "gatun":
    import gatun.pyspark
    gatun.pyspark.install()
import numpy as np, pandas as pd, pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.core.context import SparkContext
import pyspark.sql.pandas.conversion as conversion
from pyspark.sql.pandas.conversion import PandasConversionMixin

spark = (SparkSession.builder.master("local[2]").appName("gatun-arrow-bench")
         .config("spark.ui.enabled", "false").config("spark.driver.memory", driver_memory)
         .config("spark.driver.maxResultSize", "0").config("spark.sql.execution.arrow.pyspark.enabled", "true")
         .config("spark.sql.execution.arrow.pyspark.fallback.enabled", "false").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
SELF_DESTRUCT = "spark.sql.execution.arrow.pyspark.selfDestruct.enabled"
COLUMNS = ["id", "cast(id * 7 % 1000003 as double) / 3 as x", "cast(id % 100000 as int) as i",
           "concat('item-', id % 100000) as s", "timestamp'2024-01-01 00:00:00' + make_interval(0,0,0,0,0,0,id % 86400) as ts",
           "id % 3 = 0 as flag"]


def source(rows):
    df = spark.range(0, rows, 1, 4).selectExpr(*COLUMNS).cache()
    df.count()
    return df


def row_bytes():
    sample = spark.range(0, 100_000, 1, 1).selectExpr(*COLUMNS)
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    table = sample.toArrow()
    return table.nbytes / table.num_rows


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])


def reset_peak():
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def release_free_memory():
    """Gives back what pyarrow's pool and Gatun's spare arenas keep from earlier steps, so that a
    cold run's peak counts all the memory the operation needs, under both bridges alike."""
    pa.default_memory_pool().release_unused()
    gatun_client = getattr(spark.sparkContext._gateway, "_gatun", None)
    if gatun_client is not None and hasattr(gatun_client, "release_arrow_spares"):
        gatun_client.release_arrow_spares()


def measured(fn, cold=False):
    gc.collect()
    if cold:
        release_free_memory()
    ok = reset_peak()  # after its gc.collect(), so that "before" is what the operation starts from
    before = status_kib("VmRSS")
    t = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t
    peak = status_kib("VmHWM") - before if ok else None
    return out, secs, (peak * 1024 if peak is not None else None)


@contextlib.contextmanager
def timing(owner, name):
    """Sums the time spent in owner.name (looked up when called, as PySpark's callers do) while active."""
    spent = [0.0]
    real = owner.__dict__[name]
    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            spent[0] += time.perf_counter() - t
    setattr(owner, name, timed)
    try:
        yield spent
    finally:
        setattr(owner, name, real)


def summary(runs, arrow):
    """One case from its runs: the first run (cold) apart from the others (warm); the time shown is
    the warm runs' median (the cold run's where it is the only one), the peak the cold run's, and
    the parts are medians over the same runs as the time."""
    timed = runs[1:] or runs

    def median(key):
        return statistics.median(r[key] for r in timed)
    out = dict(secs=median("secs"), all_secs=[r["secs"] for r in runs], cold_secs=runs[0]["secs"],
               warm_secs=[r["secs"] for r in runs[1:]], peak=runs[0]["peak"])
    if arrow:
        out.update({k: median(k) for k in runs[0] if k not in ("secs", "peak")})
    elif "count" in runs[0]:
        out["count"] = median("count")
    return out


def emit(**kw):
    print("CASE " + json.dumps(kw), flush=True)


per_row = row_bytes()
for mode in modes:
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true" if mode != "no-arrow" else "false")
    label = bridge if mode == "arrow" else bridge + " " + mode
    # Warm-up: load classes and JIT-compile the paths once.
    warm = source(2_000)
    warm.toPandas()
    spark.createDataFrame(warm.toPandas()).count()
    warm.unpersist()
    reps = 1 if mode == "no-arrow" else repeat  # minutes per run there
    for size in sizes:
        if mode == "no-arrow" and size > no_arrow_max:
            continue
        rows = max(1, int(size / per_row))
        if "toPandas" in ops or "toPandas-selfDestruct" in ops:
            df = source(rows)
            _, compute, _ = measured(lambda: df.write.format("noop").mode("overwrite").save())
            # Spark's own share: the same job converting rows to Arrow batches, kept in the executors.
            encode = measured(lambda: df._jdf.toArrowBatchRdd().count())[1] if mode != "no-arrow" else None
            for op in ("toPandas", "toPandas-selfDestruct"):
                if op not in ops or (mode == "no-arrow" and op != "toPandas"):
                    continue
                spark.conf.set(SELF_DESTRUCT, str(op == "toPandas-selfDestruct").lower())
                runs = []
                for run in range(reps):
                    with timing(PandasConversionMixin, "_collect_as_arrow") as collect, \
                            timing(conversion, "_convert_arrow_table_to_pandas") as to_pandas:
                        pdf, secs, peak = measured(df.toPandas, cold=run == 0)
                    runs.append(dict(secs=secs, peak=peak, collect=collect[0], pandas=to_pandas[0]))
                    result_bytes = int(pdf.memory_usage(deep=True).sum())
                    del pdf
                emit(label=label, op=op, size=size, rows=rows, result_bytes=result_bytes, compute=compute,
                     encode=encode, **summary(runs, arrow=mode != "no-arrow"))
            spark.conf.unset(SELF_DESTRUCT)
            df.unpersist()
        if "createDataFrame" in ops:
            spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
            pdf = source(rows).toPandas()
            spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true" if mode != "no-arrow" else "false")
            spark.catalog.clearCache()
            runs = []
            for run in range(reps):
                with timing(conversion, "create_arrow_table_from_pandas") as convert, \
                        timing(SparkContext, "_serialize_to_jvm") as send:
                    sdf, secs, peak = measured(lambda: spark.createDataFrame(pdf), cold=run == 0)
                _, count_secs, _ = measured(sdf.count)
                runs.append(dict(secs=secs, peak=peak, convert=convert[0], send=send[0], count=count_secs))
                del sdf
            emit(label=label, op="createDataFrame", size=size, rows=rows,
                 result_bytes=int(pdf.memory_usage(deep=True).sum()), **summary(runs, arrow=mode != "no-arrow"))
            del pdf
        gc.collect()
spark.stop()
'''

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1MiB, 100MiB, 1GiB)")
    unit = (m.group(2) or "").lower()[:1]
    return int(float(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit])


def human(n: float) -> str:
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            return f"{n / div:.4g} {unit}"
    return f"{n:.0f} B"


def run_bridge(bridge: str, args: argparse.Namespace, modes: list[str]) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k != "GATUN_PYSPARK"}
    env["PYSPARK_PYTHON"] = sys.executable
    spec = [bridge, args.sizes, args.ops, modes, args.no_arrow_max, args.driver_memory,
            args.repeat]
    print(f"== {bridge} ({', '.join(modes)})", flush=True)
    proc = subprocess.run([sys.executable, "-c", WORKER, json.dumps(spec)], env=env, capture_output=True,
                          text=True, timeout=args.timeout)
    cases = [json.loads(line[5:]) for line in proc.stdout.splitlines() if line.startswith("CASE ")]
    for c in cases:
        print(f"   {c['label']:<16} {c['op']:<16} {human(c['size']):>9}: {c['secs']:.3f} s", flush=True)
    if proc.returncode != 0:
        print(f"   {bridge} exited with {proc.returncode}:\n{proc.stderr[-3000:]}", file=sys.stderr)
        FAILED.append({"cell": [bridge], "run": "every one after its last case above",
                       "why": f"its process exited with {proc.returncode}"})
    return cases


def extrapolate(cases: list[dict], sizes: list[int], label: str) -> list[dict]:
    """Arrow-disabled cases above --no-arrow-max, linear in rows from the largest measured one."""
    out = []
    for op in {c["op"] for c in cases}:
        measured = [c for c in cases if c["label"] == label and c["op"] == op]
        if not measured:
            continue
        base = max(measured, key=lambda c: c["size"])
        for size in sizes:
            if size > base["size"]:
                rows = int(base["rows"] * size / base["size"])
                out.append(dict(label=label, op=op, size=size, rows=rows, secs=base["secs"] * rows / base["rows"],
                                peak=None, result_bytes=None, extrapolated_from=base["size"]))
    return out


def write_markdown(path: str, cases: list[dict], meta: dict) -> None:
    L = ["# PySpark Arrow paths: Gatun vs stock PySpark (Arrow on / off)", "",
         f"Run {meta['when']} on {meta['machine']}; {meta.get('repeat', 1)} timed run(s) per case after a small "
         "warm-up of each operation. Time: the median of the runs after the first (their min–max in"
         " brackets), then the first run (cold) apart; a case with one run shows that run (Arrow"
         " disabled: always one run). "
         + (load_text(meta["loadavg_start"], meta["loadavg_end"]) + " " + dropped_text(meta.get("dropped", []))
            + " " if "loadavg_start" in meta else "") +
         f"local[2], driver memory {meta['driver_memory']}. Sizes are Arrow bytes of a mixed-type table "
         "(bigint, double, int, string, timestamp, bool). `*` = extrapolated linearly from the largest "
         "measured size (Arrow disabled is too slow to run there). Timings on a shared 2-core machine are "
         "noisy. Over Gatun the batches cross through the shared-memory Arrow arena "
         "(`gatun.spark_arrow`, spec/arrow.md); stock PySpark uses a local socket (toPandas) and a temp "
         "file (createDataFrame).", ""]
    for op in OPS:
        rows = [c for c in cases if c["op"] == op]
        if not rows:
            continue
        L += [f"## {op}", "", "| size | rows | bridge | time (s) | vs gatun | peak RSS Δ | result | peak/result | breakdown |",
              "|---|---|---|---|---|---|---|---|---|"]
        for size in sorted({c["size"] for c in rows}):
            at = [c for c in rows if c["size"] == size]
            gatun = next((c for c in at if c["label"] == "gatun"), None)
            for c in sorted(at, key=lambda c: c["label"]):
                star = "*" if "extrapolated_from" in c else ""
                ratio = f"{c['secs'] / gatun['secs']:.2f}x" if gatun and c is not gatun else ""
                # A peak below the starting RSS (memory freed during the operation) shows as 0.
                grew = max(0, c["peak"]) if c.get("peak") is not None else None
                peak = human(grew) if grew is not None else ""
                res = human(c["result_bytes"]) if c.get("result_bytes") else ""
                pr = f"{grew / c['result_bytes']:.2f}" if grew is not None and c.get("result_bytes") else ""
                if op.startswith("toPandas") and c.get("collect") is not None:
                    br = (f"Spark: scan {c['compute']:.3f}, scan + Arrow encoding {c['encode']:.3f}; "
                          f"collecting the batches {c['collect']:.3f} (≈ {max(0.0, c['collect'] - c['encode']):.3f} "
                          f"beyond encoding); PySpark's Arrow→pandas {c['pandas']:.3f}")
                elif op.startswith("toPandas") and c.get("compute") is not None:
                    br = f"compute {c['compute']:.3f}"
                elif op == "createDataFrame" and c.get("convert") is not None:
                    br = (f"PySpark's pandas→Arrow {c['convert']:.3f}; batches to the JVM {c['send']:.3f}; "
                          f"rest {max(0.0, c['secs'] - c['convert'] - c['send']):.3f}; then count() {c['count']:.3f}")
                elif op == "createDataFrame" and c.get("to_arrow") is not None:
                    br = f"then count() {c['count']:.3f}"
                else:
                    br = ""
                warm = c.get("warm_secs") or []
                spread = (f" ({min(warm):.2f}–{max(warm):.2f}); cold {c['cold_secs']:.3f}" if warm else "")
                L.append(f"| {human(size)} | {c['rows']:,} | {c['label']} | {c['secs']:.3f}{star}{spread} | {ratio} | "
                         f"{peak} | {res} | {pr} | {br} |")
        L.append("")
        L += bound_lines(op, rows)
    L += ["`vs gatun` is that row's time over Gatun's at the same size (above 1 = Gatun faster). "
          "`peak RSS Δ` is the Python process's peak resident memory during the first (cold) run above its "
          "resident memory just before it, after giving back what pyarrow's memory pool and Gatun's spare "
          "arenas kept from earlier steps, so that it counts all the memory the operation needs under both "
          "bridges (later runs reuse that memory and would show less). Breakdown, toPandas: `scan` is a "
          "`noop` write of the cached frame, `scan + Arrow encoding` the same job turning rows into Arrow "
          "batches (kept in the executors), `collecting the batches` the time inside `_collect_as_arrow` "
          "during toPandas (the same job plus moving the batches to Python), `PySpark's Arrow→pandas` the "
          "time inside PySpark's `_convert_arrow_table_to_pandas`. createDataFrame: time in "
          "PySpark's `create_arrow_table_from_pandas`, in `SparkContext._serialize_to_jvm` (temp file or "
          "arena), and the rest (Spark building the DataFrame, schema handling).", "",
          f"Raw numbers: `{NAME}.json`; chart: `{NAME}.png`. Command: `{meta['command']}`."]
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def bound_lines(op: str, rows: list[dict]) -> list[str]:
    """What any bridge could gain at most over stock Arrow-enabled PySpark: the ratio if moving the
    batches cost nothing, i.e. stock's time over the time Gatun's run spent in bridge-independent
    work (toPandas: Spark's job without the collection, PySpark's pandas conversion and the rest;
    createDataFrame: everything but the batches to the JVM)."""
    out = []
    for size in sorted({c["size"] for c in rows}):
        gatun = next((c for c in rows if c["size"] == size and c["label"] == "gatun"), None)
        stock = next((c for c in rows if c["size"] == size and c["label"] == "py4j"), None)
        if not gatun or not stock or gatun.get("collect" if op.startswith("toPandas") else "send") is None:
            continue
        if op.startswith("toPandas"):
            moving = max(0.0, gatun["collect"] - gatun["encode"])
        else:
            moving = gatun["send"]
        floor = gatun["secs"] - moving
        out.append(f"- {human(size)}: with free transfers Gatun would still take {floor:.3f} s "
                   f"(of {gatun['secs']:.3f} s): the best ratio any bridge could reach against stock's "
                   f"{stock['secs']:.3f} s here is **{stock['secs'] / floor:.2f}x**.")
    if out:
        out = [f"Upper bound of the gain from the bridge ({op}):", ""] + out + [""]
    return out


def write_chart(path: str, cases: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ops = [op for op in OPS if any(c["op"] == op for c in cases)]
    labels = sorted({c["label"] for c in cases}, key=lambda s: (s != "gatun", s))
    sizes = sorted({c["size"] for c in cases})
    fig, axes = plt.subplots(1, len(ops), figsize=(6 * len(ops), 4.2), squeeze=False)
    width = 0.8 / len(labels)
    for ax, op in zip(axes[0], ops):
        for i, label in enumerate(labels):
            xs, ys, hatches = [], [], []
            for j, size in enumerate(sizes):
                c = next((c for c in cases if c["op"] == op and c["label"] == label and c["size"] == size), None)
                if c:
                    xs.append(j + i * width)
                    ys.append(c["secs"])
                    hatches.append("//" if "extrapolated_from" in c else "")
            bars = ax.bar(xs, ys, width, label=label)
            for bar, hatch in zip(bars, hatches):
                bar.set_hatch(hatch)
        ax.set_xticks([j + width * (len(labels) - 1) / 2 for j in range(len(sizes))], [human(s) for s in sizes])
        ax.set_yscale("log")
        ax.set_ylabel("seconds (log; hatched = extrapolated)")
        ax.set_title(op)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1MiB,16MiB", help="comma-separated, e.g. 1MiB,100MiB,1GiB")
    ap.add_argument("--ops", default=",".join(OPS), help="some of " + ", ".join(OPS))
    ap.add_argument("--bridges", default="gatun,py4j", help="gatun and/or py4j")
    ap.add_argument("--no-arrow", choices=("run", "skip"), default="run", help="stock PySpark with Arrow disabled")
    ap.add_argument("--no-arrow-max", default="16MiB", help="largest size run with Arrow disabled (above: extrapolated)")
    ap.add_argument("--driver-memory", default="4g", help="spark.driver.memory (1 GiB results need ~8g)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per case (Arrow enabled); the median is reported")
    ap.add_argument("--timeout", type=float, default=7200)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-chart", action="store_true")
    args = ap.parse_args()
    sizes = sorted(parse_size(s) for s in args.sizes.split(","))
    args.sizes = sizes
    args.ops = [o for o in args.ops.split(",") if o]
    if not args.ops or set(args.ops) - set(OPS):
        ap.error(f"--ops takes some of {', '.join(OPS)}, got {','.join(args.ops) or 'nothing'}")
    args.no_arrow_max = parse_size(args.no_arrow_max)
    load_start = loadavg()
    cases: list[dict] = []
    for bridge in args.bridges.split(","):
        modes = ["arrow"] + (["no-arrow"] if bridge == "py4j" and args.no_arrow == "run" else [])
        cases += run_bridge(bridge, args, modes)
    cases += extrapolate(cases, sizes, "py4j no-arrow")
    os.makedirs(args.out, exist_ok=True)
    meta = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "loadavg_start": load_start, "loadavg_end": loadavg(),
            # A bridge process that fails loses the cases it had not reached; no run is dropped
            # otherwise.
            "dropped": FAILED,
            "driver_memory": args.driver_memory, "repeat": args.repeat, "command": " ".join(["bench/pyspark_arrow_bench.py"] + sys.argv[1:])}
    md, js, png = (os.path.join(args.out, f"{NAME}.{ext}") for ext in ("md", "json", "png"))
    with open(js, "w") as f:
        json.dump({"meta": meta, "cases": cases}, f, indent=1)
    write_markdown(md, cases, meta)
    if not args.no_chart:
        write_chart(png, cases)
    print(f"wrote {md}, {js}" + ("" if args.no_chart else f", {png}"))
    expected = len(args.bridges.split(","))
    return 0 if cases and len({c["label"] for c in cases}) >= expected else 1


if __name__ == "__main__":
    sys.exit(main())
