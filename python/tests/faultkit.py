"""What the fault suite (test_faults.py) and the soak (bench/soak.py) measure of a server JVM.

Every probe reads /proc or asks the JVM with jcmd; nothing here sleeps a fixed time: `wait_until`
polls a condition until it holds or a deadline passes.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from typing import Callable

from gatun.launcher import GatunLauncher

# Server classes whose live instances tell what the JVM still holds for sessions (after a full GC).
SESSION_CLASSES = ("dev.gatun.server.Session", "dev.gatun.server.RequestLoop", "dev.gatun.server.ShmRegion",
                   "dev.gatun.server.ObjectRegistry", "dev.gatun.arrow.ArrowArena")


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.02) -> object:
    """Polls `condition` until it returns something true; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(interval)


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the whole process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def shm_files(pid: int) -> list[str]:
    """What the server with this PID has in /dev/shm: its region directory's files, its Arrow arenas."""
    found = []
    for d in glob.glob(f"/dev/shm/gatun-{pid}-*") + glob.glob(f"/dev/shm/gatun-arrow-{pid}-*"):
        found.append(d)
        found += glob.glob(os.path.join(d, "*"))
    return found


def shm_region_dir_files(pid: int) -> list[str]:
    """The files in the server's region directory (the directory itself lives as long as the server)."""
    return [f for d in glob.glob(f"/dev/shm/gatun-{pid}-*") for f in glob.glob(os.path.join(d, "*"))] + \
        glob.glob(f"/dev/shm/gatun-arrow-{pid}-*")


def shm_bytes() -> int:
    st = os.statvfs("/dev/shm")
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def shm_maps(pid: int) -> int:
    """Shared-memory files (regions, arenas) the process still has mapped."""
    with open(f"/proc/{pid}/maps") as f:
        return sum(1 for line in f if "/gatun-" in line and ("/dev/shm/" in line or "(deleted)" in line))


def live_instances(pid: int, classes: tuple[str, ...] = SESSION_CLASSES) -> dict[str, int]:
    """Live instances per class after a full GC (jcmd GC.class_histogram forces one)."""
    jcmd = shutil.which("jcmd") or "jcmd"
    out = subprocess.run([jcmd, str(pid), "GC.class_histogram"], capture_output=True, text=True, timeout=60).stdout
    counts = dict.fromkeys(classes, 0)
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[3] in counts:
            counts[parts[3]] = int(parts[1])
    return counts


def launch(**options) -> GatunLauncher:
    """A standalone server JVM (no warm-up unless asked) that the caller stops."""
    options.setdefault("warm_up", 0)
    launcher = GatunLauncher(**options)
    launcher.start()
    return launcher


def snapshot(pid: int) -> dict[str, int]:
    return {"fds": fds(pid), "threads": threads(pid), "shm_files": len(shm_region_dir_files(pid)),
            "shm_maps": shm_maps(pid), **{k.rsplit(".", 1)[1]: v for k, v in live_instances(pid).items()}}
