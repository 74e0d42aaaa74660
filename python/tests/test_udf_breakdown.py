"""bench/udf_breakdown.py's worker probe (bench/udf_probe/gatun_udf_probe.py) measures without
changing what the worker does: the same Arrow UDF jobs give the same rows under the probed daemon
as under stock PySpark (nulls, decimals, nested types, an empty partition), a raising UDF's Python
traceback still reaches the driver, and every task leaves its timing record. Real local
SparkSessions (stock PySpark, no Gatun), one per daemon, in subprocesses."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

PROBE_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "udf_probe")

CASES = r'''
import json, os, sys
from decimal import Decimal
import pandas as pd
from pyspark.sql import SparkSession, Row, functions as F, types as T

probe_out = sys.argv[1]
b = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
if probe_out != "-":
    b = (b.config("spark.python.daemon.module", "gatun_udf_probe")
         .config("spark.executorEnv.PYTHONPATH", os.path.abspath(sys.argv[2]))
         .config("spark.executorEnv.GATUN_UDF_PROBE_DIR", probe_out))
spark = b.getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
schema = T.StructType([
    T.StructField("i", T.LongType()), T.StructField("d", T.DecimalType(20, 4)),
    T.StructField("s", T.StringType()),
    T.StructField("n", T.StructType([T.StructField("a", T.ArrayType(T.IntegerType())), T.StructField("b", T.DoubleType())])),
])
rows = [Row(i=k if k % 5 else None, d=Decimal(k) / 7 if k % 3 else None, s=None if k % 4 == 0 else f"s{k}",
            n=None if k % 6 == 0 else Row(a=[k, None, -k] if k % 2 else [], b=k * 0.25)) for k in range(200)]
# 3 partitions, the middle one empty
base = spark.createDataFrame(rows, schema).repartition(3)
df = spark.createDataFrame(base.rdd.mapPartitionsWithIndex(lambda i, it: iter([]) if i == 1 else it), schema)
sizes = df.rdd.glom().map(len).collect()
assert len(sizes) == 3 and 0 in sizes, sizes

def ident(s):
    return s
ident.__annotations__ = {"s": pd.Series, "return": pd.Series}
plus = F.pandas_udf(ident, T.DecimalType(20, 4))

def batches(it):
    yield from it

def frames(it):
    for pdf in it:
        yield pdf

def boom(s):
    raise ValueError("gatun-probe-boom")
boom.__annotations__ = {"s": pd.Series, "return": pd.Series}

out = {}
key = lambda r: json.dumps(r, sort_keys=True, default=str)
out["mapInArrow"] = sorted(key(r.asDict(recursive=True)) for r in df.mapInArrow(batches, df.schema).collect())
out["mapInPandas"] = sorted(key(r.asDict(recursive=True)) for r in df.mapInPandas(frames, df.schema).collect())
out["pandas_udf"] = sorted(key(r.asDict(recursive=True)) for r in df.select("i", plus("d").alias("d")).collect())
out["arrow_udf"] = sorted(key(r.asDict(recursive=True)) for r in
                          df.select(F.udf(lambda v: v, T.StringType(), useArrow=True)("s").alias("s")).collect())
try:
    df.select(F.pandas_udf(boom, T.DoubleType())("d")).collect()
    out["error"] = None
except Exception as e:
    out["error"] = str(e)
print("RESULT " + json.dumps(out))
'''


def run(tmp_path, probe: bool) -> dict:
    out_dir = tmp_path / ("probe" if probe else "stock")
    out_dir.mkdir()
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    env.pop("GATUN_PYSPARK", None)
    p = subprocess.run([sys.executable, "-c", CASES, str(out_dir) if probe else "-", PROBE_DIR],
                       capture_output=True, text=True, timeout=600, env=env)
    lines = [line for line in p.stdout.splitlines() if line.startswith("RESULT ")]
    assert p.returncode == 0 and lines, p.stdout[-3000:] + p.stderr[-3000:]
    return {"result": json.loads(lines[-1][len("RESULT "):]), "records": sorted(out_dir.glob("task-*.json"))}


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("udf-probe")
    return run(tmp, probe=False), run(tmp, probe=True)


@pytest.mark.parametrize("job", ["mapInArrow", "mapInPandas", "pandas_udf", "arrow_udf"])
def test_probed_worker_gives_the_same_rows_as_stock(both, job):
    stock, probe = both
    assert stock["result"][job], job  # the cases do produce rows
    assert probe["result"][job] == stock["result"][job]


def test_raising_udf_traceback_reaches_the_driver_under_the_probe(both):
    stock, probe = both
    for side in (stock, probe):
        assert side["result"]["error"] and "gatun-probe-boom" in side["result"]["error"]
        assert "Traceback" in side["result"]["error"]


def test_every_task_leaves_a_timing_record(both):
    _, probe = both
    assert probe["records"]
    for path in probe["records"]:
        record = json.loads(path.read_text())
        assert record["wall"] >= 0 and record["bytes"]["socket_read"] >= 0
        assert set(record["exclusive_cpu"]) <= {"socket_read", "arrow_read", "udf", "arrow_write", "socket_write"}
    # the Arrow jobs' tasks read and wrote through the timed socket files
    assert any(json.loads(p.read_text())["bytes"]["socket_write"] > 0 for p in probe["records"])
