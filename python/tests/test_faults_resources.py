"""The fault suite of issue 13, resources: a full /dev/shm, exhausted file descriptors, many
connect/disconnect cycles, and a second local user. Real JVMs; waits on conditions, no fixed sleeps.
"""
from __future__ import annotations

import json
import os
import pwd
import resource
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import faultkit as fk
from gatun import GatunClient, GatunConnectionError, GatunError

CYCLES = int(os.environ.get("GATUN_FAULT_CYCLES", "1000"))

FULL_SHM_CLIENT = """
    import glob, json, os, sys
    from gatun import GatunClient, GatunError
    report = {}
    st = os.statvfs("/dev/shm")
    with open("/dev/shm/filler", "wb") as f:
        f.write(b"\\1" * (st.f_bavail * st.f_frsize - int(sys.argv[1])))
    report["free"] = os.statvfs("/dev/shm").f_bavail * os.statvfs("/dev/shm").f_frsize
    c = GatunClient(warm_up=0)  # the warm-up would open a region of its own whenever a core idles
    pid = c._launcher.process.pid
    try:
        report["answer"] = c.jvm.java.lang.Math.max(1, 2)
    except GatunError as e:
        report["error"] = f"{type(e).__name__}: {e}"
    report["left"] = sorted(p for p in glob.glob("/dev/shm/**", recursive=True)
                            if os.path.isfile(p) and p != "/dev/shm/filler")
    os.remove("/dev/shm/filler")
    report["after_room"] = c.jvm.java.lang.Math.max(3, 4)  # the same client, once there is room
    report["big"] = c.jvm.java.util.Arrays.hashCode(bytes(3 << 20)) == 0  # 3 MiB: every page of the region
    c.close()
    report["left_after_close"] = sorted(glob.glob("/dev/shm/*"))
    print(json.dumps(report), flush=True)
"""


def _in_private_shm(script: str, shm_bytes: int, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs a Python script in its own mount namespace whose /dev/shm is a tmpfs of shm_bytes."""
    code = textwrap.dedent(script)
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         f'mount -t tmpfs -o size={shm_bytes} tmpfs /dev/shm && exec "$0" -c "$@"', sys.executable, code, *args],
        capture_output=True, text=True, timeout=120)


def _can_mount_tmpfs() -> str | None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare(1) to mount a small tmpfs at /dev/shm in a mount namespace"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /dev/shm"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"cannot mount a tmpfs in a mount namespace: {probe.stderr.strip()}"


def test_full_dev_shm_is_a_clear_error_with_nothing_left_behind():
    """/dev/shm with 1 MiB free and 4 MiB regions: the first call fails with a GatunError that says
    /dev/shm has no room (no SIGBUS, no crash of either side), no partial region file stays, the
    same client works once there is room, a 3 MiB call touches every page, and closing leaves
    /dev/shm empty."""
    reason = _can_mount_tmpfs()
    if reason:
        pytest.skip(reason)
    done = _in_private_shm(FULL_SHM_CLIENT, 16 << 20, str(1 << 20))
    assert done.returncode == 0, f"the client died (code {done.returncode}): {done.stderr[-3000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "answer" not in report, report
    assert "No space left on device" in report["error"] and "shared-memory region" in report["error"], report
    assert report["left"] == [], report
    assert report["after_room"] == 4 and report["big"] is not None
    assert report["left_after_close"] == [], report
    print(f"\nfull /dev/shm: {report['error']}")


FULL_SHM_ARROW_CLIENT = """
    import glob, json, os, sys
    import pyarrow as pa
    from gatun import GatunClient, GatunError
    report = {}
    c = GatunClient(warm_up=0)  # the warm-up would open a region of its own whenever a core idles
    assert c.jvm.java.lang.Math.max(1, 2) == 2  # the channel's region exists: only Arrow lacks room
    st = os.statvfs("/dev/shm")
    with open("/dev/shm/filler", "wb") as f:
        f.write(b"\1" * (st.f_bavail * st.f_frsize - int(sys.argv[1])))
    table = pa.table({"a": list(range(500_000))})
    try:
        report["to_java"] = c.jvm.java.util.Objects.toString(c.send_arrow_buffers(table)) is not None
    except GatunError as e:
        report["to_java_error"] = f"{type(e).__name__}: {str(e).splitlines()[0]}"
    try:
        report["round_trip"] = c.get_arrow_data(c.send_arrow_buffers(table)).equals(table)
    except GatunError as e:
        report["round_trip_error"] = f"{type(e).__name__}: {str(e).splitlines()[0]}"
    report["after"] = c.jvm.java.lang.Math.max(3, 4)
    os.remove("/dev/shm/filler")
    report["round_trip_with_room"] = c.get_arrow_data(c.send_arrow_buffers(table)).equals(table)
    c.close()
    report["left_after_close"] = sorted(glob.glob("/dev/shm/*"))
    print(json.dumps(report), flush=True)
"""


def test_full_dev_shm_under_arrow_transfers_is_no_crash():
    """Arrow transfers with /dev/shm full after the channel opened fall back to sending the
    batches through the protocol, both ways: Python → Java (the client no longer dies of SIGBUS
    writing into its sparse arena) and Java → Python (the JVM writes fresh arena pages with
    positional writes, which fail cleanly, where its mapping gave an InternalError of an unsafe
    access); the channel goes on, transfers use the arena again once there is room, and nothing is
    left in /dev/shm."""
    reason = _can_mount_tmpfs()
    if reason:
        pytest.skip(reason)
    pytest.importorskip("pyarrow")
    done = _in_private_shm(FULL_SHM_ARROW_CLIENT, 48 << 20, str(512 << 10))
    assert done.returncode == 0, f"the client died (code {done.returncode}): {done.stderr[-3000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report.get("to_java") is True, report
    assert report["after"] == 4 and report["round_trip_with_room"] is True, report
    assert report.get("round_trip") is True, report
    assert report["left_after_close"] == [], report
    print(f"\nArrow with a full /dev/shm: {report}")


FD_CLIENT = """
    import errno, resource, sys
    from gatun import GatunClient, GatunError
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    hold = []
    try:
        while True:
            hold.append(open("/dev/null"))
    except OSError as e:
        assert e.errno == errno.EMFILE
    try:
        GatunClient(sys.argv[1], token=bytes.fromhex(sys.argv[2])).jvm.java.lang.Math.max(1, 2)
        print("NO ERROR")
    except GatunError as e:
        print(f"{type(e).__name__}: {e}")
    except OSError as e:
        print(f"RAW {type(e).__name__}: {e}")
    for f in hold[:8]:
        f.close()
    c = GatunClient(sys.argv[1], token=bytes.fromhex(sys.argv[2]))
    print(c.jvm.java.lang.Math.max(1, 2))
    c.close()
"""


def test_client_out_of_file_descriptors_gets_a_clear_error():
    """A client process at its fd limit: connecting raises a GatunError (not a bare OSError) that
    names the cause; with a few fds back, the same process connects and calls."""
    launcher = fk.launch()
    try:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(FD_CLIENT), launcher.info.socket_path,
                               launcher.info.token.hex()], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        first, second = done.stdout.strip().splitlines()[-2:]
        assert first.startswith("GatunConnectionError") and "Too many open files" in first, first
        assert second == "2"
        print(f"\nclient at its fd limit: {first}")
    finally:
        launcher.stop()


def test_server_out_of_file_descriptors_keeps_serving():
    """The server at its fd limit: new clients get a clear GatunError (refused or timed out, within
    the 10 s hand-shake timeout, never a hang), the clients already connected keep working, the JVM
    does not spin, and once clients leave, new ones connect again (the accept loop survives)."""
    launcher = fk.launch()
    pid = launcher.process.pid
    clients: list[GatunClient] = []
    try:
        first = GatunClient(launcher.info.socket_path, token=launcher.info.token)
        assert first.jvm.java.lang.Math.max(1, 2) == 2
        clients.append(first)
        limit = fk.fds(pid) + 9
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
        errors: list[str] = []
        for _ in range(30):
            start = time.monotonic()
            try:
                c = GatunClient(launcher.info.socket_path, token=launcher.info.token)
                assert c.jvm.java.lang.Math.max(1, 2) == 2
                clients.append(c)
            except GatunError as e:
                c.close()
                took = time.monotonic() - start
                assert took < 15, f"the error took {took:.1f} s"
                errors.append(f"{type(e).__name__}: {e}")
                break
        assert errors, f"{len(clients)} clients connected under a limit of {limit} fds"
        cpu0, wall0 = fk.cpu_seconds(pid), time.monotonic()
        for c in clients:
            assert c.jvm.java.lang.Math.max(5, 6) == 6  # the sessions there are keep working
        threading.Event().wait(1.0)  # the server sits at its limit with a connection in the backlog
        cpu = (fk.cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)
        assert cpu < 0.3, f"the JVM used {cpu:.0%} of a core at its fd limit"
        # Connections that take the server's last fds at accept() itself (no hello: each holds an
        # fd until the 10 s hand-shake timeout): accept fails with EMFILE and must be retried.
        raw = []
        for _ in range(12):
            s = socket.socket(socket.AF_UNIX)
            s.connect(launcher.info.socket_path)
            raw.append(s)
        fk.wait_until(lambda: fk.fds(pid) >= limit, 10, "the server's fds are all taken (accept() fails)")
        assert launcher.process.poll() is None
        for s in raw:
            s.close()
        for c in clients[1:]:
            c.close()
        del clients[1:]

        def reconnect():
            try:
                c = GatunClient(launcher.info.socket_path, token=launcher.info.token)
                ok = c.jvm.java.lang.Math.max(7, 8) == 8
                c.close()
                return ok
            except GatunError:
                return False

        fk.wait_until(reconnect, 30, "a new client connects once fds are free", interval=0.1)
        print(f"\nserver at its fd limit ({limit}): {errors[0]}; JVM {cpu:.1%} of a core")
    finally:
        for c in clients:
            c.close()
        launcher.stop()


def test_connect_disconnect_cycles_leak_nothing():
    """CYCLES connect/call/disconnect cycles (1,000 in make test, 10,000 in make fault): the server's
    fds, threads, live sessions, registries, regions and /dev/shm files and the client's fds and
    threads are back at their settled values."""
    launcher = fk.launch()
    pid = launcher.process.pid
    try:
        def cycle():
            c = GatunClient(launcher.info.socket_path, token=launcher.info.token)
            assert c.jvm.java.lang.Math.max(1, 2) == 2
            c.close()

        for _ in range(20):
            cycle()
        fk.wait_until(lambda: fk.live_instances(pid)["dev.gatun.server.Session"] == 0, 30, "warm-up sessions end")
        before = fk.snapshot(pid)
        me_before = {"fds": fk.fds(os.getpid()), "threads": threading.active_count()}
        start = time.monotonic()
        for _ in range(CYCLES):
            cycle()
        took = time.monotonic() - start
        last: dict[str, int] = {}

        def settled():
            last.clear()
            last.update(fk.snapshot(pid))
            return all(last[k] <= before[k] for k in before)

        try:
            fk.wait_until(settled, 60, "the server is back at its settled figures", interval=0.5)
        except AssertionError as e:
            raise AssertionError(f"{e}: before {before}, after {last}") from None
        me_after = {"fds": fk.fds(os.getpid()), "threads": threading.active_count()}
        assert me_after == me_before
        print(f"\n{CYCLES} cycles in {took:.1f} s ({took / CYCLES * 1000:.2f} ms each); server before {before}, "
              f"after {last}; client before {me_before}, after {me_after}")
    finally:
        launcher.stop()


SECOND_USER = "gatunfault"

OTHER_USER_ATTEMPT = """
    import glob, json, os, socket, sys
    out = {"uid": os.getuid()}
    sock_path, info_file = sys.argv[1], sys.argv[2]
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sock_path); out["connect"] = "connected"
    except OSError as e:
        out["connect"] = f"{type(e).__name__}: {e.strerror}"
    try:
        open(info_file).read(); out["info"] = "read"
    except OSError as e:
        out["info"] = f"{type(e).__name__}: {e.strerror}"
    out["shm"] = {}
    for d in glob.glob("/dev/shm/gatun-*"):
        try:
            out["shm"][d] = os.listdir(d)
        except OSError as e:
            out["shm"][d] = f"{type(e).__name__}: {e.strerror}"
    print(json.dumps(out))
"""


def test_a_second_local_user_can_neither_connect_nor_read_the_files():
    """Another uid (made with useradd when we are root): connecting to the socket, reading the
    connection info (and its token) and listing the region and arena directories are all refused
    with EACCES."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create and switch to a second local user")
    if shutil.which("useradd") is None:
        pytest.skip("useradd(8) is not installed")
    try:
        pwd.getpwnam(SECOND_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SECOND_USER],
                       check=True, capture_output=True)
    user = pwd.getpwnam(SECOND_USER)
    client = GatunClient(warm_up=0)
    try:
        client.jvm.dev.gatun.arrow.ArrowArena.create(1 << 20)  # an arena directory in /dev/shm too
        info_file = os.path.join(os.path.dirname(client._launcher._log_path), "connection.json")
        assert os.path.exists(info_file)

        def as_other():
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

        python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
        done = subprocess.run([python, "-I", "-c", textwrap.dedent(OTHER_USER_ATTEMPT),
                               client._socket_path, info_file],
                              capture_output=True, text=True, timeout=60, preexec_fn=as_other, cwd="/")
        assert done.returncode == 0, done.stderr[-2000:]
        out = json.loads(done.stdout)
        pid = client._launcher.process.pid
        assert out["uid"] == user.pw_uid
        assert out["connect"] == "PermissionError: Permission denied", out
        assert out["info"] == "PermissionError: Permission denied", out
        ours = {d: v for d, v in out["shm"].items() if f"-{pid}-" in d}
        assert len(ours) == 2 and all(v == "PermissionError: Permission denied" for v in ours.values()), out
        assert client.jvm.java.lang.Math.max(1, 2) == 2
        print(f"\nsecond user uid {user.pw_uid}: {out['connect']} / {out['info']} / {len(ours)} shm dirs refused")
    finally:
        client.close()
