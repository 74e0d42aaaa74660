"""The request path after failures: what the name table holds, and that nothing is sent twice.

Regressions of issue 14 ("client bugs from drift"), against a real server JVM.
"""
from __future__ import annotations

import threading

import pytest

from gatun import GatunConnectionError, GatunError, GatunRequestError
from gatun.transport import ControlConnection


def _in_new_thread(fn):
    """Run fn on a fresh thread, so on a fresh channel with an empty name table."""
    result: dict = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join(60)
    assert not t.is_alive()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def test_a_call_whose_arguments_fail_to_encode_defines_no_name(client):
    """spec §3.2 Name: a name joins the table only with a frame that defined it."""
    jvm = client.jvm

    def run():
        sb = jvm.java.lang.StringBuilder()
        with pytest.raises(OverflowError):
            sb.append(2**70)  # first use of "append" on this channel: the client refuses the int
        assert sb.length() == 0  # another request with another new name
        sb.append("x")  # "append" must be defined by this frame, not taken as already known
        return sb.toString()

    assert _in_new_thread(run) == "x"


def test_a_string_that_fails_to_encode_defines_no_name(client):
    jvm = client.jvm

    def run():
        entry = jvm.java.util.AbstractMap.SimpleEntry("k", 1)
        with pytest.raises(ValueError):
            entry.setValue("\ud800")  # a lone surrogate: refused in the client
        assert entry.getKey() == "k"
        assert entry.setValue(2) == 1
        return entry.getValue()

    assert _in_new_thread(run) == 2


def test_a_message_over_the_limit_defines_no_name():
    from gatun import GatunClient, LimitError

    with GatunClient(max_message_bytes="64KiB") as c:
        sb = c.jvm.java.lang.StringBuilder()
        with pytest.raises(LimitError):
            sb.append("y" * (70 * 1024))  # refused in the client before anything is sent
        assert sb.length() == 0
        sb.append("z")
        assert sb.toString() == "z"


def _close_channel_from_the_server(client) -> None:
    """Make the server close this thread's channel, behind the client's back.

    An unknown frame type is a protocol error: the server answers ERROR and closes the channel
    (spec §3.3). The frame goes straight through the channel's region, so the client does not
    know that the channel is gone.
    """
    ch = client._channel()
    client.jvm.java.lang.Math.max(1, 2)
    ch.region.roundtrip(0x66, b"")  # the ERROR reply is left unread


def test_a_request_on_a_channel_the_server_closed_is_not_sent_again(client, monkeypatch):
    """A request that may have reached the server is never re-sent; the caller gets the error."""
    jvm = client.jvm
    opened: list[int] = []
    real_open = ControlConnection.open_channel

    def counting_open(self):
        ch = real_open(self)
        opened.append(ch.channel_id)
        return ch

    def run():
        sb = jvm.java.lang.StringBuilder()
        sb.append("a")  # "append" is now a known name of this channel
        _close_channel_from_the_server(client)
        monkeypatch.setattr(ControlConnection, "open_channel", counting_open)
        with pytest.raises(GatunConnectionError, match="went away|closed"):
            sb.append("b")  # a pre-bound call: the native fast path sees the channel closed
        assert opened == []  # not replayed on a new channel (with the dead channel's name ids)
        sb.append("c")  # the next request opens a new channel and defines its names afresh
        assert len(opened) == 1
        return sb.toString()

    assert _in_new_thread(run) == "ac"


def test_after_a_protocol_error_the_next_request_takes_a_new_channel(client):
    """ERROR PROTOCOL closes the channel (spec §3.3): the client does not use it again."""
    jvm = client.jvm

    def run():
        ch = client._channel()
        sb = jvm.java.lang.StringBuilder()
        sb.append("a")
        with pytest.raises(GatunRequestError, match="PROTOCOL"):
            client._request(ch, 0x66, b"")
        assert ch.broken is not None
        sb.append("b")
        assert client._channel() is not ch
        return sb.toString()

    assert _in_new_thread(run) == "ab"


def test_error_classes_sit_under_their_documented_bases():
    from gatun import GatunProtocolError, LimitError, NotAllowedError
    from gatun.protocol import ProtocolError

    assert issubclass(ProtocolError, GatunError)
    assert issubclass(ProtocolError, GatunProtocolError)
    assert issubclass(LimitError, GatunRequestError)
    assert issubclass(NotAllowedError, GatunRequestError)
    e = LimitError("too big")
    assert e.code == 7 and e.name == "LIMIT" and "too big" in str(e)


def test_a_name_that_cannot_be_sent_defines_nothing(client):
    jvm = client.jvm

    def run():
        sb = jvm.java.lang.StringBuilder()
        with pytest.raises(GatunError):
            client.get_field(sb, "x" * 70000)  # longer than a Name can carry
        with pytest.raises(UnicodeEncodeError):
            client.get_field(sb, "\ud800")
        assert _channel_pending(client) == {}
        sb.append("ok")
        return sb.toString()

    assert _in_new_thread(run) == "ok"


def _channel_pending(client):
    return client._channel().pending_names
