"""Arrow data between Python and the JVM through a shared-memory arena (spec/arrow.md).

Each client gets, on first use, one arena: a file the JVM creates and both sides map. Record
batches cross it as Arrow IPC messages, written once by the sending side and read in place by the
other. `GatunClient.send_arrow_buffers` and `GatunClient.get_arrow_data` are the entry points;
this module holds the Python half of the machinery. pyarrow is imported only when it is used.
"""
from __future__ import annotations

import collections
import itertools
import mmap
import os
import struct
import threading
import time
import weakref
from typing import Any, Iterator

from . import _native
from .errors import GatunConnectionError, GatunError, JavaException
from .proxies import JavaObject

DEFAULT_ARENA_BYTES = 64 << 20
# Extension arenas alive at once per client, at most (GatunClient(arrow_extension_bytes=...)).
DEFAULT_EXTENSION_BYTES = 16 << 30
# Bytes written into the spare extension arenas kept for reuse, at most
# (GatunClient(arrow_spare_bytes=...); 0: none).
DEFAULT_SPARE_BYTES = 1 << 30
# A spare unused for this long is closed (seconds; it goes between one and two such periods later).
SPARE_IDLE_SECONDS = 10.0
MIN_ARENA_BYTES = 1 << 20
ARENA_DATA_OFFSET = 256
ARENA_MAGIC = b"GARN"
ARENA_LAYOUT_VERSION = 1
SPAN_HEADER = 64
RETURNED = 2
END = -1
NO_ROOM = -2
_ARENA_HEAD = struct.Struct("<4sIQI")
_U64 = struct.Struct("<Q")
# madvise(MADV_POPULATE_WRITE) (Linux 5.14+): gives a range of a shared mapping its pages, or fails
# with EFAULT where touching them would raise SIGBUS (a full /dev/shm under a sparse arena file).
_MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)
_PAGE = mmap.PAGESIZE
# Room after a batch's IPC size for the schema message pyarrow's stream writer puts first and
# for its end-of-stream marker.
_STREAM_SLACK = 64
_COPY_THREADS = min(4, os.cpu_count() or 1)


def _pa() -> Any:
    try:
        import pyarrow
        import pyarrow.ipc  # noqa: F401
    except ImportError as e:
        raise GatunError("Arrow transfers need pyarrow (pip install pyarrow)") from e
    return pyarrow


class _Lease:
    """Keeps one lent span (and the whole mapping) alive while a pyarrow buffer views it.

    pyarrow holds it as the `base` of the foreign buffer over the span; every array sliced from
    that buffer keeps the buffer, so the lease dies exactly when the last view of the span does.
    Its death hands the span back to the JVM's allocator. A span of an extension arena also keeps
    the `_Fill` it belongs to, which it releases only after its RETURNED store.
    """

    __slots__ = ("arena", "offset", "fill")

    def __init__(self, arena: "Arena", offset: int, fill: "_Fill | None"):
        self.arena = arena
        self.offset = offset
        self.fill = fill

    def __del__(self) -> None:
        try:
            _native.store_release_u32(self.arena.mm, self.offset, RETURNED)
        except Exception:
            pass  # interpreter shutdown: the JVM side is going away too


class _Fill:
    """One filling of an extension arena by an exporter (spec/arrow.md §4.1).

    Referred to by the collection while the exporter writes into the arena and by every lease of
    its spans, so reference counting, not a counter that threads could race on, says when all of
    them are gone: then every span of the fill is RETURNED, and if the exporter had left the arena
    (`left`), the JVM retired it and the arena can become a spare of its root.
    """

    __slots__ = ("arena", "root", "left")

    def __init__(self, arena: "Arena", root: "Arena"):
        self.arena = arena
        self.root = weakref.ref(root)  # the spares must not keep a closed client's root alive
        self.left = False

    def __del__(self) -> None:
        # Runs wherever the last reference goes, often inside the garbage collector in the middle
        # of a request on this thread's channel: list operations only, never a JVM call.
        root = self.root()
        if self.left and root is not None:
            try:
                root._spare(self.arena)
            except Exception:
                pass  # interpreter shutdown: nothing to keep


class Arena:
    """The Python side of an Arrow arena: the mapping, reads in place, writes into spans.

    A session's root arena is made with `ArrowArena.create`; with `parent` (the root) this is an
    extension arena (`parent.java.extend(size)`), which only an exporter writes into (§4.1). The
    root tracks its live extensions in `extensions`, bounded by `extension_bytes`, and keeps the
    extensions of dropped tables as `spares` for the next large collection, bounded by
    `spare_bytes` (the bytes written into them) and closed when idle for `spare_idle` seconds.
    """

    def __init__(self, client: Any, size: int, parent: "Arena | None" = None,
                 extension_bytes: int = DEFAULT_EXTENSION_BYTES, spare_bytes: int = 0):
        pa = _pa()
        if parent is not None:
            self.java = parent.java.extend(size)
        else:
            try:
                java_arena = client.jvm.dev.gatun.arrow.ArrowArena
                self.java = java_arena.create(size)
            except (AttributeError, TypeError) as e:
                raise GatunError(
                    "this Gatun server has no Arrow support: dev.gatun.arrow.ArrowArena is not on its class path "
                    "(the launcher adds gatun-arrow.jar; a Spark driver gets it from gatun-spark.jar)"
                ) from e
        try:
            path = self.java.path()
            fd = os.open(path, os.O_RDWR)
            try:
                if os.fstat(fd).st_size != size:
                    raise GatunError(f"Arrow arena file {path} does not have the announced size {size}")
                self.mm = mmap.mmap(fd, size)
            finally:
                os.close(fd)
            magic, version, announced, data_off = _ARENA_HEAD.unpack_from(self.mm, 0)
            if magic != ARENA_MAGIC or version != ARENA_LAYOUT_VERSION or announced != size:
                raise GatunError(f"{path} is not a Gatun Arrow arena of {size} bytes (bad header)")
            self.java.mapped()
            if parent is None and spare_bytes:
                self.java.keepSpares(spare_bytes)
        except BaseException:
            self.java.close()
            raise
        self.size = size
        self.view = memoryview(self.mm)
        # An export of the mapping, held for the arena's life: the mmap cannot be closed (and so
        # unmapped) while any lease, and hence any pyarrow view, still refers to this object.
        self.base = pa.py_buffer(self.mm)
        self.address = self.base.address
        # Weak: an extension lives exactly as long as the leases of its spans (and the exporter
        # collecting into it), so its mapping goes with the last view of the table.
        self.extensions: weakref.WeakSet[Arena] = weakref.WeakSet()
        self.extension_bytes = extension_bytes
        self.max_size: int | None = None  # the server's largest arena, asked for when first needed
        # The end of the furthest payload the JVM wrote here (the bytes a spare holds): the JVM
        # counts the same for its own bound (ArrowArena.keepSpares).
        self.touched = 0
        self.spare = False  # an extension: in its root's spares
        self.spare_since = 0.0
        # A root: its spares, oldest first; the Java extensions Python let go of, for the JVM to
        # close (from a safe place: a finaliser must not call the JVM); the idle trimmer.
        self.spare_bytes = spare_bytes
        self.spare_idle = SPARE_IDLE_SECONDS
        self.spares: list[Arena] = []
        self.to_close: collections.deque[Any] = collections.deque()
        self.closed = False
        self._spare_lock = threading.Lock()
        self._stop_trimmer = threading.Event()
        self._trimmer: threading.Thread | None = None

    def contains(self, address: int, length: int) -> bool:
        """Whether `[address, address + length)` lies inside this process's mapping of the arena."""
        return self.address <= address and address + length <= self.address + self.size

    def _payload(self, offset: int) -> tuple[int, int]:
        if offset < 0 or offset % 64 or offset > self.size - SPAN_HEADER:
            raise GatunError(f"the server handed over a bad arena offset {offset}")
        (length,) = _U64.unpack_from(self.mm, offset + 8)
        start = offset + SPAN_HEADER
        if length > self.size - start:
            raise GatunError(f"the server handed over a span at {offset} longer than the arena")
        return start, length

    def read_batch(self, offset: int, schema: Any, fill: _Fill | None = None) -> Any:
        """The record batch in a lent span, its buffers viewing the arena in place."""
        pa = _pa()
        start, length = self._payload(offset)
        if start + length > self.touched:
            self.touched = start + length
        buf = pa.foreign_buffer(self.address + start, length, base=_Lease(self, offset, fill))
        return pa.ipc.read_record_batch(pa.ipc.read_message(buf), schema)

    def copy_batch(self, offset: int, schema: Any) -> Any:
        """The record batch in a lent span, copied into process memory (the span is not kept)."""
        pa = _pa()
        start, length = self._payload(offset)
        # Into pyarrow's pool, which keeps freed memory for the next allocation (malloc'ed bytes
        # would fault in fresh pages every time), with a parallel memcpy.
        buf = pa.allocate_buffer(length)
        sink = pa.FixedSizeBufferWriter(buf)
        sink.set_memcopy_threads(_COPY_THREADS)
        sink.write(self.base.slice(start, length))
        return pa.ipc.read_record_batch(pa.ipc.read_message(buf), schema)

    def write_batch(self, batch: Any, schema_size: int, schema: Any, reserved: int, capacity: int) -> int | bytes:
        """Writes one batch for the JVM into the span it reserved or one asked for now: the span
        offset, or the IPC bytes if the arena is full."""
        pa = _pa()
        need = pa.ipc.get_record_batch_size(batch) + schema_size + _STREAM_SLACK
        if reserved >= 0 and need <= capacity:
            offset = reserved
        else:
            offset = self.java.allocate(need) if need <= self.size else -1
        if offset < 0:
            return batch.serialize().to_pybytes()
        try:
            start = offset + SPAN_HEADER
            if offset % 64 or start + need > self.size:
                raise GatunError(f"the server gave out a bad arena span {offset}")
            if not self._populate(offset, start + need - offset):  # no memory for the span
                self.java.abandon(offset)
                return batch.serialize().to_pybytes()
            # A memoryview slice keeps the buffer mutable (a pyarrow slice would not be).
            sink = pa.FixedSizeBufferWriter(pa.py_buffer(self.view[start:start + need]))
            writer = pa.ipc.new_stream(sink, schema)
            writer.write_batch(batch)
            length = sink.tell()
            writer.close()
            _U64.pack_into(self.mm, offset + 8, length)
        except BaseException:
            self.java.abandon(offset)
            raise
        return offset

    def _populate(self, offset: int, length: int) -> bool:
        """Gives the span its memory before it is written: False when /dev/shm has none for it
        (writing would kill this process with SIGBUS: the arena file is sparse). True also where
        the kernel cannot tell (no MADV_POPULATE_WRITE)."""
        first = offset - offset % _PAGE
        try:
            self.mm.madvise(_MADV_POPULATE_WRITE, first, offset + length - first)
        except OSError as e:
            return e.errno not in (14, 12)  # EFAULT (would SIGBUS), ENOMEM
        return True

    # --- spares (a root's; spec/arrow.md §4.1) -----------------------------------------------

    def _spare(self, ext: "Arena") -> None:
        """Keeps `ext`, whose last fill just ended, as a spare if the budget allows: the newest
        spares are kept, older ones beyond the budget go. Called by `_Fill.__del__`, so list
        operations only: what is let go of waits in `to_close` for the JVM to close it."""
        # Never wait: the finaliser may run on a thread that holds the lock right now.
        if not self._spare_lock.acquire(blocking=False):
            self.to_close.append(ext.java)
            return
        try:
            if self.closed:
                return
            if ext.touched > self.spare_bytes:
                self.to_close.append(ext.java)
                return
            total = sum(a.touched for a in self.spares) + ext.touched
            while total > self.spare_bytes:
                old = self.spares.pop(0)
                old.spare = False
                total -= old.touched
                self.to_close.append(old.java)
            ext.spare = True
            ext.spare_since = time.monotonic()
            self.spares.append(ext)
        finally:
            self._spare_lock.release()

    def take_spare(self, size: int, room: int) -> "Arena | None":
        """The smallest spare of `size` to `room` bytes, no longer a spare; None if there is none."""
        with self._spare_lock:
            fits = [a for a in self.spares if size <= a.size <= room]
            if not fits:
                return None
            best = min(fits, key=lambda a: a.size)
            self.spares.remove(best)
            best.spare = False
            return best

    def release_spares(self, idle: float | None = None) -> float | None:
        """Closes the spares unused for `idle` seconds (all of them with None) and the extensions
        Python let go of, on both sides. Returns the seconds until the next spare falls idle, None
        when there is none. Makes JVM calls: never from a finaliser."""
        now = time.monotonic()
        with self._spare_lock:
            kept = [a for a in self.spares if idle is not None and now - a.spare_since < idle]
            for a in self.spares:
                if a not in kept:
                    a.spare = False
                    self.to_close.append(a.java)
            self.spares[:] = kept
            due = min((a.spare_since + idle - now for a in kept), default=None) if idle is not None else None
        self.settle()
        return due

    def settle(self) -> None:
        """Has the JVM close the extensions Python let go of (their file and mapping there; Python
        unmaps each once its `Arena` is unreferenced). Makes JVM calls: never from a finaliser."""
        while True:
            try:
                java = self.to_close.popleft()
            except IndexError:
                return
            java.close()

    def start_trimmer(self) -> None:
        """Starts the thread that closes idle spares, once (from a safe place: starting a thread
        takes locks a finaliser must not)."""
        if self._trimmer is None and self.spare_bytes and not self.closed:
            self._trimmer = threading.Thread(target=_trim_spares, args=(weakref.ref(self), self._stop_trimmer),
                                             name="gatun-arrow-spares", daemon=True)
            self._trimmer.start()

    def close_spares(self) -> None:
        """At the client's close: no more spares; the JVM closes the ones it keeps (best effort:
        the session may be gone already)."""
        self.closed = True
        self._stop_trimmer.set()
        trimmer, self._trimmer = self._trimmer, None
        if trimmer is None:
            return  # no extension was ever made: nothing is kept
        if trimmer is not threading.current_thread():
            trimmer.join(5)
        try:
            self.release_spares()
            self.java.keepSpares(0)
        except GatunError:
            pass


def _trim_spares(root_ref: "weakref.ref[Arena]", stop: threading.Event) -> None:
    """The idle trimmer's loop: a daemon thread with a weak reference to the root, so it neither
    keeps the interpreter alive nor the client; it ends when the client closes."""
    root = root_ref()
    wait = root.spare_idle if root is not None else 0.0
    del root
    while not stop.wait(wait):
        root = root_ref()
        if root is None:
            return
        try:
            due = root.release_spares(root.spare_idle)
        except GatunConnectionError:
            return  # the session ended
        except GatunError:
            due = None  # a close the JVM refused: that arena is dropped here anyway, go on
        wait = root.spare_idle if due is None else max(due, 0.01)
        del root


class KeyedBatchSources:
    """The client's one `dev.gatun.arrow.KeyedBatchSource` callback: the streams of all its
    `send_arrow_buffers` readers, each under its own key.

    One callback per session, not per transfer: a callback id lives as long as its session on both
    sides (protocol §5.3), and a callback per transfer grew client and server by one callback with
    every transfer (a one-hour soak: hundreds of MiB). A stream's data goes when it ends or its
    reader closes; a reader that Java code neither reads to its end nor closes keeps its data until
    the session ends, as it did before."""

    class Java:
        implements = ["dev.gatun.arrow.KeyedBatchSource"]

    def __init__(self) -> None:
        self._streams: dict[int, BatchSource] = {}
        self._keys = itertools.count(1)

    def add(self, source: "BatchSource") -> int:
        key = next(self._keys)
        self._streams[key] = source
        return key

    def forget(self, key: int) -> None:
        self._streams.pop(key, None)

    def __len__(self) -> int:
        return len(self._streams)

    def next(self, key: int, reserved: int, capacity: int) -> int | bytes | None:
        source = self._streams.get(key)
        if source is None:  # the reader asks no more after the end, and not after close()
            raise KeyError(f"no Arrow stream under key {key} in this client: it ended or its reader was closed")
        out = source.next(reserved, capacity)
        if out is None:
            del self._streams[key]
        return out

    def close(self, key: int) -> None:
        self._streams.pop(key, None)  # the stream's data goes with it


def _keyed_sources(client: Any) -> KeyedBatchSources:
    """The client's KeyedBatchSources, made on its first transfer."""
    sources = getattr(client, "_arrow_sources", None)
    if sources is None:
        with _SOURCES_LOCK:
            sources = getattr(client, "_arrow_sources", None)
            if sources is None:
                sources = client._arrow_sources = KeyedBatchSources()
    return sources


_SOURCES_LOCK = threading.Lock()


class BatchSource:
    """One stream of a Java `ArenaReader`: hands it one batch per `next()` (through the client's
    KeyedBatchSources callback)."""

    def __init__(self, arena: Arena, schema: Any, batches: Iterator[Any]):
        self._arena = arena
        self._schema = schema
        self._batches = batches
        self._schema_size = len(schema.serialize())

    def next(self, reserved: int, capacity: int) -> int | bytes | None:
        """The next batch written into the arena (or its bytes), or None at the end (after which
        KeyedBatchSources drops this stream)."""
        batch = next(self._batches, None)
        if batch is None:
            return None
        if not batch.schema.equals(self._schema):
            raise TypeError(f"a record batch with schema {batch.schema} in a stream of schema {self._schema}")
        return self._arena.write_batch(batch, self._schema_size, self._schema, reserved, capacity)


def _check_no_dictionary(pa: Any, t: Any, where: str) -> None:
    if pa.types.is_dictionary(t):
        raise TypeError(f"{where} is dictionary-encoded, which the shared-memory path does not carry; "
                        "decode it first (e.g. table.cast(...) to the value type)")
    for i in range(getattr(t, "num_fields", 0)):
        f = t.field(i)
        _check_no_dictionary(pa, f.type, f"{where}.{f.name}")


def _split(pa: Any, batch: Any, limit: int) -> Iterator[Any]:
    """The batch, in row slices whose IPC size stays under `limit` (slices copy nothing)."""
    size = pa.ipc.get_record_batch_size(batch)
    if size <= limit or batch.num_rows <= 1:
        yield batch
        return
    rows = max(1, batch.num_rows * limit // size)
    for start in range(0, batch.num_rows, rows):
        yield batch.slice(start, rows)


def send_arrow_buffers(client: Any, data: Any) -> JavaObject:
    pa = _pa()
    if isinstance(data, pa.Table):
        schema, batches = data.schema, iter(data.to_batches())
    elif isinstance(data, pa.RecordBatch):
        schema, batches = data.schema, iter([data])
    elif isinstance(data, pa.RecordBatchReader):
        schema, batches = data.schema, iter(data)
    else:
        raise TypeError("send_arrow_buffers needs a pyarrow Table, RecordBatch or RecordBatchReader, "
                        f"got {type(data).__module__}.{type(data).__qualname__}")
    for f in schema:
        _check_no_dictionary(pa, f.type, f.name)
    arena = client._arrow_arena()
    # The JVM reader reserves a quarter of the arena per batch (ArenaReader.RESERVE_FRACTION); a
    # slice that fits there needs no allocation call.
    limit = max(arena.size // 4 - len(schema.serialize()) - _STREAM_SLACK, arena.size // 8)
    pieces = (piece for b in batches for piece in _split(pa, b, limit))
    sources = _keyed_sources(client)
    key = sources.add(BatchSource(arena, schema, pieces))
    try:
        return client.jvm.dev.gatun.arrow.ArenaReader.open(arena.java, schema.serialize().to_pybytes(), sources, key)
    except BaseException:
        sources.forget(key)
        raise


class _Held:
    """The batches a table is being built from, and the arena the exporter writes into now.

    When that arena is full it first gives the exporter a larger extension arena (§4.1); when the
    limits allow none, it copies its arena-backed batches out to make room (§6).
    """

    def __init__(self, client: Any, root: Arena, exporter: JavaObject, schema: Any):
        self.client = client
        self.root = root
        self.current = root
        self.fill: _Fill | None = None  # of `current`, an extension, when the root keeps spares
        self.exporter = exporter
        self.schema = schema
        self.batches: list[Any] = []
        self.in_arena: list[tuple[int, Arena, int]] = []  # (index in batches, arena, span offset)

    def grow(self) -> bool:
        """Moves the exporter into an extension arena that holds the pending batch: a spare if
        one fits, else a new one; False when the server's maximum, /dev/shm or `extension_bytes`
        allow none."""
        root = self.root
        root.settle()
        need = self.exporter.pendingSize() + ARENA_DATA_OFFSET
        if root.max_size is None:
            root.max_size = self.client.jvm.dev.gatun.arrow.ArrowArena.maxSize()
        room = root.extension_bytes - sum(a.size for a in list(root.extensions) if not a.spare)
        # Doubling keeps the number of extensions (and round trips) logarithmic in the table; pages
        # never written cost no memory, so the unused tail of the last one is free. Equal tables
        # ask for equal sizes, so a repeated collection finds its spares again.
        size = min(-(-max(2 * self.current.size, need) // MIN_ARENA_BYTES) * MIN_ARENA_BYTES, root.max_size, room)
        if size < max(need, MIN_ARENA_BYTES):
            return False
        while (spare := root.take_spare(size, room)) is not None:
            try:
                self.exporter.continueIn(spare.java)
            except JavaException as e:
                spare.java.close()
                # Refused: the JVM closed its file (beyond its budget) or, against the rule that a
                # fill ends after its last RETURNED store, a span is still lent. Try another.
                if e.class_name != "java.lang.IllegalStateException":
                    raise
                continue
            self._enter(spare)
            return True
        try:
            ext = Arena(self.client, size, parent=root)
        except JavaException as e:
            if e.class_name == "java.lang.IllegalStateException":  # no room for it in /dev/shm
                return False
            raise
        try:
            self.exporter.continueIn(ext.java)
        except BaseException:
            ext.java.close()
            raise
        root.extensions.add(ext)
        root.start_trimmer()
        self._enter(ext)
        return True

    def _enter(self, arena: Arena) -> None:
        """The exporter writes into `arena` now; the extension it left ends its fill once the
        leases of its spans are gone (then it may become a spare)."""
        if self.fill is not None:
            self.fill.left = True
        self.current = arena
        self.fill = _Fill(arena, self.root) if arena is not self.root and self.root.spare_bytes else None

    def finish(self) -> None:
        """The stream ended: the exporter left the arena it wrote into last."""
        self._enter(self.root)

    def evict(self) -> bool:
        """Copies the held arena-backed batches out, so their spans are returned; False if none."""
        if not self.in_arena:
            return False
        for i, arena, offset in self.in_arena:
            self.batches[i] = arena.copy_batch(offset, self.schema)
        self.in_arena.clear()
        if self.current is not self.root:
            # The root reuses the spans just returned; the extension may become a spare.
            self.exporter.continueIn(self.root.java)
            self._enter(self.root)
        return True


def _stream(arena: Arena, exporter: JavaObject, schema: Any, held: _Held | None) -> Iterator[Any]:
    # No exporter.close() on the way out: a stream dropped half-read is closed by the garbage
    # collector, which may run in the middle of another request on this thread's channel, where a
    # call must not start. Nothing is pending in the exporter between two pulls; dropping the
    # proxy releases it in the JVM.
    pa = _pa()
    while True:
        offset = exporter.next()
        if offset == NO_ROOM:
            if held is not None and (held.grow() or held.evict()):
                continue
            data = exporter.nextBytes()
            if data is None:
                return
            batch = pa.ipc.read_record_batch(pa.ipc.read_message(pa.py_buffer(data)), schema)
        elif offset == END:
            return
        elif held is not None:
            batch = held.current.read_batch(offset, schema, held.fill)
            held.in_arena.append((len(held.batches), held.current, offset))
        else:
            batch = arena.read_batch(offset, schema)
        if held is not None:
            held.batches.append(batch)
        yield batch
        del batch  # hold no view here: the consumer decides how long the span lives


def _open(client: Any, obj: Any) -> tuple[Arena, JavaObject, Any]:
    pa = _pa()
    if not isinstance(obj, JavaObject):
        raise TypeError("get_arrow_data needs a Java ArrowReader, VectorSchemaRoot or ArrowExporter, "
                        f"got {type(obj).__qualname__}")
    arena = client._arrow_arena()
    try:
        exporter = client.jvm.dev.gatun.arrow.ArrowExporter.open(arena.java, obj)
    except JavaException as e:
        if e.class_name == "java.lang.IllegalArgumentException":
            raise TypeError(f"get_arrow_data: {e.message}") from None
        raise
    return arena, exporter, pa.ipc.read_schema(pa.py_buffer(exporter.schema()))


def get_arrow_batches(client: Any, obj: Any) -> tuple[Any, list[Any]]:
    """The schema and all record batches of what `get_arrow_data` takes, in order: views of the
    arena and of extension arenas made when it ran full, except batches copied out when no
    extension could be made (spec/arrow.md §4.1, §6)."""
    arena, exporter, schema = _open(client, obj)
    held = _Held(client, arena, exporter, schema)
    # Consumed without a loop variable, which would pin the latest batch's span during eviction.
    collections.deque(_stream(arena, exporter, schema, held), maxlen=0)
    held.finish()
    return schema, held.batches


def get_arrow_data(client: Any, obj: Any, reader: bool = False) -> Any:
    pa = _pa()
    if reader:
        arena, exporter, schema = _open(client, obj)
        return pa.RecordBatchReader.from_batches(schema, _stream(arena, exporter, schema, None))
    schema, batches = get_arrow_batches(client, obj)
    return pa.Table.from_batches(batches, schema)
