"""PySpark's Arrow paths (toPandas, toArrow, createDataFrame from pandas and pyarrow) over Gatun.

The cases in arrow_cases.py run over Gatun here and over stock PySpark (Py4J) in a subprocess;
every outcome (value, dtypes, error, warnings) must be the same. Other
tests check that the data really went through Gatun (no socket, no temp file), batch order when
partitions finish out of order, and a few values against what they must be.
"""
from __future__ import annotations

import datetime as dt
import decimal
import logging
import math
import os
import pickle
import subprocess
import sys

import pytest

pyspark = pytest.importorskip("pyspark", reason="pyspark is part of the dev dependencies (make venv)")
pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
np = pytest.importorskip("numpy")

import arrow_cases  # noqa: E402
import gatun.pyspark  # noqa: E402

STOCK_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def stock_results(tmp_path_factory):
    """The cases over stock PySpark, computed in a subprocess (after the Gatun side: on a 2-core
    machine two drivers at once only slow each other down)."""
    out = tmp_path_factory.mktemp("stock") / "results.pkl"
    log_path = out.with_suffix(".log")
    env = {k: v for k, v in os.environ.items() if k != "GATUN_PYSPARK"}
    env["PYSPARK_PYTHON"] = sys.executable
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, arrow_cases.__file__, str(out)], env=env,
                                stdout=log_file, stderr=subprocess.STDOUT)
    results = {}

    def get():
        if not results:
            try:
                code = proc.wait(STOCK_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
            assert code == 0, f"stock PySpark run failed ({code}):\n{log_path.read_text()[-5000:]}"
            results.update(pickle.loads(out.read_bytes()))
        return results

    yield get
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    gatun.pyspark.install()
    from pyspark.sql import SparkSession

    session = arrow_cases.configure(SparkSession.builder).getOrCreate()
    assert gatun.pyspark.bridge(session) == "gatun"
    yield session
    session.stop()


@pytest.fixture(scope="module")
def gatun_results(spark):
    return arrow_cases.run_all(spark)


def _plain(v):
    """A comparable, readable form of an outcome: exact values and types, NaN equal to NaN."""
    if isinstance(v, pd.DataFrame):
        return {"columns": list(v.columns), "dtypes": [str(t) for t in v.dtypes], "index": list(v.index),
                "rows": [[_plain(c) for c in row] for row in v.itertuples(index=False, name=None)]}
    if isinstance(v, pa.Table):
        return {"schema": v.schema.to_string(show_schema_metadata=True),
                "chunks": [c.num_chunks for c in v.columns][:1],
                "rows": _plain(v.to_pylist())}
    if isinstance(v, np.ndarray):
        return ("ndarray", str(v.dtype), [_plain(x) for x in v.tolist()])
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, [_plain(x) for x in v])
    if isinstance(v, float) and math.isnan(v):
        return ("nan", type(v).__name__)
    if isinstance(v, np.generic):
        return (type(v).__name__, _plain(v.item()))
    if v is pd.NaT:
        return "NaT"
    if isinstance(v, pd.Timestamp):
        return ("Timestamp", v.isoformat(), str(v.tz), v.unit)
    return v


@pytest.mark.parametrize("name", arrow_cases.CASE_NAMES)
def test_same_as_stock_pyspark(name, gatun_results, stock_results):
    ours, theirs = gatun_results[name], stock_results()[name]
    assert ours["error"] == theirs["error"]
    assert ours["warnings"] == theirs["warnings"]
    assert _plain(ours["value"]) == _plain(theirs["value"])


def test_cases_mostly_take_the_arrow_path(gatun_results):
    # Guards the comparison above: most cases must succeed with Arrow, not fall back or fail.
    clean = [n for n, o in gatun_results.items() if o["error"] is None and not o["warnings"]]
    assert len(clean) >= 12, gatun_results


def test_data_goes_through_gatun(spark, monkeypatch, caplog):
    import pyspark.core.context as context
    import pyspark.sql.pandas.conversion as conversion

    used = []
    for module, name in ((conversion, "_load_from_socket"), (context, "NamedTemporaryFile"),
                         (context, "local_connect_and_auth")):
        real = getattr(module, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            used.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    jvm = spark.sparkContext._jvm
    collector, inbox = jvm.dev.gatun.spark.ArrowBatchCollector, jvm.dev.gatun.spark.ArrowBatchInbox
    collected, received = collector.started(), inbox.received()
    caplog.set_level(logging.DEBUG, logger="gatun.pyspark")

    df = spark.range(1000).selectExpr("id", "cast(id as string) s")
    pdf = df.toPandas()
    table = df.toArrow()
    back = spark.createDataFrame(pdf)
    back_arrow = spark.createDataFrame(table)

    assert used == []
    assert collector.started() - collected == 2
    assert inbox.received() - received == 20  # maxRecordsPerBatch is 100
    assert back.count() == back_arrow.count() == 1000
    transports = [r.getMessage() for r in caplog.records if r.name == "gatun.pyspark"]
    assert sum("from the JVM over Gatun" in m for m in transports) == 2, transports
    assert sum("to the JVM over Gatun" in m for m in transports) == 2, transports


def test_batches_come_in_partition_order_when_partitions_finish_out_of_order(spark):
    # Partition 0 finishes last; every partition has several batches.
    df = spark.range(0, 4000, 1, 4).selectExpr(
        "id", "if(spark_partition_id() = 0 and id = 0, reflect('java.lang.Thread', 'sleep', 1500L), null) as pause")
    ids = df.toPandas()["id"].tolist()
    assert ids == list(range(4000))
    assert df.toArrow().column("id").to_pylist() == list(range(4000))


def test_job_failure_is_the_pyspark_exception(spark):
    from pyspark.errors import SparkRuntimeException

    with pytest.warns(UserWarning, match="can not continue"):
        with pytest.raises(SparkRuntimeException) as info:
            spark.range(10).selectExpr("raise_error('boom')").toPandas()
    assert info.value.getCondition() == "USER_RAISED_EXCEPTION"


def test_values_types_and_time_zone(gatun_results):
    pdf = gatun_results["toPandas all types"]["value"]
    assert {c: str(t) for c, t in pdf.dtypes.items() if c in ("i8", "i16", "i32", "i64", "f32", "f64", "flag")} == {
        "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64", "f32": "float32", "f64": "float64",
        "flag": "bool"}
    assert len(pdf) == arrow_cases.ROWS and pdf["id"].tolist() == list(range(arrow_cases.ROWS))
    row = pdf.iloc[20]  # 20 % 7 == 6: no nulls in this row
    assert row["dec"] == decimal.Decimal("0.20") and row["str"] == "s20 é" and row["bin"] == b"b20"
    assert row["day"] == dt.date(1970, 1, 14)
    # Session time zone America/Los_Angeles: timestamps come back as naive wall-clock times there,
    # across the DST change of 2024-03-10 (the 01:30 literal plus 40 minutes is 03:10, not 02:10).
    assert pdf.iloc[40]["ts"] == pd.Timestamp("2024-03-10 03:10:00")
    assert pd.isna(pdf.iloc[2]["ts"])
    # Nested values as PySpark makes them with Arrow: structs and maps as dicts, arrays as numpy
    # arrays (nulls in them become NaN; a nested number may become float).
    assert row["st"]["a"] == 20 and row["st"]["b"] == "x20"
    assert row["st"]["c"][0] == 1.5 and np.isnan(row["st"]["c"][1])
    assert row["arr"][0] == 20 and np.isnan(row["arr"][1]) and row["m"] == {"k": 20, "n": None}
    assert pdf.iloc[20]["ts_ntz"] == pd.Timestamp("2024-11-03 21:30:00")  # no time zone, no DST shift
    assert pdf.iloc[5]["st"] is None and pdf.iloc[4]["m"] is None


def test_arrow_disabled_gives_the_same_frame(spark):
    df = spark.range(0, 500, 1, 3).selectExpr("id", "cast(id as double) / 3 as f", "cast(id as string) s",
                                              "id % 2 = 0 as b")
    with_arrow = df.toPandas()
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "false")
    try:
        without = df.toPandas()
    finally:
        spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    pd.testing.assert_frame_equal(with_arrow, without)


def _in_arena(arena, table):
    """Whether every buffer of every column of `table` lies inside the arena mapping."""
    buffers = [b for col in table.columns for chunk in col.chunks for b in chunk.buffers() if b is not None]
    assert buffers
    return all(arena.address <= b.address and b.address + b.size <= arena.address + arena.size for b in buffers)


def test_batches_cross_the_arena_both_ways(spark, monkeypatch):
    import gatun.arrow

    client = spark.sparkContext._gateway._gatun
    arena = client._arrow_arena()
    written = []
    real_write = gatun.arrow.Arena.write_batch

    def spy(self, *args, **kwargs):
        result = real_write(self, *args, **kwargs)
        written.append(result)
        return result

    monkeypatch.setattr(gatun.arrow.Arena, "write_batch", spy)
    batch_rows = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "700")
    try:
        df = spark.range(0, 5000, 1, 3).selectExpr("id", "concat('v', cast(id as string)) s")
        # JVM -> Python: toArrow()'s table is read in place: its buffers are the arena's memory.
        table = df.toArrow()
        assert table.column("id").to_pylist() == list(range(5000))
        assert table.column("id").num_chunks > 3  # several batches per partition
        assert _in_arena(arena, table)
        # Python -> JVM: every batch was written into an arena span (an offset, not bytes), and
        # Spark received each as one batch, in order.
        received = spark.sparkContext._jvm.dev.gatun.spark.ArrowBatchInbox.received()
        pdf = pd.DataFrame({"id": np.arange(5000), "s": [f"v{i}" for i in range(5000)]})
        back = spark.createDataFrame(pdf)
        assert len(written) == 8 and all(isinstance(w, int) for w in written), written
        assert spark.sparkContext._jvm.dev.gatun.spark.ArrowBatchInbox.received() - received == 8
        pd.testing.assert_frame_equal(back.toPandas(), pdf)
        del table
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", batch_rows)


def test_frames_larger_than_the_arena_stay_in_shared_memory(spark, monkeypatch):
    """toArrow/toPandas of 32 MiB through an 8 MiB arena: the batches continue in extension arenas
    (spec/arrow.md §4.1) and are read there in place; none is copied out of an arena."""
    import gatun.arrow

    client = spark.sparkContext._gateway._gatun
    # A fresh, smaller root arena for this test (the session's own comes back afterwards).
    monkeypatch.setattr(client, "_arrow", None)
    monkeypatch.setattr(client, "_arrow_arena_bytes", 8 << 20)
    grown, copied = [], []
    real_grow, real_copy = gatun.arrow._Held.grow, gatun.arrow.Arena.copy_batch

    def grow(self):
        grown.append(real_grow(self))
        return grown[-1]

    def copy_batch(self, offset, schema):
        copied.append(offset)
        return real_copy(self, offset, schema)

    monkeypatch.setattr(gatun.arrow._Held, "grow", grow)
    monkeypatch.setattr(gatun.arrow.Arena, "copy_batch", copy_batch)
    n = 2_000_000
    df = spark.range(0, n, 1, 2).selectExpr("id", "cast(id as double) d")
    table = df.toArrow()
    arena = client._arrow_arena()
    assert arena.size == 8 << 20 and len(arena.extensions) >= 2 and all(grown)
    buffers = [b for col in table.columns for chunk in col.chunks for b in chunk.buffers() if b is not None]
    assert all(any(a.contains(b.address, b.size) for a in [arena, *arena.extensions]) for b in buffers)
    np.testing.assert_array_equal(table.column("id").to_numpy(), np.arange(n))
    del table, buffers
    grown.clear()
    pdf = df.toPandas()
    assert grown and all(grown) and copied == []
    np.testing.assert_array_equal(pdf["id"].to_numpy(), np.arange(n))
    np.testing.assert_array_equal(pdf["d"].to_numpy(), np.arange(n, dtype=np.float64))


def test_self_destruct_streams_through_the_arena(spark, monkeypatch):
    """With selfDestruct, toPandas of 32 MiB through an 8 MiB arena copies each batch out as it
    comes (PySpark wants an allocation per column), so the spans go back at once and no extension
    arena is made: the arena-backed table never exists whole."""
    import gatun.arrow

    client = spark.sparkContext._gateway._gatun
    monkeypatch.setattr(client, "_arrow", None)
    monkeypatch.setattr(client, "_arrow_arena_bytes", 8 << 20)
    grown = []
    real_grow = gatun.arrow._Held.grow
    monkeypatch.setattr(gatun.arrow._Held, "grow", lambda self: grown.append(1) or real_grow(self))
    n = 2_000_000
    df = spark.range(0, n, 1, 2).selectExpr("id", "cast(id as double) d")
    spark.conf.set("spark.sql.execution.arrow.pyspark.selfDestruct.enabled", "true")
    try:
        pdf = df.toPandas()
    finally:
        spark.conf.unset("spark.sql.execution.arrow.pyspark.selfDestruct.enabled")
    arena = client._arrow_arena()
    assert grown == [] and len(arena.extensions) == 0
    np.testing.assert_array_equal(pdf["id"].to_numpy(), np.arange(n))
    np.testing.assert_array_equal(pdf["d"].to_numpy(), np.arange(n, dtype=np.float64))
    assert arena.java.freeBytes() == arena.size - gatun.arrow.ARENA_DATA_OFFSET  # every span came back


def test_empty_frames_cross_without_batches(spark):
    table = pa.table({"a": pa.array([], pa.int64())})
    assert table.to_batches() == []  # nothing to send, not even a schema
    empty = spark.createDataFrame(table)
    assert empty.count() == 0 and empty.columns == ["a"]
    assert spark.range(10).where("id < 0").toArrow().num_rows == 0
