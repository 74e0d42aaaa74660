"""PySpark's Arrow paths over Gatun: toPandas()/toArrow() and createDataFrame(pandas | pyarrow).

Stock PySpark moves Arrow data between the driver JVM and Python outside its bridge: a local
socket served by `Dataset.collectAsArrowToPython` for toPandas()/toArrow(), and a temp file read
by `PythonSQLUtils.readArrowStreamFromFile` (or a socket when I/O encryption is on) for
createDataFrame(). When Gatun is active, both go through Gatun instead; everything else (Spark's
conversions, schema handling, time zones, `maxRecordsPerBatch`, the fallback decisions and their
warnings) stays PySpark's and Spark's own code. `install()` (called by `gatun.pyspark.install()`)
replaces, for sessions running over Gatun only:

* `PandasConversionMixin._collect_as_arrow` (what toPandas() and toArrow() call to get the
  batches): the batches come from `dev.gatun.spark.ArrowBatchCollector`, which runs the job
  `collectAsArrowToPython` runs and hands the batches out in order;
* `SparkContext._serialize_to_jvm`, only inside `_create_from_pandas_with_arrow` and
  `_create_from_arrow_table` (which are wrapped to mark that): the Arrow stream PySpark would
  write to the temp file goes to `dev.gatun.spark.ArrowStreamInbox`, which splits it with Spark's
  own reader into what `readArrowStreamFromFile` returns; PySpark then calls
  `PythonSQLUtils.toDataFrame` with it as usual.

The bytes cross the bridge in exactly two functions, `_arrow_batches_from_jvm` and
`_arrow_stream_to_jvm`; today they use ordinary Gatun calls with byte[] values (chunked through
shared memory), and they are where the Arrow arena (`get_arrow_data` / `send_arrow_buffers`)
plugs in. The logger `gatun.pyspark` says at debug level which transport each call used.
"""
from __future__ import annotations

import functools
import logging
import threading
from typing import Any, Iterable, Iterator

from . import py4j_compat

log = logging.getLogger("gatun.pyspark")

COLLECTOR_CLASS = "dev.gatun.spark.ArrowBatchCollector"
INBOX_CLASS = "dev.gatun.spark.ArrowStreamInbox"
# Bytes per call when sending an Arrow stream: large enough that per-call costs vanish, small
# enough that the pieces in flight stay a small part of the data.
PIECE_BYTES = 8 << 20

_sending_arrow = threading.local()
_originals: dict[str, Any] = {}


def _over_gatun(sc: Any) -> bool:
    return sc is not None and isinstance(getattr(sc, "_gateway", None), py4j_compat.ClientServer)


def _arrow_batches_from_jvm(collector: Any) -> Iterator["pa.RecordBatch"]:  # noqa: F821
    """The record batches of a started `ArrowBatchCollector`, in order (the JVM -> Python seam)."""
    import pyarrow as pa

    schema = None
    count = size = 0
    while True:
        message = collector.nextMessage()
        if message is None:
            break
        size += len(message)
        if schema is None:
            schema = pa.ipc.read_schema(pa.py_buffer(message))
            continue
        count += 1
        yield pa.ipc.read_record_batch(pa.py_buffer(message), schema)
    log.debug("Arrow from the JVM over Gatun calls (byte[] through shared memory): %d batches, %d bytes",
              count, size)


def _arrow_stream_to_jvm(sc: Any, batches: Iterable["pa.RecordBatch"], serializer: Any) -> Any:  # noqa: F821
    """Sends the Arrow stream PySpark would write to its temp file; returns what
    `PythonSQLUtils.readArrowStreamFromFile` would (the Python -> JVM seam)."""
    inbox = sc._jvm.dev.gatun.spark.ArrowStreamInbox()
    sink = _PieceWriter(inbox)
    serializer.dump_stream(batches, sink)
    sink.close()
    log.debug("Arrow to the JVM over Gatun calls (byte[] through shared memory): %d bytes in %d pieces",
              sink.sent, sink.pieces)
    return inbox.batches()


class _PieceWriter:
    """A write-only binary file that forwards what is written to an inbox in PIECE_BYTES pieces."""

    def __init__(self, inbox: Any):
        self._inbox = inbox
        self._buf = bytearray()
        self.sent = 0
        self.pieces = 0
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buf += view
        if len(self._buf) >= PIECE_BYTES:
            self._send()
        return view.nbytes

    def _send(self) -> None:
        if self._buf:
            self._inbox.write(self._buf)
            self.sent += len(self._buf)
            self.pieces += 1
            self._buf = bytearray()

    def flush(self) -> None:
        """Nothing to do: pieces are sent when full and at close (pyarrow calls this)."""

    def close(self) -> None:
        if not self.closed:
            self._send()
            self.closed = True


def _collect_as_arrow(self: Any, split_batches: bool = False, empty_list_if_zero_records: bool = True,
                      prefers_large_var_types: bool = False) -> list:
    """`PandasConversionMixin._collect_as_arrow` with the batches taken through Gatun."""
    if not _over_gatun(self._sc):
        return _originals["_collect_as_arrow"](self, split_batches, empty_list_if_zero_records,
                                               prefers_large_var_types)
    import pyarrow as pa
    from pyspark.errors.exceptions.captured import unwrap_spark_exception
    from pyspark.traceback_utils import SCCallSiteSync

    with SCCallSiteSync(self._sc):
        collector = self._sc._jvm.dev.gatun.spark.ArrowBatchCollector.start(self._jdf)
    try:
        if split_batches:
            # selfDestruct frees each column as it is converted only if every column of every
            # batch has an allocation of its own, as PySpark does it.
            batches = [pa.RecordBatch.from_arrays([pa.concat_arrays([a]) for a in b], schema=b.schema)
                       for b in _arrow_batches_from_jvm(collector)]
        else:
            batches = list(_arrow_batches_from_jvm(collector))
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
    """`SparkContext._serialize_to_jvm`, sending the Arrow stream of createDataFrame through Gatun."""
    if getattr(_sending_arrow, "active", False) and _over_gatun(self):
        return _arrow_stream_to_jvm(self, data, serializer)
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
        from pyspark.core.context import SparkContext
        from pyspark.sql.pandas.conversion import PandasConversionMixin, SparkConversionMixin
    except ImportError:  # pyspark without its pandas/Arrow module: nothing to route
        return
    if "_collect_as_arrow" in _originals:
        return
    _originals["_collect_as_arrow"] = PandasConversionMixin._collect_as_arrow
    _originals["_serialize_to_jvm"] = SparkContext._serialize_to_jvm
    PandasConversionMixin._collect_as_arrow = _collect_as_arrow
    SparkContext._serialize_to_jvm = _serialize_to_jvm
    for name in ("_create_from_pandas_with_arrow", "_create_from_arrow_table"):
        setattr(SparkConversionMixin, name, _sends_arrow(getattr(SparkConversionMixin, name)))
