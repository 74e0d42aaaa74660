"""Gatun's planner extension for Python UDFs (dev.gatun.spark.udf.GatunSparkExtensions, issue 16):
with it on, identity pandas_udfs and Arrow-optimized udfs over cached data and over a Parquet scan,
with nulls, give the same rows as stock Spark, the plan has GatunArrowInputExec under ArrowEvalPythonExec and it really
encoded batches; with it off (or Spark's columnar input off) the plan is stock's. One real local
SparkSession (stock PySpark over Py4J, the extension's classes from the bundled gatun-spark.jar) in
a subprocess."""
from __future__ import annotations

import pytest

pyspark = pytest.importorskip("pyspark")
pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

import gatun.pyspark  # noqa: E402
from session_script import run_session_script  # noqa: E402

if gatun.pyspark.spark_line() is None or gatun.pyspark.spark_line() < (4, 0):
    pytest.skip("the extension is Spark 4 only", allow_module_level=True)

CASE = r'''
import json, sys
import pandas as pd
from pyspark.sql import SparkSession, functions as F, types as T

jar = sys.argv[1]
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.extraClassPath", jar)
         .config("spark.sql.extensions", "dev.gatun.spark.udf.GatunSparkExtensions")
         .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
jvm = spark.sparkContext._jvm
node = jvm.dev.gatun.spark.udf.GatunArrowInputExec

# Spark's cache hands out columnar batches only for primitive columns (DefaultCachedBatchSerializer
# supportsColumnarOutput); its vectorized Parquet reader also for strings and decimals. Nulls in
# every column but id, several batches per partition and an uneven last batch.
base = spark.range(0, 25_003, numPartitions=2).selectExpr(
    "id",
    "CASE WHEN id % 7 = 0 THEN NULL ELSE cast(id AS double) * 0.5 END AS x",
    "CASE WHEN id % 11 = 0 THEN NULL ELSE cast(id AS int) END AS i",
    "CASE WHEN id % 3 = 0 THEN NULL ELSE id % 2 = 0 END AS b",
    "CASE WHEN id % 5 = 0 THEN NULL ELSE concat('s', id, '日本') END AS s",
    "CASE WHEN id % 13 = 0 THEN NULL ELSE cast(id / 3 AS decimal(12, 3)) END AS dec",
)
cached = base.select("id", "x", "i", "b").cache()
cached.count()
base.write.parquet(sys.argv[2])
parquet = spark.read.parquet(sys.argv[2])

def typed(t):
    f = lambda s: s
    f.__annotations__ = {"s": pd.Series, "return": pd.Series}
    return F.pandas_udf(f, t)

p_x, p_i, p_b, p_s, p_dec = typed("double"), typed("int"), typed("boolean"), typed("string"), typed("decimal(12,3)")
a_x = F.udf(lambda v: v, "double", useArrow=True)
a_s = F.udf(lambda v: v, "string", useArrow=True)

queries = {
    "pandas_udf_cache": lambda: cached.select("id", p_x("x").alias("px"), p_i("i").alias("pi"), p_b("b").alias("pb"),
                                              "x", "i", "b"),
    "arrow_udf_cache": lambda: cached.select("id", a_x("x").alias("ax"), "x"),
    "pandas_udf_parquet": lambda: parquet.select("id", p_x("x").alias("px"), p_s("s").alias("ps"),
                                                 p_dec("dec").alias("pdec"), "x", "s", "dec"),
    "arrow_udf_parquet": lambda: parquet.select("id", a_s("s").alias("as_"), "s"),
}

def run(name, gatun_on, columnar_on="true"):
    spark.conf.set("spark.gatun.udf.arrowInput.enabled", gatun_on)
    spark.conf.set("spark.sql.execution.arrow.pythonUDF.columnarInput.enabled", columnar_on)
    q = queries[name]()
    plan = q._jdf.queryExecution().executedPlan().toString()
    before, released = node.encodedBatches(), node.releasedBatches()
    rows = sorted((tuple(None if v is None else str(v) for v in r) for r in q.collect()))
    return {"rows": rows, "plan": plan, "encoded": node.encodedBatches() - before,
            "released": node.releasedBatches() - released}

out = {}
for name in queries:
    out[name] = {"stock": run(name, "false"), "gatun": run(name, "true"),
                 "no_columnar": run(name, "true", columnar_on="false")}
spark.stop()
print("RESULT " + json.dumps(out))
'''


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("arrow_input")
    return run_session_script(CASE, str(gatun.pyspark.spark_jar()), str(tmp / "data.parquet"), cwd=tmp, timeout=900)


QUERIES = ["pandas_udf_cache", "arrow_udf_cache", "pandas_udf_parquet", "arrow_udf_parquet"]


@pytest.mark.parametrize("name", QUERIES)
def test_same_rows_as_stock_through_the_arrow_path(results, name):
    r = results[name]
    assert "GatunArrowInput" not in r["stock"]["plan"]
    assert "GatunArrowInput" in r["gatun"]["plan"], r["gatun"]["plan"]
    assert r["gatun"]["encoded"] >= 2, r["gatun"]["encoded"]
    # Each input batch but a partition's last is freed as soon as its output was consumed (by
    # GatunArrowOutputExec above the evaluator), not at the task's end: 2 partitions.
    assert "GatunArrowOutput" in r["gatun"]["plan"], r["gatun"]["plan"]
    assert r["gatun"]["released"] == r["gatun"]["encoded"] - 2, r["gatun"]
    assert r["stock"]["encoded"] == 0
    assert len(r["stock"]["rows"]) == 25_003
    assert r["gatun"]["rows"] == r["stock"]["rows"]
    # identity: each UDF's output is its input column, nulls included (the inputs are the row's tail)
    outputs = {"pandas_udf_cache": 3, "arrow_udf_cache": 1, "pandas_udf_parquet": 3, "arrow_udf_parquet": 1}[name]
    nulls = 0
    for row in r["gatun"]["rows"]:
        assert row[1:1 + outputs] == row[1 + outputs:], row
        nulls += row[1] is None
    assert nulls > 1000


@pytest.mark.parametrize("name", QUERIES)
def test_off_without_sparks_columnar_input(results, name):
    r = results[name]["no_columnar"]
    assert "GatunArrowInput" not in r["plan"]
    assert r["encoded"] == 0
    assert r["rows"] == results[name]["stock"]["rows"]


GATUN_CASE = r'''
import json
import pandas as pd
from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
df = spark.range(0, 20_000, numPartitions=2).selectExpr(
    "id", "CASE WHEN id % 7 = 0 THEN NULL ELSE cast(id AS double) * 0.5 END AS x").cache()
df.count()
f = lambda s: s
f.__annotations__ = {"s": pd.Series, "return": pd.Series}
ident = F.pandas_udf(f, "double")
out = {"extensions": spark.conf.get("spark.sql.extensions")}
for on in ("true", "false"):
    spark.conf.set("spark.gatun.udf.arrowInput.enabled", on)
    q = df.select("id", ident("x").alias("y"), "x")
    out[on] = {"plan": q._jdf.queryExecution().executedPlan().toString(),
               "rows": sorted([r.id, r.y, r.x] for r in q.collect())}
print("RESULT " + json.dumps(out))
'''


def test_gatun_pyspark_installs_the_extension(tmp_path):
    # GATUN_PYSPARK=1 puts the extension after the user's own spark.sql.extensions (here a class
    # that does not exist, which Spark skips with a warning) and pandas_udfs over cached data then
    # take the Arrow input path; spark.gatun.udf.arrowInput.enabled=false gives stock's plan.
    out = run_session_script(GATUN_CASE, cwd=tmp_path, env={
        "GATUN_PYSPARK": "1", "PYSPARK_SUBMIT_ARGS": "--conf spark.sql.extensions=com.example.NoSuchExtension pyspark-shell"})
    assert out["extensions"] == "com.example.NoSuchExtension,dev.gatun.spark.udf.GatunSparkExtensions"
    assert "GatunArrowInput" in out["true"]["plan"]
    assert "GatunArrowInput" not in out["false"]["plan"]
    assert out["true"]["rows"] == out["false"]["rows"]
    assert len(out["true"]["rows"]) == 20_000
    assert all(y == x for _, y, x in out["true"]["rows"])
    assert sum(x is None for _, _, x in out["true"]["rows"]) == len(range(0, 20_000, 7))


FAILURE_CASE = r'''
import json, sys, time
import pandas as pd
from pyspark.sql import SparkSession, functions as F
from spark_cancel import cancel_mid_job

spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.extraClassPath", sys.argv[1])
         .config("spark.sql.extensions", "dev.gatun.spark.udf.GatunSparkExtensions")
         .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
         .getOrCreate())
spark.sparkContext.setLogLevel("OFF")
jvm = spark.sparkContext._jvm
node = jvm.dev.gatun.spark.udf.GatunArrowInputExec
df = spark.range(0, 200_000, numPartitions=2).selectExpr("id", "cast(id AS double) AS x").cache()
df.count()

def boom(s: pd.Series) -> pd.Series:
    if (s > 150_000).any():
        raise ValueError("boom-16 at the UDF")
    return s

def slow(s: pd.Series) -> pd.Series:
    time.sleep(0.05)
    return s

out = {}
for on in ("false", "true"):
    spark.conf.set("spark.gatun.udf.arrowInput.enabled", on)
    try:
        df.select(F.pandas_udf(boom, "double")("x")).collect()
        out["raise_" + on] = "no error"
    except Exception as e:
        out["raise_" + on] = type(e).__name__ + ": " + str(e)

# A job cancelled while its UDF runs: the task's end frees the batches, the next job runs.
spark.conf.set("spark.gatun.udf.arrowInput.enabled", "true")
out.update(cancel_mid_job(spark, lambda: df.select(F.pandas_udf(slow, "double")("x")).collect(), node.encodedBatches))
out["after"] = df.select(F.pandas_udf(lambda s: s, "double")("x").alias("y")).agg(F.sum("y")).first()[0]
spark.stop()
print("RESULT " + json.dumps(out))
'''


def test_a_raising_udf_and_a_cancelled_job(tmp_path):
    out = run_session_script(FAILURE_CASE, str(gatun.pyspark.spark_jar()), cwd=tmp_path)
    # The worker's traceback reaches the driver as under stock.
    for on in ("false", "true"):
        assert out["raise_" + on].startswith("PythonException"), out
        assert "ValueError: boom-16 at the UDF" in out["raise_" + on], out
        assert "in boom" in out["raise_" + on], out
    assert out["handled_before_cancel"] >= 4, out
    assert out["cancelled"] is not None and "cancel" in out["cancelled"].lower(), out
    assert out["arrow_bytes_after_cancel"] == 0, out
    # The Python runner here is Spark's own (the ArrowEvalPythonExec is not replaced), and Spark
    # closes its writer's allocator only when the writer reaches the end of its input, which a
    # cancelled task may not: that allocator may stay open, as under stock, but holds nothing, since
    # the batches are Arrow and go out by the direct path. Everything else is closed.
    assert all(name.startswith("stdout writer for ") and held == 0
               for name, held in out["arrow_allocators_after_cancel"]), out
    assert out["after"] == float(sum(range(200_000)))
