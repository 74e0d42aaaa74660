"""The transport's promises: isolation, big payloads, limits, failures, security, idle CPU."""
from __future__ import annotations

import os
import signal
import socket
import stat
import struct
import threading
import time

import pytest

from gatun import GatunClient, GatunConnectionError, JavaException, LimitError
from gatun import protocol as p
from gatun.launcher import GatunLauncher
from gatun.transport import Channel, ControlConnection


def test_threads_get_their_own_channel_and_jvm_thread(client):
    jvm = client.jvm
    Thread = None  # the JVM thread is observed through thread-local state, not java.lang.Thread
    tl = jvm.java.lang.ThreadLocal()
    errors = []

    def worker(i):
        try:
            tl.set(i)
            for _ in range(200):
                assert tl.get() == i
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_eight_threads_many_calls_no_cross_talk(client):
    jvm = client.jvm
    calls = int(os.environ.get("GATUN_STRESS_CALLS", "100000"))
    errors = []

    def worker(i):
        try:
            sb = jvm.java.lang.StringBuilder(str(i))
            length = sb.length
            expected = len(str(i))
            for k in range(calls):
                if length() != expected:
                    raise AssertionError(f"thread {i} saw another thread's answer at call {k}")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i * 1000,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_payloads_larger_than_the_region_stream_in_chunks(client):
    jvm = client.jvm
    big = "ab€" * (3 * 1024 * 1024)  # 27 MiB of UTF-8, several regions
    sb = jvm.java.lang.StringBuilder(big)
    assert sb.length() == len(big)
    assert sb.toString() == big
    data = os.urandom(20 * 1024 * 1024)
    assert jvm.java.util.Arrays.copyOf(data, len(data)) == data


def test_256_mib_payloads_and_ten_million_elements_arrive_intact(client):
    jvm = client.jvm
    big = "x" * (256 * 1024 * 1024)
    sb = jvm.java.lang.StringBuilder(big)
    assert sb.length() == len(big)
    sb.setCharAt(len(big) - 1, "y")
    back = sb.toString()
    assert len(back) == len(big) and back.endswith("xy")
    del big, back, sb
    blob = os.urandom(1024) * (256 * 1024)
    assert jvm.java.util.Arrays.copyOf(blob, len(blob)) == blob
    del blob
    al = jvm.java.util.ArrayList(list(range(10_000_000)))
    assert al.size() == 10_000_000 and al.get(9_999_999) == 9_999_999 and al.get(1234567) == 1234567


def test_oversized_payload_fails_clearly():
    with GatunClient(max_message_bytes="1MiB") as c:
        with pytest.raises(LimitError, match="1048576"):
            c.jvm.java.util.Arrays.hashCode(b"x" * (2 * 1024 * 1024))
        with pytest.raises(LimitError, match="1048576"):
            c.jvm.java.lang.StringBuilder("y" * (600 * 1024)).append("y" * (600 * 1024)).toString()
        assert c.jvm.java.lang.Math.max(1, 2) == 2  # the session is still fine


def test_wrong_token_is_refused(client):
    bad = GatunClient(client._socket_path, token=b"\x00" * 32)
    with pytest.raises(GatunConnectionError, match="authentication failed"):
        bad.connect()


def test_bad_magic_and_garbage_are_refused(client):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(client._socket_path)
    s.sendall(b"GET / HTTP/1.1\r\n\r\n" + b"\0" * 40)
    reply = s.recv(1)
    assert reply not in (b"\x00",)  # never accepted
    s.close()
    assert client.jvm.java.lang.Math.max(3, 4) == 4


def test_malformed_frame_gets_protocol_error_and_server_survives(client):
    control = ControlConnection(client._socket_path, client._token)
    ch = Channel(control)
    try:
        ch.send_frame(0x66, b"\x01\x02\x03")
        ftype, buf, pos = ch.read_frame()
        assert ftype == p.ERROR
        (code,) = p.U16.unpack_from(buf, pos)
        assert p.ERROR_NAMES[code] == "PROTOCOL"
    finally:
        ch.close()
        control.close()
    assert client.jvm.java.lang.Math.max(5, 6) == 6


def test_files_are_private_and_regions_unlinked(client):
    client.jvm.java.lang.Math.max(1, 2)
    time.sleep(0.2)  # the server unlinks a region when it reads the client's MAPPED byte
    sock_dir = os.path.dirname(client._socket_path)
    assert stat.S_IMODE(os.stat(sock_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(client._socket_path).st_mode) & 0o077 == 0
    with open("/proc/self/maps") as f:
        maps = [line for line in f if "/gatun-" in line and "rw-s" in line]
    assert maps, "the channel region should be mapped"
    assert all(line.rstrip().endswith("(deleted)") for line in maps), maps


def test_jvm_killed_mid_call_raises_quickly():
    c = GatunClient()
    try:
        TimeUnit = c.jvm.java.util.concurrent.TimeUnit
        threading.Timer(0.5, lambda: os.kill(c.server_pid, signal.SIGKILL)).start()
        start = time.monotonic()
        with pytest.raises(GatunConnectionError, match="died|went away"):
            TimeUnit.SECONDS.sleep(60)
        assert time.monotonic() - start < 1.5
        with pytest.raises(GatunConnectionError):
            c.jvm.java.lang.Math.max(1, 2)
    finally:
        c.close()


def test_ctrl_c_interrupts_the_java_call(client):
    TimeUnit = client.jvm.java.util.concurrent.TimeUnit
    threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        TimeUnit.SECONDS.sleep(30)
    assert time.monotonic() - start < 5
    assert client.jvm.java.lang.Math.max(7, 8) == 8  # the channel is usable afterwards


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_idle_server_and_client_burn_no_cpu():
    # No start-up warm-up here: its CPU is a bounded start-up cost, not idle cost (next test).
    with GatunClient(warm_up=0) as c:
        jvm = c.jvm
        for _ in range(1000):
            jvm.java.lang.Math.max(1, 2)
        time.sleep(0.2)
        server_before = _cpu_seconds(c.server_pid)
        client_before = time.process_time()
        time.sleep(2.0)
        server_used = _cpu_seconds(c.server_pid) - server_before
        client_used = time.process_time() - client_before
    assert client_used < 0.05
    assert server_used < 0.2, f"idle server used {server_used:.2f}s of CPU in 2s"


def test_the_start_up_warm_up_ends_and_the_server_goes_idle(own_client):
    own_client.jvm.java.lang.Math.max(1, 2)
    deadline = time.monotonic() + 90
    while True:
        before = _cpu_seconds(own_client.server_pid)
        time.sleep(1.0)
        used = _cpu_seconds(own_client.server_pid) - before
        if used < 0.1:
            break
        assert time.monotonic() < deadline, f"the server still uses {used:.2f}s of CPU per second"
    assert own_client.jvm.java.lang.Math.max(3, 4) == 4


@pytest.mark.parametrize("options, message", [
    ({"socket_path": "/tmp/x/other.sock"}, "socket_path must end in /gatun.sock"),
    ({"warm_up": -1}, "warm_up must be a number of requests >= 0"),
    ({"warm_up": "lots"}, "warm_up must be a number of requests >= 0"),
])
def test_bad_launch_options_say_what_is_wrong(options, message):
    with pytest.raises(ValueError, match=message):
        GatunLauncher(**options)
