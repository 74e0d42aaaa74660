"""Writes spec/vectors/frames.json: golden frames of protocol version 1 with their meaning.

This script encodes from spec/protocol.md by hand with `struct`; it imports no implementation,
so the vectors check the implementations instead of copying one. Run it only when the protocol
changes, and review the diff of frames.json.

Meaning format (JSON), shared by every implementation's vector tests:
  frame:  {"type": "CALL", "flags": 0, "total": n, "body": {...}}    (total = payload length)
  values: {"null": null} {"bool": b} {"byte": n} {"short": n} {"char": n} {"int": n}
          {"long": "decimal string"} {"float_bits": "0x..."} {"double": x} {"string": s}
          {"bytes": "hex"} {"object": {"handle": "decimal", "shape": n}} (shape absent: client -> server)
          {"class": {"id": "decimal", "name": s}} {"list": [v...]} {"map": [[k, v]...]}
          {"set": [v...]} {"callback": {"id": "decimal", "interfaces": [s...]}} {"decimal": s}
  names:  {"id": n} or {"id": n, "define": s}
  targets: {"object": "decimal handle"} or {"class": "decimal class id"}
u64 quantities are decimal strings, so that no JSON reader loses precision.

Besides "frames", frames.json has: "hello" and "welcome" (each status), "control", "region" (the
header, the MAPPED and doorbell bytes), "connection_info", "chunked" (a complete exchange with
CONTINUE on a channel with a 4096-byte data capacity, a chunked answer, and a refusal),
"scenarios" (multi-message sequences on one channel) and "negative" (bytes the server must
refuse, with its exact answer; the token in HELLO vectors is bytes 0..31, which tests replace with
their server's token). constants.json lists every number of the protocol.
"""
import json
import pathlib
import struct

TYPES = {
    "CALL": 0x01, "NEW": 0x02, "GET_FIELD": 0x03, "SET_FIELD": 0x04, "RESOLVE_CLASS": 0x05,
    "RESOLVE_MEMBER": 0x06, "RELEASE": 0x07, "INSTANCE_OF": 0x08, "NEW_ARRAY": 0x09, "ARRAY": 0x0A, "SESSION_INFO": 0x0B,
    "CALLBACK_RETURN": 0x10, "CALLBACK_ERROR": 0x11, "SERVE_CALLBACKS": 0x20, "CONTINUE": 0x7F,
    "RETURN": 0x40, "THROW": 0x41, "ERROR": 0x42, "CALLBACK": 0x50,
}


def s(text):
    b = text.encode("utf-8")
    return struct.pack("<I", len(b)) + b


def value(v):
    (kind, x), = v.items()
    if kind == "null":
        return b"\x00"
    if kind == "bool":
        return b"\x01" if x else b"\x02"
    if kind == "byte":
        return b"\x03" + struct.pack("<b", x)
    if kind == "short":
        return b"\x04" + struct.pack("<h", x)
    if kind == "char":
        return b"\x05" + struct.pack("<H", x)
    if kind == "int":
        return b"\x06" + struct.pack("<i", x)
    if kind == "long":
        return b"\x07" + struct.pack("<q", int(x))
    if kind == "float_bits":
        return b"\x08" + struct.pack("<I", int(x, 16))
    if kind == "double":
        return b"\x09" + struct.pack("<d", x)
    if kind == "string":
        return b"\x0A" + s(x)
    if kind == "bytes":
        raw = bytes.fromhex(x)
        return b"\x0B" + struct.pack("<I", len(raw)) + raw
    if kind == "object":
        out = b"\x0C" + struct.pack("<Q", int(x["handle"]))
        if "shape" in x:
            out += struct.pack("<B", x["shape"])
        return out
    if kind == "class":
        return b"\x0D" + struct.pack("<Q", int(x["id"])) + s(x["name"])
    if kind in ("list", "set"):
        tag = b"\x0E" if kind == "list" else b"\x10"
        return tag + struct.pack("<I", len(x)) + b"".join(value(e) for e in x)
    if kind == "map":
        return b"\x0F" + struct.pack("<I", len(x)) + b"".join(value(k) + value(w) for k, w in x)
    if kind == "callback":
        out = b"\x11" + struct.pack("<QH", int(x["id"]), len(x["interfaces"]))
        return out + b"".join(s(i) for i in x["interfaces"])
    if kind == "decimal":
        return b"\x12" + s(x)
    raise ValueError(kind)


def name(n):
    if "define" in n:
        b = n["define"].encode("utf-8")
        return struct.pack("<IH", n["id"] | 0x80000000, len(b)) + b
    return struct.pack("<I", n["id"])


def target(t):
    if "object" in t:
        return struct.pack("<BQ", 0, int(t["object"]))
    return struct.pack("<BQ", 1, int(t["class"]))


def args(a):
    return struct.pack("<H", len(a)) + b"".join(value(v) for v in a)


def body(kind, b):
    if kind == "CALL":
        return target(b["target"]) + name(b["name"]) + args(b["args"])
    if kind == "NEW":
        return struct.pack("<Q", int(b["class"])) + args(b["args"])
    if kind == "GET_FIELD":
        return target(b["target"]) + name(b["name"])
    if kind == "SET_FIELD":
        return target(b["target"]) + name(b["name"]) + value(b["value"])
    if kind == "RESOLVE_CLASS":
        return s(b["name"])
    if kind == "RESOLVE_MEMBER":
        return struct.pack("<Q", int(b["class"])) + name(b["name"])
    if kind == "RELEASE":
        return struct.pack("<I", len(b["handles"])) + b"".join(struct.pack("<Q", int(h)) for h in b["handles"])
    if kind == "INSTANCE_OF":
        return value(b["value"]) + struct.pack("<Q", int(b["class"]))
    if kind == "NEW_ARRAY":
        return struct.pack("<QB", int(b["class"]), len(b["dims"])) + b"".join(struct.pack("<I", d) for d in b["dims"])
    if kind == "ARRAY":
        out = struct.pack("<QB", int(b["handle"]), b["op"])
        if b["op"] == 1:
            out += struct.pack("<i", b["index"])
        elif b["op"] == 2:
            out += struct.pack("<i", b["index"]) + value(b["value"])
        elif b["op"] == 3:
            out += struct.pack("<ii", b["start"], b["stop"])
        return out
    if kind in ("CALLBACK_RETURN", "RETURN"):
        return value(b["value"])
    if kind == "CALLBACK_ERROR":
        return struct.pack("<Q", int(b["throwable"])) + s(b["python_type"]) + s(b["message"])
    if kind in ("SERVE_CALLBACKS", "CONTINUE", "SESSION_INFO"):
        return b""
    if kind == "THROW":
        return struct.pack("<Q", int(b["throwable"])) + s(b["class_name"]) + s(b["message"]) + s(b["stack"])
    if kind == "ERROR":
        return struct.pack("<H", b["code"]) + s(b["message"])
    if kind == "CALLBACK":
        return struct.pack("<Q", int(b["callback"])) + s(b["method"]) + args(b["args"])
    raise ValueError(kind)


def frame(direction, kind, b, flags=0, note=""):
    payload = body(kind, b)
    header = struct.pack("<IBBHQ", len(payload), TYPES[kind], flags, 0, len(payload))
    return {
        "name": f"{kind.lower()}_{note}" if note else kind.lower(),
        "direction": direction,
        "hex": (header + payload).hex(),
        "meaning": {"type": kind, "flags": flags, "total": len(payload), "body": b},
    }


C2S, S2C = "client_to_server", "server_to_client"
H = "1311768467463790320"  # 0x123456789ABCDEF0
ALL_VALUES = [
    {"null": None}, {"bool": True}, {"bool": False}, {"byte": -128}, {"short": -32768},
    {"char": 0x20AC}, {"int": -2147483648}, {"int": 2147483647}, {"long": "-9223372036854775808"},
    {"long": "9223372036854775807"}, {"float_bits": "0x3fc00000"}, {"double": -0.1},
    {"string": ""}, {"string": "héllo €𝄞"}, {"bytes": ""}, {"bytes": "00ff7f80"},
    {"object": {"handle": H}}, {"class": {"id": "7", "name": "java.util.ArrayList"}},
    {"decimal": "-12.50"},
]

VECTORS = [
    frame(C2S, "CALL", {"target": {"object": H}, "name": {"id": 0, "define": "length"}, "args": []}, note="define_name"),
    frame(C2S, "CALL", {"target": {"object": H}, "name": {"id": 0}, "args": []}, note="prebound"),
    frame(C2S, "CALL", {"target": {"class": "3"}, "name": {"id": 5, "define": "max"}, "args": [{"int": 1}, {"int": 2}]}, note="static"),
    frame(C2S, "CALL", {"target": {"object": H}, "name": {"id": 1}, "args": ALL_VALUES}, note="all_scalar_values"),
    frame(C2S, "CALL", {"target": {"class": "9"}, "name": {"id": 2, "define": "of"}, "args": [
        {"list": [{"int": 1}, {"string": "a"}, {"list": []}]},
        {"map": [[{"string": "k"}, {"long": "5000000000"}], [{"null": None}, {"bool": True}]]},
        {"set": [{"double": 1.5}]},
        {"callback": {"id": "42", "interfaces": ["java.util.function.Supplier", "java.lang.Runnable"]}},
    ]}, note="collections_and_callback"),
    frame(C2S, "NEW", {"class": "4", "args": [{"string": "abc"}]}),
    frame(C2S, "GET_FIELD", {"target": {"class": "8"}, "name": {"id": 3, "define": "MAX_VALUE"}}),
    frame(C2S, "SET_FIELD", {"target": {"object": H}, "name": {"id": 4, "define": "x"}, "value": {"int": 3}}),
    frame(C2S, "RESOLVE_CLASS", {"name": "java.util.Map$Entry"}),
    frame(C2S, "RESOLVE_MEMBER", {"class": "8", "name": {"id": 6, "define": "MIN_VALUE"}}),
    frame(C2S, "RELEASE", {"handles": [H, "1", "18446744073709551615"]}),
    frame(C2S, "INSTANCE_OF", {"value": {"object": {"handle": H}}, "class": "2"}),
    frame(C2S, "NEW_ARRAY", {"class": "5", "dims": [3, 4]}),
    frame(C2S, "ARRAY", {"handle": H, "op": 0}, note="length"),
    frame(C2S, "ARRAY", {"handle": H, "op": 1, "index": 2}, note="get"),
    frame(C2S, "ARRAY", {"handle": H, "op": 2, "index": 2, "value": {"string": "z"}}, note="set"),
    frame(C2S, "ARRAY", {"handle": H, "op": 3, "start": 1, "stop": 3}, note="slice"),
    frame(C2S, "SESSION_INFO", {}),
    frame(C2S, "CALLBACK_RETURN", {"value": {"int": 1}}),
    frame(C2S, "CALLBACK_ERROR", {"throwable": "0", "python_type": "ValueError", "message": "bad\nTraceback ..."}),
    frame(C2S, "SERVE_CALLBACKS", {}),
    frame(C2S, "CONTINUE", {}),
    frame(S2C, "RETURN", {"value": {"int": 2}}, note="int"),
    frame(S2C, "RETURN", {"value": {"object": {"handle": H, "shape": 1}}}, note="list_proxy"),
    frame(S2C, "RETURN", {"value": {"class": {"id": "3", "name": "java.lang.Math"}}}, note="class"),
    frame(S2C, "RETURN", {"value": {"list": [{"string": "b"}, {"null": None}]}}, note="slice"),
    frame(S2C, "THROW", {"throwable": H, "class_name": "java.lang.IllegalStateException", "message": "boom",
                         "stack": "java.lang.IllegalStateException: boom\n\tat X.y(X.java:1)\n"}),
    frame(S2C, "ERROR", {"code": 1, "message": "class java.lang.Runtime is not allowed by the allowlist"}),
    frame(S2C, "CALLBACK", {"callback": "42", "method": "get", "args": [{"string": "x"}]}),
    frame(S2C, "CONTINUE", {}),
]


# Every ERROR code (spec §3.3), with the server's message for a typical case.
ERROR_CODES = {
    1: ("NOT_ALLOWED", "class java.lang.Runtime is not allowed by the allowlist"),
    2: ("NO_SUCH_CLASS", "no such interface: a.b.Nope"),
    3: ("NO_SUCH_MEMBER", "no public method 'nope' in java.lang.StringBuilder"),
    4: ("NO_MATCHING_OVERLOAD", "no overload of java.lang.Math.max accepts (java.lang.String)"),
    5: ("BAD_HANDLE", "unknown object handle 5 (released, or from another session)"),
    6: ("PROTOCOL", "name id 0 was never defined on this channel"),
    7: ("LIMIT", "a RETURN message of 3000000 bytes exceeds max message bytes (1048576)"),
    8: ("BAD_ARGUMENT", "index 5 is out of range for an array of length 5"),
}
VECTORS += [frame(S2C, "ERROR", {"code": code, "message": msg}, note=name.lower())
            for code, (name, msg) in ERROR_CODES.items()]
# Every OBJECT shape (spec §4), as the server returns it.
SHAPES = {0: "plain", 1: "list", 2: "map", 3: "set", 4: "array", 5: "iterator"}
VECTORS += [frame(S2C, "RETURN", {"value": {"object": {"handle": H, "shape": n}}}, note=f"shape_{name}")
            for n, name in SHAPES.items() if name != "list"]  # return_list_proxy is shape 1
# Every value tag the server returns (spec §4.1), one RETURN each.
S2C_VALUES = [
    ("null", {"null": None}), ("true", {"bool": True}), ("false", {"bool": False}),
    ("byte", {"byte": -5}), ("short", {"short": 1234}), ("char", {"char": 0x20AC}),
    ("char_lone_surrogate", {"char": 0xD800}),
    ("long", {"long": "-9223372036854775808"}), ("float", {"float_bits": "0x3fc00000"}),
    ("double", {"double": 2.5}), ("string_non_ascii", {"string": "Grüße, 世界 𝄞"}),
    ("string_empty", {"string": ""}), ("bytes", {"bytes": "00ff10"}), ("decimal", {"decimal": "-12.50"}),
]
VECTORS += [frame(S2C, "RETURN", {"value": v}, note=n) for n, v in S2C_VALUES]
# Non-ASCII names and class names.
VECTORS += [
    frame(C2S, "CALL", {"target": {"object": H}, "name": {"id": 0, "define": "größe"}, "args": []}, note="define_non_ascii_name"),
    frame(C2S, "GET_FIELD", {"target": {"class": "3"}, "name": {"id": 0, "define": "名前"}}, note="non_ascii_name"),
    frame(C2S, "RESOLVE_CLASS", {"name": "java.util.Map.Entry"}, note="dotted_nested"),
    frame(C2S, "RESOLVE_CLASS", {"name": "[Ljava.lang.String;"}, note="array_descriptor"),
    frame(S2C, "CALLBACK", {"callback": "0", "method": "apply", "args": [
        {"object": {"handle": H, "shape": 0}}, {"int": 7}]}, note="object_argument"),
]

# A chunk: the first of several chunks of a 100-byte RETURN(BYTES) message. Only its header is
# meaningful on its own; total is the whole message, length this chunk.
_chunk_payload = value({"bytes": "ab" * 95})  # 1 + 4 + 95 = 100 bytes
_chunk = struct.pack("<IBBHQ", 40, 0x40, 1, 0, len(_chunk_payload)) + _chunk_payload[:40]

HELLO = {
    "session": {"hex": (b"GATN" + struct.pack("<HBB", 1, 1, 0) + bytes(range(32))).hex(),
                "meaning": {"version": 1, "kind": 1, "token": bytes(range(32)).hex()}},
    "channel": {"hex": (b"GATN" + struct.pack("<HBB", 1, 2, 0) + bytes(range(32)) + bytes(range(100, 116))).hex(),
                "meaning": {"version": 1, "kind": 2, "token": bytes(range(32)).hex(),
                            "session": bytes(range(100, 116)).hex()}},
}

# WELCOME for each status (spec §1.2), with the server's messages.
SESSION_ID = bytes(range(100, 116))
WELCOME = {
    "session_ok": {"hex": (b"\x00" + SESSION_ID + struct.pack("<Q", 2147483000)).hex(),
                   "meaning": {"status": 0, "kind": 1, "session": SESSION_ID.hex(), "max_message_bytes": "2147483000"}},
    "channel_ok": {"hex": (b"\x00" + struct.pack("<IQ", 3, 4194304) + s("/dev/shm/gatun-x/gatun-6465666768-3")).hex(),
                   "meaning": {"status": 0, "kind": 2, "channel": 3, "region_size": "4194304",
                               "path": "/dev/shm/gatun-x/gatun-6465666768-3"}},
}
for status, message in [(1, "authentication failed"),
                        (2, "unsupported protocol version 2; this server speaks version 1"),
                        (3, "malformed hello: bad magic"), (4, "unknown session"),
                        (5, "cannot create a shared-memory region of 4194304 bytes: No space left on device")]:
    raw = message.encode("utf-8")
    WELCOME[f"refused_{status}"] = {"hex": (struct.pack("<BH", status, len(raw)) + raw).hex(),
                                    "meaning": {"status": status, "message": message}}

# Control messages (spec §1.3).
CONTROL = {
    "cancel": {"hex": struct.pack("<BI", 1, 3).hex(), "meaning": {"type": "CANCEL", "channel": 3}},
    "close": {"hex": "02", "meaning": {"type": "CLOSE"}},
    "shutdown": {"hex": "03", "meaning": {"type": "SHUTDOWN"}},
}

# The region header (spec §2) of a 64 KiB region, as the server writes it (bytes 0-23), the
# control words' offsets, the MAPPED and doorbell bytes.
REGION = {
    "hex": (b"GSHM" + struct.pack("<IQII", 1, 65536, 512, 65536 - 512)).hex(),
    "meaning": {"size": "65536", "layout_version": 1, "data_offset": 512, "data_capacity": 65024,
                "client_seq": 64, "server_seq": 128, "client_parked": 192, "server_parked": 256,
                "initial_words": 0},
    "mapped": "01",
    "doorbell": "01",
}

CONNECTION_INFO = {
    "text": '{"protocol": 1, "socket": "/tmp/gatun-ab/gatun.sock", "token": "'
            + bytes(range(32)).hex() + '", "pid": 4242}',
    "meaning": {"protocol": 1, "socket": "/tmp/gatun-ab/gatun.sock", "token": bytes(range(32)).hex(), "pid": 4242},
}


def chunked(direction, kind, b, capacity):
    """A message split into chunks for a region whose data capacity is `capacity` (spec §3.1)."""
    payload = body(kind, b)
    room = capacity - 16
    frames = []
    for pos in range(0, len(payload), room):
        part = payload[pos:pos + room]
        more = pos + room < len(payload)
        frames.append(struct.pack("<IBBHQ", len(part), TYPES[kind], 1 if more else 0, 0, len(payload)) + part)
    return payload, frames


CONTINUE_FRAME = struct.pack("<IBBHQ", 0, 0x7F, 0, 0, 0)
# A complete chunked exchange on a channel with a data capacity of 4096 bytes: a 9000-byte BYTES
# argument makes a 9,020-byte CALL in three chunks; the server answers each chunk but the last with
# CONTINUE and the last with RETURN. Then a chunked answer (RETURN of 5000 bytes) in two chunks.
_big = bytes((i * 7) % 256 for i in range(9000))
_call_body = {"target": {"class": "3"}, "name": {"id": 0, "define": "hashCode"}, "args": [{"bytes": _big.hex()}]}
_payload, _chunks = chunked(C2S, "CALL", _call_body, 4096)
_ret_body = {"value": {"bytes": bytes(range(256)).hex() * 19 + "00" * 131}}
_rpayload, _rchunks = chunked(S2C, "RETURN", _ret_body, 4096)
_ret_small = frame(S2C, "RETURN", {"value": {"int": 99}})
CHUNKED = {
    "data_capacity": 4096,
    "request": {"type": "CALL", "total": len(_payload), "body": _call_body},
    "answer": {"type": "RETURN", "total": len(_rpayload), "body": _ret_body},
    "steps": (
        [{"direction": C2S if i % 2 == 0 else S2C, "hex": h.hex()}
         for i, h in enumerate(x for c in _chunks[:-1] for x in (c, CONTINUE_FRAME))]
        + [{"direction": C2S, "hex": _chunks[-1].hex()}, {"direction": S2C, "hex": _ret_small["hex"]}]
    ),
    "answer_steps": (
        [{"direction": S2C if i % 2 == 0 else C2S, "hex": h.hex()}
         for i, h in enumerate(x for c in _rchunks[:-1] for x in (c, CONTINUE_FRAME))]
        + [{"direction": S2C, "hex": _rchunks[-1].hex()}]
    ),
    # A server whose limit is 8192 bytes refuses the same message on its first chunk: ERROR LIMIT
    # instead of CONTINUE, and the client sends no more chunks.
    "refused_limit": 8192,
    "refused_steps": [
        {"direction": C2S, "hex": _chunks[0].hex()},
        {"direction": S2C, "hex": frame(S2C, "ERROR", {"code": 7, "message":
            f"a CALL message of {len(_payload)} bytes exceeds max message bytes (8192)"})["hex"]},
    ],
}

# The callback loop of a callback channel (spec §5.2) as the Python client serves it: the client
# sends SERVE_CALLBACKS, then answers each CALLBACK with exactly one CALLBACK_RETURN or
# CALLBACK_ERROR and waits for the next. "callbacks" says what the client's callback 1 does;
# a CALLBACK_ERROR step pins the throwable handle, the error's type name (the client's own, here
# Python's) and how the text ends (the rest is a traceback, which no vector can pin).
CALLBACK_LOOP = {
    "callbacks": {"1": {
        "get": {"returns": {"string": "X"}},
        "add": {"returns": "the sum of its two arguments"},
        "echo": {"returns": "its first argument"},
        "fail": {"raises": "the language's plain error (Python ValueError, Go errors.New)", "message": "bad"},
    }},
    "steps": [
        {"direction": C2S, "hex": frame(C2S, "SERVE_CALLBACKS", {})["hex"]},
        {"direction": S2C, "hex": frame(S2C, "CALLBACK", {"callback": "1", "method": "get", "args": []})["hex"]},
        {"direction": C2S, "hex": frame(C2S, "CALLBACK_RETURN", {"value": {"string": "X"}})["hex"]},
        {"direction": S2C, "hex": frame(S2C, "CALLBACK", {"callback": "1", "method": "add", "args": [{"int": 2}, {"long": "3"}]})["hex"]},
        {"direction": C2S, "hex": frame(C2S, "CALLBACK_RETURN", {"value": {"int": 5}})["hex"]},
        {"direction": S2C, "hex": frame(S2C, "CALLBACK", {"callback": "1", "method": "echo", "args": [{"object": {"handle": H, "shape": 0}}]})["hex"]},
        {"direction": C2S, "hex": frame(C2S, "CALLBACK_RETURN", {"value": {"object": {"handle": H}}})["hex"]},
        {"direction": S2C, "hex": frame(S2C, "CALLBACK", {"callback": "1", "method": "fail", "args": []})["hex"]},
        # The error's type and text are the client language's own (spec §5.2): per implementation.
        {"direction": C2S, "callback_error": {"throwable": "0",
                                              "type": {"python": "ValueError", "go": "errors.errorString"},
                                              "message_ends_with": {"python": "ValueError: bad\n", "go": "bad"}}},
        # An id the client never gave out: still one answer, a CALLBACK_ERROR.
        {"direction": S2C, "hex": frame(S2C, "CALLBACK", {"callback": "99", "method": "get", "args": []})["hex"]},
        {"direction": C2S, "callback_error": {"throwable": "0",
                                              "type": {"python": "KeyError", "go": "errors.errorString"},
                                              "message_ends_with": {"python": "KeyError: 99\n",
                                                                    "go": "no Go callback with id 99 (released?)"}}},
    ],
}

# Multi-message scenarios: what a client sends, in order, on one new channel.
SCENARIOS = {
    # A first use of "append" fails in the client (an argument it cannot encode): nothing is sent
    # and the name is not defined. "length" then takes id 0, and "append" is defined as id 1.
    "define_fail_use": [
        {"call": "append", "args": "unencodable", "sends": None},
        {"call": "length", "args": [], "sends": frame(C2S, "CALL", {"target": {"object": H}, "name": {"id": 0, "define": "length"}, "args": []})["hex"]},
        {"call": "append", "args": [{"string": "x"}], "sends": frame(C2S, "CALL", {"target": {"object": H}, "name": {"id": 1, "define": "append"}, "args": [{"string": "x"}]})["hex"]},
        {"call": "append", "args": [{"string": "y"}], "sends": frame(C2S, "CALL", {"target": {"object": H}, "name": {"id": 1}, "args": [{"string": "y"}]})["hex"]},
    ],
    # Defining an id again replaces its string: the third frame calls "b".
    "redefine": [
        frame(C2S, "CALL", {"target": {"object": H}, "name": {"id": 0, "define": "a"}, "args": []})["hex"],
        frame(C2S, "CALL", {"target": {"object": H}, "name": {"id": 0, "define": "b"}, "args": []})["hex"],
        frame(C2S, "CALL", {"target": {"object": H}, "name": {"id": 0}, "args": []})["hex"],
    ],
    "redefine_names": ["a", "b", "b"],
    # A released handle is unknown: RELEASE answers NULL, the next use of the handle BAD_HANDLE.
    "release_then_use": [
        {"sends": frame(C2S, "RELEASE", {"handles": [H]})["hex"], "answer_type": "RETURN", "answer_value": {"null": None}},
        {"sends": frame(C2S, "CALL", {"target": {"object": H}, "name": {"id": 0, "define": "toString"}, "args": []})["hex"],
         "answer_type": "ERROR", "answer_code": 5},
    ],
}


def raw_frame(ftype, payload, flags=0, total=None, length=None, reserved=0):
    return struct.pack("<IBBHQ", len(payload) if length is None else length, ftype, flags, reserved,
                       len(payload) if total is None else total) + payload


_define_x = struct.pack("<IH", 0x80000000, 1) + b"x"
# Negative vectors: bytes a server must refuse, with the answer. Frames are sent on a fresh
# channel; "error" is the ERROR code and "message" a prefix of its message. After PROTOCOL the
# server closes the channel. "accepted" vectors must be served normally.
NEGATIVE = {
    "frames": [
        {"name": "unknown_type", "hex": raw_frame(0x66, b"").hex(), "error": 6, "message": "unknown request type"},
        {"name": "truncated_call", "hex": raw_frame(0x01, struct.pack("<BQ", 1, 3)).hex(), "error": 6, "message": "frame is truncated"},
        {"name": "trailing_bytes", "hex": raw_frame(0x0B, b"\x00").hex(), "error": 6, "message": "SESSION_INFO frame has 1 trailing bytes"},
        {"name": "unknown_target_kind", "hex": raw_frame(0x01, struct.pack("<BQ", 2, 3) + _define_x + b"\0\0").hex(), "error": 6, "message": "unknown target kind 2"},
        {"name": "undefined_name", "hex": raw_frame(0x01, struct.pack("<BQI", 1, 3, 0) + b"\0\0").hex(), "error": 6, "message": "name id 0 was never defined on this channel"},
        {"name": "name_id_too_large", "hex": raw_frame(0x01, struct.pack("<BQIH", 1, 3, 0x80000000 | (1 << 20), 1) + b"x" + b"\0\0").hex(), "error": 6, "message": "name id 1048576 is over the maximum"},
        {"name": "unknown_value_tag", "hex": raw_frame(0x01, struct.pack("<BQ", 1, 3) + _define_x + b"\x01\x00\x13").hex(), "error": 6, "message": "unknown value tag 0x13"},
        {"name": "count_over_frame", "hex": raw_frame(0x07, struct.pack("<I", 1000)).hex(), "error": 6, "message": "count 1000 is larger than the rest of the frame"},
        {"name": "unknown_array_op", "hex": raw_frame(0x0A, struct.pack("<QB", 5, 9)).hex(), "error": 6, "message": "unknown ARRAY op 9"},
        {"name": "length_differs_from_total", "hex": raw_frame(0x0B, b"", total=5).hex(), "error": 6, "message": "frame length 0 differs from its total 5"},
        {"name": "continue_outside_chunks", "hex": raw_frame(0x7F, b"").hex(), "error": 6, "message": "CONTINUE, but no chunked message is being sent"},
        {"name": "callback_return_without_callback", "hex": raw_frame(0x10, b"\x00").hex(), "error": 6, "message": "CALLBACK_RETURN but no callback is waiting"},
        {"name": "serve_callbacks_with_payload", "hex": raw_frame(0x20, b"\x00").hex(), "error": 6, "message": "SERVE_CALLBACKS carries a payload"},
        {"name": "unknown_handle", "hex": raw_frame(0x08, b"\x0c" + struct.pack("<QQ", 5, 1)).hex(), "error": 5, "message": "unknown object handle 5"},
        {"name": "bad_decimal", "hex": raw_frame(0x01, struct.pack("<BQ", 1, 3) + _define_x + b"\x01\x00\x12" + s("1.2.3")).hex(), "error": 8, "message": "not a decimal number"},
    ],
    "accepted_frames": [
        {"name": "reserved_and_unknown_flags_ignored", "hex": raw_frame(0x0B, b"", flags=0x02, reserved=0xABCD).hex(),
         "answer_type": "RETURN"},
    ],
    # Server -> client bytes a client must refuse: it fails the channel (a protocol error; the
    # channel is not used again). Each follows a SESSION_INFO request; "frames" are the server's
    # frames in order, each but the last answered by the client with CONTINUE.
    "server_frames": [
        {"name": "unknown_value_tag", "frames": [raw_frame(0x40, b"\x13").hex()]},
        {"name": "value_shorter_than_its_tag", "frames": [raw_frame(0x40, b"\x06\x01\x00").hex()]},
        {"name": "trailing_bytes_after_the_value", "frames": [raw_frame(0x40, b"\x00\x00").hex()]},
        {"name": "string_longer_than_the_frame", "frames": [raw_frame(0x40, b"\x0a" + struct.pack("<I", 50) + b"abc").hex()]},
        {"name": "length_differs_from_total", "frames": [raw_frame(0x40, b"\x00", total=3).hex()]},
        {"name": "chunk_changes_type", "frames": [raw_frame(0x40, b"\x0b" + struct.pack("<I", 4) + b"ab", flags=1, total=9).hex(),
                                                  raw_frame(0x41, b"cd", total=9).hex()]},
        {"name": "chunk_changes_total", "frames": [raw_frame(0x40, b"\x0b" + struct.pack("<I", 4) + b"ab", flags=1, total=9).hex(),
                                                   raw_frame(0x40, b"cd", total=10).hex()]},
        {"name": "chunks_longer_than_total", "frames": [raw_frame(0x40, b"\x0b" + struct.pack("<I", 4) + b"ab", flags=1, total=9).hex(),
                                                        raw_frame(0x40, b"cdef", total=9).hex()]},
    ],
    # HELLOs and the WELCOME status the server answers. The server's token is bytes 0..31.
    "hellos": [
        {"name": "bad_magic", "hex": (b"GATX" + struct.pack("<HBB", 1, 1, 0) + bytes(range(32))).hex(), "status": 3},
        {"name": "unsupported_version", "hex": (b"GATN" + struct.pack("<HBB", 2, 1, 0) + bytes(range(32))).hex(), "status": 2},
        {"name": "unknown_kind", "hex": (b"GATN" + struct.pack("<HBB", 1, 3, 0) + bytes(range(32))).hex(), "status": 3},
        {"name": "wrong_token", "hex": (b"GATN" + struct.pack("<HBB", 1, 1, 0) + bytes(32)).hex(), "status": 1},
        {"name": "unknown_session", "hex": (b"GATN" + struct.pack("<HBB", 1, 2, 0) + bytes(range(32)) + bytes(16)).hex(), "status": 4},
        {"name": "too_short", "hex": (b"GATN" + struct.pack("<HB", 1, 1)).hex(), "status": 3},
        {"name": "reserved_byte_ignored", "hex": (b"GATN" + struct.pack("<HBB", 1, 1, 7) + bytes(range(32))).hex(), "status": 0},
    ],
}

# Every number spec/protocol.md defines, by group (spec/vectors/constants.json). Each
# implementation tests its own constants against this file.
CONSTANTS = {
    "protocol_version": 1,
    "hello": {"MAGIC": "GATN", "KIND_SESSION": 1, "KIND_CHANNEL": 2, "SESSION_HELLO_BYTES": 40,
              "CHANNEL_HELLO_BYTES": 56, "TOKEN_BYTES": 32, "SESSION_ID_BYTES": 16,
              "HANDSHAKE_TIMEOUT_MILLIS": 10000},
    "welcome_status": {"OK": 0, "AUTH_FAILED": 1, "UNSUPPORTED_VERSION": 2, "MALFORMED": 3,
                       "UNKNOWN_SESSION": 4, "LIMIT_REACHED": 5},
    "bytes": {"MAPPED": 1, "DOORBELL": 1},
    "control": {"CANCEL": 0x01, "CLOSE": 0x02, "SHUTDOWN": 0x03},
    "region": {"MAGIC": "GSHM", "LAYOUT_VERSION": 1, "OFF_MAGIC": 0, "OFF_LAYOUT_VERSION": 4,
               "OFF_REGION_SIZE": 8, "OFF_DATA_OFFSET": 16, "OFF_DATA_CAPACITY": 20,
               "OFF_CLIENT_SEQ": 64, "OFF_SERVER_SEQ": 128, "OFF_CLIENT_PARKED": 192,
               "OFF_SERVER_PARKED": 256, "DATA_OFFSET": 512, "MIN_SIZE": 65536,
               "MAX_SIZE": 1073741824, "DEFAULT_SIZE": 4194304},
    "frame": {"HEADER_BYTES": 16, "FLAG_MORE": 1},
    "frame_types": TYPES,
    "targets": {"OBJECT": 0, "CLASS": 1},
    "array_ops": {"LENGTH": 0, "GET": 1, "SET": 2, "SLICE": 3},
    "names": {"DEFINE_BIT": 0x80000000, "MAX_ID": 1 << 20},
    "error_codes": {name: code for code, (name, _) in ERROR_CODES.items()},
    "value_tags": {"NULL": 0x00, "TRUE": 0x01, "FALSE": 0x02, "BYTE": 0x03, "SHORT": 0x04, "CHAR": 0x05,
                   "INT": 0x06, "LONG": 0x07, "FLOAT": 0x08, "DOUBLE": 0x09, "STRING": 0x0A, "BYTES": 0x0B,
                   "OBJECT": 0x0C, "CLASS": 0x0D, "LIST": 0x0E, "MAP": 0x0F, "SET": 0x10, "CALLBACK": 0x11,
                   "DECIMAL": 0x12},
    "shapes": {name.upper(): n for n, name in SHAPES.items()},
    "limits": {"DEFAULT_MAX_MESSAGE_BYTES": 2147483000},
    # protocol §2.2.1: the adaptive wait policy's constants (the same in the server and every client).
    "wait_policy": {"MAX_SPIN_NANOS": 50_000, "PROBE_SPIN_NANOS": 200_000, "MIN_SPIN_NANOS": 1_000,
                    "MIN_PROBE_NANOS": 1_000_000, "MAX_PROBE_NANOS": 100_000_000, "GAP_NANOS": 200_000,
                    "LOOKS_PER_CLOCK_READ": 32},
    # spec/arrow.md §2: the arena header, the span header and the span's state word.
    "arrow": {"ARENA_MAGIC": "GARN", "ARENA_LAYOUT_VERSION": 1, "ARENA_DATA_OFFSET": 256,
              "SPAN_HEADER": 64, "SPAN_ALIGN": 64, "STATE_NONE": 0, "STATE_LENT": 1, "STATE_RETURNED": 2,
              "MIN_ARENA_BYTES": 1 << 20, "MAX_ARENA_BYTES": 1 << 30, "EXPORT_END": -1, "EXPORT_NO_ROOM": -2},
}

# spec/arrow.md §2: the header of a 1 MiB arena, and the header of a lent span of 1000 payload bytes.
ARROW = {
    "arena_header": {"hex": (b"GARN" + struct.pack("<IQI", 1, 1 << 20, 256)).hex(),
                     "meaning": {"layout_version": 1, "size": str(1 << 20), "data_offset": 256}},
    "span_header": {"hex": (struct.pack("<IIQ", 1, 0, 1000) + bytes(48)).hex(),
                    "meaning": {"state": 1, "payload_length": 1000}},
}

if __name__ == "__main__":
    out = {
        "protocol_version": 1,
        "frames": VECTORS,
        "chunk": {"hex": _chunk.hex(), "meaning": {"type": "RETURN", "flags": 1, "length": 40,
                                                    "total": len(_chunk_payload)}},
        "hello": HELLO,
        "welcome": WELCOME,
        "control": CONTROL,
        "region": REGION,
        "connection_info": CONNECTION_INFO,
        "chunked": CHUNKED,
        "scenarios": SCENARIOS,
        "callback_loop": CALLBACK_LOOP,
        "negative": NEGATIVE,
        "arrow": ARROW,
    }
    path = pathlib.Path(__file__).with_name("frames.json")
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(VECTORS)} frames to {path}")
    path = pathlib.Path(__file__).with_name("constants.json")
    path.write_text(json.dumps(CONSTANTS, indent=1) + "\n")
    print(f"wrote {path}")
