"""PySpark Arrow cases run twice: over Gatun in test_pyspark_arrow.py, and over stock PySpark (Py4J)
by running this file as a script, which pickles its results for the test to compare.

Each case takes a SparkSession configured by `configure()` and returns a picklable outcome: the
value (pandas DataFrame, pyarrow Table, rows), or the error and the warnings it raised.
"""
from __future__ import annotations

import datetime as dt
import decimal
import pickle
import sys
import warnings

TIME_ZONE = "America/Los_Angeles"  # not UTC, with DST: time zone handling shows
ROWS = 1_000
BATCH_ROWS = 100  # several batches per partition


def configure(builder):
    return (builder.master("local[2]").appName("gatun-arrow-cases")
            .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "3")
            .config("spark.sql.session.timeZone", TIME_ZONE)
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(BATCH_ROWS)))


# Every type Spark's Arrow conversion supports, with a null in every nullable column every 7th row.
ALL_TYPES_SQL = f"""
select id,
  cast(id % 128 as tinyint) as i8, cast(id as smallint) as i16, cast(id as int) as i32, id * 1000000007 as i64,
  cast(id / 3 as float) as f32, cast(id as double) / 7 as f64,
  cast(id / 100 as decimal(10, 2)) as dec, cast(id as decimal(38, 10)) / 3 as dec38,
  id % 2 = 0 as flag,
  case when id % 7 = 0 then null else concat('s', id, ' é') end as str,
  case when id % 7 = 1 then null else cast(concat('b', id) as binary) end as bin,
  date_add(date'1969-12-25', cast(id as int)) as day,
  case when id % 7 = 2 then null
       else timestamp'2024-03-10 01:30:00' + make_interval(0, 0, 0, 0, 0, cast(id as int), 0) end as ts,
  timestamp_ntz'2024-11-03 01:30:00' + make_interval(0, 0, 0, 0, cast(id as int), 0, 0) as ts_ntz,
  case when id % 7 = 3 then null else array(cast(id as int), null, 2) end as arr,
  case when id % 7 = 4 then null else map('k', id, 'n', null) end as m,
  case when id % 7 = 5 then null else named_struct('a', id, 'b', concat('x', id), 'c', array(1.5D, null)) end as st,
  array(named_struct('p', id, 'q', map(1, 'one'))) as nested
from range(0, {ROWS}, 1, 4)
"""


def _outcome(fn):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            value, error = fn(), None
        except Exception as e:  # noqa: BLE001 - the error itself is the outcome
            value, error = None, (type(e).__name__, (str(e).splitlines() or [""])[0])
    return {"value": value, "error": error,
            "warnings": [str(w.message).splitlines()[0] for w in seen if issubclass(w.category, UserWarning)]}


def sample_pandas():
    """A pandas DataFrame of the types createDataFrame converts with Arrow."""
    import numpy as np
    import pandas as pd

    n = 400
    ts = pd.date_range("2024-03-11 12:00", periods=n, freq="37min")  # clear of DST changes
    return pd.DataFrame({
        "i64": np.arange(n, dtype="int64"),
        "i32": np.arange(n, dtype="int32") - 500,
        "f64": np.linspace(-1, 1, n),
        "f32": np.linspace(0, 1, n, dtype="float32"),
        "flag": np.arange(n) % 3 == 0,
        "str": [None if i % 11 == 0 else f"row {i} ü" for i in range(n)],
        "bin": [bytes([i % 256, 0, 255]) for i in range(n)],
        "dec": [decimal.Decimal(i) / 8 for i in range(n)],
        "day": [dt.date(2000, 1, 1) + dt.timedelta(days=i) for i in range(n)],
        "ts": ts,
        "ts_tz": ts.tz_localize("Asia/Kolkata"),
        "arr": [[i, i + 1] for i in range(n)],
        "opt": pd.array([None if i % 5 == 0 else i for i in range(n)], dtype="Int64"),
    })


def sample_arrow():
    """A pyarrow Table with nested types, nulls and a non-UTC time zone."""
    import pyarrow as pa

    n = 400
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "name": pa.array([None if i % 9 == 0 else f"n{i}" for i in range(n)], pa.string()),
        "big": pa.array([f"l{i}" for i in range(n)], pa.large_string()),
        "dec": pa.array([decimal.Decimal(i) / 4 for i in range(n)], pa.decimal128(12, 2)),
        "ts": pa.array([dt.datetime(2024, 3, 10, 9, 59) + dt.timedelta(minutes=i) for i in range(n)],
                       pa.timestamp("us", tz="Europe/Paris")),
        "ts_ntz": pa.array([dt.datetime(2021, 1, 1) + dt.timedelta(hours=i) for i in range(n)], pa.timestamp("us")),
        "st": pa.array([{"a": i, "b": [i, None]} for i in range(n)],
                       pa.struct([("a", pa.int32()), ("b", pa.list_(pa.int64()))])),
        "m": pa.array([[("k", i)] if i % 4 else None for i in range(n)], pa.map_(pa.string(), pa.int64())),
    })


def _rows(df):
    return [r.asDict(recursive=True) for r in df.orderBy(df.columns[0]).collect()], df.schema.simpleString()


def _all_types(spark):
    return spark.sql(ALL_TYPES_SQL)


def _pandas_rows(spark, pdf, schema=None):
    return _rows(spark.createDataFrame(pdf, schema))


# name -> function of a SparkSession computing the outcome's value.
CASES = {
    "toPandas all types": lambda spark: _all_types(spark).toPandas(),
    # PySpark's toArrow() fails on a nullable struct with non-null fields: so must Gatun.
    "toArrow all types": lambda spark: _all_types(spark).toArrow(),
    "toArrow most types": lambda spark: _all_types(spark).drop("st").toArrow(),
    "toPandas batch order": lambda spark: spark.range(0, 20_000, 1, 7).selectExpr(
        "id", "spark_partition_id() p").toPandas(),
    "toPandas after shuffle": lambda spark: spark.range(5_000).selectExpr("id % 10 k", "id").groupBy(
        "k").count().orderBy("k").toPandas(),
    "toPandas self-destruct": lambda spark: with_conf(
        spark, "spark.sql.execution.arrow.pyspark.selfDestruct.enabled", "true", lambda: _all_types(spark).toPandas()),
    "toPandas empty": lambda spark: _all_types(spark).where("id < 0").toPandas(),
    "toArrow empty": lambda spark: _all_types(spark).where("id < 0").toArrow(),
    "toPandas no columns": lambda spark: spark.range(3).select().toPandas(),
    "toPandas unsupported type falls back": lambda spark: spark.sql(
        "select interval '1-2' year to month ym").toPandas(),
    "toPandas job failure": lambda spark: spark.range(10).selectExpr("raise_error('boom')").toPandas(),
    "createDataFrame pandas": lambda spark: _pandas_rows(spark, sample_pandas()),
    "createDataFrame pandas with schema": lambda spark: _pandas_rows(
        spark, sample_pandas()[["i64", "str", "ts"]], "a long, b string, c timestamp"),
    "createDataFrame pandas round trip": lambda spark: spark.createDataFrame(sample_pandas()).toPandas(),
    "createDataFrame pandas DST gap falls back": lambda spark: _pandas_rows(
        spark, pd_frame({"t": ["2024-03-10 02:30"]}, datetimes=True)),
    "createDataFrame pandas falls back": lambda spark: _pandas_rows(spark, pd_frame({"a": [1, "x", 2.5]})),
    "createDataFrame arrow": lambda spark: _rows(spark.createDataFrame(sample_arrow())),
    "createDataFrame arrow round trip": lambda spark: spark.createDataFrame(sample_arrow()).toArrow(),
    "createDataFrame arrow empty": lambda spark: _rows(spark.createDataFrame(sample_arrow().slice(0, 0))),
    "createDataFrame arrow bad schema": lambda spark: spark.createDataFrame(sample_arrow(), "id string"),
}
CASE_NAMES = list(CASES)


def with_conf(spark, key, value, fn):
    old = spark.conf.get(key, None)
    spark.conf.set(key, value)
    try:
        return fn()
    finally:
        spark.conf.unset(key) if old is None else spark.conf.set(key, old)


def pd_frame(columns, datetimes=False):
    import pandas as pd

    frame = pd.DataFrame(columns)
    return frame.apply(pd.to_datetime) if datetimes else frame


def run_all(spark):
    return {name: _outcome(lambda: fn(spark)) for name, fn in CASES.items()}


if __name__ == "__main__":
    # Stock PySpark (Py4J): the reference the Gatun side must equal.
    from pyspark.sql import SparkSession

    session = configure(SparkSession.builder).getOrCreate()
    try:
        results = run_all(session)
    finally:
        session.stop()
    with open(sys.argv[1], "wb") as f:
        pickle.dump(results, f)
