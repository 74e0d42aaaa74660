"""The Arrow data plane (spec/arrow.md) against real server JVMs: types, zero copy, streaming with
bounded memory, lifetime, allowlist and bad input.

A small Java helper is compiled here against gatun-arrow.jar (Java code that consumes the reader
Python sent, and produces data for Python), and put on the test servers' class path.
"""
from __future__ import annotations

import datetime as dt
import decimal
import gc
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pytest

from gatun import GatunClient, GatunConnectionError, GatunError, JavaException, NotAllowedError
from gatun.launcher import arrow_jar

HELPER = r"""
package gatuntest;

import dev.gatun.arrow.ArrowArena;
import dev.gatun.arrow.ArrowExporter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.WriteChannel;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageSerializer;

/** Java code on the other side of the tests. */
public final class ArrowHelper {
    private ArrowHelper() {
    }

    /** Sum of a BIGINT column over every batch (nulls count 0), and the rows seen: {sum, rows}. */
    public static long[] sum(ArrowReader reader, String column) throws IOException {
        long sum = 0;
        long rows = 0;
        VectorSchemaRoot root = reader.getVectorSchemaRoot();
        while (reader.loadNextBatch()) {
            BigIntVector v = (BigIntVector) root.getVector(column);
            for (int i = 0; i < v.getValueCount(); i++) {
                if (!v.isNull(i)) {
                    sum += v.get(i);
                }
            }
            rows += root.getRowCount();
        }
        return new long[] {sum, rows};
    }

    /** {@link #sum} on a new JVM thread: the reader's pulls then come from a thread no channel serves. */
    public static long[] sumInThread(ArrowReader reader, String column) throws Exception {
        long[][] out = new long[1][];
        Exception[] failed = new Exception[1];
        Thread t = new Thread(() -> {
            try {
                out[0] = sum(reader, column);
            } catch (Exception e) {
                failed[0] = e;
            }
        });
        t.start();
        t.join();
        if (failed[0] != null) {
            throw failed[0];
        }
        return out[0];
    }

    /** Whether the data buffers of the next batch's first column lie inside the arena. */
    public static boolean nextBatchInArena(ArrowReader reader, ArrowArena arena) throws IOException {
        if (!reader.loadNextBatch()) {
            throw new IllegalStateException("no batch");
        }
        FieldVector v = reader.getVectorSchemaRoot().getFieldVectors().get(0);
        ArrowBuf data = v.getDataBuffer();
        return arena.contains(data.memoryAddress(), data.capacity());
    }

    /** The reader's batches as IPC messages on the heap (as Spark holds them), then exported as such. */
    public static ArrowExporter ipcExporter(ArrowArena arena, ArrowReader reader) throws IOException {
        List<byte[]> batches = ArrowExporter.encodeBatches(reader);
        return ArrowExporter.fromIpcBatches(arena, reader.getVectorSchemaRoot().getSchema(), batches.iterator());
    }

    /** One batch of {@code rows} BIGINTs 0..rows-1, made in the JVM. */
    public static VectorSchemaRoot sequence(int rows) {
        BigIntVector v = new BigIntVector("n", new RootAllocator());
        v.allocateNew(rows);
        for (int i = 0; i < rows; i++) {
            v.set(i, i);
        }
        v.setValueCount(rows);
        return VectorSchemaRoot.of(v);
    }
}
"""


@pytest.fixture(scope="module")
def helper_dir(tmp_path_factory) -> str:
    jar = arrow_jar()
    assert jar is not None, "gatun-arrow.jar is not bundled (make jar)"
    home = os.environ.get("JAVA_HOME")
    javac = str(Path(home) / "bin" / "javac") if home else shutil.which("javac")
    out = tmp_path_factory.mktemp("arrowhelper")
    src = out / "ArrowHelper.java"
    src.write_text(HELPER)
    subprocess.run([javac, "--release", "17", "-cp", str(jar), "-d", str(out), str(src)], check=True)
    return str(out)


def _client(helper_dir: str, arena: str, **options) -> GatunClient:
    return GatunClient(arrow_arena_bytes=arena, classpath=[helper_dir], allowlist="default,gatuntest.*", **options)


@pytest.fixture(scope="module")
def ac(helper_dir) -> Iterator[GatunClient]:
    """A server with the helper on its class path and a 16 MiB arena."""
    c = _client(helper_dir, "16MiB")
    yield c
    c.close()


@pytest.fixture(scope="module")
def tiny(helper_dir) -> Iterator[GatunClient]:
    """A 1 MiB arena (the minimum): batches that do not fit take the fallbacks."""
    c = _client(helper_dir, "1MiB")
    yield c
    c.close()


def _all_types(n: int) -> pa.Table:
    """Every type Spark's Arrow conversion produces, nulls everywhere (every 5th row)."""
    def nulls(values):
        return [None if i % 5 == 3 else v for i, v in enumerate(values)]

    ints = list(range(-n // 2, n - n // 2))
    ts = [dt.datetime(2020, 1, 1) + dt.timedelta(seconds=37 * i, microseconds=i) for i in range(n)]
    cols = {
        "i8": pa.array(nulls([i % 128 for i in ints]), pa.int8()),
        "i16": pa.array(nulls([i % 30000 for i in ints]), pa.int16()),
        "i32": pa.array(nulls(ints), pa.int32()),
        "i64": pa.array(nulls([i * 10**12 for i in ints]), pa.int64()),
        "f32": pa.array(nulls([i / 3 for i in ints]), pa.float32()),
        "f64": pa.array(nulls([i / 7 for i in ints]), pa.float64()),
        "dec5_2": pa.array(nulls([decimal.Decimal(i % 1000) / 100 for i in ints]), pa.decimal128(5, 2)),
        "dec18_6": pa.array(nulls([decimal.Decimal(i) / 10**6 for i in ints]), pa.decimal128(18, 6)),
        "dec38_10": pa.array(nulls([decimal.Decimal(i) * 10**20 + decimal.Decimal("0.5") for i in ints]),
                             pa.decimal128(38, 10)),
        "bool": pa.array(nulls([i % 3 == 0 for i in ints]), pa.bool_()),
        "str": pa.array(nulls([f"s{i}é" * (i % 4) for i in ints]), pa.string()),
        "lstr": pa.array(nulls([f"L{i}" for i in ints]), pa.large_string()),
        "bin": pa.array(nulls([bytes([i % 256]) * (i % 5) for i in ints]), pa.binary()),
        "lbin": pa.array(nulls([b"\x00\xff" * (i % 3) for i in ints]), pa.large_binary()),
        "date": pa.array(nulls([dt.date(1970, 1, 1) + dt.timedelta(days=i) for i in ints]), pa.date32()),
        "ts": pa.array(nulls(ts), pa.timestamp("us")),
        "ts_utc": pa.array(nulls(ts), pa.timestamp("us", tz="UTC")),
        "ts_ny": pa.array(nulls(ts), pa.timestamp("us", tz="America/New_York")),
        "dur": pa.array(nulls([dt.timedelta(microseconds=i * 1001) for i in ints]), pa.duration("us")),
        "null": pa.nulls(n),
        "struct": pa.array(nulls([{"x": i, "y": None if i % 2 else str(i)} for i in ints]),
                           pa.struct([("x", pa.int32()), ("y", pa.string())])),
        "list": pa.array(nulls([[j for j in range(i % 4)] if i % 7 else [None] for i in ints]), pa.list_(pa.int64())),
        "list_struct": pa.array(nulls([[{"a": float(i)}] * (i % 3) for i in ints]),
                                pa.list_(pa.struct([("a", pa.float64())]))),
        "map": pa.array(nulls([[(f"k{j}", j if j % 2 else None) for j in range(i % 3)] for i in ints]),
                        pa.map_(pa.string(), pa.int32())),
        "nested": pa.array(nulls([{"l": [[i]], "m": [("a", [i])]} for i in ints]),
                           pa.struct([("l", pa.list_(pa.list_(pa.int32()))),
                                      ("m", pa.map_(pa.string(), pa.list_(pa.int16())))])),
    }
    return pa.table(cols)


def _roundtrip(client: GatunClient, data) -> pa.Table:
    """Python -> JVM (an ArenaReader) -> Python (an ArrowExporter reading that reader)."""
    return client.get_arrow_data(client.send_arrow_buffers(data))


def test_every_spark_type_round_trips(ac):
    t = _all_types(1000)
    back = _roundtrip(ac, t)
    assert back.schema == t.schema
    assert back.equals(t)
    for name in t.column_names:  # per column too, for a readable failure
        assert back.column(name).equals(t.column(name)), name


def test_transfers_share_one_callback_and_leave_nothing_behind(ac):
    """Every send_arrow_buffers of a client goes through its one KeyedBatchSource callback, and a
    stream read to its end (or closed) leaves nothing in the client: a callback per transfer grew
    client and server with every transfer, since a callback id lives as long as its session."""
    t = pa.table({"a": list(range(1000)), "b": [str(i) for i in range(1000)]})
    assert ac.get_arrow_data(ac.send_arrow_buffers(t)).equals(t)
    callbacks = len(ac._callbacks)
    for _ in range(50):
        assert ac.get_arrow_data(ac.send_arrow_buffers(t)).equals(t)
    closed = ac.send_arrow_buffers(t)
    closed.close()
    assert len(ac._callbacks) == callbacks
    assert len(ac._arrow_sources) == 0


def test_many_batches_zero_row_batches_and_empty_tables(ac):
    t = _all_types(50)
    batches = [t.slice(i, 7).to_batches()[0] for i in range(0, 50, 7)]
    batches.insert(2, t.to_batches()[0].slice(0, 0))
    many = pa.Table.from_batches(batches)
    back = _roundtrip(ac, many)
    assert back.equals(many)
    stream = ac.get_arrow_data(ac.send_arrow_buffers(pa.RecordBatchReader.from_batches(t.schema, iter(batches))),
                               reader=True)
    assert [b.num_rows for b in stream] == [b.num_rows for b in batches]

    empty = t.schema.empty_table()
    back = _roundtrip(ac, empty)
    assert back.num_rows == 0 and back.schema == t.schema

    one = t.to_batches()[0]
    assert _roundtrip(ac, one).equals(pa.Table.from_batches([one]))
    reader = pa.RecordBatchReader.from_batches(t.schema, iter(batches))
    assert _roundtrip(ac, reader).equals(many)


def test_streaming_reader_form(ac):
    t = _all_types(300)
    r = ac.get_arrow_data(ac.send_arrow_buffers(pa.Table.from_batches(t.to_batches(max_chunksize=40))),
                          reader=True)
    assert isinstance(r, pa.RecordBatchReader)
    assert r.schema == t.schema
    got = list(r)
    assert len(got) == 8
    assert pa.Table.from_batches(got).equals(t)


def test_ipc_batches_held_by_java_are_exported_as_they_are(ac):
    t = _all_types(200)
    exporter = ac.jvm.gatuntest.ArrowHelper.ipcExporter(
        ac.arrow_arena(), ac.send_arrow_buffers(pa.Table.from_batches(t.to_batches(max_chunksize=60))))
    assert ac.get_arrow_data(exporter).equals(t)


def test_java_code_consumes_the_reader(ac):
    n = 200_000
    t = pa.table({"v": pa.array([None if i % 10 == 0 else i for i in range(n)], pa.int64())})
    total, rows = ac.jvm.gatuntest.ArrowHelper.sum(ac.send_arrow_buffers(t), "v")
    assert rows == n
    assert total == sum(i for i in range(n) if i % 10)


def test_reader_consumed_on_another_jvm_thread(ac):
    t = pa.table({"v": pa.array(range(100_000), pa.int64())})
    total, rows = ac.jvm.gatuntest.ArrowHelper.sumInThread(
        ac.send_arrow_buffers(pa.Table.from_batches(t.to_batches(max_chunksize=10_000))), "v")
    assert (total, rows) == (sum(range(100_000)), 100_000)


def test_zero_copy_both_ways(ac):
    t = pa.table({"v": pa.array(range(100_000), pa.int64()), "s": pa.array([str(i) for i in range(100_000)])})
    arena = ac._arrow_arena()
    # JVM side: the vectors loaded from what Python sent view the arena.
    assert ac.jvm.gatuntest.ArrowHelper.nextBatchInArena(ac.send_arrow_buffers(t), arena.java)
    # Python side: the arrays from what the JVM sent view the arena mapping.
    back = ac.get_arrow_data(ac.jvm.gatuntest.ArrowHelper.sequence(100_000))
    lo, hi = arena.address, arena.address + arena.size
    for col in (back.column(0).chunk(0),):
        data = col.buffers()[1]
        assert lo <= data.address and data.address + data.size <= hi
    b2 = _roundtrip(ac, t)
    for chunk in b2.column("s").chunks:
        for buf in chunk.buffers():
            assert buf is None or lo <= buf.address < hi


def test_spans_are_freed_when_views_die(ac):
    arena = ac._arrow_arena()
    gc.collect()
    empty = arena.java.freeBytes()
    back = ac.get_arrow_data(ac.jvm.gatuntest.ArrowHelper.sequence(300_000))
    col = back.column(0)
    del back
    assert arena.java.freeBytes() < empty, "a column still views its span"
    assert col[299_999].as_py() == 299_999
    del col
    gc.collect()
    assert arena.java.freeBytes() == empty


def _gen_batches(total_bytes: int, rows: int = 256 * 1024) -> Iterator[pa.RecordBatch]:
    """BIGINT batches of 2 MiB, made lazily: only the batch in flight is in Python memory."""
    made = 0
    start = 0
    while made < total_bytes:
        yield pa.record_batch({"v": pa.array(range(start, start + rows), pa.int64())})
        start += rows
        made += rows * 8


def _rss(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("total_mib", [int(os.environ.get("GATUN_ARROW_STREAM_MIB", "256"))])
def test_stream_larger_than_the_arena_has_bounded_memory(ac, total_mib):
    """256 MiB (1 GiB with GATUN_ARROW_STREAM_MIB=1024) through a 16 MiB arena, both directions at
    once: Python generates, the JVM reads in place and re-exports, Python reads and drops."""
    total = total_mib << 20
    schema = pa.schema([("v", pa.int64())])
    reader = pa.RecordBatchReader.from_batches(schema, _gen_batches(total))
    py0, jvm0 = _rss(), _rss(ac.server_pid)
    back = ac.get_arrow_data(ac.send_arrow_buffers(reader), reader=True)
    expect_next = 0
    py_peak = jvm_peak = 0
    for i, batch in enumerate(back):
        v = batch.column(0)
        assert v[0].as_py() == expect_next and v[len(v) - 1].as_py() == expect_next + len(v) - 1
        expect_next += len(v)
        if i % 16 == 0:
            py_peak, jvm_peak = max(py_peak, _rss()), max(jvm_peak, _rss(ac.server_pid))
        del batch, v
    assert expect_next * 8 >= total
    grown_py, grown_jvm = py_peak - py0, jvm_peak - jvm0
    assert grown_py < 96 << 20, f"Python RSS grew by {grown_py >> 20} MiB for a {total_mib} MiB stream"
    assert grown_jvm < 128 << 20, f"JVM RSS grew by {grown_jvm >> 20} MiB for a {total_mib} MiB stream"


def _arena_maps(pid: int | str = "self") -> int:
    """How many arena files (root and extensions) process `pid` has mapped."""
    return sum("/gatun-arrow-" in line for line in Path(f"/proc/{pid}/maps").read_text().splitlines())


def _arena_files_open(c) -> int:
    """How many extension files client `c`'s server JVM holds open (it writes an extension through
    one; the root's file it keeps open for as long as the root lives, and that one is not counted)."""
    fds = Path(f"/proc/{c.server_pid}/fd")
    root = c._arrow_arena().java.path()
    links = [os.readlink(fds / fd) for fd in os.listdir(fds) if (fds / fd).is_symlink()]
    return sum("/gatun-arrow-" in link and not link.startswith(root) for link in links)


@pytest.fixture
def copies(monkeypatch) -> list[int]:
    """The span offsets of every batch copied out of an arena (the fallback of spec/arrow.md §6)."""
    import gatun.arrow

    seen: list[int] = []
    real = gatun.arrow.Arena.copy_batch

    def spy(self, offset, schema):
        seen.append(offset)
        return real(self, offset, schema)

    monkeypatch.setattr(gatun.arrow.Arena, "copy_batch", spy)
    return seen


def _in_arenas(table: pa.Table, arenas) -> bool:
    buffers = [b for col in table.columns for chunk in col.chunks for b in chunk.buffers() if b is not None]
    assert buffers
    return all(any(a.contains(b.address, b.size) for a in arenas) for b in buffers)


def _big(n: int = 6 * 1024 * 1024, plus: int = 0) -> pa.Table:
    """96 MiB (two 8-byte columns of 6 Mi rows), values shifted by `plus`."""
    import numpy as np

    v = np.arange(plus, plus + n, dtype=np.int64)
    return pa.table({"v": pa.array(v), "w": pa.array(v.astype(np.float64))})


def _collect(c: GatunClient, t: pa.Table) -> pa.Table:
    """`t` to the JVM and back into one Table (through extension arenas when it is large)."""
    return c.get_arrow_data(c.send_arrow_buffers(pa.Table.from_batches(t.to_batches(max_chunksize=65536))))


def _arenas_of(table: pa.Table, arenas) -> set:
    """The arenas (of `arenas`) that some buffer of `table` lies in."""
    buffers = [b for col in table.columns for chunk in col.chunks for b in chunk.buffers() if b is not None]
    return {id(a) for a in arenas for b in buffers if a.contains(b.address, b.size)}


def test_table_larger_than_the_arena_stays_in_shared_memory(helper_dir, copies):
    """96 MiB through a 4 MiB arena into one Table: the exporter continues in extension arenas
    (§4.1), every batch is read in place, nothing is copied out; without spares
    (arrow_spare_bytes=0) the JVM lets go of the extensions when the export ends (it never maps
    them) and Python unmaps them when the table is gone."""
    n = 6 * 1024 * 1024
    t = _big(n)
    with _client(helper_dir, "4MiB", arrow_spare_bytes=0) as c:
        gc.collect()
        mine = _arena_maps()  # this process also maps the arenas of the other tests' clients
        root = c._arrow_arena()
        assert _arena_maps() == mine + 1 and _arena_maps(c.server_pid) == 1
        back = c.get_arrow_data(c.send_arrow_buffers(pa.Table.from_batches(t.to_batches(max_chunksize=65536))))
        assert back.equals(t)
        extensions = list(root.extensions)
        assert len(extensions) >= 2
        assert _in_arenas(back, [root, *extensions])
        assert copies == []
        # Doubling: 8, 16, 32 MiB for 96 MiB of data after the first 4 MiB.
        assert sorted(a.size for a in extensions)[:2] == [8 << 20, 16 << 20]
        assert _arena_maps() == mine + 1 + len(extensions)
        assert _arena_maps(c.server_pid) == 1, "the JVM mapped an extension"
        assert _arena_files_open(c) == 0, "the JVM holds an extension's file after the export ended"
        del extensions
        # A slice keeps its whole arena alive; dropping everything unmaps every extension here.
        tail = back.slice(n - 10, 10)  # in the last extension
        del back
        gc.collect()
        assert len(root.extensions) == 1 and _arena_maps() == mine + 2
        assert tail.column("v").to_pylist() == list(range(n - 10, n))
        del tail
        gc.collect()
        assert len(root.extensions) == 0 and _arena_maps() == mine + 1
        assert root.spares == [] and root._trimmer is None
        # The root's spans are all back too.
        assert root.java.freeBytes() == root.size - 256


def test_a_dropped_tables_extensions_serve_the_next_one(helper_dir, copies):
    """Two successive 96 MiB collections through a 4 MiB arena: the second one is written into
    the first one's extensions (kept as spares, recycled by the JVM through a mapping of its own),
    and release_arrow_spares() frees them on both sides."""
    t = _big()
    with _client(helper_dir, "4MiB") as c:
        gc.collect()
        mine = _arena_maps()
        root = c._arrow_arena()
        back = _collect(c, t)
        assert back.equals(t)
        extensions = list(root.extensions)
        assert len(extensions) >= 2 and root.spares == []
        del back
        gc.collect()
        assert {id(a) for a in root.spares} == {id(a) for a in extensions}, "a dropped table's extensions are spares"
        assert all(a.spare for a in extensions)
        assert _arena_maps() == mine + 1 + len(extensions), "Python keeps the spares mapped"
        assert _arena_files_open(c) == len(extensions), "the JVM keeps their files open"
        assert _arena_maps(c.server_pid) == 1

        again = _collect(c, t)
        assert again.equals(t)
        assert copies == []
        assert root.spares == [] and len(root.extensions) == len(extensions), "no new extension was made"
        assert _arenas_of(again, extensions) == {id(a) for a in extensions}, "not written into the spares"
        assert _in_arenas(again, [root, *extensions])
        assert _arena_maps(c.server_pid) == 1 + len(extensions), "the JVM rewrites them through a mapping"

        del again
        gc.collect()
        assert len(root.spares) == len(extensions)
        del extensions
        c.release_arrow_spares()
        gc.collect()
        assert root.spares == [] and len(root.extensions) == 0
        assert _arena_maps() == mine + 1, "released spares are unmapped here"
        assert _arena_files_open(c) == 0 and _arena_maps(c.server_pid) == 1, \
            "the JVM closed the released spares' files and dropped its mappings"


def test_a_kept_slice_keeps_its_extension_out_of_reuse(helper_dir):
    """A slice of the first table stays alive: its extension is no spare and is never rewritten;
    the other extensions serve the second table, whose values differ."""
    n = 6 * 1024 * 1024
    t = _big(n)
    with _client(helper_dir, "4MiB") as c:
        root = c._arrow_arena()
        back = _collect(c, t)
        tail = back.slice(n - 10, 10)  # in the last extension
        extensions = list(root.extensions)
        (holder,) = [a for a in extensions if id(a) in _arenas_of(tail, extensions)]
        del back
        gc.collect()
        assert len(root.spares) == len(extensions) - 1 and holder not in root.spares

        t2 = _big(n, plus=1000)
        again = _collect(c, t2)
        assert again.equals(t2)
        assert id(holder) not in _arenas_of(again, list(root.extensions)), "an extension still viewed was rewritten"
        assert _arenas_of(again, extensions) == {id(a) for a in extensions if a is not holder}
        assert tail.column("v").to_pylist() == list(range(n - 10, n))
        assert tail.column("w").to_pylist() == [float(i) for i in range(n - 10, n)]

        # Once the slice goes too, its extension is a spare like the others.
        del tail, again
        gc.collect()
        assert holder in root.spares


def test_spares_are_bounded_and_trimmed_when_idle(helper_dir, monkeypatch):
    """arrow_spare_bytes bounds the bytes the spares hold (the newest are kept); spares unused
    for spare_idle seconds are closed on both sides by the client's trimmer thread, which ends
    with the client."""
    with _client(helper_dir, "4MiB", arrow_spare_bytes="48MiB") as c:
        gc.collect()
        mine = _arena_maps()
        root = c._arrow_arena()
        root.spare_idle = 0.3  # seconds; read by the trimmer thread, which the first extension starts
        back = _collect(c, _big())
        last = max(root.extensions, key=lambda a: a.size)
        del back
        gc.collect()
        # 8, 16 and 32 MiB extensions full, ~43 MiB of the 64 MiB one written: the newest fits in
        # 48 MiB, with nothing else. The JVM, counting the same bytes, keeps the same one.
        assert root.spares == [last] and last.touched <= 48 << 20
        assert _arena_files_open(c) == 1
        del last
        trimmer = root._trimmer
        assert trimmer is not None and trimmer.daemon
        deadline = time.monotonic() + 20
        while (root.spares or _arena_files_open(c)) and time.monotonic() < deadline:
            time.sleep(0.05)
        gc.collect()
        assert root.spares == [] and _arena_maps() == mine + 1, "idle spares are unmapped here"
        assert _arena_files_open(c) == 0 and _arena_maps(c.server_pid) == 1

        # Two tables alive at once: the JVM keeps only the newer one's last extension. Dropped the
        # other way round, Python keeps the older one's, which the JVM then refuses to recycle (its
        # file is closed): Python drops it and makes a new extension instead.
        root.spare_idle = 600
        import gatun.arrow

        taken = []
        real_take = gatun.arrow.Arena.take_spare
        monkeypatch.setattr(gatun.arrow.Arena, "take_spare",
                            lambda self, *a: taken.append(real_take(self, *a)) or taken[-1])
        expected = _big(plus=3)
        first = _collect(c, _big())
        second = _collect(c, _big(plus=7))
        arenas = list(root.extensions)
        first_last = max((a for a in arenas if id(a) in _arenas_of(first, arenas)), key=lambda a: a.size)
        del second, arenas
        gc.collect()
        del first
        gc.collect()
        assert root.spares == [first_last]
        taken.clear()
        again = _collect(c, expected)
        assert again.equals(expected)
        assert taken[0] is first_last, "the spare was not tried"
        assert not first_last.spare and id(first_last) not in _arenas_of(again, [first_last])
        del again, first_last, taken
        gc.collect()
        assert root.spares
        c.close()
        trimmer.join(5)
        assert not trimmer.is_alive(), "the trimmer outlives the client"
        assert root.spares == []
        del root
        gc.collect()
        # Nothing refers to the root any more: the streams that wrote into it ended (before
        # KeyedBatchSources, their callback objects stayed registered and kept it mapped).
        assert _arena_maps() == mine, "close() releases the spares, and the root once nothing views it"


def test_extension_limit_falls_back_to_copying_out(helper_dir, copies):
    """With at most 8 MiB of extensions, a 48 MiB table grows once and then copies batches out."""
    n = 6 * 1024 * 1024
    t = pa.table({"v": pa.array(range(n), pa.int64())})
    with _client(helper_dir, "4MiB", arrow_extension_bytes="8MiB") as c:
        gc.collect()
        mine = _arena_maps()
        root = c._arrow_arena()
        back = c.get_arrow_data(c.send_arrow_buffers(pa.Table.from_batches(t.to_batches(max_chunksize=65536))))
        assert back.equals(t)
        assert copies, "nothing was copied out although the extensions could not hold the table"
        assert sum(a.size for a in root.extensions) <= 8 << 20
        del back
        gc.collect()
        # The extension the exporter left when it went back to the root is a spare now.
        assert len(root.spares) == 1 and _arena_maps() == mine + 2
        assert _arena_files_open(c) == 1
        c.release_arrow_spares()
        gc.collect()
        assert _arena_maps() == mine + 1 and _arena_maps(c.server_pid) == 1
        assert _arena_files_open(c) == 0


def test_batches_larger_than_the_server_maximum_come_as_bytes(helper_dir, copies):
    """A 4 MiB batch, when the server makes no arena over 2 MiB: no extension can hold it."""
    with _client(helper_dir, "1MiB", jvm_args=["-Dgatun.arrow.maxArenaBytes=2097152"]) as c:
        back = c.get_arrow_data(c.jvm.gatuntest.ArrowHelper.sequence(500_000))
        assert back.column(0).to_pylist() == list(range(500_000))
        assert not _in_arenas(back, [c._arrow_arena()]) and copies == []
        assert len(c._arrow_arena().extensions) == 0


def test_continue_in_refuses_bad_arenas(ac, helper_dir):
    arena = ac._arrow_arena()
    exporter = ac.jvm.dev.gatun.arrow.ArrowExporter.open(arena.java, ac.jvm.gatuntest.ArrowHelper.sequence(10))
    not_mapped = arena.java.extend(1 << 20)
    try:
        with pytest.raises(JavaException, match="not mapped"):
            exporter.continueIn(not_mapped)
    finally:
        not_mapped.close()  # deletes its file, which nobody mapped
    with pytest.raises(JavaException, match="closed"):
        exporter.continueIn(not_mapped)
    with pytest.raises(JavaException, match="outside the allowed range"):
        arena.java.extend(1 << 40)
    with pytest.raises(JavaException, match="needs the session's arena, not an extension"):
        ac.jvm.dev.gatun.arrow.ArrowExporter.open(not_mapped, ac.jvm.gatuntest.ArrowHelper.sequence(10))
    with _client(helper_dir, "1MiB") as other:
        foreign = other._arrow_arena().java.extend(1 << 20)
        try:
            # The client refuses it before it is sent (the JVM would not know the handle, and
            # continueIn checks the arena family too: see ArenaTest).
            with pytest.raises(GatunError, match="another Gatun session"):
                exporter.continueIn(foreign)
        finally:
            foreign.close()
    # The exporter is still whole: its batch arrives.
    assert ac.get_arrow_data(exporter).column(0).to_pylist() == list(range(10))


def test_batches_larger_than_the_arena(tiny):
    # JVM -> Python: one 4 MiB batch made in the JVM, through a 1 MiB arena, lands in an extension.
    back = tiny.get_arrow_data(tiny.jvm.gatuntest.ArrowHelper.sequence(500_000))
    assert back.column(0).to_pylist() == list(range(500_000))
    # Python -> JVM: a 4 MiB batch is cut into slices that fit.
    t = pa.table({"v": pa.array(range(500_000), pa.int64())})
    assert tiny.jvm.gatuntest.ArrowHelper.sum(tiny.send_arrow_buffers(t), "v")[0] == sum(range(500_000))


def test_views_kept_by_the_caller_force_the_byte_path(tiny):
    """The caller keeps every streamed batch: the arena fills and later batches come as bytes."""
    t = pa.table({"v": pa.array(range(1_000_000), pa.int64())})
    r = tiny.get_arrow_data(tiny.send_arrow_buffers(pa.Table.from_batches(t.to_batches(max_chunksize=20_000))),
                            reader=True)
    kept = list(r)
    assert pa.Table.from_batches(kept).equals(t)
    arena = tiny._arrow_arena()
    in_arena = sum(1 for b in kept if arena.address <= b.column(0).buffers()[1].address < arena.address + arena.size)
    assert 0 < in_arena < len(kept)


def test_closed_java_reader_refuses_use(ac):
    reader = ac.send_arrow_buffers(pa.table({"v": [1, 2, 3]}))
    reader.close()
    with pytest.raises(JavaException, match="closed"):
        reader.loadNextBatch()
    with pytest.raises(JavaException, match="closed"):
        ac.get_arrow_data(reader)


def test_bad_offsets_from_a_client_are_refused(ac):
    class Liar:
        class Java:
            implements = ["dev.gatun.arrow.BatchSource"]

        def __init__(self, value):
            self.value = value

        def next(self, reserved, capacity):
            return self.value

        def close(self):
            pass

    schema = pa.schema([("v", pa.int64())]).serialize().to_pybytes()
    arena = ac._arrow_arena()
    for value, message in [(12345, "not a span"), (arena.size + 64, "not a span"), (b"garbage!", "IPC")]:
        reader = ac.jvm.dev.gatun.arrow.ArenaReader.open(arena.java, schema, Liar(value))
        with pytest.raises(JavaException, match=message):
            reader.loadNextBatch()


def test_use_after_client_close(helper_dir):
    c = _client(helper_dir, "4MiB")
    t = pa.table({"v": pa.array(range(1000), pa.int64())})
    kept = c.get_arrow_data(c.jvm.gatuntest.ArrowHelper.sequence(1000))
    stream = c.get_arrow_data(c.send_arrow_buffers(pa.Table.from_batches(t.to_batches(max_chunksize=100))),
                              reader=True)
    stream.read_next_batch()
    c.close()
    with pytest.raises(GatunConnectionError):
        stream.read_next_batch()
    with pytest.raises(GatunConnectionError):
        c.send_arrow_buffers(t)
    gc.collect()
    # What was received stays valid: the mapping lives as long as a view of it.
    assert kept.column(0).to_pylist() == list(range(1000))


def test_bad_input_is_a_clear_error(ac):
    with pytest.raises(TypeError, match="Table, RecordBatch or RecordBatchReader"):
        ac.send_arrow_buffers([1, 2, 3])
    with pytest.raises(TypeError, match="ArrowReader, a VectorSchemaRoot or an ArrowExporter"):
        ac.get_arrow_data(ac.jvm.java.util.ArrayList())
    with pytest.raises(TypeError, match="ArrowReader, VectorSchemaRoot or ArrowExporter"):
        ac.get_arrow_data("not a Java object")
    with pytest.raises(TypeError, match="dictionary-encoded"):
        ac.send_arrow_buffers(pa.table({"d": pa.array(["a", "b", "a"]).dictionary_encode()}))


def test_allowlist_can_refuse_the_arena():
    with GatunClient(allowlist="default,-dev.gatun.arrow.*") as c:
        with pytest.raises(NotAllowedError):
            c.send_arrow_buffers(pa.table({"v": [1]}))


def test_inside_a_spark_driver():
    """gatun-spark.jar carries dev.gatun.arrow (Spark provides Arrow, its allocator and the
    --add-opens) and the Spark default allowlist admits it. In a process of its own: installing
    gatun.pyspark patches PySpark and Py4J for the whole process, which would turn the real Py4J
    that test_compat_types.py compares against into Gatun."""
    pytest.importorskip("pyspark")
    import subprocess
    import sys

    script = f"""
import os, sys
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
os.environ["PYSPARK_PYTHON"] = sys.executable
import gatun.pyspark
gatun.pyspark.install()
from pyspark.sql import SparkSession
from test_arrow import _all_types
spark = (SparkSession.builder.master("local[1]").appName("gatun-arrow-tests")
         .config("spark.ui.enabled", "false").getOrCreate())
try:
    client = spark.sparkContext._gateway._gatun
    t = _all_types(500)
    assert client.get_arrow_data(client.send_arrow_buffers(t)).equals(t)
    print("ROUND TRIP OK")
finally:
    spark.stop()
"""
    env = {k: v for k, v in os.environ.items() if k != "GATUN_PYSPARK"}
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0 and "ROUND TRIP OK" in p.stdout, p.stdout[-2000:] + p.stderr[-3000:]


@pytest.mark.parametrize("option", ["arrow_arena_bytes", "arrow_extension_bytes", "arrow_spare_bytes"])
def test_negative_arrow_sizes_are_refused_before_anything_starts(option):
    with pytest.raises(ValueError, match=f"{option} must be >= 0, got -1"):
        GatunClient(**{option: -1})
    with pytest.raises(ValueError, match="not a size"):
        GatunClient(**{option: "lots"})
