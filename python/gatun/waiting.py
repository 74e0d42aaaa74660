"""How a waiting side spins before it parks on the doorbell: the wait policy (spec/protocol.md
§2.2.1). The policy itself runs in the C extension (`_native.Region`); this module names it and
counts the CPUs it may assume.

Names: ``adaptive`` (the default: spin only while spinning pays off and the machine is not
oversubscribed), ``park`` (never spin, as a blocking socket) and ``spin:MICROS`` (always spin that
long; only for a peer with a dedicated core). ``GATUN_WAIT_POLICY`` sets it for the clients and
the servers a process starts.
"""
from __future__ import annotations

import os

ENV = "GATUN_WAIT_POLICY"
DEFAULT = "adaptive"
POLICY_ADAPTIVE = 0
POLICY_FIXED = 1
MAX_SPIN_MICROS = 1_000_000


def resolve(name: str | None) -> str:
    """The policy name to use: `name`, else $GATUN_WAIT_POLICY, else adaptive; checked."""
    if name is None:
        name = os.environ.get(ENV) or DEFAULT
    parse(name)
    return name.strip()


def parse(name: str) -> tuple[int, int]:
    """(kind, fixed spin ns) for the native Region; ValueError for an unknown name."""
    n = name.strip() if isinstance(name, str) else name
    if n == "adaptive":
        return POLICY_ADAPTIVE, 0
    if n == "park":
        return POLICY_FIXED, 0
    if isinstance(n, str) and n.startswith("spin:"):
        micros = n[5:]
        if micros.isdigit() and int(micros) <= MAX_SPIN_MICROS:
            return POLICY_FIXED, int(micros) * 1000
        raise ValueError(f"wait policy {n!r}: spin:MICROS takes 0 to {MAX_SPIN_MICROS} microseconds")
    raise ValueError(f"unknown wait policy {name!r} (expected adaptive, park or spin:MICROS)")


def available_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by a cgroup v2 CPU quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max" and int(period) > 0:
            cpus = min(cpus, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)
