"""Connections to a Gatun server: the hand-shake, the control connection and channels.

A channel is a Unix socket (hand-shake and doorbell only) plus a mapped shared-memory region in
which the client and the server take turns writing one frame (spec/protocol.md §2). This module
moves frames; what the frames mean is the client's business.
"""
from __future__ import annotations

import mmap
import os
import socket
import struct
import threading

from . import _native
from . import protocol as p
from . import waiting
from .errors import GatunConnectionError, GatunError, GatunProtocolError, LimitError

NOT_SIMPLE = _native.NOT_SIMPLE
_NAME_DEFINITION = struct.Struct("<IH")
CLOSED = _native.CLOSED


def _recv_exact(sock: socket.socket, n: int, what: str) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise GatunConnectionError(f"the server closed the connection during {what}")
        data += chunk
    return bytes(data)


def hello_bytes(kind: int, token: bytes, session_id: bytes = b"") -> bytes:
    """HELLO (spec §1.2): 40 bytes for a session, 56 for a channel (with the session id)."""
    return p.MAGIC + struct.pack("<HBB", p.PROTOCOL_VERSION, kind, 0) + token + session_id


def _hello(socket_path: str, kind: int, token: bytes, session_id: bytes = b"") -> socket.socket:
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError as e:  # out of file descriptors, typically
        raise GatunConnectionError(f"cannot connect to the Gatun server at {socket_path}: {e}") from e
    try:
        sock.settimeout(10.0)
        sock.connect(socket_path)
        sock.sendall(hello_bytes(kind, token, session_id))
        status = _recv_exact(sock, 1, "the hand-shake")[0]
        if status != 0:
            (n,) = struct.unpack("<H", _recv_exact(sock, 2, "the hand-shake"))
            message = _recv_exact(sock, n, "the hand-shake").decode("utf-8", "replace")
            reason = p.WELCOME_STATUS.get(status, f"status {status}")
            raise GatunConnectionError(f"the Gatun server refused the connection: {reason}: {message}")
        return sock
    except OSError as e:
        sock.close()
        raise GatunConnectionError(f"cannot connect to the Gatun server at {socket_path}: {e}") from e
    except BaseException:
        sock.close()
        raise


_CPUS = waiting.available_cpus()


class ControlConnection:
    """The session's control connection: opening it starts the session, closing it ends it."""

    def __init__(self, socket_path: str, token: bytes, wait_policy: str | None = None):
        self.socket_path = socket_path
        self.token = token
        self.wait_policy = waiting.resolve(wait_policy)
        self.sock = _hello(socket_path, p.HELLO_SESSION, token)
        try:
            reply = _recv_exact(self.sock, 24, "the hand-shake")
        except BaseException:
            self.sock.close()
            raise
        self.session_id = reply[:16]
        (self.max_message_bytes,) = struct.unpack("<Q", reply[16:])
        self.sock.settimeout(None)
        self._lock = threading.Lock()

    def _send(self, data: bytes) -> None:
        with self._lock:
            self.sock.sendall(data)

    def cancel(self, channel_id: int) -> None:
        self._send(struct.pack("<BI", p.CONTROL_CANCEL, channel_id))

    def shutdown_server(self) -> None:
        self._send(bytes([p.CONTROL_SHUTDOWN]))

    def close(self) -> None:
        try:
            self._send(bytes([p.CONTROL_CLOSE]))
        except OSError:
            pass
        self.sock.close()

    def open_channel(self) -> "Channel":
        return Channel(self)


class Channel:
    """One channel: a socket, a mapped region and the turn-taking on it.

    Used by one thread at a time. `send_frame` writes a frame and hands the turn to the server;
    `receive_frame` waits for the server's frame. Messages larger than the region travel in chunks.
    """

    def __init__(self, control: ControlConnection):
        self.max_message_bytes = control.max_message_bytes
        self.sock = _hello(control.socket_path, p.HELLO_CHANNEL, control.token, control.session_id)
        try:
            head = _recv_exact(self.sock, 16, "the channel hand-shake")
            self.channel_id, size, n = struct.unpack("<IQI", head)
            path = _recv_exact(self.sock, n, "the channel hand-shake").decode("utf-8")
            fd = os.open(path, os.O_RDWR)
            try:
                if os.fstat(fd).st_size < size:
                    raise GatunProtocolError(f"shared-memory file {path} is smaller than announced")
                self.mm = mmap.mmap(fd, size)
            finally:
                os.close(fd)
            if self.mm[0:4] != p.REGION_MAGIC:
                raise GatunProtocolError(f"{path} is not a Gatun region (bad magic)")
            data_off, capacity = struct.unpack_from("<II", self.mm, 16)
            if data_off < p.REGION_HEADER or data_off + capacity > size or capacity < 4096:
                raise GatunProtocolError(f"bad region header in {path}")
            self.sock.sendall(p.MAPPED)
            self.sock.settimeout(None)
        except OSError as e:  # out of file descriptors or memory, or the server went away
            self.sock.close()
            raise GatunConnectionError(f"cannot open a channel to the Gatun server: {e}") from e
        except BaseException:
            self.sock.close()
            raise
        self.data = data_off
        self.capacity = capacity
        self.chunk_payload = capacity - p.FRAME_HEADER
        kind, fixed_ns = waiting.parse(control.wait_policy)
        self.region = _native.Region(self.mm, self.sock.fileno(), kind, fixed_ns, _CPUS)
        # Method/field name ids of this channel (spec §3.2 Name). A name joins `names` once a
        # frame defining it has been handed to the server (for a chunked message: its last chunk);
        # until then it waits in `pending_names`, which a request that fails before that clears.
        self.names: dict[str, int] = {}
        self.pending_names: dict[str, int] = {}
        self.in_transfer = False
        self.broken: str | None = None

    # --- turns (the turn state lives in the native Region: see _native.c) ---------------------

    # --- the name table (spec §3.2 Name) -------------------------------------------------------

    def encode_name(self, out: bytearray, name: str) -> None:
        """Appends the Name for `name`: its id if this channel knows it, else a definition.

        A definition stays pending until the frame carrying it is handed to the server; the
        request builder calls `forget_pending_names` if it fails before that.
        """
        nid = self.names.get(name)
        if nid is not None:
            out += p.U32.pack(nid)
            return
        raw = name.encode("utf-8")  # checked before the name is pending: a failure leaves nothing behind
        if len(raw) > 0xFFFF:
            raise GatunError(f"a member name of {len(raw)} bytes (the protocol allows 65535)")
        nid = self.pending_names.get(name)
        if nid is None:
            nid = len(self.names) + len(self.pending_names)
            if nid >= p.MAX_NAME_ID:
                raise GatunError(f"more than {p.MAX_NAME_ID} distinct member names on one channel")
            self.pending_names[name] = nid
        out += _NAME_DEFINITION.pack(nid | p.NAME_DEFINE, len(raw))
        out += raw

    def forget_pending_names(self) -> None:
        """The request that defined them was not handed to the server: they are not defined."""
        self.pending_names.clear()

    def _commit_names(self) -> None:
        self.names.update(self.pending_names)
        self.pending_names.clear()

    def _publish(self) -> None:
        try:
            self.region.publish()
        except OSError as e:
            self._fail(f"the Gatun server went away ({e})")

    def _await_turn(self) -> None:
        try:
            r = self.region.wait()
        except OSError as e:
            self._fail(f"the Gatun server went away ({e})")
        if r < 0:
            self._fail("the Gatun server went away (its JVM exited or closed the channel)")

    def request(self, ftype: int, payload: bytes | bytearray) -> object:
        """Send a one-frame request and wait for the answer, all in native code.

        Returns the value when the answer is a RETURN of a scalar or string, `(handle, shape)` for
        an object; otherwise `NOT_SIMPLE`, and the answer is in the region for `read_frame`.
        """
        if self.pending_names:
            self._commit_names()
        try:
            r = self.region.roundtrip(ftype, payload)
        except OSError as e:
            self._fail(f"the Gatun server went away ({e})")
        except UnicodeDecodeError as e:  # a string in the answer that is not UTF-8
            self._malformed(f"a malformed RETURN from the server: {e}")
        if r is CLOSED:
            self._fail("the Gatun server went away (its JVM exited or closed the channel)")
        return r

    def finish_turn(self) -> None:
        """Wait out a turn that a KeyboardInterrupt cut short."""
        if self.region.waiting():
            self._await_turn()

    @property
    def waiting(self) -> bool:
        """True while a frame we sent awaits the server's answer."""
        return self.region.waiting()

    def _fail(self, why: str) -> None:
        self.broken = why
        raise GatunConnectionError(why)

    def _malformed(self, why: str) -> None:
        """The server's bytes break the protocol: the channel is not used again."""
        self.broken = why
        raise GatunProtocolError(why)

    def check_usable(self) -> None:
        if self.broken is not None:
            raise GatunConnectionError(f"this channel is unusable: {self.broken}")

    # --- frames ------------------------------------------------------------------------------

    def check_limit(self, total: int) -> None:
        if total > self.max_message_bytes:
            raise LimitError(
                f"message of {total} bytes exceeds the server's max message size of "
                f"{self.max_message_bytes} bytes (--max-message-bytes)"
            )

    def send_frame(self, ftype: int, payload: bytes | bytearray | memoryview) -> None:
        """Send a message, in chunks when it does not fit, and wait for the server's answer.

        After this returns the server's frame (or last chunk of it) is in the region.
        """
        total = len(payload)
        self.check_limit(total)
        mm, data = self.mm, self.data
        if total <= self.chunk_payload:
            p.FRAME.pack_into(mm, data, total, ftype, 0, 0, total)
            mm[data + 16:data + 16 + total] = payload
            self._commit_names()
            self._publish()
            self._await_turn()
            return
        view = memoryview(payload)
        pos = 0
        self.in_transfer = True
        while True:
            n = min(self.chunk_payload, total - pos)
            more = pos + n < total
            p.FRAME.pack_into(mm, data, n, ftype, p.FLAG_MORE if more else 0, 0, total)
            mm[data + 16:data + 16 + n] = view[pos:pos + n]
            pos += n
            if not more:
                self._commit_names()  # the server decodes the message, and its names, on this chunk
            self._publish()
            self._await_turn()
            if not more:
                self.in_transfer = False
                return
            _, rtype, _, _, _ = p.FRAME.unpack_from(mm, data)
            if rtype != p.CONTINUE:
                self.forget_pending_names()  # refused unread: it defined nothing (spec §3.2)
                self.in_transfer = False
                return  # the server refused the message (e.g. LIMIT); its answer is in the region

    def read_frame(self) -> tuple[int, memoryview | bytes | mmap.mmap, int]:
        """The server's frame now in the region: (type, buffer, payload offset).

        A chunked message is assembled (answering each chunk with CONTINUE) into a bytes object.
        """
        mm, data = self.mm, self.data
        length, ftype, flags, _, total = p.FRAME.unpack_from(mm, data)
        if length > self.chunk_payload or length > total:
            self._malformed(f"bad frame header from the server: length {length}, total {total}")
        if not flags & p.FLAG_MORE:
            if length != total:
                self._malformed(f"the server's frame length {length} differs from its total {total}")
            self.frame_end = data + 16 + length
            return ftype, mm, data + 16
        if total > self.max_message_bytes:
            self._malformed(f"the server announced a message of {total} bytes, over the limit of "
                       f"{self.max_message_bytes} bytes (--max-message-bytes)")
        buf = bytearray(total)
        pos = 0
        self.in_transfer = True
        while True:
            if pos + length > total:
                self._malformed("the server sent chunks longer than the announced total")
            buf[pos:pos + length] = mm[data + 16:data + 16 + length]
            pos += length
            if not flags & p.FLAG_MORE:
                break
            p.FRAME.pack_into(mm, data, 0, p.CONTINUE, 0, 0, 0)
            self._publish()
            self._await_turn()
            length, chunk_type, flags, _, chunk_total = p.FRAME.unpack_from(mm, data)
            if chunk_type != ftype or chunk_total != total or length > self.chunk_payload:
                self._malformed("a chunk from the server changed the type or total of its message")
        if pos != total:
            self._malformed("the server's chunks do not add up to the announced total")
        self.in_transfer = False
        self.frame_end = total
        return ftype, buf, 0

    def close(self) -> None:
        self.broken = self.broken or "closed"
        try:
            self.region.release()
            self.mm.close()
        except (BufferError, ValueError):
            pass
        try:
            self.sock.close()
        except OSError:
            pass
