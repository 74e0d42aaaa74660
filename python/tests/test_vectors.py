"""The golden vectors of spec/vectors/frames.json through the Python client's real encoders/decoders.

Client -> server frames are produced by the client's request methods (with the transport replaced
by a recorder) and must match byte for byte; server -> client frames are decoded and must mean
what the vector says.
"""
from __future__ import annotations

import json
import struct
import sys
from pathlib import Path
from typing import Any

import pytest

from gatun import protocol as p
from gatun.client import GatunClient
from gatun.proxies import JavaClass, JavaObject
from gatun.transport import Channel

sys.path.insert(0, str(Path(__file__).parents[2] / "spec" / "vectors"))
import make_vectors as SPEC  # noqa: E402  (the spec's own encoder, independent of gatun)

VECTORS = json.loads((Path(__file__).parents[2] / "spec" / "vectors" / "frames.json").read_text())
FRAMES = {f["name"]: f for f in VECTORS["frames"]}
TYPE_CODES = {name: getattr(p, name) for name in (
    "CALL", "NEW", "GET_FIELD", "SET_FIELD", "RESOLVE_CLASS", "RESOLVE_MEMBER", "RELEASE",
    "INSTANCE_OF", "NEW_ARRAY", "ARRAY", "SESSION_INFO", "CALLBACK_RETURN", "CALLBACK_ERROR", "SERVE_CALLBACKS",
    "CONTINUE", "RETURN", "THROW", "ERROR", "CALLBACK")}


class FakeChannel:
    """A channel's name table (the real one's code) without its region."""

    encode_name = Channel.encode_name
    forget_pending_names = Channel.forget_pending_names

    def __init__(self) -> None:
        self.names: dict[str, int] = {}
        self.pending_names: dict[str, int] = {}
        self.broken = "recording"


class RecordingClient(GatunClient):
    """The real client with its transport replaced by a recorder of frames."""

    def __init__(self) -> None:
        super().__init__("/nonexistent.sock", token=b"\0" * 32)
        self.ch = FakeChannel()
        self.sent: list[tuple[int, bytes]] = []

    def _channel(self) -> Any:
        return self.ch

    def _request(self, ch: Any, ftype: int, payload: Any, flush: bool = True) -> Any:
        ch.names.update(ch.pending_names)
        ch.pending_names.clear()
        self.sent.append((ftype, bytes(payload)))
        return [0, 0] if ftype == p.SESSION_INFO else None

    def frame(self) -> str:
        ftype, payload = self.sent.pop()
        return (struct.pack("<IBBHQ", len(payload), ftype, 0, 0, len(payload)) + payload).hex()


class Callback:
    def __init__(self, interfaces: list[str]):
        self.Java = type("Java", (), {"implements": interfaces})


def to_python(client: RecordingClient, v: dict) -> Any:
    (kind, x), = v.items()
    if kind == "null":
        return None
    if kind in ("bool", "double", "string"):
        return x
    if kind in ("byte", "short", "char"):
        pytest.skip(f"Python never sends {kind}")
    if kind == "int":
        return x
    if kind == "long":
        n = int(x)
        if -(1 << 31) <= n < (1 << 31):
            pytest.skip("Python sends a small int as INT")
        return n
    if kind == "float_bits":
        pytest.skip("Python never sends FLOAT")
    if kind == "bytes":
        return bytes.fromhex(x)
    if kind == "object":
        return JavaObject(client, int(x["handle"]))
    if kind == "class":
        return JavaClass(client, int(x["id"]), x["name"])
    if kind == "list":
        return [to_python(client, e) for e in x]
    if kind == "set":
        return {to_python(client, e) for e in x}
    if kind == "map":
        return {to_python(client, k): to_python(client, w) for k, w in x}
    if kind == "callback":
        cb = Callback(x["interfaces"])
        client._callbacks[int(x["id"])] = cb
        client._callback_ids[id(cb)] = int(x["id"])
        client._callback_interfaces[int(x["id"])] = x["interfaces"]
        return cb
    if kind == "decimal":
        import decimal
        return decimal.Decimal(x)
    raise AssertionError(kind)


def name_of(client: RecordingClient, n: dict) -> str:
    if "define" in n:
        assert len(client.ch.names) == n["id"], "vector ids follow the order of definition"
        return n["define"]
    client.ch.names.setdefault(f"<name {n['id']}>", n["id"])
    return f"<name {n['id']}>"


def target_of(t: dict) -> tuple[int, int]:
    return (p.TARGET_OBJECT, int(t["object"])) if "object" in t else (p.TARGET_CLASS, int(t["class"]))


def encode_with_client(vector: dict) -> str:
    m = vector["meaning"]
    body = m["body"]
    c = RecordingClient()
    # Pre-define lower ids so that a defining vector gets the id it names.
    want = body["name"].get("id") if isinstance(body.get("name"), dict) else None
    if want is not None:
        for i in range(want):
            c.ch.names[f"<earlier {i}>"] = i
    kind = m["type"]
    if kind == "CALL":
        args = [to_python(c, a) for a in body["args"]]
        c._call(*target_of(body["target"]), name_of(c, body["name"]), args)
    elif kind == "NEW":
        c._new(int(body["class"]), [to_python(c, a) for a in body["args"]])
    elif kind == "GET_FIELD":
        c._get_field(*target_of(body["target"]), name_of(c, body["name"]))
    elif kind == "SET_FIELD":
        c._set_field(*target_of(body["target"]), name_of(c, body["name"]), to_python(c, body["value"]))
    elif kind == "RESOLVE_CLASS":
        c._resolve_class(body["name"])
    elif kind == "RESOLVE_MEMBER":
        c._resolve_member(int(body["class"]), name_of(c, body["name"]))
    elif kind == "RELEASE":
        for h in reversed(body["handles"]):
            c._pending_release.append(int(h))
        c._flush_releases(c.ch)
    elif kind == "INSTANCE_OF":
        c.is_instance_of(to_python(c, body["value"]), JavaClass(c, int(body["class"]), "X"))
    elif kind == "NEW_ARRAY":
        c.new_array(JavaClass(c, int(body["class"]), "X"), *body["dims"])
    elif kind == "ARRAY":
        extra = {0: [], 1: [body.get("index")], 2: [body.get("index"), None], 3: [body.get("start"), body.get("stop")]}
        args = extra[body["op"]]
        if body["op"] == 2:
            args[1] = to_python(c, body["value"])
        c._array(int(body["handle"]), body["op"], *args)
    elif kind == "SESSION_INFO":
        c.session_info()
        return c.frame()
    else:
        raise AssertionError(f"no client request builds {kind}")
    return c.frame()


# Frames of the callback machinery and chunking are built inside the transport/callback loops;
# the integration tests exercise them against the real server.
MACHINERY = {"CALLBACK_RETURN", "CALLBACK_ERROR", "SERVE_CALLBACKS", "CONTINUE"}
C2S = [f for f in VECTORS["frames"] if f["direction"] == "client_to_server" and f["meaning"]["type"] not in MACHINERY]
S2C = [f for f in VECTORS["frames"] if f["direction"] == "server_to_client"]


@pytest.mark.parametrize("vector", C2S, ids=[f["name"] for f in C2S])
def test_client_encodes_vector(vector: dict) -> None:
    if vector["name"] == "call_all_scalar_values":
        # Python has no byte/short/char/float values and sends small longs as INT: send the rest
        # and compare with the spec's own encoding of exactly those values.
        c = RecordingClient()
        c.ch.names["x"] = 0
        c.ch.names["y"] = 1
        sendable = [v for v in vector["meaning"]["body"]["args"]
                    if next(iter(v)) not in ("byte", "short", "char", "float_bits")]
        handle = int(vector["meaning"]["body"]["target"]["object"])
        c._call(p.TARGET_OBJECT, handle, "y", [to_python(c, v) for v in sendable])
        _, payload = c.sent.pop()
        expected = struct.pack("<BQIH", 0, handle, 1, len(sendable)) + b"".join(SPEC.value(v) for v in sendable)
        assert payload.hex() == expected.hex()
        return
    assert encode_with_client(vector) == vector["hex"]


def test_callback_frames_encode() -> None:
    for name, kind, value in (("callback_return", p.CALLBACK_RETURN, 1),):
        out = bytearray()
        p.encode_value(out, value, RecordingClient())
        payload = bytes(out)
        frame = struct.pack("<IBBHQ", len(payload), kind, 0, 0, len(payload)) + payload
        assert frame.hex() == FRAMES[name]["hex"]


class Decoded:
    """A ValueContext that decodes objects and classes into plain tuples for comparison."""

    def wrap_object(self, handle: int, shape: int) -> Any:
        return ("object", handle, shape)

    def wrap_class(self, class_id: int, name: str) -> Any:
        return ("class", class_id, name)


def meaning_value(v: dict) -> Any:
    (kind, x), = v.items()
    if kind == "object":
        return ("object", int(x["handle"]), x["shape"])
    if kind == "class":
        return ("class", int(x["id"]), x["name"])
    if kind == "list":
        return [meaning_value(e) for e in x]
    if kind == "long":
        return int(x)
    if kind == "char":
        return chr(x)
    if kind == "bytes":
        return bytes.fromhex(x)
    if kind == "float_bits":
        return struct.unpack("<f", struct.pack("<I", int(x, 16)))[0]
    if kind == "decimal":
        import decimal
        return decimal.Decimal(x)
    return x


@pytest.mark.parametrize("vector", S2C, ids=[f["name"] for f in S2C])
def test_client_decodes_vector(vector: dict) -> None:
    raw = bytes.fromhex(vector["hex"])
    length, ftype, flags, _, total = p.FRAME.unpack_from(raw, 0)
    m = vector["meaning"]
    assert (ftype, flags, total, length) == (TYPE_CODES[m["type"]], m["flags"], m["total"], len(raw) - 16)
    body = m["body"]
    if ftype == p.RETURN:
        value, end = p.decode_value(raw, 16, Decoded())
        assert value == meaning_value(body["value"]) and end == len(raw)
    elif ftype == p.THROW:
        (handle,) = p.U64.unpack_from(raw, 16)
        cls, pos = p.decode_str(raw, 24)
        msg, pos = p.decode_str(raw, pos)
        stack, pos = p.decode_str(raw, pos)
        assert (handle, cls, msg, stack) == (int(body["throwable"]), body["class_name"], body["message"], body["stack"])
        assert pos == len(raw)
    elif ftype == p.ERROR:
        err = GatunClient._request_error(raw, 16, len(raw))
        assert err.code == body["code"] and err.message == body["message"]
    elif ftype == p.CALLBACK:
        (cid,) = p.U64.unpack_from(raw, 16)
        method, pos = p.decode_str(raw, 24)
        (argc,) = p.U16.unpack_from(raw, pos)
        pos += 2
        args = []
        for _ in range(argc):
            v, pos = p.decode_value(raw, pos, Decoded())
            args.append(v)
        assert (cid, method, args) == (int(body["callback"]), body["method"], [meaning_value(a) for a in body["args"]])
    else:
        assert ftype == p.CONTINUE and length == 0


def test_every_scalar_tag_decodes() -> None:
    """The all-values vector is client -> server, but each scalar's encoding is shared: decode them."""
    raw = bytes.fromhex(FRAMES["call_all_scalar_values"]["hex"])
    pos = 16 + 9 + 4
    (argc,) = p.U16.unpack_from(raw, pos)
    pos += 2
    assert argc == len(FRAMES["call_all_scalar_values"]["meaning"]["body"]["args"])
    for v in FRAMES["call_all_scalar_values"]["meaning"]["body"]["args"]:
        (kind, x), = v.items()
        if kind == "object":
            break  # client -> server objects carry no shape byte; decoding them is the server's job
        got, pos = p.decode_value(raw, pos, Decoded())
        if kind == "float_bits":
            assert struct.pack("<f", got) == struct.pack("<I", int(x, 16))
        else:
            assert got == meaning_value(v), kind


def test_hello_vectors() -> None:
    """The transport's own HELLO encoder (the bytes _hello sends) produces the vectors."""
    from gatun.transport import hello_bytes

    for kind, v in VECTORS["hello"].items():
        m = v["meaning"]
        assert m["version"] == p.PROTOCOL_VERSION
        session = bytes.fromhex(m["session"]) if kind == "channel" else b""
        assert hello_bytes(m["kind"], bytes.fromhex(m["token"]), session).hex() == v["hex"]
