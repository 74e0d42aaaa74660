"""spec/vectors beyond single frames, through the Python client's real code paths.

Constants, the hand-shake (WELCOME for each status, parsed by the transport), control messages,
the region header, the connection info, the name-table scenario, and the negative vectors, which
run against a real server JVM.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from gatun import GatunConnectionError, protocol as p
from gatun import transport
from gatun.transport import Channel, ControlConnection, hello_bytes

SPEC = Path(__file__).parents[2] / "spec" / "vectors"
VECTORS = json.loads((SPEC / "frames.json").read_text())
CONSTANTS = json.loads((SPEC / "constants.json").read_text())


def test_wait_policy_constants_match_the_spec() -> None:
    """The C client's wait policy (spec §2.2.1) has the spec's constants (they drifted once)."""
    from gatun import _native

    assert _native.WAIT_POLICY == CONSTANTS["wait_policy"]


def test_constants_match_the_spec() -> None:
    c = CONSTANTS
    assert p.PROTOCOL_VERSION == c["protocol_version"]
    assert p.MAGIC == c["hello"]["MAGIC"].encode()
    assert (p.HELLO_SESSION, p.HELLO_CHANNEL) == (c["hello"]["KIND_SESSION"], c["hello"]["KIND_CHANNEL"])
    assert len(hello_bytes(p.HELLO_SESSION, bytes(32))) == c["hello"]["SESSION_HELLO_BYTES"]
    assert len(hello_bytes(p.HELLO_CHANNEL, bytes(32), bytes(16))) == c["hello"]["CHANNEL_HELLO_BYTES"]
    statuses = {v: k for k, v in c["welcome_status"].items()}
    assert set(p.WELCOME_STATUS) == set(statuses) - {0}
    assert p.MAPPED == bytes([c["bytes"]["MAPPED"]]) and p.DOORBELL == bytes([c["bytes"]["DOORBELL"]])
    assert (p.CONTROL_CANCEL, p.CONTROL_CLOSE, p.CONTROL_SHUTDOWN) == tuple(c["control"][k] for k in ("CANCEL", "CLOSE", "SHUTDOWN"))
    assert p.REGION_MAGIC == c["region"]["MAGIC"].encode()
    assert p.REGION_HEADER == c["region"]["DATA_OFFSET"]
    assert p.FRAME_HEADER == c["frame"]["HEADER_BYTES"] == p.FRAME.size
    assert p.FLAG_MORE == c["frame"]["FLAG_MORE"]
    for name, code in c["frame_types"].items():
        assert getattr(p, name) == code, name
    assert (p.NAME_DEFINE, p.MAX_NAME_ID) == (c["names"]["DEFINE_BIT"], c["names"]["MAX_ID"])
    assert (p.TARGET_OBJECT, p.TARGET_CLASS) == (c["targets"]["OBJECT"], c["targets"]["CLASS"])
    for name, op in c["array_ops"].items():
        assert getattr(p, f"ARRAY_{name}") == op, name
    assert p.ERROR_NAMES == {code: name for name, code in c["error_codes"].items()}
    for name, code in c["error_codes"].items():
        assert getattr(p, f"ERR_{name}") == code, name
    for name, tag in c["value_tags"].items():
        assert getattr(p, f"T_{name}") == tag, name
    for name, shape in c["shapes"].items():
        assert getattr(p, "SHAPE_OBJECT" if name == "PLAIN" else f"SHAPE_{name}") == shape, name


def test_region_header_vector() -> None:
    r = VECTORS["region"]
    raw = bytes.fromhex(r["hex"])
    m = r["meaning"]
    assert raw[:4] == p.REGION_MAGIC
    assert struct.unpack_from("<IQII", raw, 4) == (m["layout_version"], int(m["size"]), m["data_offset"], m["data_capacity"])
    assert m["data_offset"] == p.REGION_HEADER
    assert bytes.fromhex(r["mapped"]) == p.MAPPED and bytes.fromhex(r["doorbell"]) == p.DOORBELL


def test_connection_info_vector(tmp_path) -> None:
    from gatun.launcher import ConnectionInfo

    info_file = tmp_path / "info.json"
    info_file.write_text(VECTORS["connection_info"]["text"])
    info = ConnectionInfo.read(str(info_file))
    m = VECTORS["connection_info"]["meaning"]
    assert (info.socket_path, info.token, info.pid) == (m["socket"], bytes.fromhex(m["token"]), m["pid"])


class _Sock:
    """Records what the real control-connection code writes."""

    def __init__(self) -> None:
        self.data = b""

    def sendall(self, b: bytes) -> None:
        self.data += b

    def close(self) -> None:
        pass


def test_control_messages_encode() -> None:
    cc = ControlConnection.__new__(ControlConnection)
    cc._lock = threading.Lock()
    for name, send in (("cancel", lambda: cc.cancel(VECTORS["control"]["cancel"]["meaning"]["channel"])),
                       ("close", cc.close), ("shutdown", cc.shutdown_server)):
        cc.sock = _Sock()
        send()
        assert cc.sock.data.hex() == VECTORS["control"][name]["hex"], name


def _serve_once(reply: bytes) -> tuple[str, threading.Thread, list[bytes]]:
    """A listener that reads a HELLO and answers `reply`: the client's WELCOME parser, in isolation."""
    d = tempfile.mkdtemp(prefix="gatun-vec-")
    path = os.path.join(d, "s.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    got: list[bytes] = []

    def run() -> None:
        conn, _ = srv.accept()
        got.append(conn.recv(56))
        conn.sendall(reply)
        conn.recv(1)  # until the client closes
        conn.close()
        srv.close()
        shutil.rmtree(d, ignore_errors=True)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return path, t, got


@pytest.mark.parametrize("name", [k for k in VECTORS["welcome"] if k.startswith("refused_")])
def test_welcome_refusals_parse(name: str) -> None:
    v = VECTORS["welcome"][name]
    path, t, _ = _serve_once(bytes.fromhex(v["hex"]))
    with pytest.raises(GatunConnectionError) as e:
        transport._hello(path, p.HELLO_SESSION, bytes(32))
    assert v["meaning"]["message"] in str(e.value)
    assert p.WELCOME_STATUS[v["meaning"]["status"]] in str(e.value)
    t.join(5)


def test_welcome_session_ok_parses() -> None:
    v = VECTORS["welcome"]["session_ok"]
    token = bytes(range(32))
    path, t, got = _serve_once(bytes.fromhex(v["hex"]))
    cc = ControlConnection(path, token)
    try:
        assert got[0] == bytes.fromhex(VECTORS["hello"]["session"]["hex"])
        assert cc.session_id.hex() == v["meaning"]["session"]
        assert cc.max_message_bytes == int(v["meaning"]["max_message_bytes"])
    finally:
        cc.sock.close()
    t.join(5)


def test_scenario_define_fail_use() -> None:
    """A first use that fails to encode defines nothing; the next new name takes its id."""
    from test_vectors import RecordingClient

    c = RecordingClient()
    handle = int(VECTORS["frames"][0]["meaning"]["body"]["target"]["object"])
    for step in VECTORS["scenarios"]["define_fail_use"]:
        if step["args"] == "unencodable":
            with pytest.raises(OverflowError):
                c._call(p.TARGET_OBJECT, handle, step["call"], [2**70])
            assert c.sent == []
            continue
        args = [a["string"] for a in step["args"]]
        c._call(p.TARGET_OBJECT, handle, step["call"], args)
        assert c.frame() == step["sends"]


# --- negative vectors, against a real server ------------------------------------------------

def _raw_exchange(ch: Channel, raw: bytes) -> tuple[int, Any, int]:
    ch.mm[ch.data:ch.data + len(raw)] = raw
    ch._publish()
    ch._await_turn()
    return ch.read_frame()


@pytest.mark.parametrize("v", VECTORS["negative"]["frames"], ids=[v["name"] for v in VECTORS["negative"]["frames"]])
def test_server_refuses_negative_frames(client, v: dict) -> None:
    control = ControlConnection(client._socket_path, client._token)
    ch = Channel(control)
    try:
        ftype, buf, pos = _raw_exchange(ch, bytes.fromhex(v["hex"]))
        assert ftype == p.ERROR
        (code,) = p.U16.unpack_from(buf, pos)
        message, _ = p.decode_str(buf, pos + 2)
        assert (code, message[:len(v["message"])]) == (v["error"], v["message"])
        if code == p.ERR_PROTOCOL:  # the server closes the channel after PROTOCOL
            ch.mm[ch.data:ch.data + 16] = p.FRAME.pack(0, p.SESSION_INFO, 0, 0, 0)
            with pytest.raises(GatunConnectionError):
                ch._publish()
                ch._await_turn()
    finally:
        ch.close()
        control.close()


@pytest.mark.parametrize("v", VECTORS["negative"]["accepted_frames"], ids=[v["name"] for v in VECTORS["negative"]["accepted_frames"]])
def test_server_accepts_reserved_bits(client, v: dict) -> None:
    control = ControlConnection(client._socket_path, client._token)
    ch = Channel(control)
    try:
        ftype, _, _ = _raw_exchange(ch, bytes.fromhex(v["hex"]))
        assert ftype == getattr(p, v["answer_type"])
    finally:
        ch.close()
        control.close()


VECTOR_TOKEN = bytes(range(32))


def _with_token(raw: bytes, token: bytes) -> bytes:
    """The vector's HELLO with the running server's token in place of the vectors' (bytes 0..31)."""
    if raw[8:40] == VECTOR_TOKEN:
        return raw[:8] + token + raw[40:]
    return raw


@pytest.mark.parametrize("v", VECTORS["negative"]["hellos"], ids=[v["name"] for v in VECTORS["negative"]["hellos"]])
def test_server_answers_hellos(client, v: dict) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(client._socket_path)
    try:
        raw = _with_token(bytes.fromhex(v["hex"]), client._token)
        s.sendall(raw)
        if len(raw) < 8:
            s.shutdown(socket.SHUT_WR)
        assert s.recv(1) == bytes([v["status"]])
    finally:
        s.close()


def test_server_parses_the_hello_vectors(client) -> None:
    """The session HELLO vector opens a session; the channel one names an unknown session."""
    for kind, status in (("session", 0), ("channel", 4)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(15)
        s.connect(client._socket_path)
        try:
            s.sendall(_with_token(bytes.fromhex(VECTORS["hello"][kind]["hex"]), client._token))
            assert s.recv(1) == bytes([status]), kind
        finally:
            s.close()


# --- the C fast-path decoder (Region.roundtrip) ---------------------------------------------


def _region(mm: Any, fd: int) -> Any:
    """A native Region as the transport makes it (default wait policy)."""
    from gatun import _native, waiting

    return _native.Region(mm, fd, *waiting.parse(waiting.DEFAULT), transport._CPUS)

RETURNS = [f for f in VECTORS["frames"] if f["direction"] == "server_to_client" and f["meaning"]["type"] == "RETURN"]
# What roundtrip() decodes itself; everything else it leaves to Python (NOT_SIMPLE).
_NATIVE = {"null": lambda x: None, "bool": lambda x: x, "int": lambda x: x, "long": int,
           "double": lambda x: x, "string": lambda x: x,
           "object": lambda x: (int(x["handle"]), x["shape"])}


@pytest.mark.parametrize("v", RETURNS, ids=[f["name"] for f in RETURNS])
def test_native_fast_path_decodes_return_vectors(v: dict) -> None:
    """The vector's RETURN frame, answered to a real roundtrip() on a region played by this test."""
    import mmap
    import time

    capacity = 4096
    mm = mmap.mmap(-1, p.REGION_HEADER + capacity)
    mm[0:4] = p.REGION_MAGIC
    struct.pack_into("<IQII", mm, 4, 1, len(mm), p.REGION_HEADER, capacity)
    ours, theirs = socket.socketpair()
    region = _region(mm, ours.fileno())
    frame = bytes.fromhex(v["hex"])

    def server() -> None:
        deadline = time.monotonic() + 10
        while struct.unpack_from("<Q", mm, 64)[0] == 0:  # the client's request
            if time.monotonic() > deadline:
                theirs.close()
                return
            time.sleep(0)
        mm[p.REGION_HEADER:p.REGION_HEADER + len(frame)] = frame
        struct.pack_into("<Q", mm, 128, 1)
        if struct.unpack_from("<I", mm, 192)[0] == 1:  # the client parked: ring (spec §2.2)
            struct.pack_into("<I", mm, 192, 0)
            theirs.send(p.DOORBELL)

    t = threading.Thread(target=server, daemon=True)
    t.start()
    try:
        got = region.roundtrip(p.SESSION_INFO, b"")
    finally:
        t.join(10)
        region.release()
        ours.close()
        theirs.close()
    (kind, x), = v["meaning"]["body"]["value"].items()
    if kind in _NATIVE:
        assert got == _NATIVE[kind](x) and type(got) is type(_NATIVE[kind](x))
    else:
        assert got is transport.NOT_SIMPLE


def _loopback_channel(capacity: int) -> tuple[Any, socket.socket, socket.socket, Channel]:
    """A real Channel on an anonymous region with `capacity` data bytes; the test plays the server
    through the region and the other end of the socket pair."""
    import mmap

    mm = mmap.mmap(-1, p.REGION_HEADER + capacity)
    mm[0:4] = p.REGION_MAGIC
    struct.pack_into("<IQII", mm, 4, 1, len(mm), p.REGION_HEADER, capacity)
    ours, theirs = socket.socketpair()
    ch = Channel.__new__(Channel)
    ch.mm, ch.sock, ch.data, ch.capacity = mm, ours, p.REGION_HEADER, capacity
    ch.chunk_payload = capacity - p.FRAME_HEADER
    ch.max_message_bytes = 1 << 30
    ch.region = _region(mm, ours.fileno())
    ch.names, ch.pending_names, ch.in_transfer, ch.broken = {}, {}, False, None
    return mm, ours, theirs, ch


def test_chunked_exchange_through_the_real_channel() -> None:
    """The vectors' chunked exchange, CONTINUE included: Channel.send_frame and read_frame, byte for byte.

    This test plays the server on a region with the vector's data capacity.
    """
    import time

    chunked = VECTORS["chunked"]
    capacity = chunked["data_capacity"]
    mm, ours, theirs, ch = _loopback_channel(capacity)
    seen = {"client": 0, "server": 0}
    failures: list[str] = []

    def server(steps: list[dict]) -> None:
        try:
            play(steps)
        except BaseException as e:  # noqa: BLE001 - reported by the test thread
            failures.append(repr(e))
            theirs.close()  # the client's wait ends with EOF instead of hanging

    def play(steps: list[dict]) -> None:
        for step in steps:
            frame = bytes.fromhex(step["hex"])
            if step["direction"] == "client_to_server":
                while struct.unpack_from("<Q", mm, 64)[0] == seen["client"]:
                    time.sleep(0)
                seen["client"] += 1
                (length,) = struct.unpack_from("<I", mm, p.REGION_HEADER)
                got = bytes(mm[p.REGION_HEADER:p.REGION_HEADER + 16 + length])
                if got != frame:
                    failures.append(f"client wrote {got[:32].hex()}..., vector {frame[:32].hex()}...")
            else:
                mm[p.REGION_HEADER:p.REGION_HEADER + len(frame)] = frame
                seen["server"] += 1
                struct.pack_into("<Q", mm, 128, seen["server"])
                if struct.unpack_from("<I", mm, 192)[0] == 1:
                    struct.pack_into("<I", mm, 192, 0)
                    theirs.send(p.DOORBELL)

    request = chunked["steps"]
    answer = [{"direction": "client_to_server", "hex": p.FRAME.pack(0, p.SESSION_INFO, 0, 0, 0).hex()}]
    answer += chunked["answer_steps"]
    t = threading.Thread(target=server, args=(request + answer,), daemon=True)
    t.start()
    try:
        from test_vectors import RecordingClient

        builder = RecordingClient()  # the client's own request builder makes the payload
        body = chunked["request"]["body"]
        builder._call(p.TARGET_CLASS, int(body["target"]["class"]), body["name"]["define"],
                      [bytes.fromhex(body["args"][0]["bytes"])])
        _, payload = builder.sent.pop()
        assert len(payload) == chunked["request"]["total"]
        ch.send_frame(p.CALL, payload)
        ftype, buf, pos = ch.read_frame()
        assert (ftype, p.decode_value(buf, pos, None)[0]) == (p.RETURN, 99)
        ch.send_frame(p.SESSION_INFO, b"")
        ftype, buf, pos = ch.read_frame()  # a chunked answer: read_frame answers CONTINUE
        assert ftype == p.RETURN
        assert p.decode_value(buf, pos, None)[0] == bytes.fromhex(chunked["answer"]["body"]["value"]["bytes"])
    finally:
        t.join(10)
        ch.region.release()
        ours.close()
        theirs.close()
    assert not failures, failures


def test_chunked_refusal_through_the_real_channel() -> None:
    """The refusal vector: ERROR LIMIT in place of CONTINUE ends send_frame; the names are not counted."""
    import time

    from test_vectors import RecordingClient

    chunked = VECTORS["chunked"]
    capacity = chunked["data_capacity"]
    mm, ours, theirs, ch = _loopback_channel(capacity)
    first, refusal = (bytes.fromhex(st["hex"]) for st in chunked["refused_steps"])
    failures: list[str] = []

    def server() -> None:
        deadline = time.monotonic() + 10
        while struct.unpack_from("<Q", mm, 64)[0] == 0:
            if time.monotonic() > deadline:
                theirs.close()
                return
            time.sleep(0)
        if bytes(mm[p.REGION_HEADER:p.REGION_HEADER + len(first)]) != first:
            failures.append("the first chunk differs from the vector")
        mm[p.REGION_HEADER:p.REGION_HEADER + len(refusal)] = refusal
        struct.pack_into("<Q", mm, 128, 1)
        if struct.unpack_from("<I", mm, 192)[0] == 1:
            struct.pack_into("<I", mm, 192, 0)
            theirs.send(p.DOORBELL)

    t = threading.Thread(target=server, daemon=True)
    t.start()
    try:
        builder = RecordingClient()
        body = chunked["request"]["body"]
        builder._call(p.TARGET_CLASS, int(body["target"]["class"]), body["name"]["define"],
                      [bytes.fromhex(body["args"][0]["bytes"])])
        _, payload = builder.sent.pop()
        ch.pending_names["hashCode"] = 0  # as the client's builder left it for this channel
        ch.send_frame(p.CALL, payload)
        assert ch.pending_names == {} and ch.names == {}  # refused unread: defined nothing
        ftype, buf, pos = ch.read_frame()
        assert ftype == p.ERROR
        assert buf[pos:pos + len(refusal) - 16] == refusal[16:]
    finally:
        t.join(10)
        ch.region.release()
        ours.close()
        theirs.close()
    assert not failures, failures


def test_callback_loop_through_the_real_client() -> None:
    """The callback-loop vector: GatunClient._callback_loop and _serve_callback on a real Channel.

    This test plays the server: it checks each frame the client writes against the vector and
    writes the vector's CALLBACK frames; closing its socket at the end ends the loop as a session's
    end does.
    """
    import time

    from gatun.client import GatunClient

    loop = VECTORS["callback_loop"]
    capacity = 4096
    mm, ours, theirs, ch = _loopback_channel(capacity)
    failures: list[str] = []
    seen = {"client": 0, "server": 0}

    def client_frame() -> bytes:
        deadline = time.monotonic() + 10
        while struct.unpack_from("<Q", mm, 64)[0] == seen["client"]:
            if time.monotonic() > deadline:
                raise TimeoutError("the client wrote no frame")
            time.sleep(0)
        seen["client"] += 1
        (length,) = struct.unpack_from("<I", mm, p.REGION_HEADER)
        return bytes(mm[p.REGION_HEADER:p.REGION_HEADER + 16 + length])

    def check_error(got: bytes, want: dict) -> None:
        length, ftype, _, _, _ = p.FRAME.unpack_from(got, 0)
        if ftype != p.CALLBACK_ERROR:
            failures.append(f"expected CALLBACK_ERROR, the client sent frame type 0x{ftype:02x}")
            return
        (throwable,) = p.U64.unpack_from(got, 16)
        error_type, pos = p.decode_str(got, 24)
        message, pos = p.decode_str(got, pos)
        if (throwable, error_type) != (int(want["throwable"]), want["type"]["python"]) or pos != 16 + length \
                or not message.endswith(want["message_ends_with"]["python"]):
            failures.append(f"CALLBACK_ERROR {throwable} {error_type!r} {message[-60:]!r}, vector {want}")

    def server() -> None:
        try:
            for step in loop["steps"]:
                if step["direction"] == "client_to_server":
                    got = client_frame()
                    if "hex" in step and got.hex() != step["hex"]:
                        failures.append(f"client wrote {got.hex()}, vector {step['hex']}")
                    elif "callback_error" in step:
                        check_error(got, step["callback_error"])
                else:
                    frame = bytes.fromhex(step["hex"])
                    mm[p.REGION_HEADER:p.REGION_HEADER + len(frame)] = frame
                    seen["server"] += 1
                    struct.pack_into("<Q", mm, 128, seen["server"])
                    if struct.unpack_from("<I", mm, 192)[0] == 1:
                        struct.pack_into("<I", mm, 192, 0)
                        theirs.send(p.DOORBELL)
        except BaseException as e:  # noqa: BLE001 - reported by the test thread
            failures.append(repr(e))
        finally:
            theirs.close()  # the session ends: the loop reads EOF and returns

    class Target:
        def get(self):
            return "X"

        def add(self, a, b):
            return a + b

        def echo(self, x):
            return x

        def fail(self):
            raise ValueError("bad")

    client = GatunClient("/nonexistent.sock", token=b"\0" * 32)
    client._channel = lambda: ch  # the loop's channel is this test's region
    # Each CALLBACK makes sure another loop is idle; its channel would be this one too.
    client._ensure_callback_thread = lambda: None
    target = Target()
    client._callbacks[1], client._callback_ids[id(target)] = target, 1
    client._callback_interfaces[1] = ["java.util.function.Supplier"]
    t = threading.Thread(target=server, daemon=True)
    t.start()
    try:
        client._callback_loop()  # returns when the server side closes
    finally:
        t.join(10)
        ch.region.release()
        ours.close()
    assert not failures, failures
    assert seen["server"] == sum(st["direction"] == "server_to_client" for st in loop["steps"])


@pytest.mark.parametrize("v", VECTORS["negative"]["server_frames"], ids=[v["name"] for v in VECTORS["negative"]["server_frames"]])
def test_client_refuses_bad_server_frames(v: dict) -> None:
    """A malformed answer fails the channel: the client raises and does not use the channel again."""
    import time

    from gatun import GatunClient, GatunError

    capacity = 4096
    mm, ours, theirs, ch = _loopback_channel(capacity)
    ch.channel_id = 1
    frames = [bytes.fromhex(h) for h in v["frames"]]

    def server() -> None:
        deadline = time.monotonic() + 10
        for i, frame in enumerate(frames):
            while struct.unpack_from("<Q", mm, 64)[0] == i:  # the request, then each CONTINUE
                if time.monotonic() > deadline:
                    theirs.close()
                    return
                time.sleep(0)
            mm[p.REGION_HEADER:p.REGION_HEADER + len(frame)] = frame
            struct.pack_into("<Q", mm, 128, i + 1)
            if struct.unpack_from("<I", mm, 192)[0] == 1:
                struct.pack_into("<I", mm, 192, 0)
                theirs.send(p.DOORBELL)

    c = GatunClient("/nonexistent.sock", token=bytes(32))
    c._local.channel = ch
    c._channels.append(ch)
    t = threading.Thread(target=server, daemon=True)
    t.start()
    try:
        with pytest.raises(GatunError):
            c._request(ch, p.SESSION_INFO, b"")
        assert ch.broken is not None
        assert getattr(c._local, "channel", None) is not ch  # the next request takes a new channel
    finally:
        t.join(10)
        ours.close()
        theirs.close()


def test_arrow_constants_and_headers() -> None:
    """spec/arrow.md §2 against python/gatun/arrow.py (its header parser included)."""
    from gatun import arrow

    c = CONSTANTS["arrow"]
    assert arrow.ARENA_MAGIC == c["ARENA_MAGIC"].encode()
    assert arrow.ARENA_LAYOUT_VERSION == c["ARENA_LAYOUT_VERSION"]
    assert arrow.ARENA_DATA_OFFSET == c["ARENA_DATA_OFFSET"]
    assert arrow.SPAN_HEADER == c["SPAN_HEADER"]
    assert arrow.RETURNED == c["STATE_RETURNED"]
    assert arrow.MIN_ARENA_BYTES == c["MIN_ARENA_BYTES"]
    assert (arrow.END, arrow.NO_ROOM) == (c["EXPORT_END"], c["EXPORT_NO_ROOM"])
    v = VECTORS["arrow"]["arena_header"]
    magic, version, size, data_off = arrow._ARENA_HEAD.unpack_from(bytes.fromhex(v["hex"]), 0)
    m = v["meaning"]
    assert (magic, version, size, data_off) == (arrow.ARENA_MAGIC, m["layout_version"], int(m["size"]), m["data_offset"])
    span = bytes.fromhex(VECTORS["arrow"]["span_header"]["hex"])
    assert len(span) == arrow.SPAN_HEADER
    assert struct.unpack_from("<I", span, 0)[0] == VECTORS["arrow"]["span_header"]["meaning"]["state"]
    assert struct.unpack_from("<Q", span, 8)[0] == VECTORS["arrow"]["span_header"]["meaning"]["payload_length"]
