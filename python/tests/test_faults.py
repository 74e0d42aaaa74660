"""The fault suite of issue 13: real server JVMs, real shared memory, real signals.

Each test states what it expects in its docstring and checks it; none sleeps a fixed time (they
wait for conditions with deadlines, faultkit.wait_until). The quick versions run in `make test`;
`make fault` runs the long ones (GATUN_FAULT_CYCLES=10000 connect/disconnect cycles).
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import faultkit as fk
from gatun import GatunClient, GatunConnectionError, GatunError, transport

CYCLES = int(os.environ.get("GATUN_FAULT_CYCLES", "1000"))
CHUNKED = 2 << 20  # a 2 MiB request: 32 chunks through a 64 KiB region


@pytest.fixture
def server():
    """A private standalone server with 64 KiB regions (so a 2 MiB request is chunked)."""
    launcher = fk.launch(memory="64k")
    try:
        yield launcher
    finally:
        if launcher.process.poll() is None:
            os.kill(launcher.process.pid, signal.SIGCONT)
        launcher.stop()


def _connect(launcher) -> GatunClient:
    return GatunClient(launcher.info.socket_path, token=launcher.info.token)


def _settled(launcher) -> dict[str, int]:
    """The server's figures once one client has come and gone (pools and lazy threads exist)."""
    c = _connect(launcher)
    assert c.jvm.java.lang.Math.max(1, 2) == 2
    c.close()
    pid = launcher.process.pid
    fk.wait_until(lambda: fk.live_instances(pid)["dev.gatun.server.Session"] == 0, 20, "the warm-up session ends")
    return fk.snapshot(pid)


def _child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _read_line(proc: subprocess.Popen[str], expected: str, timeout: float = 60) -> None:
    got: list[str] = []
    t = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not got or got[0].strip() != expected:
        proc.kill()
        raise AssertionError(f"child said {got!r}, expected {expected!r}; stderr: {proc.stderr.read()[-2000:]}")


def _back_to(launcher, base: dict[str, int], timeout: float = 30) -> dict[str, int]:
    """Waits until every figure of the server is at most its settled value; returns the last snapshot."""
    pid = launcher.process.pid
    last: dict[str, int] = {}

    def settled() -> bool:
        last.clear()
        last.update(fk.snapshot(pid))
        return all(last[k] <= base[k] for k in base)

    try:
        fk.wait_until(settled, timeout, "the server frees what the client held", interval=0.2)
    except AssertionError as e:
        raise AssertionError(f"{e}: settled {base}, now {last}") from None
    return last


MID_CHUNK_CLIENT = """
    import os, signal, sys
    from gatun import GatunClient, transport
    c = GatunClient(sys.argv[1], token=bytes.fromhex(sys.argv[2]))
    jvm = c.jvm
    arena = jvm.dev.gatun.arrow.ArrowArena.create(1 << 20)  # a /dev/shm file the client never maps
    assert jvm.java.lang.Math.max(3, 4) == 4
    turns = [0]
    await_turn = transport.Channel._await_turn
    def stop_mid_chunk(self):
        turns[0] += 1
        if turns[0] == 3:  # two chunks are with the server, the third is published
            print("MID", flush=True)
            signal.pause()
        return await_turn(self)
    transport.Channel._await_turn = stop_mid_chunk
    jvm.java.util.Arrays.hashCode(bytes(int(sys.argv[3])))
    print("NOT KILLED", flush=True)
"""


def test_client_killed_mid_chunk_frees_its_session_region_and_arenas(server):
    """kill -9 of a client half-way through a chunked 2 MiB request (with an Arrow arena it never
    mapped): the server ends the session and frees its channel threads, fds, region mappings and
    arena file; nothing of it is left in /dev/shm; the server goes on serving."""
    pid = server.process.pid
    base = _settled(server)
    child = _child(MID_CHUNK_CLIENT, server.info.socket_path, server.info.token.hex(), str(CHUNKED))
    _read_line(child, "MID")
    during = fk.snapshot(pid)
    assert during["Session"] == 1 and during["ArrowArena"] == 1, during
    assert fk.shm_region_dir_files(pid), "the arena's file is in /dev/shm while the client lives"
    assert during["threads"] > base["threads"], (base, during)
    child.kill()
    child.wait()
    after = _back_to(server, base)
    assert after["Session"] == after["ArrowArena"] == after["ShmRegion"] == 0, after
    assert fk.shm_region_dir_files(pid) == []
    c = _connect(server)
    assert c.jvm.java.lang.Math.max(5, 6) == 6
    c.close()


MID_CALL_CLIENT = """
    import sys
    from gatun import GatunClient
    c = GatunClient(sys.argv[1], token=bytes.fromhex(sys.argv[2]))
    seconds = c.jvm.java.util.concurrent.TimeUnit.SECONDS
    print("CALLING", flush=True)
    seconds.sleep(120)
    print("NOT KILLED", flush=True)
"""


def test_client_killed_mid_call_interrupts_the_call_and_frees_the_session(server):
    """kill -9 of a client while its call sleeps 120 s in Java: the server interrupts the call and
    frees the session, its thread and its region within 30 s (not after the 120 s)."""
    pid = server.process.pid
    base = _settled(server)
    child = _child(MID_CALL_CLIENT, server.info.socket_path, server.info.token.hex())
    _read_line(child, "CALLING")
    fk.wait_until(lambda: fk.threads(pid) > base["threads"], 10, "the call's channel thread runs")
    start = time.monotonic()
    child.kill()
    child.wait()
    after = _back_to(server, base)
    took = time.monotonic() - start
    assert after["Session"] == after["ShmRegion"] == 0, after
    assert took < 30
    print(f"\nclient killed mid-call: the server was back at its settled figures after {took:.1f} s")


def test_server_killed_mid_call_gives_the_client_a_prompt_clear_error(server):
    """kill -9 of the server while our call sleeps in Java: GatunConnectionError within 2 s of the
    kill, naming the dead JVM when we launched it (here: a plain connection error)."""
    c = _connect(server)
    seconds = c.jvm.java.util.concurrent.TimeUnit.SECONDS
    outcome: list[object] = []
    t = threading.Thread(target=lambda: outcome.append(_outcome(lambda: seconds.sleep(60))))
    t.start()
    fk.wait_until(lambda: _waiting(c), 10, "the call is with the server")
    killed = time.monotonic()
    os.kill(server.process.pid, signal.SIGKILL)
    t.join(30)
    took = time.monotonic() - killed
    assert not t.is_alive(), "the call hangs after the server was killed"
    assert isinstance(outcome[0], GatunConnectionError), outcome
    assert took < 2.0, f"the error came {took:.2f} s after the kill"
    c.close()


def _waiting(c: GatunClient) -> bool:
    return any(ch.waiting for ch in list(c._channels))


def test_server_killed_mid_chunk_gives_the_client_a_prompt_clear_error(server, monkeypatch):
    """kill -9 of the server while our chunked request is half sent: the call fails with
    GatunConnectionError within 2 s (no hang), and so does the next call; the region directory the
    dead server left in /dev/shm is swept by the next server that starts."""
    pid = server.process.pid
    c = _connect(server)
    jvm = c.jvm
    assert jvm.java.lang.Math.max(1, 2) == 2
    assert fk.shm_files(pid), "the server's region directory"
    killed_at: list[float] = []
    await_turn = transport.Channel._await_turn

    def kill_mid_chunk(self, turns=[0]):
        turns[0] += 1
        if turns[0] == 3:
            os.kill(pid, signal.SIGKILL)
            killed_at.append(time.monotonic())
        return await_turn(self)

    monkeypatch.setattr(transport.Channel, "_await_turn", kill_mid_chunk)
    outcome: list[BaseException | object] = []
    t = threading.Thread(target=lambda: outcome.append(_outcome(lambda: jvm.java.util.Arrays.hashCode(bytes(CHUNKED)))))
    t.start()
    t.join(30)
    assert not t.is_alive(), "the call hangs after the server was killed"
    assert killed_at, "the request was not chunked"
    took = time.monotonic() - killed_at[0]
    assert isinstance(outcome[0], GatunConnectionError), outcome
    assert took < 2.0, f"the error came {took:.2f} s after the kill"
    monkeypatch.undo()
    start = time.monotonic()
    with pytest.raises(GatunError):
        jvm.java.lang.Math.max(1, 2)
    assert time.monotonic() - start < 2.0
    c.close()
    server.process.wait()
    left = fk.shm_files(pid)
    assert left, "a server killed with SIGKILL cannot remove its directory (the sweep's case)"
    other = fk.launch()
    try:
        fk.wait_until(lambda: not fk.shm_files(pid), 10, "the next server sweeps the dead server's directory")
    finally:
        other.stop()
    print(f"\nserver killed mid-chunk: error after {took * 1000:.1f} ms: {outcome[0]}")


def _outcome(fn):
    try:
        return fn()
    except BaseException as e:  # noqa: BLE001 - the outcome is what the test checks
        return e


def test_server_stopped_while_a_call_waits_parks_and_resumes(server):
    """SIGSTOP of the server while a call waits: the waiting client parks (under 25% of a core
    while the server is stopped, no spinning), other threads of the client are not blocked, and
    after SIGCONT the call returns its right answer and the client goes on. (The Python client has
    no call timeout; the Go client's context deadline is tested in go/gatun/fault_test.go.)"""
    pid = server.process.pid
    c = _connect(server)
    jvm = c.jvm
    millis = jvm.java.util.concurrent.TimeUnit.MILLISECONDS
    assert jvm.java.lang.Math.max(1, 2) == 2
    started = threading.Event()
    outcome: list[object] = []

    def call():
        started.set()
        millis.sleep(200)
        outcome.append(jvm.java.lang.Math.max(7, 8))

    t = threading.Thread(target=call)
    t.start()
    started.wait(10)
    os.kill(pid, signal.SIGSTOP)
    fk.wait_until(lambda: _state(pid) == "T", 5, "the server is stopped")
    cpu0, wall0 = fk.cpu_seconds(os.getpid()), time.monotonic()
    t.join(1.5)  # the call cannot end while the server is stopped
    assert t.is_alive() and not outcome, "the call ended while the server was stopped"
    cpu = (fk.cpu_seconds(os.getpid()) - cpu0) / (time.monotonic() - wall0)
    os.kill(pid, signal.SIGCONT)
    t.join(30)
    assert outcome == [8]
    assert cpu < 0.25, f"the waiting client burnt {cpu:.0%} of a core while the server was stopped"
    assert jvm.java.lang.Math.max(9, 10) == 10
    c.close()
    print(f"\nclient CPU while the server was stopped: {cpu:.1%} of a core")


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


STOPPED_CALLBACK_CLIENT = """
    import sys
    from gatun import GatunClient
    c = GatunClient(sys.argv[1], token=bytes.fromhex(sys.argv[2]))
    jvm = c.jvm
    class Answer:
        class Java:
            implements = ["java.util.concurrent.Callable"]
        def call(self):
            return 42
    pool = jvm.java.util.concurrent.Executors.newSingleThreadScheduledExecutor()
    seconds = jvm.java.util.concurrent.TimeUnit.MILLISECONDS
    assert pool.schedule(Answer(), 0, seconds).get() == 42  # the callback thread is up
    future = pool.schedule(Answer(), 500, seconds)
    print("SCHEDULED", flush=True)
    print(future.get(), flush=True)
    pool.shutdown()
"""


def test_client_stopped_while_the_server_sends_a_callback(server):
    """SIGSTOP of a client whose callback the server is about to call: the JVM thread that waits
    for the callback's answer parks (the JVM uses under 25% of a core meanwhile), the server keeps
    serving another client, and after SIGCONT the callback runs and its answer arrives."""
    pid = server.process.pid
    child = _child(STOPPED_CALLBACK_CLIENT, server.info.socket_path, server.info.token.hex())
    _read_line(child, "SCHEDULED")
    os.kill(child.pid, signal.SIGSTOP)
    fk.wait_until(lambda: _state(child.pid) == "T", 5, "the client is stopped")
    other = _connect(server)
    cpu0, wall0 = fk.cpu_seconds(pid), time.monotonic()
    deadline = wall0 + 1.5  # the callback falls due 0.5 s after SCHEDULED, with the client stopped
    calls = 0
    while time.monotonic() < deadline:
        assert other.jvm.java.lang.Math.max(calls, 1) >= 1
        calls += 1
    other.close()
    os.kill(child.pid, signal.SIGCONT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err[-2000:]
    assert out.strip() == "42"
    assert calls > 100, f"only {calls} calls of another client while one was stopped"
    # The calls above cost the JVM CPU too; what is measured here is that nothing spins on top.
    cpu = (fk.cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)
    assert cpu < 1.5, f"the JVM used {cpu:.0%} of a core"
    print(f"\n{calls} calls of another client while the callback's client was stopped; JVM {cpu:.0%} of a core")


def test_server_stopped_callback_client_cpu_idle(server):
    """The same stopped client, with nothing else running: the JVM parks (under 10% of a core)."""
    pid = server.process.pid
    child = _child(STOPPED_CALLBACK_CLIENT, server.info.socket_path, server.info.token.hex())
    _read_line(child, "SCHEDULED")
    os.kill(child.pid, signal.SIGSTOP)
    fk.wait_until(lambda: _state(child.pid) == "T", 5, "the client is stopped")
    done = threading.Event()
    cpu0, wall0 = fk.cpu_seconds(pid), time.monotonic()
    done.wait(1.5)  # the callback falls due while the client is stopped
    cpu = (fk.cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)
    os.kill(child.pid, signal.SIGCONT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0 and out.strip() == "42", err[-2000:]
    assert cpu < 0.10, f"the JVM burnt {cpu:.0%} of a core waiting for a stopped client's callback"
