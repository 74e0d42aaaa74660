"""Wire constants and value encoding of spec/protocol.md (version 1).

Values are encoded into a bytearray and decoded from any buffer (the mapped region or an
assembled chunked message). Objects that need a session (proxies, callbacks) go through the
`ValueContext` passed in, so this module knows nothing about connections.
"""
from __future__ import annotations

import decimal
import struct
from typing import Any, Protocol

from .errors import GatunProtocolError

PROTOCOL_VERSION = 1
MAGIC = b"GATN"
REGION_MAGIC = b"GSHM"
REGION_HEADER = 512
FRAME_HEADER = 16

# Frame types, client -> server.
CALL = 0x01
NEW = 0x02
GET_FIELD = 0x03
SET_FIELD = 0x04
RESOLVE_CLASS = 0x05
RESOLVE_MEMBER = 0x06
RELEASE = 0x07
INSTANCE_OF = 0x08
NEW_ARRAY = 0x09
ARRAY = 0x0A
SESSION_INFO = 0x0B
CALLBACK_RETURN = 0x10
CALLBACK_ERROR = 0x11
SERVE_CALLBACKS = 0x20
CONTINUE = 0x7F
# Frame types, server -> client.
RETURN = 0x40
THROW = 0x41
ERROR = 0x42
CALLBACK = 0x50

FLAG_MORE = 1

# Hand-shake.
HELLO_SESSION = 1
HELLO_CHANNEL = 2
MAPPED = b"\x01"
DOORBELL = b"\x01"
CONTROL_CANCEL = 0x01
CONTROL_CLOSE = 0x02
CONTROL_SHUTDOWN = 0x03
WELCOME_STATUS = {
    1: "authentication failed (wrong token)",
    2: "unsupported protocol version",
    3: "malformed hello",
    4: "unknown session",
    5: "limit reached",
}

# Names (spec §3.2): bit 31 of a Name's id marks a definition; ids stay below MAX_NAME_ID.
NAME_DEFINE = 0x80000000
MAX_NAME_ID = 1 << 20

# Targets.
TARGET_OBJECT = 0
TARGET_CLASS = 1

# ARRAY ops.
ARRAY_LENGTH = 0
ARRAY_GET = 1
ARRAY_SET = 2
ARRAY_SLICE = 3

# ERROR codes.
ERR_NOT_ALLOWED = 1
ERR_NO_SUCH_CLASS = 2
ERR_NO_SUCH_MEMBER = 3
ERR_NO_MATCHING_OVERLOAD = 4
ERR_BAD_HANDLE = 5
ERR_PROTOCOL = 6
ERR_LIMIT = 7
ERR_BAD_ARGUMENT = 8
ERROR_NAMES = {
    1: "NOT_ALLOWED", 2: "NO_SUCH_CLASS", 3: "NO_SUCH_MEMBER", 4: "NO_MATCHING_OVERLOAD",
    5: "BAD_HANDLE", 6: "PROTOCOL", 7: "LIMIT", 8: "BAD_ARGUMENT",
}

# Value tags.
T_NULL = 0x00
T_TRUE = 0x01
T_FALSE = 0x02
T_BYTE = 0x03
T_SHORT = 0x04
T_CHAR = 0x05
T_INT = 0x06
T_LONG = 0x07
T_FLOAT = 0x08
T_DOUBLE = 0x09
T_STRING = 0x0A
T_BYTES = 0x0B
T_OBJECT = 0x0C
T_CLASS = 0x0D
T_LIST = 0x0E
T_MAP = 0x0F
T_SET = 0x10
T_CALLBACK = 0x11
T_DECIMAL = 0x12

# Shapes of a returned object.
SHAPE_OBJECT = 0
SHAPE_LIST = 1
SHAPE_MAP = 2
SHAPE_SET = 3
SHAPE_ARRAY = 4
SHAPE_ITERATOR = 5

FRAME = struct.Struct("<IBBHQ")
U8 = struct.Struct("<B")
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
I8 = struct.Struct("<b")
I16 = struct.Struct("<h")
I32 = struct.Struct("<i")
I64 = struct.Struct("<q")
F32 = struct.Struct("<f")
F64 = struct.Struct("<d")
TAG_I32 = struct.Struct("<Bi")
TAG_I64 = struct.Struct("<Bq")
TAG_F64 = struct.Struct("<Bd")
TAG_U32 = struct.Struct("<BI")
TAG_U64 = struct.Struct("<BQ")
TARGET = struct.Struct("<BQ")

_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


class ValueContext(Protocol):
    """What encoding and decoding need from a session."""

    def object_handle(self, value: Any) -> int | None: ...
    def class_ref(self, value: Any) -> tuple[int, str] | None: ...
    def callback_ref(self, value: Any) -> tuple[int, list[str]] | None: ...
    def wrap_object(self, handle: int, shape: int) -> Any: ...
    def wrap_class(self, class_id: int, name: str) -> Any: ...
    def convert(self, value: Any) -> Any: ...


def encode_str(out: bytearray, text: str) -> None:
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"cannot send a string with a lone surrogate to Java: {e}") from None
    out += U32.pack(len(raw))
    out += raw


def encode_value(out: bytearray, v: Any, ctx: ValueContext) -> None:
    t = type(v)
    if t is str:
        out.append(T_STRING)
        encode_str(out, v)
    elif t is int:
        if _INT_MIN <= v <= _INT_MAX:
            out += TAG_I32.pack(T_INT, v)
        elif _LONG_MIN <= v <= _LONG_MAX:
            out += TAG_I64.pack(T_LONG, v)
        else:
            raise OverflowError(f"int {v} does not fit in a Java long")
    elif v is None:
        out.append(T_NULL)
    elif t is bool:
        out.append(T_TRUE if v else T_FALSE)
    elif t is float:
        out += TAG_F64.pack(T_DOUBLE, v)
    else:
        _encode_other(out, v, ctx)


def _encode_other(out: bytearray, v: Any, ctx: ValueContext) -> None:
    handle = ctx.object_handle(v)
    if handle is not None:
        out += TAG_U64.pack(T_OBJECT, handle)
        return
    cls = ctx.class_ref(v)
    if cls is not None:
        out += TAG_U64.pack(T_CLASS, cls[0])
        encode_str(out, cls[1])
        return
    if isinstance(v, bool):
        out.append(T_TRUE if v else T_FALSE)
    elif isinstance(v, int):
        encode_value(out, int(v), ctx)
    elif isinstance(v, float):
        out += TAG_F64.pack(T_DOUBLE, float(v))
    elif isinstance(v, str):
        out.append(T_STRING)
        encode_str(out, str(v))
    elif isinstance(v, (bytes, bytearray, memoryview)):
        raw = memoryview(v).cast("B")
        out += TAG_U32.pack(T_BYTES, raw.nbytes)
        out += raw
    elif isinstance(v, decimal.Decimal):
        out.append(T_DECIMAL)
        encode_str(out, str(v))
    elif isinstance(v, (list, tuple)):
        out += TAG_U32.pack(T_LIST, len(v))
        for e in v:
            encode_value(out, e, ctx)
    elif isinstance(v, dict):
        out += TAG_U32.pack(T_MAP, len(v))
        for k, e in v.items():
            encode_value(out, k, ctx)
            encode_value(out, e, ctx)
    elif isinstance(v, (set, frozenset)):
        out += TAG_U32.pack(T_SET, len(v))
        for e in v:
            encode_value(out, e, ctx)
    else:
        cb = ctx.callback_ref(v)
        if cb is None:
            converted = ctx.convert(v)
            if converted is not None:
                encode_value(out, converted, ctx)
                return
            raise TypeError(
                f"cannot pass a {type(v).__module__}.{type(v).__qualname__} to Java: not a Java proxy, "
                "primitive, str, bytes, Decimal, list/tuple/dict/set, nor an object declaring "
                "`class Java: implements = [...]`"
            )
        out += TAG_U64.pack(T_CALLBACK, cb[0])
        out += U16.pack(len(cb[1]))
        for name in cb[1]:
            encode_str(out, name)


# What the struct and codec calls below raise on bytes that do not follow the protocol; the public
# decoders turn each into a ProtocolError (a GatunProtocolError).
_MALFORMED = (struct.error, IndexError, UnicodeDecodeError, decimal.InvalidOperation)


def decode_str(buf: Any, pos: int) -> tuple[str, int]:
    """A u32-length-prefixed UTF-8 string at `pos`: (text, position after it)."""
    try:
        (n,) = U32.unpack_from(buf, pos)
        pos += 4
        if n > len(buf) - pos:
            raise ProtocolError(f"a string of {n} bytes runs past the end of the message")
        return str(buf[pos:pos + n], "utf-8"), pos + n
    except _MALFORMED as e:
        raise ProtocolError(f"a malformed string from the server: {e}") from None


def decode_value(buf: Any, pos: int, ctx: ValueContext) -> tuple[Any, int]:
    """One tagged value at `pos`: (value, position after it). Bad bytes raise ProtocolError."""
    try:
        return _decode_value(buf, pos, ctx)
    except _MALFORMED as e:
        raise ProtocolError(f"a malformed value from the server: {type(e).__name__}: {e}") from None
    except RecursionError:
        raise ProtocolError("a value from the server nests lists deeper than Python's stack allows") from None


def decode_throw(buf: Any, pos: int, end: int) -> tuple[int, str, str, str]:
    """A THROW payload (handle, class name, message, stack trace) that must end exactly at `end`."""
    try:
        (handle,) = U64.unpack_from(buf, pos)
    except _MALFORMED as e:
        raise ProtocolError(f"a malformed THROW from the server: {e}") from None
    class_name, pos = decode_str(buf, pos + 8)
    message, pos = decode_str(buf, pos)
    stack, pos = decode_str(buf, pos)
    if pos != end:
        raise ProtocolError(f"a THROW from the server has {end - pos} bytes after its stack trace")
    return handle, class_name, message, stack


def decode_error(buf: Any, pos: int, end: int) -> tuple[int, str]:
    """An ERROR payload (code, message) that must end exactly at `end`."""
    try:
        (code,) = U16.unpack_from(buf, pos)
    except _MALFORMED as e:
        raise ProtocolError(f"a malformed ERROR from the server: {e}") from None
    message, pos = decode_str(buf, pos + 2)
    if pos != end:
        raise ProtocolError(f"an ERROR from the server has {end - pos} bytes after its message")
    return code, message


def _decode_value(buf: Any, pos: int, ctx: ValueContext) -> tuple[Any, int]:
    tag = buf[pos]
    pos += 1
    if tag == T_INT:
        return I32.unpack_from(buf, pos)[0], pos + 4
    if tag == T_STRING:
        return decode_str(buf, pos)
    if tag == T_OBJECT:
        handle, shape = struct.unpack_from("<QB", buf, pos)
        return ctx.wrap_object(handle, shape), pos + 9
    if tag == T_NULL:
        return None, pos
    if tag == T_TRUE:
        return True, pos
    if tag == T_FALSE:
        return False, pos
    if tag == T_LONG:
        return I64.unpack_from(buf, pos)[0], pos + 8
    if tag == T_DOUBLE:
        return F64.unpack_from(buf, pos)[0], pos + 8
    if tag == T_BYTE:
        return I8.unpack_from(buf, pos)[0], pos + 1
    if tag == T_SHORT:
        return I16.unpack_from(buf, pos)[0], pos + 2
    if tag == T_CHAR:
        return chr(U16.unpack_from(buf, pos)[0]), pos + 2
    if tag == T_FLOAT:
        return F32.unpack_from(buf, pos)[0], pos + 4
    if tag == T_BYTES:
        (n,) = U32.unpack_from(buf, pos)
        pos += 4
        if n > len(buf) - pos:
            raise ProtocolError(f"a byte[] of {n} bytes runs past the end of the message")
        return bytes(buf[pos:pos + n]), pos + n
    if tag == T_DECIMAL:
        text, pos = decode_str(buf, pos)
        return decimal.Decimal(text), pos
    if tag == T_CLASS:
        (cid,) = U64.unpack_from(buf, pos)
        name, pos = decode_str(buf, pos + 8)
        return ctx.wrap_class(cid, name), pos
    if tag == T_LIST:
        (n,) = U32.unpack_from(buf, pos)
        pos += 4
        if n > len(buf) - pos:  # every element takes at least its tag byte
            raise ProtocolError(f"a list of {n} elements runs past the end of the message")
        items = []
        for _ in range(n):
            item, pos = _decode_value(buf, pos, ctx)
            items.append(item)
        return items, pos
    raise ProtocolError(f"unexpected value tag 0x{tag:02x} from the server")


# The peer sent bytes that do not follow spec/protocol.md (the name this module has always used).
ProtocolError = GatunProtocolError
