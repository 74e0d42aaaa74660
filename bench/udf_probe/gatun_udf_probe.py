"""PySpark's Python daemon with a timing probe in each forked worker (bench/udf_breakdown.py).

Run by Spark as the daemon module (`spark.python.daemon.module=gatun_udf_probe`, this directory on
the workers' PYTHONPATH through `spark.executorEnv.PYTHONPATH`). It is stock `pyspark.daemon`,
except that each forked worker, before running a task, wraps:

* the socket file objects the worker reads and writes (`read`, `readinto`, `read1`, `write`,
  `flush`): category `socket_read` / `socket_write` (wall time includes waiting for the JVM);
* the deserializer's `load_stream` generator: `arrow_read` (pyarrow reading the IPC stream, and
  whatever the serializer does per batch);
* the per-batch function `read_udfs` returns: `udf` (PySpark's per-batch wrappers, conversions such
  as Arrow <-> pandas, and the user's function);
* the serializer's `dump_stream`: `arrow_write` (pyarrow writing the IPC stream).

Each category's time is *exclusive* (a category nested in another is subtracted from it), on two
clocks: wall (`perf_counter`) and this thread's CPU (`thread_time`). Each task writes one JSON
file into $GATUN_UDF_PROBE_DIR. Nothing else of the worker is changed.
"""
from __future__ import annotations

import json
import os
import time

import pyspark.daemon as _daemon

_perf = time.perf_counter
_cpu = time.thread_time


class _Clock:
    """Exclusive wall and CPU time per category, with nesting (a stack of open categories)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.stack: list[list] = []

    def enter(self, cat: str) -> None:
        w, c = _perf(), _cpu()
        if self.stack:
            top = self.stack[-1]
            self.wall[top[0]] = self.wall.get(top[0], 0.0) + w - top[1]
            self.cpu[top[0]] = self.cpu.get(top[0], 0.0) + c - top[2]
        self.stack.append([cat, w, c])
        self.calls[cat] = self.calls.get(cat, 0) + 1

    def exit(self) -> None:
        w, c = _perf(), _cpu()
        cat, w0, c0 = self.stack.pop()
        self.wall[cat] = self.wall.get(cat, 0.0) + w - w0
        self.cpu[cat] = self.cpu.get(cat, 0.0) + c - c0
        if self.stack:
            self.stack[-1][1] = w
            self.stack[-1][2] = c


_clock = _Clock()
_bytes = {"socket_read": 0, "socket_write": 0}


class _TimedFile:
    """A file object whose reads and writes are timed; everything else goes to the file."""

    def __init__(self, f, cat: str) -> None:
        self._f = f
        self._cat = cat

    def __getattr__(self, name):
        return getattr(self._f, name)

    def _timed(self, fn, *args):
        _clock.enter(self._cat)
        try:
            out = fn(*args)
        finally:
            _clock.exit()
        return out

    def read(self, *args):
        out = self._timed(self._f.read, *args)
        _bytes["socket_read"] += len(out)
        return out

    def read1(self, *args):
        out = self._timed(self._f.read1, *args)
        _bytes["socket_read"] += len(out)
        return out

    def readinto(self, b):
        n = self._timed(self._f.readinto, b)
        _bytes["socket_read"] += n or 0
        return n

    def write(self, b):
        n = self._timed(self._f.write, b)
        _bytes["socket_write"] += len(memoryview(b).cast("B")) if n is None else n
        return n

    def flush(self):
        return self._timed(self._f.flush)


def _timed_iter(it, cat: str):
    it = iter(it)
    while True:
        _clock.enter(cat)
        try:
            x = next(it)
        except StopIteration:
            _clock.exit()
            return
        except BaseException:
            _clock.exit()
            raise
        _clock.exit()
        yield x


def _wrap_triple(func, deserializer, serializer):
    load, dump = deserializer.load_stream, serializer.dump_stream

    def load_stream(stream):
        return _timed_iter(load(stream), "arrow_read")

    def dump_stream(iterator, stream):
        _clock.enter("arrow_write")
        try:
            return dump(iterator, stream)
        finally:
            _clock.exit()

    def timed_func(split_index, iterator):
        return _timed_iter(func(split_index, iterator), "udf")

    deserializer.load_stream = load_stream
    serializer.dump_stream = dump_stream
    return timed_func


_installed = False


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    import pyspark.worker as w

    original_read_udfs, original_main = w.read_udfs, w.main

    def read_udfs(*args, **kwargs):
        func, profiler, deserializer, serializer = original_read_udfs(*args, **kwargs)
        func = _wrap_triple(func, deserializer, serializer)
        _task["eval_type"] = args[2] if len(args) > 2 else kwargs.get("eval_type")
        from pyspark.taskcontext import TaskContext

        tc = TaskContext.get()
        if tc is not None:
            _task.update(stage=tc.stageId(), partition=tc.partitionId())
        return func, profiler, deserializer, serializer

    def main(infile, outfile):
        global _clock
        _clock = _Clock()
        _bytes.update(socket_read=0, socket_write=0)
        _task.clear()
        t0, c0, p0 = _perf(), _cpu(), os.times()
        try:
            return original_main(_TimedFile(infile, "socket_read"), _TimedFile(outfile, "socket_write"))
        finally:
            _dump(t0, c0, p0)

    w.read_udfs = read_udfs
    w.main = main


_task: dict = {}


def _dump(t0: float, c0: float, p0) -> None:
    out_dir = os.environ.get("GATUN_UDF_PROBE_DIR")
    if not out_dir:
        return
    p1 = os.times()
    record = {
        "pid": os.getpid(),
        "eval_type": _task.get("eval_type"),
        "stage": _task.get("stage"),
        "partition": _task.get("partition"),
        "wall": _perf() - t0,
        "thread_cpu": _cpu() - c0,
        "process_user": p1.user - p0.user,
        "process_system": p1.system - p0.system,
        "exclusive_wall": _clock.wall,
        "exclusive_cpu": _clock.cpu,
        "calls": _clock.calls,
        "bytes": dict(_bytes),
    }
    name = os.path.join(out_dir, f"task-{os.getpid()}-{time.time_ns()}.json")
    with open(name + ".tmp", "w") as f:
        json.dump(record, f)
    os.replace(name + ".tmp", name)


_original_worker = _daemon.worker


def _worker(sock, authenticated):
    _install()
    return _original_worker(sock, authenticated)


_daemon.worker = _worker

if __name__ == "__main__":
    _daemon.manager()
