"""Bad bytes from the server surface as GatunProtocolError, never struct.error, IndexError,
UnicodeDecodeError or decimal.InvalidOperation (issue 13).

The malformed frames come from spec/vectors: its negative "server_frames", and every server → client
vector cut short, with a string that is not UTF-8, or with a length that runs past the frame. They
go through the decoders of gatun.protocol and through the client's real request path (a fake
server thread answering in a real region), the C fast path (roundtrip) included.
"""
from __future__ import annotations

import json
import mmap
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from gatun import GatunClient, GatunProtocolError, _native, protocol as p, transport, waiting
from gatun.transport import NOT_SIMPLE, Channel

VECTORS = json.loads((Path(__file__).parents[2] / "spec" / "vectors" / "frames.json").read_text())
SERVER = [f for f in VECTORS["frames"] if f["direction"] == "server_to_client"]
KINDS = {"RETURN": p.RETURN, "THROW": p.THROW, "ERROR": p.ERROR}


class _Ctx:
    def wrap_object(self, handle, shape):
        return ("object", handle, shape)

    def wrap_class(self, class_id, name):
        return ("class", class_id, name)


def _decode(ftype: int, payload: bytes) -> object:
    if ftype == p.RETURN:
        value, end = p.decode_value(payload, 0, _Ctx())
        if end != len(payload):
            raise GatunProtocolError("trailing bytes")
        return value
    if ftype == p.THROW:
        return p.decode_throw(payload, 0, len(payload))
    return p.decode_error(payload, 0, len(payload))


def _frame(ftype: int, payload: bytes) -> bytes:
    return p.FRAME.pack(len(payload), ftype, 0, 0, len(payload)) + payload


def _malformed_payloads() -> list[tuple[str, int, bytes]]:
    """(name, frame type, payload): every vector cut short, and strings made bad."""
    out = []
    for f in SERVER:
        raw = bytes.fromhex(f["hex"])
        ftype = raw[4]
        if ftype not in KINDS.values():
            continue
        payload = raw[16:]
        for n in range(len(payload)):
            out.append((f"{f['name']}[:{n}]", ftype, payload[:n]))
        # The first string of the payload: not UTF-8, and a length past the end.
        start = {p.RETURN: 1, p.THROW: 8, p.ERROR: 2}[ftype]
        if ftype == p.RETURN and payload[0] not in (p.T_STRING, p.T_DECIMAL):
            continue
        (n,) = struct.unpack_from("<I", payload, start)
        if n:
            bad = bytearray(payload)
            bad[start + 4] = 0xFF
            out.append((f"{f['name']}/not-utf8", ftype, bytes(bad)))
        longer = bytearray(payload)
        struct.pack_into("<I", longer, start, n + 1)
        out.append((f"{f['name']}/string-past-the-end", ftype, bytes(longer)))
        huge = bytearray(payload)
        struct.pack_into("<I", huge, start, 0xFFFFFFFF)
        out.append((f"{f['name']}/string-of-4-GiB", ftype, bytes(huge)))
    out.append(("decimal-not-a-number", p.RETURN, bytes([p.T_DECIMAL]) + p.U32.pack(3) + b"1x2"))
    out.append(("list-of-2^32-1", p.RETURN, bytes([p.T_LIST]) + p.U32.pack(0xFFFFFFFF) + b"\x00"))
    out.append(("bytes-past-the-end", p.RETURN, bytes([p.T_BYTES]) + p.U32.pack(9) + b"abc"))
    out.append(("list-nested-past-the-stack", p.RETURN, (bytes([p.T_LIST]) + p.U32.pack(1)) * 100_000 + b"\x00"))
    return out


MALFORMED = _malformed_payloads()


def test_the_vectors_give_enough_malformed_frames() -> None:
    assert len(MALFORMED) > 200
    assert {t for _, t, _ in MALFORMED} == {p.RETURN, p.THROW, p.ERROR}


@pytest.mark.parametrize("name,ftype,payload", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_decoders_raise_protocol_errors_only(name: str, ftype: int, payload: bytes) -> None:
    with pytest.raises(GatunProtocolError):
        _decode(ftype, payload)


def test_the_well_formed_vectors_still_decode() -> None:
    """The checks that refuse the malformed frames pass every golden vector (no false refusals)."""
    for f in SERVER:
        raw = bytes.fromhex(f["hex"])
        if raw[4] in KINDS.values():
            _decode(raw[4], raw[16:])


# --- through the client's request path, against a fake server in a real region ---------------


class _FakeServer:
    """Answers each request (and each CONTINUE) with the next of `frames`, as a server does."""

    def __init__(self, frames: list[bytes]):
        capacity = 4096
        self.mm = mmap.mmap(-1, p.REGION_HEADER + capacity)
        self.mm[0:4] = p.REGION_MAGIC
        struct.pack_into("<IQII", self.mm, 4, 1, len(self.mm), p.REGION_HEADER, capacity)
        self.ours, self.theirs = socket.socketpair()
        ch = Channel.__new__(Channel)
        ch.mm, ch.sock, ch.data, ch.capacity = self.mm, self.ours, p.REGION_HEADER, capacity
        ch.chunk_payload = capacity - p.FRAME_HEADER
        ch.max_message_bytes = 1 << 30
        ch.region = _native.Region(self.mm, self.ours.fileno(), *waiting.parse(waiting.DEFAULT), transport._CPUS)
        ch.names, ch.pending_names, ch.in_transfer, ch.broken = {}, {}, False, None
        ch.channel_id = 1
        self.channel = ch
        self.frames = frames
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        mm = self.mm
        deadline = time.monotonic() + 10
        for i, frame in enumerate(self.frames):
            while struct.unpack_from("<Q", mm, 64)[0] == i:
                if time.monotonic() > deadline:
                    self.theirs.close()
                    return
                time.sleep(0)
            mm[p.REGION_HEADER:p.REGION_HEADER + len(frame)] = frame
            struct.pack_into("<Q", mm, 128, i + 1)
            if struct.unpack_from("<I", mm, 192)[0] == 1:
                struct.pack_into("<I", mm, 192, 0)
                self.theirs.send(p.DOORBELL)

    def close(self) -> None:
        self.thread.join(10)
        self.ours.close()
        self.theirs.close()


def _client_with(ch: Channel) -> GatunClient:
    c = GatunClient("/nonexistent.sock", token=bytes(32))
    c._local.channel = ch
    c._channels.append(ch)
    return c


def _assert_protocol_error_and_channel_dropped(frames: list[bytes], fast: bool) -> None:
    server = _FakeServer(frames)
    c = _client_with(server.channel)
    try:
        if not fast:
            # The Python reader: the request goes out as a plain frame and `_reply` decodes the
            # answer, as it does for every answer the native round trip leaves to Python.
            ch = server.channel
            ch.request = lambda ftype, payload: (ch.send_frame(ftype, payload), NOT_SIMPLE)[1]
        with pytest.raises(GatunProtocolError):
            c._request(server.channel, p.SESSION_INFO, b"")
        assert server.channel.broken is not None
        assert getattr(c._local, "channel", None) is not server.channel  # the next request takes a new one
    finally:
        server.close()


NEGATIVE = VECTORS["negative"]["server_frames"]


@pytest.mark.parametrize("v", NEGATIVE, ids=[v["name"] for v in NEGATIVE])
@pytest.mark.parametrize("fast", [False, True], ids=["python", "native"])
def test_negative_server_frames_are_protocol_errors(v: dict, fast: bool) -> None:
    _assert_protocol_error_and_channel_dropped([bytes.fromhex(h) for h in v["frames"]], fast)


# A sample of the malformed payloads through the real path (all of them go through the decoders above).
SAMPLE = [m for m in MALFORMED if "/" in m[0] or m[0].endswith("[:1]") or m[0].startswith(("decimal", "list-of"))]


@pytest.mark.parametrize("name,ftype,payload", SAMPLE, ids=[m[0] for m in SAMPLE])
@pytest.mark.parametrize("fast", [False, True], ids=["python", "native"])
def test_malformed_answers_are_protocol_errors_on_the_request_path(name, ftype, payload, fast) -> None:
    _assert_protocol_error_and_channel_dropped([_frame(ftype, payload)], fast)
