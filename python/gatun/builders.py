"""The payloads of the client's requests (spec/protocol.md §3.3), each built for one channel.

A payload that names a method or field carries the channel's name id for it (spec §3.2 Name), so
it is built for the channel it is sent on and never sent on another. These functions only build
bytes; `GatunClient._request` sends them. The channel's name table (transport.Channel) decides
what a name costs: a definition the first time, four bytes after that.
"""
from __future__ import annotations

import struct
import traceback
from typing import Any, Sequence

from . import protocol as p
from .errors import JavaException
from .proxies import JavaObject

# CALL with a known name: target kind, target, name id, argument count.
_CALL_BOUND = struct.Struct("<BQIH")
_NEW_HEAD = struct.Struct("<QH")
_U64_U8 = struct.Struct("<QB")
_SLICE = struct.Struct("<ii")


def _with_name(ch: Any, head: bytes, name: str, rest: Any = None, *rest_args: Any) -> bytearray:
    """`head`, the name, then what `rest(out, *rest_args)` adds; a failure defines nothing."""
    out = bytearray(head)
    try:
        ch.encode_name(out, name)
        if rest is not None:
            rest(out, *rest_args)
    except BaseException:
        ch.forget_pending_names()  # nothing is sent: the name is not defined (spec §3.2)
        raise
    return out


def _args(out: bytearray, args: Sequence[Any], ctx: p.ValueContext) -> None:
    out += p.U16.pack(len(args))
    for a in args:
        p.encode_value(out, a, ctx)


def call(ch: Any, ctx: p.ValueContext, kind: int, target: int, name: str, args: Sequence[Any]) -> bytes | bytearray:
    """CALL. The pre-bound case (a name the channel knows) is the hot path of the whole client."""
    nid = ch.names.get(name)
    if nid is None:
        return _with_name(ch, p.TARGET.pack(kind, target), name, _args, args, ctx)
    if not args:
        return _CALL_BOUND.pack(kind, target, nid, 0)
    out = bytearray(_CALL_BOUND.pack(kind, target, nid, len(args)))
    for a in args:
        # Small ints and strings are most arguments: encode them here, the rest in protocol.py.
        if type(a) is int and -0x80000000 <= a <= 0x7FFFFFFF:
            out += p.TAG_I32.pack(p.T_INT, a)
        else:
            p.encode_value(out, a, ctx)
    return out


def new(ctx: p.ValueContext, class_id: int, args: Sequence[Any]) -> bytearray:
    out = bytearray(_NEW_HEAD.pack(class_id, len(args)))
    for a in args:
        p.encode_value(out, a, ctx)
    return out


def get_field(ch: Any, kind: int, target: int, name: str) -> bytearray:
    return _with_name(ch, p.TARGET.pack(kind, target), name)


def set_field(ch: Any, ctx: p.ValueContext, kind: int, target: int, name: str, value: Any) -> bytearray:
    return _with_name(ch, p.TARGET.pack(kind, target), name, p.encode_value, value, ctx)


def resolve_class(name: str) -> bytearray:
    out = bytearray()
    p.encode_str(out, name)
    return out


def resolve_member(ch: Any, class_id: int, name: str) -> bytearray:
    return _with_name(ch, p.U64.pack(class_id), name)


def array(ctx: p.ValueContext, handle: int, op: int, *rest: Any) -> bytearray:
    out = bytearray(_U64_U8.pack(handle, op))
    if op in (p.ARRAY_GET, p.ARRAY_SET):
        out += p.I32.pack(rest[0])
        if op == p.ARRAY_SET:
            p.encode_value(out, rest[1], ctx)
    elif op == p.ARRAY_SLICE:
        out += _SLICE.pack(rest[0], rest[1])
    return out


def release(handles: Sequence[int]) -> bytes:
    return p.U32.pack(len(handles)) + struct.pack(f"<{len(handles)}Q", *handles)


def new_array(class_id: int, dims: Sequence[int]) -> bytearray:
    out = bytearray(_U64_U8.pack(class_id, len(dims)))
    for d in dims:
        if d < 0:
            raise ValueError(f"negative array dimension {d}")
        out += p.U32.pack(d)
    return out


def instance_of(ctx: p.ValueContext, obj: Any, class_id: int) -> bytearray:
    out = bytearray()
    p.encode_value(out, obj, ctx)
    out += p.U64.pack(class_id)
    return out


def callback_return(ctx: p.ValueContext, result: Any) -> bytearray:
    out = bytearray()
    p.encode_value(out, result, ctx)
    return out


def callback_error(e: BaseException) -> bytearray:
    """The CALLBACK_ERROR payload for `e`; degrades to shorter text rather than fail, because the
    JVM thread waiting for it must get an answer whatever happened (spec §5.1)."""
    handle = 0
    if isinstance(e, JavaException) and isinstance(e.java_exception, JavaObject):
        handle = e.java_exception._handle
    try:
        text = "".join(traceback.format_exception(e))
    except BaseException:  # out of stack or memory formatting it
        try:
            text = f"{type(e).__qualname__}: {e}"
        except BaseException:
            text = type(e).__qualname__
    out = bytearray(p.U64.pack(handle))
    p.encode_str(out, type(e).__qualname__)
    p.encode_str(out, text)
    return out
