"""Fuzzing (atheris) of the C fast path's decoder: `_native.Region.roundtrip`, which reads the
server's answer frame straight out of the shared-memory region (python/gatun/_native.c).

    python python/tests/fuzz_native.py [CORPUS_DIR ...] -runs=N

A fake server thread answers each roundtrip() through a real mapped region and a real socket
doorbell (the turn-taking of spec §2.2, fixed wait policy without spin: the client parks): the
input is the whole answer frame, header included. roundtrip() must return NOT_SIMPLE or a value
equal to what the pure-Python decoder makes of the same frame, and may raise UnicodeDecodeError
only where the Python decoder refuses the frame too; it must never crash, hang or return CLOSED.
Without a corpus directory it seeds ./corpus-native from spec/vectors. test_fuzz_native.py runs
a short run; `make fuzz` a long one. (atheris guides by the coverage of Python code only: the C
code is fed mutations of the vectors, not coverage-guided.)
"""
from __future__ import annotations

import json
import math
import mmap
import os
import socket
import struct
import sys
import threading
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from gatun import _native, protocol as p

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "frames.json"
CAPACITY = 4096


class _Ctx:
    def wrap_object(self, handle, shape):
        return (handle, shape)  # what roundtrip() returns for an OBJECT

    def wrap_class(self, class_id, name):
        return ("class", class_id, name)


class FakeServer:
    """Answers each published request with `self.answer`, as the server's channel thread does."""

    def __init__(self) -> None:
        self.mm = mmap.mmap(-1, p.REGION_HEADER + CAPACITY)
        self.mm[0:4] = p.REGION_MAGIC
        struct.pack_into("<IQII", self.mm, 4, 1, len(self.mm), p.REGION_HEADER, CAPACITY)
        self.ours, self.theirs = socket.socketpair()
        self.region = _native.Region(self.mm, self.ours.fileno(), 1, 0, 2)  # fixed policy, 0 ns: park
        self.answer = b""
        self.seq = 0
        struct.pack_into("<I", self.mm, 256, 1)  # server_parked: the client rings on publish
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        mm = self.mm
        while True:
            if not self.theirs.recv(1):
                return
            frame = self.answer
            mm[p.REGION_HEADER:p.REGION_HEADER + len(frame)] = frame
            self.seq += 1
            struct.pack_into("<I", mm, 256, 1)  # parked again before the client can publish next
            struct.pack_into("<Q", mm, 128, self.seq)
            if struct.unpack_from("<I", mm, 192)[0] == 1:
                struct.pack_into("<I", mm, 192, 0)
                self.theirs.send(p.DOORBELL)


SERVER: FakeServer | None = None


def _python_view(frame: bytes):
    """What the Python path makes of the frame: ("value", v) or ("refused", None)."""
    length, ftype, flags, _, total = p.FRAME.unpack_from(frame, 0)
    if ftype != p.RETURN or flags != 0 or length != total or length < 1 or 16 + length > len(frame):
        return ("refused", None)
    try:
        value, end = p.decode_value(frame[:16 + length], 16, _Ctx())
    except p.ProtocolError:
        return ("refused", None)
    return ("value", value) if end == 16 + length else ("refused", None)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or struct.pack("<d", a) == struct.pack("<d", b)
    return type(a) is type(b) and a == b


def check(data: bytes) -> None:
    global SERVER
    if SERVER is None:
        SERVER = FakeServer()
    frame = (bytes(data) + bytes(16))[:CAPACITY] if len(data) < 16 else bytes(data[:CAPACITY])
    # What the region holds after the frame is what the previous answers left: clear it, so that
    # the two decoders see the same bytes.
    SERVER.mm[p.REGION_HEADER:p.REGION_HEADER + CAPACITY] = bytes(CAPACITY)
    SERVER.answer = frame
    padded = frame + bytes(CAPACITY - len(frame))
    try:
        got = SERVER.region.roundtrip(p.SESSION_INFO, b"")
    except UnicodeDecodeError:
        kind, _ = _python_view(padded)
        if kind != "refused":
            raise AssertionError(f"C refused a string Python decodes: {frame.hex()}") from None
        return
    if got is _native.CLOSED:
        raise AssertionError("roundtrip() returned CLOSED")
    if got is _native.NOT_SIMPLE:
        return
    kind, value = _python_view(padded)
    if kind != "value" or not _same(got, value):
        raise AssertionError(f"C decoded {got!r}, Python {kind} {value!r}, frame {frame.hex()}")


def seed_corpus(directory: str) -> int:
    """The RETURN vectors of spec/vectors (and its negative server frames) as seeds; returns how many."""
    vectors = json.loads(VECTORS.read_text())
    n = 0
    for frame in vectors["frames"]:
        raw = bytes.fromhex(frame["hex"])
        if frame["direction"] == "server_to_client":
            Path(directory, frame["name"]).write_bytes(raw)
            n += 1
    for v in vectors["negative"]["server_frames"]:
        Path(directory, "negative-" + v["name"]).write_bytes(bytes.fromhex(v["frames"][0]))
        n += 1
    return n


if __name__ == "__main__":
    sys.setswitchinterval(1e-5)  # the fake server thread and the fuzzer hand the GIL over each run
    args = sys.argv
    if all(a.startswith("-") for a in args[1:]):
        os.makedirs("corpus-native", exist_ok=True)
        seed_corpus("corpus-native")
        args = [*args, "corpus-native"]
    atheris.Setup(args, check)
    atheris.Fuzz()
