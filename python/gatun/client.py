"""GatunClient: a session with a Gatun server, one channel per Python thread."""
from __future__ import annotations

import os
import struct
import sys
import threading
from pathlib import Path
from typing import Any, Sequence

from . import builders
from . import protocol as p
from . import waiting
from .errors import (
    GatunConnectionError, GatunError, GatunProtocolError, GatunRequestError, JavaException,
    LimitError, NotAllowedError,
)
from .launcher import ConnectionInfo, GatunLauncher, parse_size
from .proxies import SHAPE_CLASSES, JavaClass, JavaObject, JVMView
from .transport import NOT_SIMPLE, Channel, ControlConnection

RELEASE_BATCH = 256
_CALLBACK_HEAD = struct.Struct("<Q")
_SERVER_SEQ = struct.Struct("<Q")
_SERVER_SEQ_OFFSET = 128  # spec §2: the server's sequence word in the region
# Frames a callback keeps free below Python's recursion limit for its own answer and the machinery
# of one nested request, so that running out of stack is a clean CALLBACK_ERROR (spec §5.1).
_CALLBACK_HEADROOM = 40


def _headroom(n: int) -> None:
    """Raises RecursionError unless `n` more frames fit under the recursion limit."""
    if n:
        _headroom(n - 1)


def _size_option(name: str, value: int | str | None) -> int | None:
    """A size keyword argument in bytes (None: its default)."""
    if value is None:
        return None
    n = parse_size(value)
    if n < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return n


class GatunClient:
    """A connection to a Gatun server.

    `GatunClient()` starts a private server JVM (see `GatunLauncher`; keyword arguments go to it)
    and connects. `GatunClient(socket_path, token=...)` attaches to a running server when
    `connect()` is called (or on first use); without `token`, it reads the `connection.json` the
    server wrote next to its socket, or `GATUN_TOKEN`. Use it as a context manager, or call
    `close()`. `arrow_arena_bytes` sizes the shared-memory arena of Arrow transfers (default
    64 MiB; see `send_arrow_buffers`); `arrow_extension_bytes` bounds the further shared memory a
    whole table larger than the arena may take at once (default 16 GiB; see `get_arrow_data`);
    `arrow_spare_bytes` bounds the bytes of that memory kept, after such a table is gone, for the
    next one (default 1 GiB, 0: none; see `release_arrow_spares`). `wait_policy` says how this
    client's threads wait for answers (`adaptive`, the default, `park` or `spin:MICROS`; default
    $GATUN_WAIT_POLICY; spec/protocol.md §2.2.1); a server this client starts uses the same, or
    the launch option `server_wait_policy`.
    """

    def __init__(self, socket_path: str | None = None, token: bytes | str | None = None,
                 *, info_file: str | None = None, arrow_arena_bytes: int | str | None = None,
                 arrow_extension_bytes: int | str | None = None, arrow_spare_bytes: int | str | None = None,
                 wait_policy: str | None = None, **launch_options: Any):
        self._launcher: GatunLauncher | None = None
        self._control: ControlConnection | None = None
        self._lock = threading.RLock()
        self._local = threading.local()
        self._channels: list[Channel] = []
        self._pending_release: list[int] = []
        self._classes: dict[str, JavaClass | None] = {}
        self._members: dict[tuple[int, str], Any] = {}
        self._callbacks: dict[int, Any] = {}
        self._callback_ids: dict[int, int] = {}
        self._callback_interfaces: dict[int, list[str]] = {}
        self._callback_threads = 0
        self._idle_callback_threads = 0
        self._closed = False
        self._arrow: Any = None
        self._arrow_arena_bytes = _size_option("arrow_arena_bytes", arrow_arena_bytes)
        self._arrow_extension_bytes = _size_option("arrow_extension_bytes", arrow_extension_bytes)
        self._arrow_spare_bytes = _size_option("arrow_spare_bytes", arrow_spare_bytes)
        self._wait_policy = waiting.resolve(wait_policy)
        self.jvm = JVMView(self)
        if isinstance(token, str):
            token = bytes.fromhex(token)
        if info_file is not None:
            info = ConnectionInfo.read(info_file)
            self._socket_path, self._token = info.socket_path, info.token
        elif socket_path is None:
            launch_options["wait_policy"] = launch_options.pop("server_wait_policy", self._wait_policy)
            self._launcher = GatunLauncher(**launch_options)
            info = self._launcher.start()
            self._socket_path, self._token = info.socket_path, info.token
            try:
                self.connect()
            except BaseException:
                self._launcher.stop()
                raise
        else:
            if launch_options:
                raise TypeError(f"launch options {sorted(launch_options)} need GatunClient() without socket_path")
            self._socket_path = socket_path
            self._token = token if token is not None else self._find_token(socket_path)

    @staticmethod
    def _find_token(socket_path: str) -> bytes:
        env = os.environ.get("GATUN_TOKEN")
        if env:
            return bytes.fromhex(env)
        for candidate in (Path(socket_path).parent / "connection.json",
                          Path(socket_path).parent.parent / "connection.json"):
            if candidate.is_file():
                return ConnectionInfo.read(candidate).token
        raise GatunConnectionError(
            f"no token for {socket_path}: pass token=..., set GATUN_TOKEN, or use info_file=..."
        )

    # --- life cycle --------------------------------------------------------------------------

    def connect(self) -> "GatunClient":
        with self._lock:
            if self._closed:
                raise GatunConnectionError("this client is closed")
            if self._control is None:
                self._control = ControlConnection(self._socket_path, self._token, self._wait_policy)
        return self

    def close(self) -> None:
        """End the session (the server releases every object) and stop a server we started."""
        self._close_arrow_spares()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._arrow = None  # pyarrow views keep the mapping alive through their leases
            control, self._control = self._control, None
            channels, self._channels = self._channels, []
        for ch in channels:
            ch.close()
        if control is not None:
            control.close()
        if self._launcher is not None:
            self._launcher.stop()

    def shutdown(self) -> None:
        """Stop the server process (if it allows it), then close."""
        self._close_arrow_spares()
        if self._control is not None:
            try:
                self._control.shutdown_server()
            except OSError:
                pass
        self.close()

    def __enter__(self) -> "GatunClient":
        return self.connect()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def server_pid(self) -> int | None:
        if self._launcher is not None and self._launcher.process is not None:
            return self._launcher.process.pid
        return None

    # --- channels ----------------------------------------------------------------------------

    def _channel(self) -> Channel:
        """This thread's channel, a new one if it has none or its channel is unusable.

        A request is built for one channel (its name ids are that channel's), so the channel is
        chosen before the request is built and never changed afterwards.
        """
        try:
            ch = self._local.channel
        except AttributeError:
            pass
        else:
            if ch.broken is None:
                return ch
            self._discard_channel(ch)
        control = self._control
        if control is None:
            control = self.connect()._control
            assert control is not None
        ch = control.open_channel()
        with self._lock:
            if self._closed:
                ch.close()
                raise GatunConnectionError("this client is closed")
            self._channels.append(ch)
        self._local.channel = ch
        return ch

    def _discard_channel(self, ch: Channel) -> None:
        if getattr(self._local, "channel", None) is ch:
            del self._local.channel
        with self._lock:
            if ch in self._channels:
                self._channels.remove(ch)
        ch.close()

    # --- requests ----------------------------------------------------------------------------

    def _call(self, kind: int, target: int, name: str, args: Sequence[Any]) -> Any:
        try:
            ch = self._local.channel
            if ch.broken is not None:
                ch = self._channel()
        except AttributeError:
            ch = self._channel()
        return self._request(ch, p.CALL, builders.call(ch, self, kind, target, name, args))

    def _new(self, class_id: int, args: Sequence[Any]) -> Any:
        try:
            ch = self._local.channel
            if ch.broken is not None:
                ch = self._channel()
        except AttributeError:
            ch = self._channel()
        return self._request(ch, p.NEW, builders.new(self, class_id, args))

    def _get_field(self, kind: int, target: int, name: str) -> Any:
        ch = self._channel()
        return self._request(ch, p.GET_FIELD, builders.get_field(ch, kind, target, name))

    def _set_field(self, kind: int, target: int, name: str, value: Any) -> None:
        ch = self._channel()
        self._request(ch, p.SET_FIELD, builders.set_field(ch, self, kind, target, name, value))

    def _resolve_class(self, name: str) -> JavaClass | None:
        try:
            return self._classes[name]
        except KeyError:
            pass
        found = self._request(self._channel(), p.RESOLVE_CLASS, builders.resolve_class(name))
        self._classes[name] = found
        return found

    def _resolve_member(self, class_id: int, name: str) -> Any:
        key = (class_id, name)
        try:
            return self._members[key]
        except KeyError:
            pass
        ch = self._channel()
        found = self._request(ch, p.RESOLVE_MEMBER, builders.resolve_member(ch, class_id, name))
        self._members[key] = found
        return found

    def _array(self, handle: int, op: int, *rest: Any) -> Any:
        return self._request(self._channel(), p.ARRAY, builders.array(self, handle, op, *rest))

    def _drop(self, handle: int) -> None:
        if handle and not self._closed:
            self._pending_release.append(handle)

    def _flush_releases(self, ch: Channel) -> None:
        pending = self._pending_release
        batch = []
        try:
            while pending and len(batch) < 65536:
                batch.append(pending.pop())  # pop is atomic: safe against __del__ in other threads
        except IndexError:
            pass
        if batch:
            self._request(ch, p.RELEASE, builders.release(batch), flush=False)

    def _request(self, ch: Channel, ftype: int, payload: bytes | bytearray, flush: bool = True) -> Any:
        """Send one request on `ch` (built for it: its name ids are ch's) and return the answer.

        The one path of every request. A one-frame request whose answer is a scalar, a string or
        an object makes its round trip in one native call (`Channel.request`); anything else
        (chunks, callbacks, exceptions, collections) is read by `_reply`.

        A request is sent once. If the channel fails, the request is not sent again on another
        channel (the server may have executed it): the caller gets the error, and the thread's next
        request takes a new channel.
        """
        try:
            if ch.broken is not None:
                ch.check_usable()
            if flush and len(self._pending_release) >= RELEASE_BATCH:
                self._flush_releases(ch)
            n = len(payload)
            if n <= ch.chunk_payload:
                if n > ch.max_message_bytes:
                    ch.check_limit(n)
                value = ch.request(ftype, payload)
                if type(value) is tuple:
                    return self.wrap_object(*value)
                if value is not NOT_SIMPLE:
                    return value
            else:
                ch.send_frame(ftype, payload)
            return self._reply(ch)
        except BaseException as e:
            self._request_failed(ch, e)
            raise

    def _request_failed(self, ch: Channel, e: BaseException) -> None:
        """Leave the channel consistent after a failed request; raise a clearer error if there is one."""
        # Names still pending were in no frame handed to the server (a frame's names are
        # committed as it is handed over): they are not defined there (spec §3.2).
        ch.forget_pending_names()
        if isinstance(e, KeyboardInterrupt):
            self._after_interrupt(ch)
        elif isinstance(e, GatunProtocolError):
            self._discard_channel(ch)  # the server broke the protocol: the channel is not used again
        elif isinstance(e, (GatunConnectionError, OSError)):
            self._discard_channel(ch)
            if not isinstance(e, GatunConnectionError):
                e = GatunConnectionError(f"the Gatun server went away ({e})")
            raise self._explain_connection_error(e) from None

    def _explain_connection_error(self, e: GatunConnectionError) -> GatunConnectionError:
        launcher = self._launcher
        if launcher is not None:
            code = launcher.exit_code()
            if code is None and launcher.process is not None:
                try:
                    code = launcher.process.wait(timeout=1.0)
                except Exception:
                    code = None
            if code is not None:
                return GatunConnectionError(
                    f"the Gatun server JVM died (exit code {code}): {e}\n{launcher.log_tail(15)}".rstrip()
                )
        return e

    def _after_interrupt(self, ch: Channel) -> None:
        """Ctrl-C while Java runs: interrupt the Java thread, let the call end, keep the channel."""
        if not ch.waiting:
            if ch.in_transfer:
                self._discard_channel(ch)  # interrupted between chunks: the peer expects more
            return
        try:
            if self._control is not None:
                self._control.cancel(ch.channel_id)
            ch.finish_turn()
            try:
                self._reply(ch)
            except (JavaException, GatunRequestError):
                pass
        except BaseException:
            self._discard_channel(ch)

    # --- replies -----------------------------------------------------------------------------

    def _reply(self, ch: Channel) -> Any:
        while True:
            ftype, buf, pos = ch.read_frame()
            if ftype == p.RETURN:
                value, end = p.decode_value(buf, pos, self)  # bad bytes: GatunProtocolError
                if end != ch.frame_end:  # a RETURN carries exactly one value
                    raise GatunProtocolError(f"a RETURN of {ch.frame_end - pos} bytes holds a value of {end - pos}")
                return value
            if ftype == p.THROW:
                raise self._java_exception(buf, pos, ch.frame_end)
            if ftype == p.ERROR:
                error = self._request_error(buf, pos, ch.frame_end)
                if error.code == p.ERR_PROTOCOL:
                    ch.broken = f"the server closed the channel after a protocol error: {error.message}"
                raise error
            if ftype == p.CALLBACK:
                self._serve_callback(ch, buf, pos)
                continue
            ch.broken = f"unexpected frame type 0x{ftype:02x}"
            raise GatunProtocolError(f"unexpected frame type 0x{ftype:02x} from the server")

    def _java_exception(self, buf: Any, pos: int, end: int) -> JavaException:
        handle, class_name, message, stack = p.decode_throw(buf, pos, end)
        return JavaException(self.wrap_object(handle, p.SHAPE_OBJECT), class_name, message, stack)

    @staticmethod
    def _request_error(buf: Any, pos: int, end: int) -> GatunRequestError:
        code, message = p.decode_error(buf, pos, end)
        name = p.ERROR_NAMES.get(code, f"ERROR_{code}")
        if code == p.ERR_NOT_ALLOWED:
            return NotAllowedError(code, name, message)
        if code == p.ERR_LIMIT:
            return LimitError(message)
        return GatunRequestError(code, name, message)

    # --- callbacks ---------------------------------------------------------------------------

    def register_callback(self, obj: Any, *interfaces: str) -> Any:
        """Let Java call `obj` through the given interfaces; returns `obj` for chaining.

        Objects that declare `class Java: implements = [...]` need no registration.
        """
        if not interfaces:
            raise ValueError("register_callback needs at least one Java interface name")
        with self._lock:
            cid = self._callback_ids.get(id(obj))
            if cid is None:
                cid = len(self._callbacks) + 1
                self._callbacks[cid] = obj
                self._callback_ids[id(obj)] = cid
            self._callback_interfaces[cid] = list(interfaces)
        self._ensure_callback_thread()
        return obj

    def _serve_callback(self, ch: Channel, buf: Any, pos: int) -> None:
        """Run a CALLBACK and answer it: exactly one answer, whatever fails (spec §5.1).

        The JVM thread waits for this answer and nothing else, so decoding, the call, encoding and
        the error report all happen inside the try. When Python's stack runs out in the middle of a
        nested request of the callback, the channel may be a turn ahead: `_back_in_step` brings it
        back before the answer goes out.
        """
        entry_seq = _SERVER_SEQ.unpack_from(ch.mm, _SERVER_SEQ_OFFSET)[0]
        try:
            _headroom(_CALLBACK_HEADROOM)
            (cid,) = _CALLBACK_HEAD.unpack_from(buf, pos)
            method, pos = p.decode_str(buf, pos + 8)
            (argc,) = p.U16.unpack_from(buf, pos)
            pos += 2
            args = []
            for _ in range(argc):
                value, pos = p.decode_value(buf, pos, self)
                args.append(value)
            target = self._callbacks[cid]
            out = builders.callback_return(self, getattr(target, method)(*args))
            ch.check_limit(len(out))
            ftype = p.CALLBACK_RETURN
        except BaseException as e:  # the JVM thread must get an answer, whatever happened
            ftype, out = p.CALLBACK_ERROR, builders.callback_error(e)
            self._back_in_step(ch, entry_seq)
        ch.send_frame(ftype, out)

    def _back_in_step(self, ch: Channel, entry_seq: int) -> None:
        """After a callback failed: make the server wait for this callback's answer again.

        It may not: the failure (a RecursionError, typically) can strike after a nested request
        went out and before what came back was served. Then the server is either still answering,
        or waiting for the answer to a nested CALLBACK nobody ran (each gets CALLBACK_ERROR), or in
        the middle of a chunked message (read to its end and dropped). A chunked request of ours
        cut short cannot be finished: the channel is dropped and the failure becomes a connection
        error.
        """
        mm, data = ch.mm, ch.data
        while True:
            if ch.waiting:
                ch.finish_turn()
            _, ftype, flags, _, _ = p.FRAME.unpack_from(mm, data)
            if ftype == p.CONTINUE:  # the server waits for the rest of a message of ours
                self._discard_channel(ch)
                raise GatunConnectionError("a callback failed in the middle of sending a chunked request; "
                                           "the channel was closed")
            if flags & p.FLAG_MORE:  # a chunked message of the server's, cut short: drop the rest
                p.FRAME.pack_into(mm, data, 0, p.CONTINUE, 0, 0, 0)
                ch.in_transfer = True
                ch._publish()
                continue
            ch.in_transfer = False
            if ftype != p.CALLBACK or _SERVER_SEQ.unpack_from(mm, _SERVER_SEQ_OFFSET)[0] == entry_seq:
                return  # this callback's own frame, or the final answer to a nested request
            ch.send_frame(p.CALLBACK_ERROR, builders.callback_error(RecursionError(
                "this nested callback was not run: its caller failed first (out of stack?)")))

    def _ensure_callback_thread(self) -> None:
        with self._lock:
            if self._idle_callback_threads > 0 or self._closed:
                return
            self._callback_threads += 1
            self._idle_callback_threads += 1
            n = self._callback_threads
        threading.Thread(target=self._callback_loop, name=f"gatun-callback-{n}", daemon=True).start()

    def _callback_loop(self) -> None:
        """Serve callbacks from JVM threads that no Python thread is waiting on (spec §5.2)."""
        try:
            ch = self._channel()
            ch.send_frame(p.SERVE_CALLBACKS, b"")
            while True:
                ftype, buf, pos = ch.read_frame()
                if ftype != p.CALLBACK:
                    raise GatunProtocolError(f"unexpected frame 0x{ftype:02x} on a callback channel")
                with self._lock:
                    self._idle_callback_threads -= 1
                self._ensure_callback_thread()
                try:
                    self._serve_callback(ch, buf, pos)
                finally:
                    with self._lock:
                        self._idle_callback_threads += 1
        except (GatunConnectionError, OSError, ValueError):
            pass  # the session ended
        except TypeError:
            # close() unmapped the region under a callback that was still answering: the session
            # ended; anything else is a bug to show.
            if not self._closed:
                raise
        except GatunError as e:
            print(f"gatun: callback thread stopped: {e}", file=sys.stderr)
        finally:
            with self._lock:
                self._idle_callback_threads -= 1

    # --- ValueContext (protocol.py) ----------------------------------------------------------

    def object_handle(self, value: Any) -> int | None:
        if isinstance(value, JavaObject):
            if value._client is not self:
                raise GatunError("a Java object from another Gatun session cannot be passed here")
            return value._handle
        return None

    def class_ref(self, value: Any) -> tuple[int, str] | None:
        if isinstance(value, JavaClass):
            return value._class_id, value._fqn
        return None

    def callback_ref(self, value: Any) -> tuple[int, list[str]] | None:
        cid = self._callback_ids.get(id(value))
        if cid is not None and self._callbacks.get(cid) is value:
            return cid, self._callback_interfaces[cid]
        java = getattr(value, "Java", None)
        implements = getattr(java, "implements", None)
        if not implements:
            return None
        self.register_callback(value, *implements)
        return self.callback_ref(value)

    def wrap_object(self, handle: int, shape: int) -> JavaObject:
        return SHAPE_CLASSES.get(shape, JavaObject)(self, handle)

    def wrap_class(self, class_id: int, name: str) -> JavaClass:
        return JavaClass(self, class_id, name)

    def convert(self, value: Any) -> Any:
        """A value to send instead of one Gatun cannot encode, or None (then it is a TypeError)."""
        return None

    # --- public helpers ----------------------------------------------------------------------

    def new_array(self, java_class: JavaClass | str, *dims: int) -> Any:
        """A new Java array: `new_array(jvm.java.lang.String, 3)` or `new_array("int", 2, 2)`."""
        cls = self._class(java_class)
        if not dims:
            raise ValueError("new_array needs at least one dimension")
        return self._request(self._channel(), p.NEW_ARRAY, builders.new_array(cls._class_id, dims))

    def is_instance_of(self, obj: Any, java_class: JavaClass | str) -> bool:
        cls = self._class(java_class)
        return bool(self._request(self._channel(), p.INSTANCE_OF, builders.instance_of(self, obj, cls._class_id)))

    def _class(self, java_class: JavaClass | str) -> JavaClass:
        if isinstance(java_class, JavaClass):
            return java_class
        found = self._resolve_class(java_class)
        if found is None:
            raise GatunRequestError(2, "NO_SUCH_CLASS", f"no Java class named {java_class!r}")
        return found

    def get_field(self, obj: JavaObject | JavaClass, name: str) -> Any:
        if isinstance(obj, JavaClass):
            return self._get_field(p.TARGET_CLASS, obj._class_id, name)
        return self._get_field(p.TARGET_OBJECT, obj._handle, name)

    def set_field(self, obj: JavaObject | JavaClass, name: str, value: Any) -> None:
        if isinstance(obj, JavaClass):
            self._set_field(p.TARGET_CLASS, obj._class_id, name, value)
        else:
            self._set_field(p.TARGET_OBJECT, obj._handle, name, value)

    def session_info(self) -> dict[str, int]:
        """What the server holds for this session: live objects in its registry, open channels."""
        self._flush_releases(self._channel())
        objects, channels = self._request(self._channel(), p.SESSION_INFO, b"")
        return {"objects": objects, "channels": channels}

    # --- Arrow (spec/arrow.md) -----------------------------------------------------------------

    def _arrow_arena(self) -> Any:
        from . import arrow
        with self._lock:
            if self._closed:
                raise GatunConnectionError("this client is closed")
            if self._arrow is None:
                self._arrow = arrow.Arena(
                    self, self._arrow_arena_bytes or arrow.DEFAULT_ARENA_BYTES,
                    extension_bytes=(arrow.DEFAULT_EXTENSION_BYTES if self._arrow_extension_bytes is None
                                     else self._arrow_extension_bytes),
                    spare_bytes=(arrow.DEFAULT_SPARE_BYTES if self._arrow_spare_bytes is None
                                 else self._arrow_spare_bytes))
            return self._arrow

    def _close_arrow_spares(self) -> None:
        # Before the channels close: the JVM lets go of the extension files it keeps for reuse.
        arrow = self._arrow
        if arrow is not None and not self._closed:
            arrow.close_spares()

    def release_arrow_spares(self) -> None:
        """Frees now the shared memory kept for reuse after large tables were dropped.

        `get_arrow_data` keeps the extension arenas of a dropped `Table` (up to
        `arrow_spare_bytes`) so that the next large collection rewrites existing memory instead of
        allocating new; they are freed anyway after 10-20 s unused, and at `close()`.
        """
        arrow = self._arrow
        if arrow is not None:
            arrow.release_spares()

    def arrow_arena(self) -> JavaObject:
        """The session's Java `dev.gatun.arrow.ArrowArena` (created on first use), for Java code
        that builds an `ArrowExporter` itself (e.g. `ArrowExporter.fromIpcBatches`)."""
        return self._arrow_arena().java

    def send_arrow_buffers(self, data: Any) -> JavaObject:
        """Hands a pyarrow `Table`, `RecordBatch` or `RecordBatchReader` to the JVM.

        Returns a Java `org.apache.arrow.vector.ipc.ArrowReader` (a `dev.gatun.arrow.ArenaReader`)
        to pass to any Java method. Its batches are written into the shared-memory arena when Java
        asks for them and its vectors read them there in place; the data is kept alive on the
        Python side until the reader is exhausted or closed.
        """
        from . import arrow
        return arrow.send_arrow_buffers(self, data)

    def get_arrow_data(self, obj: JavaObject, reader: bool = False) -> Any:
        """The Arrow data of a Java `ArrowReader` (its remaining batches), `VectorSchemaRoot` or
        `dev.gatun.arrow.ArrowExporter` (made by Java code over `arrow_arena()`).

        Returns a `pyarrow.Table`, or with `reader=True` a streaming `pyarrow.RecordBatchReader`.
        Batches are read in place from the shared-memory arena; a batch's arena space is freed
        when no pyarrow object views it any more. A `Table` larger than the arena continues in
        extension arenas (more shared memory, still read in place, up to `arrow_extension_bytes`
        alive at once). When the last view of an extension's batches goes, it is kept as a spare
        for the next large `Table` (up to `arrow_spare_bytes`, freed after 10-20 s unused, by
        `release_arrow_spares()` or at `close()`), else freed.
        """
        from . import arrow
        return arrow.get_arrow_data(self, obj, reader)

    def detach(self, obj: JavaObject) -> None:
        """Release a proxy's Java object now (the proxy must not be used afterwards)."""
        self._drop(obj._handle)
        obj.__dict__["_handle"] = 0
