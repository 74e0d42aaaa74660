"""mapInArrow and mapInPandas over Gatun's planner extension (dev.gatun.spark.udf.GatunMapInBatchExec,
issue 16): over a cached relation and a Parquet scan the operator is replaced and the child's
batches go to Python as Arrow. Checked against stock Spark in the same session: the same rows
(nulls, strings, decimals, nested columns, empty partitions), the same batches seen by the Python
function (record and byte limits), a raising function's traceback, a wrong return type, a job
cancelled mid-function, and one cancelled while its function is stuck (the workers killed; after
each, every task allocator closed and Arrow memory back to 0), Spark 4.3's pipelined writer mode,
and the off switch. One real local SparkSession
(stock PySpark over Py4J, the extension from the bundled gatun-spark.jar) in a subprocess."""
from __future__ import annotations

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

import gatun.pyspark  # noqa: E402
from session_script import run_session_script  # noqa: E402

if gatun.pyspark.spark_line() is None or gatun.pyspark.spark_line() < (4, 2):
    pytest.skip("the map-in-batch node needs Spark 4.2's columnar Python runner", allow_module_level=True)

CASE = r'''
import json, os, sys, time
import pandas as pd
import pyarrow as pa
from pyspark.sql import SparkSession, functions as F
from spark_cancel import cancel_mid_job

jar, parquet_dir = sys.argv[1], sys.argv[2]
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.extraClassPath", jar)
         .config("spark.sql.extensions", "dev.gatun.spark.udf.GatunSparkExtensions")
         .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
         .getOrCreate())
spark.sparkContext.setLogLevel("OFF")
jvm = spark.sparkContext._jvm
node = jvm.dev.gatun.spark.udf.GatunMapInBatchExec

base = spark.range(0, 25_003, numPartitions=2).selectExpr(
    "id",
    "CASE WHEN id % 7 = 0 THEN NULL ELSE cast(id AS double) * 0.5 END AS x",
    "CASE WHEN id % 11 = 0 THEN NULL ELSE cast(id AS int) END AS i",
    "CASE WHEN id % 3 = 0 THEN NULL ELSE id % 2 = 0 END AS b",
    # strings of very different lengths, so byte limits cut batches unevenly
    "CASE WHEN id % 5 = 0 THEN NULL ELSE concat('s', id, repeat('日本', cast(id % 40 AS int))) END AS s",
    "CASE WHEN id % 13 = 0 THEN NULL ELSE cast(id / 3 AS decimal(12, 3)) END AS dec",
    "CASE WHEN id % 17 = 0 THEN NULL ELSE array(id, id + 1) END AS arr",
    "named_struct('a', id % 4, 'b', CASE WHEN id % 6 = 0 THEN NULL ELSE concat('n', id) END) AS st",
)
cached = base.select("id", "x", "i", "b").cache()
cached.count()
base.write.parquet(parquet_dir)
parquet = spark.read.parquet(parquet_dir)
# 3 rows over 4 partitions: one partition is empty.
sparse = spark.range(0, 3, numPartitions=4).selectExpr("id", "cast(id AS double) AS x").cache()
sparse.count()

def batches_seen(it):
    for b in it:
        yield pa.RecordBatch.from_pydict({"n": [b.num_rows], "first": [b.column(0)[0].as_py()]})

def frames_seen(it):
    for p in it:
        yield pd.DataFrame({"n": [len(p)], "first": [int(p["id"].iloc[0])]})

queries = {
    "arrow_cache": lambda: cached.mapInArrow(lambda it: it, cached.schema),
    "arrow_parquet": lambda: parquet.mapInArrow(lambda it: it, parquet.schema),
    "pandas_cache": lambda: cached.mapInPandas(lambda it: it, cached.schema),
    "pandas_parquet": lambda: parquet.select("id", "x", "i", "b", "s", "dec").mapInPandas(
        lambda it: it, "id long, x double, i int, b boolean, s string, dec decimal(12,3)"),
    "arrow_batches_cache": lambda: cached.mapInArrow(batches_seen, "n long, first long"),
    "arrow_batches_parquet": lambda: parquet.mapInArrow(batches_seen, "n long, first long"),
    "pandas_batches_parquet": lambda: parquet.select("id", "s").mapInPandas(frames_seen, "n long, first long"),
    "arrow_sparse": lambda: sparse.mapInArrow(lambda it: it, sparse.schema),
}

def run(q, on):
    spark.conf.set("spark.gatun.udf.arrowInput.enabled", on)
    df = q()
    before = node.sentBatches()
    rows = sorted((tuple(None if v is None else str(v) for v in r) for r in df.collect()))
    return {"rows": rows, "plan": df._jdf.queryExecution().executedPlan().toString(),
            "sent": node.sentBatches() - before}

out = {}
for limit in ("records", "bytes"):
    if limit == "bytes":
        spark.conf.set("spark.sql.execution.arrow.maxBytesPerBatch", "20000")
    for name, q in queries.items():
        out[limit + ":" + name] = {"stock": run(q, "false"), "gatun": run(q, "true")}
spark.conf.unset("spark.sql.execution.arrow.maxBytesPerBatch")

def boom(it):
    for b in it:
        if pa.compute.max(b.column(0)).as_py() > 20_000:
            raise ValueError("boom-16 in mapInArrow")
        yield b

def wrong_type(it):
    for b in it:
        yield pa.RecordBatch.from_pydict({"id": pa.array([str(v) for v in b.column(0).to_pylist()])})

spark.conf.set("spark.sql.execution.arrow.pyspark.validateSchema.enabled", "true")
for on in ("false", "true"):
    spark.conf.set("spark.gatun.udf.arrowInput.enabled", on)
    for name, f, schema in (("raise", boom, cached.schema), ("wrong_type", wrong_type, "id long")):
        try:
            cached.mapInArrow(f, schema).collect()
            out[name + "_" + on] = "no error"
        except Exception as e:
            out[name + "_" + on] = type(e).__name__ + ": " + str(e)

# A job cancelled while its function runs: the task's end frees the Arrow memory, the next job runs.
def slow(it):
    for b in it:
        time.sleep(0.05)
        yield b

big = spark.range(0, 200_000, numPartitions=2).selectExpr("id", "cast(id AS double) AS x").cache()
big.count()
spark.conf.set("spark.gatun.udf.arrowInput.enabled", "true")
out.update(cancel_mid_job(spark, lambda: big.mapInArrow(slow, big.schema).collect(), node.sentBatches))
out["after"] = big.mapInArrow(lambda it: it, big.schema).agg(F.sum("x")).first()[0]

# A job cancelled while its function is stuck, with more input queued for each worker than the
# sockets hold (48 MB a partition): the task cannot drain, so Spark kills the worker after
# spark.python.task.killTimeout and the task ends before the runner's writer reaches the end of
# its input, which is when Spark itself frees the writer.
pids = os.path.join(os.path.dirname(parquet_dir), "stuck-pids")
os.makedirs(pids)

def stuck(it):
    for i, b in enumerate(it):
        if i == 2:
            open(os.path.join(pids, str(os.getpid())), "w").close()
            time.sleep(600)
        yield b

huge = spark.range(0, 6_000_000, numPartitions=2).selectExpr("id", "cast(id AS double) AS x").cache()
huge.count()
# Cancelled once both workers are stuck and the node has stopped sending (the sockets are full):
# cancelled earlier, the writer would still be running and would see the end of its input.
sent = {"count": -1, "since": time.monotonic()}

def stuck_and_full():
    count = node.sentBatches()
    if count != sent["count"]:
        sent.update(count=count, since=time.monotonic())
    return len(os.listdir(pids)) if time.monotonic() - sent["since"] > 0.5 else 0

stalled = cancel_mid_job(spark, lambda: huge.mapInArrow(stuck, huge.schema).collect(), stuck_and_full,
                         at_least=2, group="gatun-stuck")
out["stuck_sent_before_cancel"] = sent["count"]
out.update({"stuck_" + k: v for k, v in stalled.items()})

def running(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

out["stuck_workers"] = len(os.listdir(pids))
out["stuck_workers_running"] = [p for p in os.listdir(pids) if running(p)]
huge.unpersist()
spark.stop()
print("RESULT " + json.dumps(out))
'''


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("map_in_batch")
    return run_session_script(CASE, str(gatun.pyspark.spark_jar()), str(tmp / "data.parquet"), cwd=tmp, timeout=900)


QUERIES = [f"{limit}:{name}" for limit in ("records", "bytes") for name in (
    "arrow_cache", "arrow_parquet", "pandas_cache", "pandas_parquet", "arrow_batches_cache",
    "arrow_batches_parquet", "pandas_batches_parquet", "arrow_sparse")]


@pytest.mark.parametrize("name", QUERIES)
def test_same_rows_and_batches_as_stock(results, name):
    r = results[name]
    operator = "MapInPandas" if ":pandas" in name else "MapInArrow"
    assert "Gatun" + operator in r["gatun"]["plan"], r["gatun"]["plan"]
    assert "Gatun" not in r["stock"]["plan"], r["stock"]["plan"]
    assert r["gatun"]["sent"] >= (3 if name.endswith("sparse") else 2), r["gatun"]["sent"]
    assert r["stock"]["sent"] == 0
    assert r["stock"]["rows"], name
    first = next((i for i, (a, b) in enumerate(zip(r["gatun"]["rows"], r["stock"]["rows"])) if a != b), None)
    assert r["gatun"]["rows"] == r["stock"]["rows"], (
        f"{len(r['gatun']['rows'])} rows vs stock's {len(r['stock']['rows'])}; first difference at {first}: "
        f"{r['gatun']['rows'][first:first + 1]} vs {r['stock']['rows'][first:first + 1]}")


def test_the_byte_limit_really_cuts_batches(results):
    # Under the 20,000-byte limit the Parquet rows (long strings) arrive in many more, uneven
    # batches than the 1,000-row limit alone gives: the limit is exercised, not only matched.
    records = results["records:arrow_batches_parquet"]["stock"]["rows"]
    by_bytes = results["bytes:arrow_batches_parquet"]["stock"]["rows"]
    assert len(by_bytes) > 2 * len(records), (len(records), len(by_bytes))
    assert len({n for n, _ in by_bytes}) > 5


def test_a_raising_function_reaches_the_driver_as_under_stock(results):
    for on in ("false", "true"):
        err = results["raise_" + on]
        assert err.startswith("PythonException"), err
        assert "ValueError: boom-16 in mapInArrow" in err, err
        assert "in boom" in err, err


def test_a_wrong_return_type_fails_as_under_stock(results):
    stock, gatun = results["wrong_type_false"], results["wrong_type_true"]
    assert stock != "no error"
    assert gatun.split(":", 1)[0] == stock.split(":", 1)[0], (stock, gatun)
    assert ("ARROW_TYPE_MISMATCH" in stock) == ("ARROW_TYPE_MISMATCH" in gatun), (stock, gatun)


def test_a_cancelled_job_frees_the_arrow_memory(results):
    assert results["handled_before_cancel"] >= 4, results
    assert results["cancelled"] is not None and "cancel" in results["cancelled"].lower(), results
    assert results["arrow_bytes_after_cancel"] == 0, results
    assert results["arrow_allocators_after_cancel"] == [], results
    assert results["after"] == float(sum(range(200_000)))


def test_a_job_cancelled_while_its_function_is_stuck_frees_the_worker_and_the_arrow_memory(results):
    """Spark kills the stuck workers; each task ends with input still queued for its worker, and
    the node frees the runner's writer as well as its own buffers."""
    assert results["stuck_handled_before_cancel"] == 2, results
    assert results["stuck_cancelled"] is not None and "cancel" in results["stuck_cancelled"].lower(), results
    assert results["stuck_workers"] >= 1, results
    assert results["stuck_workers_running"] == [], results
    assert results["stuck_arrow_bytes_after_cancel"] == 0, results
    assert results["stuck_arrow_allocators_after_cancel"] == [], results


PIPELINED_CASE = r'''
import json, sys, time
import pyarrow as pa
from pyspark.sql import SparkSession, functions as F
from spark_cancel import cancel_mid_job

spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.extraClassPath", sys.argv[1])
         .config("spark.sql.extensions", "dev.gatun.spark.udf.GatunSparkExtensions")
         .config("spark.python.udf.pipelined.enabled", "true")
         .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
         .getOrCreate())
spark.sparkContext.setLogLevel("OFF")
node = spark.sparkContext._jvm.dev.gatun.spark.udf.GatunMapInBatchExec
cached = spark.range(0, 100_003, numPartitions=2).selectExpr(
    "id", "CASE WHEN id % 7 = 0 THEN NULL ELSE cast(id AS double) * 0.5 END AS x",
    "CASE WHEN id % 3 = 0 THEN NULL ELSE id % 2 = 0 END AS b").cache()
cached.count()

def sizes(it):
    for b in it:
        yield pa.RecordBatch.from_pydict({"n": [b.num_rows], "x": [pa.compute.sum(b.column(1)).as_py()]})

out = {}
for on in ("false", "true"):
    spark.conf.set("spark.gatun.udf.arrowInput.enabled", on)
    before = node.sentBatches()
    out["rows_" + on] = sorted(map(list, cached.mapInArrow(lambda it: it, cached.schema).collect()),
                               key=lambda r: r[0])[::997]
    out["batches_" + on] = sorted(map(list, cached.mapInArrow(sizes, "n long, x double").collect()))
    out["sent_" + on] = node.sentBatches() - before
# the mode is on: Spark's writer pool has threads (kept alive a while after their last task)
out["pipelined_writer_threads"] = sum(
    t.getName().startswith("python-udf-pipelined-writer")
    for t in spark.sparkContext._jvm.java.lang.Thread.getAllStackTraces().keySet())

def slow(it):
    for b in it:
        time.sleep(0.05)
        yield b

out.update(cancel_mid_job(spark, lambda: cached.mapInArrow(slow, cached.schema).collect(), node.sentBatches))
spark.stop()
print("RESULT " + json.dumps(out))
'''


def test_spark_pipelined_writer_mode_gives_stock_rows_and_batches_and_frees_on_cancel(tmp_path):
    """Spark 4.3's spark.python.udf.pipelined.enabled runs the runner's writer, and so this node's
    input, on a thread of its own; Spark stops that thread before the task's listeners run."""
    if gatun.pyspark.spark_line() < (4, 3):
        pytest.skip("spark.python.udf.pipelined.enabled is new in Spark 4.3")
    out = run_session_script(PIPELINED_CASE, str(gatun.pyspark.spark_jar()), cwd=tmp_path)
    assert out["pipelined_writer_threads"] >= 1, out
    assert out["rows_true"] == out["rows_false"]
    assert out["batches_true"] == out["batches_false"]
    assert out["sent_false"] == 0 and out["sent_true"] >= 100, out
    assert out["cancelled"] is not None and "cancel" in out["cancelled"].lower(), out
    assert out["arrow_bytes_after_cancel"] == 0, out
    assert out["arrow_allocators_after_cancel"] == [], out
