"""PySpark's Arrow paths over Gatun: toPandas()/toArrow() and createDataFrame(pandas | pyarrow).

Stock PySpark moves Arrow data between the driver JVM and Python outside its bridge: a local
socket served by `Dataset.collectAsArrowToPython` for toPandas()/toArrow(), and a temp file read
by `PythonSQLUtils.readArrowStreamFromFile` (or a socket when I/O encryption is on) for
createDataFrame(). When Gatun is active, both go through Gatun instead; everything else (Spark's
conversions, schema handling, time zones, `maxRecordsPerBatch`, the fallback decisions and their
warnings) stays PySpark's and Spark's own code. `install()` (called by `gatun.pyspark.install()`)
replaces, for sessions running over Gatun only:

* `PandasConversionMixin._collect_as_arrow` (what toPandas() and toArrow() (4.0+) call to get the
  batches): the batches come from `dev.gatun.spark.ArrowBatchCollector`, which runs the job
  `collectAsArrowToPython` runs and hands Spark's IPC-encoded batches, in order, to an
  `ArrowExporter` over the session's Arrow arena; pyarrow reads them there in place. Tasks that
  run in the driver's JVM (local mode) hand their batches to the collector directly rather than
  as task results, which saves Spark's serialize/store/deserialize copies of the whole result;
* `SparkContext._serialize_to_jvm`, only inside `_create_from_pandas_with_arrow` and
  `_create_from_arrow_table` (which are wrapped to mark that): the record batches PySpark would
  write to the temp file go through the arena (`send_arrow_buffers`) to
  `dev.gatun.spark.ArrowBatchInbox`, which turns them into what `readArrowStreamFromFile` returns;
  PySpark then calls `PythonSQLUtils.toDataFrame` with it as usual.

The data crosses the bridge in exactly two functions, `_arrow_batches_from_jvm` and
`_arrow_batches_to_jvm`, through the shared-memory Arrow arena of spec/arrow.md (a batch that
does not fit in the arena at the time crosses as bytes instead, as the data plane does for every
caller). The logger `gatun.pyspark` says at debug level what each call moved.
"""
from __future__ import annotations

import functools
import logging
import threading
from typing import Any, Iterable

from . import py4j_compat

log = logging.getLogger("gatun.pyspark")

_sending_arrow = threading.local()
_originals: dict[str, Any] = {}


def _over_gatun(sc: Any) -> bool:
    return sc is not None and isinstance(getattr(sc, "_gateway", None), py4j_compat.ClientServer)


def _arrow_batches_from_jvm(sc: Any, collector: Any, split: bool = False) -> list["pa.RecordBatch"]:  # noqa: F821
    """The record batches of a started `ArrowBatchCollector`, in order (the JVM -> Python seam).

    With `split` (PySpark's selfDestruct mode), every column of every batch is copied out into an
    allocation of its own, as PySpark does it, so that the pandas conversion can free each column as
    it goes; the batches then stream through the arena, each span going back as soon as its batch is
    copied, so the arena-backed table never exists whole (no extension arenas, no second copy of it)."""
    from . import arrow

    client = sc._gateway._gatun
    exporter = collector.exporter(client.arrow_arena())
    if exporter is None:  # the job failed before it had a schema; the caller raises its error
        return []
    if split:
        import pyarrow as pa

        batches = [pa.RecordBatch.from_arrays([pa.concat_arrays([a]) for a in b], schema=b.schema)
                   for b in arrow.get_arrow_data(client, exporter, reader=True)]
    else:
        _, batches = arrow.get_arrow_batches(client, exporter)
    log.debug("Arrow from the JVM over Gatun through the arena: %d batches, %d bytes",
              len(batches), sum(b.nbytes for b in batches))
    return batches


def _arrow_batches_to_jvm(sc: Any, batches: Iterable["pa.RecordBatch"]) -> Any:  # noqa: F821
    """Sends the record batches PySpark would write to its temp file; returns what
    `PythonSQLUtils.readArrowStreamFromFile` would (the Python -> JVM seam)."""
    import pyarrow as pa

    batches = list(batches)
    # No batches (an empty frame) make an empty file for Spark, so no schema: send an empty stream.
    schema = batches[0].schema if batches else pa.schema([])
    client = sc._gateway._gatun
    reader = client.send_arrow_buffers(pa.RecordBatchReader.from_batches(schema, batches))
    jbatches = sc._jvm.dev.gatun.spark.ArrowBatchInbox.batches(reader)
    log.debug("Arrow to the JVM over Gatun through the arena: %d batches, %d bytes",
              len(batches), sum(b.nbytes for b in batches))
    return jbatches


def _collect_as_arrow(self: Any, *args: Any, **kwargs: Any) -> list:
    """`PandasConversionMixin._collect_as_arrow` with the batches taken through Gatun. PySpark 4.x's
    takes `(split_batches, empty_list_if_zero_records, prefers_large_var_types)`, 3.5's
    `split_batches` only (its callers handle zero batches themselves)."""
    if not _over_gatun(self._sc):
        return _originals["_collect_as_arrow"](self, *args, **kwargs)
    return _collect_over_gatun(self, *args, **kwargs)


def _collect_over_gatun(self: Any, split_batches: bool = False, empty_list_if_zero_records: bool = True,
                        prefers_large_var_types: bool = False) -> list:
    import pyarrow as pa
    from pyspark.errors.exceptions.captured import unwrap_spark_exception
    from pyspark.traceback_utils import SCCallSiteSync

    with SCCallSiteSync(self._sc):
        collector = self._sc._jvm.dev.gatun.spark.ArrowBatchCollector.start(self._jdf)
    try:
        batches = _arrow_batches_from_jvm(self._sc, collector, split=split_batches)
    finally:
        # The job's own failure wins, converted as PySpark converts it.
        with unwrap_spark_exception():
            collector.result()
    if batches or empty_list_if_zero_records:
        return batches
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = to_arrow_schema(self.schema, timezone="UTC", prefers_large_types=prefers_large_var_types)
    return [pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)]


def _serialize_to_jvm(self: Any, data: Any, serializer: Any, reader_func: Any, server_func: Any) -> Any:
    """`SparkContext._serialize_to_jvm`, sending the Arrow batches of createDataFrame through Gatun.

    PySpark 4.1+'s two callers pass a plain `ArrowStreamSerializer`, which only writes the batches as
    one stream; the arena carries the batches themselves, so the serializer is not needed. PySpark
    3.5's and 4.0's pandas caller passes pandas slices with an `ArrowStreamPandasSerializer`, whose
    `dump_stream` makes each slice a record batch with its `_create_batch` first: the same here."""
    if getattr(_sending_arrow, "active", False) and _over_gatun(self):
        create_batch = getattr(serializer, "_create_batch", None)
        if create_batch is not None and type(serializer).__name__ != "ArrowStreamSerializer":
            data = (create_batch(series) for series in data)
        return _arrow_batches_to_jvm(self, data)
    return _originals["_serialize_to_jvm"](self, data, serializer, reader_func, server_func)


def _sends_arrow(method: Any) -> Any:
    """Wraps a createDataFrame helper so that its `_serialize_to_jvm` call goes through Gatun."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        outer = getattr(_sending_arrow, "active", False)
        _sending_arrow.active = True
        try:
            return method(*args, **kwargs)
        finally:
            _sending_arrow.active = outer

    return wrapper


def install() -> None:
    """Route PySpark's Arrow transfers through Gatun for sessions over Gatun (idempotent)."""
    try:
        from pyspark.sql.pandas.conversion import PandasConversionMixin, SparkConversionMixin
    except ImportError:  # pyspark without its pandas/Arrow module: nothing to route
        return
    try:
        from pyspark.core.context import SparkContext
    except ImportError:  # PySpark 3.5
        from pyspark.context import SparkContext
    if "_collect_as_arrow" in _originals:
        return
    _originals["_collect_as_arrow"] = PandasConversionMixin._collect_as_arrow
    _originals["_serialize_to_jvm"] = SparkContext._serialize_to_jvm
    PandasConversionMixin._collect_as_arrow = _collect_as_arrow
    SparkContext._serialize_to_jvm = _serialize_to_jvm
    for name in ("_create_from_pandas_with_arrow", "_create_from_arrow_table"):  # the second: 4.0+
        if hasattr(SparkConversionMixin, name):
            setattr(SparkConversionMixin, name, _sends_arrow(getattr(SparkConversionMixin, name)))
