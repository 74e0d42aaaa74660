"""A real local SparkSession running over Gatun (spark-submit starts the driver with Gatun's main class)."""
from __future__ import annotations

import os
import sys
import threading
import time

import pytest

pyspark = pytest.importorskip("pyspark", reason="pyspark is part of the dev dependencies (make venv)")

import gatun.pyspark  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers run this venv's interpreter
    os.environ.setdefault("PYTHONHASHSEED", "0")
    gatun.pyspark.install()
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("gatun-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
               .getOrCreate())
    yield session
    session.stop()


def test_session_runs_over_gatun(spark):
    assert gatun.pyspark.bridge(spark) == "gatun"
    assert gatun.pyspark.bridge(spark.sparkContext) == "gatun"


def test_sql_and_dataframe_operations(spark):
    from pyspark.sql import functions as F

    df = spark.range(100).withColumn("sq", F.col("id") * F.col("id")).filter("id % 2 = 0")
    assert df.count() == 50
    assert df.columns == ["id", "sq"]
    assert df.agg(F.sum("sq")).collect()[0][0] == sum(i * i for i in range(0, 100, 2))
    assert spark.sql("select 1 + 1 as two").collect()[0].two == 2
    grouped = spark.range(10).groupBy((F.col("id") % 3).alias("k")).count().orderBy("k").collect()
    assert [(r.k, r["count"]) for r in grouped] == [(0, 4), (1, 3), (2, 3)]


def test_wide_select_of_column_expressions(spark):
    from pyspark.sql import functions as F

    df = spark.range(3)
    cols = [(F.col("id") + i).alias(f"c{i}") for i in range(200)]
    out = df.select(*cols)
    assert len(out.columns) == 200
    assert out.collect()[2].c199 == 201


def test_python_udf(spark):
    from pyspark.sql.functions import udf
    from pyspark.sql.types import LongType

    plus_one = udf(lambda x: x + 1, LongType())
    spark.udf.register("plus_one", lambda x: x + 1, LongType())
    assert spark.range(3).select(plus_one("id").alias("y")).collect()[2].y == 3
    assert spark.sql("select plus_one(41) as v").collect()[0].v == 42


def test_parquet_round_trip(spark, tmp_path):
    path = str(tmp_path / "t.parquet")
    spark.range(20).selectExpr("id", "cast(id as string) as s").write.parquet(path)
    back = spark.read.parquet(path).orderBy("id").collect()
    assert len(back) == 20 and back[7].s == "7"


def test_errors_are_pyspark_exceptions(spark):
    from pyspark.errors import AnalysisException, ParseException

    with pytest.raises(AnalysisException) as info:
        spark.sql("select no_such_column from range(1)").collect()
    assert info.value.getCondition() == "UNRESOLVED_COLUMN.WITH_SUGGESTION"
    with pytest.raises(ParseException):
        spark.sql("selec 1")


def test_short_lived_objects_are_released(spark):
    """30,000 Column expressions (ten times the bound below), then 300 DataFrame operations, each dropped at once: the
    session's JVM registry stays bounded all along (released in batches, not at the end)."""
    from pyspark.sql import functions as F

    gatun_client = spark.sparkContext._gateway._gatun
    start = gatun_client.session_info()["objects"]
    peak = 0
    for i in range(30_000):
        F.col("id") + i
        if i % 2_000 == 0:
            peak = max(peak, gatun_client.session_info()["objects"] - start)
    df = spark.range(3)
    for i in range(300):  # each one analyses a plan in the JVM: milliseconds, not microseconds
        df.filter(F.col("id") > i).select("id")
        if i % 50 == 0:
            peak = max(peak, gatun_client.session_info()["objects"] - start)
    after = gatun_client.session_info()["objects"] - start
    assert peak < 3_000, f"{peak} objects alive at once while creating short-lived ones"
    assert after < 3_000, f"{after} objects left after the short-lived ones were dropped"


def test_job_group_cancellation_from_another_thread(spark):
    from pyspark import InheritableThread

    sc = spark.sparkContext
    outcome = {}

    def run():
        sc.setJobGroup("gatun-cancel", "a job to cancel", interruptOnCancel=True)
        try:
            sc.parallelize(range(2), 2).map(lambda x: time.sleep(60)).collect()
            outcome["result"] = "finished"
        except Exception as e:  # noqa: BLE001 - the cancellation error is what we want
            outcome["result"] = str(e)

    t = InheritableThread(target=run)
    t.start()
    deadline = time.monotonic() + 30
    while not sc.statusTracker().getJobIdsForGroup("gatun-cancel") and time.monotonic() < deadline:
        time.sleep(0.1)
    sc.cancelJobGroup("gatun-cancel")
    t.join(60)
    assert not t.is_alive()
    assert "cancel" in outcome["result"].lower()


def test_structured_streaming_foreach_batch(spark, tmp_path):
    seen = []
    lock = threading.Lock()

    def on_batch(batch_df, batch_id):
        with lock:
            seen.append((batch_id, batch_df.count()))

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("x\ny\n")
    query = (spark.readStream.format("text").load(str(src)).writeStream.foreachBatch(on_batch)
             .option("checkpointLocation", str(tmp_path / "chk")).start())
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    assert seen and seen[0][1] == 2


def test_dstream_queue_stream_and_foreach_rdd(spark):
    """Legacy streaming: a queueStream's batches reach a Python foreachRDD (a callback from the JVM)."""
    from pyspark.streaming import StreamingContext

    sc = spark.sparkContext
    ssc = StreamingContext(sc, 0.2)
    batches = []
    rdds = [sc.parallelize(range(i * 10, i * 10 + 10), 2) for i in range(3)]
    ssc.queueStream(rdds, oneAtATime=True).map(lambda x: x * 2).foreachRDD(
        lambda rdd: batches.append(sorted(rdd.collect())))
    ssc.start()
    try:
        deadline = time.monotonic() + 60
        while len([b for b in batches if b]) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        ssc.stop(stopSparkContext=False, stopGraceFully=False)
    assert [b for b in batches if b] == [[2 * x for x in range(i * 10, i * 10 + 10)] for i in range(3)]
    assert spark.range(3).count() == 3  # the SparkContext outlives the StreamingContext


def test_dstream_with_checkpointing(spark, tmp_path):
    """A checkpointed DStream graph pickles its Python functions through gateway_property.pool, keyed
    by the id Spark reads from the callback proxy's handler on the JVM side."""
    from pyspark.streaming import StreamingContext

    ssc = StreamingContext(spark.sparkContext, 0.5)
    ssc.checkpoint(str(tmp_path / "chk"))
    incoming = tmp_path / "in"
    incoming.mkdir()
    lines = []
    ssc.textFileStream(str(incoming)).map(str.upper).foreachRDD(lambda rdd: lines.extend(rdd.collect()))
    ssc.start()
    try:
        time.sleep(1.0)
        staged = tmp_path / "part.txt"
        staged.write_text("a\nb\n")
        os.rename(staged, incoming / "part.txt")  # the stream sees whole files only
        deadline = time.monotonic() + 60
        while len(lines) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        ssc.stop(stopSparkContext=False, stopGraceFully=False)
    assert sorted(lines) == ["A", "B"]
    assert any((tmp_path / "chk").iterdir()), "no checkpoint was written"
