"""The main job: a real PySpark job on local Spark, run over Gatun and then over stock Py4J.

Each bridge runs in its own Python process (a process can host one Spark driver). The job:
start a SparkSession, build a 200-column select of Column expressions, run SQL and DataFrame
actions, read back a Parquet file; the results must be identical on both bridges, and the
timings are printed side by side. Exits non-zero if Gatun fails or the results differ.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

JOB = r'''
import json, os, sys, tempfile, time
t0 = time.perf_counter()
if os.environ.get("GATUN_PYSPARK") == "1":
    import gatun.pyspark
    gatun.pyspark.install()
from pyspark.sql import SparkSession, functions as F
spark = (SparkSession.builder.master("local[2]").appName("gatun-demo")
         .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
timings = {"session start-up": time.perf_counter() - t0}
bridge = "gatun" if type(spark.sparkContext._gateway).__module__.startswith("gatun") else "py4j"

t = time.perf_counter()
df = spark.range(1000).withColumn("g", F.col("id") % 7)
wide = df.select(*[(F.col("id") * i + F.col("g")).alias(f"c{i}") for i in range(200)])
timings["build a 200-column select"] = time.perf_counter() - t

t = time.perf_counter()
for _ in range(200):
    spark.conf.get("spark.sql.shuffle.partitions")
    df.columns
timings["200 x (conf.get + df.columns)"] = time.perf_counter() - t

t = time.perf_counter()
results = {
    "wide_sum_c199": wide.agg(F.sum("c199")).collect()[0][0],
    "groups": [(r.g, r["count"]) for r in df.groupBy("g").count().orderBy("g").collect()],
    "sql": spark.sql("select sum(id) as s, max(id) as m from range(100000)").collect()[0].asDict(),
}
path = os.path.join(tempfile.mkdtemp(), "demo.parquet")
df.write.parquet(path)
results["parquet_rows"] = spark.read.parquet(path).filter("g = 3").count()
timings["actions (agg, groupBy, SQL, Parquet)"] = time.perf_counter() - t

t = time.perf_counter()
for _ in range(20):
    spark.range(10).count()
timings["20 x spark.range(10).count()"] = time.perf_counter() - t
spark.stop()
print("RESULT " + json.dumps({"bridge": bridge, "results": results, "timings": timings}))
'''


def run(bridge: str, job: str = JOB, env_extra: dict[str, str] | None = None, timeout: float = 600) -> dict:
    """Runs `job` in a fresh Python process (so a fresh Spark driver) over `bridge` ("gatun" or
    "py4j") and returns the JSON it printed on its `RESULT ` line."""
    env = dict(os.environ)
    env["PYSPARK_PYTHON"] = sys.executable
    env.setdefault("PYTHONHASHSEED", "0")
    env.pop("GATUN_PYSPARK", None)
    if bridge == "gatun":
        env["GATUN_PYSPARK"] = "1"
    env.update(env_extra or {})
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(job)
    try:
        proc = subprocess.run([sys.executable, f.name], env=env, capture_output=True, text=True, timeout=timeout)
    finally:
        os.unlink(f.name)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
    raise SystemExit(f"the {bridge} run failed (exit code {proc.returncode}):\n{tail}")


def main() -> int:
    start = time.perf_counter()
    print("== The PySpark job over Gatun ==", flush=True)
    gatun = run("gatun")
    if gatun["bridge"] != "gatun":
        print(f"DEMO FAILED: the session ran on {gatun['bridge']}, not Gatun")
        return 1
    for key, value in gatun["results"].items():
        print(f"  {key:<14} {value}")
    print("== The same job over Py4J (stock PySpark) ==", flush=True)
    py4j = run("py4j")
    same = gatun["results"] == py4j["results"]
    print(f"  results identical to Gatun's: {same}")
    print()
    print(f"  {'step':<40} {'Gatun':>9} {'Py4J':>9} {'speed-up':>9}")
    for step, g in gatun["timings"].items():
        p = py4j["timings"][step]
        print(f"  {step:<40} {g * 1000:>7.0f}ms {p * 1000:>7.0f}ms {p / g:>8.1f}x")
    print(f"\n(demo took {time.perf_counter() - start:.0f} s)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
