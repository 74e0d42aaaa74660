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
    7: ("LIMIT", "a RETURN message of 3000000 bytes is over the limit of 1048576 bytes"),
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

if __name__ == "__main__":
    out = {
        "protocol_version": 1,
        "frames": VECTORS,
        "chunk": {"hex": _chunk.hex(), "meaning": {"type": "RETURN", "flags": 1, "length": 40,
                                                    "total": len(_chunk_payload)}},
        "hello": HELLO,
    }
    path = pathlib.Path(__file__).with_name("frames.json")
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(VECTORS)} frames to {path}")
