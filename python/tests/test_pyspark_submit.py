"""`python -m gatun.submit`: Python applications through the real spark-submit over Gatun.

The same application runs twice: on `local[2]` (with --conf, --py-files and arguments), and on
`local-cluster[2,1,1024]` (a master, a worker and executor JVMs apart from the driver) where it
also collects Arrow batches from executors in other JVMs, and ends with exit status 3 without stopping its session, which must end the driver with status 3.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("pyspark", reason="pyspark is part of the dev dependencies (make venv)")

from gatun.submit import SubmitUsageError, split_arguments  # noqa: E402

APP = r'''
import os, sys
print("app arguments:", sys.argv[1:])
print("app stderr line", file=sys.stderr)
import helper  # from --py-files, before any SparkContext exists (PYTHONPATH set by the driver)
import gatun.pyspark
from pyspark.sql import SparkSession, functions as F
from pyspark.sql.types import LongType

spark = SparkSession.builder.getOrCreate()
sc = spark.sparkContext
print("bridge:", gatun.pyspark.bridge(spark), "attached:", sc._gateway.proc is None)
print("master:", sc.master, "marker:", spark.conf.get("spark.gatun.test.marker", "unset"))
times_helper = F.udf(lambda x: __import__("helper").FACTOR * x, LongType())  # helper on the executors too
shuffled = (spark.range(0, 1000, numPartitions=4).select(times_helper("id").alias("v"))
            .groupBy((F.col("v") % 3).alias("k")).count().orderBy("k"))
print("udf+shuffle:", [(r.k, r["count"]) for r in shuffled.collect()])
print("count:", spark.range(10000).filter("id % 7 = 0").count())  # no Python on the executors
spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
collector = sc._jvm.dev.gatun.spark.ArrowBatchCollector
before = collector.deliveredInJvm()
pdf = spark.range(0, 5000, 1, 4).selectExpr("id", "id * 2 as d").toPandas()
print("arrow rows:", len(pdf), "sum:", int(pdf.d.sum()), "in-JVM partitions:", collector.deliveredInJvm() - before)
try:  # ~4 MiB of batches: over a spark.driver.maxResultSize of 1m, within the default 1g
    big = spark.range(0, 500_000, 1, 4).selectExpr("id", "id * 2 as d").toPandas()
    print("big arrow: ok", len(big))
except Exception as e:
    print("big arrow: failed:", "spark.driver.maxResultSize" in str(e))
executors = sc._jsc.sc().statusTracker().getExecutorInfos()
print("executor JVMs besides the driver:", len(executors) - 1)
sys.exit(int(sys.argv[1]))
'''


def _submit(tmp_path, *args):
    (tmp_path / "app.py").write_text(APP)
    deps = tmp_path / "deps"
    deps.mkdir(exist_ok=True)
    (deps / "helper.py").write_text("FACTOR = 2\n")
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    for name in ("GATUN_PYSPARK", "GATUN_GATEWAY_INFO", "PYSPARK_SUBMIT_ARGS"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "gatun.submit", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.sql.shuffle.partitions=2", "--py-files", str(deps / "helper.py"), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def _show(run) -> str:
    return f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr (tail):\n{run.stderr[-3000:]}"


def test_submit_runs_an_app_over_gatun(tmp_path):
    run = _submit(tmp_path, "--master", "local[2]", "--conf", "spark.gatun.test.marker=yes",
                  "--conf", "spark.driver.maxResultSize=1m", "app.py", "0", "two words")
    assert run.returncode == 0, _show(run)
    out = run.stdout
    assert "app arguments: ['0', 'two words']" in out
    assert "app stderr line" in out  # the app's stderr goes to the driver's stdout, as with PythonRunner
    assert "bridge: gatun attached: True" in out
    assert "master: local[2] marker: yes" in out
    assert "udf+shuffle: [(0, 334), (1, 333), (2, 333)]" in out  # 2*id % 3 over 0..999
    assert "count: 1429" in out
    # The tasks ran in the driver's JVM: they handed their Arrow batches over directly, and the
    # result size limit held for them as Spark holds it for task results.
    assert "arrow rows: 5000 sum: 24995000 in-JVM partitions: 4" in out
    assert "big arrow: failed: True" in out


def test_local_cluster_and_the_exit_status(tmp_path):
    """Executors in their own JVMs; the app exits 3 with its session still running."""
    run = _submit(tmp_path, "--master", "local-cluster[2,1,1024]", "app.py", "3")
    assert run.returncode == 3, _show(run)
    out = run.stdout
    assert "bridge: gatun attached: True" in out
    assert "master: local-cluster[2,1,1024]" in out
    assert "udf+shuffle: [(0, 334), (1, 333), (2, 333)]" in out
    assert "count: 1429" in out
    # Executors in other JVMs return their Arrow batches as task results, as Spark's own job does.
    assert "arrow rows: 5000 sum: 24995000 in-JVM partitions: 0" in out
    assert "big arrow: ok 500000" in out
    n = int(out.split("executor JVMs besides the driver:")[1].split()[0])
    assert n >= 1, _show(run)


@pytest.mark.parametrize("argv, message", [
    ([], "no Python application given"),
    (["--master", "local[1]"], "no Python application given"),
    (["--class", "x.Y", "app.py"], "--class is not for Python applications"),
    (["--deploy-mode", "cluster", "app.py"], "only client mode"),
    (["--deploy-mode=cluster", "app.py"], "only client mode"),
    (["app.jar"], "is not a Python file"),
    (["--no-such-option", "app.py"], "unknown spark-submit option --no-such-option"),
    (["--conf"], "--conf needs a value"),
])
def test_command_lines_that_cannot_run(argv, message):
    with pytest.raises(SubmitUsageError, match=message):
        split_arguments(argv)


def test_options_and_application_arguments_are_told_apart():
    argv = ["--master", "local[1]", "--conf=spark.x=1", "-v", "--py-files", "a.py", "app.py", "--master", "x"]
    assert split_arguments(argv) == (argv[:6], "app.py", ["--master", "x"])


def test_usage_error_exit_status(tmp_path):
    run = subprocess.run([sys.executable, "-m", "gatun.submit", "--deploy-mode", "cluster", "app.py"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 2
    assert "gatun.submit: --deploy-mode cluster: only client mode" in run.stderr
