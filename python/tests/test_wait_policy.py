"""The wait policy (spec/protocol.md §2.2.1) through real channels to real server JVMs."""
from __future__ import annotations

import time

import pytest

from gatun import GatunClient, waiting
from gatun.launcher import GatunLauncher

MAX_SPIN_NS = 50_000
PROBE_SPIN_NS = 200_000
MIN_PROBE_NS = 1_000_000


def _slow(jvm) -> None:
    """A server call far longer than any spin (7**400000 takes tens of ms)."""
    jvm.java.math.BigInteger.valueOf(7).pow(400_000)


@pytest.mark.parametrize("name", ["adaptive", "park", "spin:20"])
def test_every_policy_answers_calls_and_callbacks(name):
    with GatunClient(wait_policy=name) as c:
        assert name in c._launcher.command("i", "d")
        jvm = c.jvm
        sb = jvm.java.lang.StringBuilder("abc")
        length = sb.length
        for i in range(2_000):
            assert length() == 3
            assert jvm.java.lang.Math.max(i, 7) == max(i, 7)

        class Sup:
            class Java:
                implements = ["java.util.function.Supplier"]

            def get(self):
                return "from Python"

        sup = Sup()
        for _ in range(200):
            assert jvm.java.util.Objects.requireNonNullElseGet(None, sup) == "from Python"


@pytest.mark.parametrize("bad", ["fast", "spin:", "spin:-3", "spin:2000000", "PARK", ""])
def test_a_bad_policy_name_is_refused_before_anything_starts(bad, monkeypatch):
    with pytest.raises(ValueError, match="adaptive|spin:MICROS"):
        GatunClient(wait_policy=bad)
    monkeypatch.setenv(waiting.ENV, "bogus")
    with pytest.raises(ValueError, match="bogus"):
        GatunClient()
    with pytest.raises(ValueError, match="bogus"):
        GatunLauncher()


def test_the_environment_picks_the_policy_of_client_and_server(monkeypatch):
    monkeypatch.setenv(waiting.ENV, "park")
    with GatunClient() as c:
        assert c._launcher.command("i", "d")[-2:] == ["--wait-policy", "park"]
        assert c.jvm.java.lang.Math.abs(-4) == 4
        assert c._channel().region.policy_state()[0] == 0  # park: never a spin budget


def _spin_again(jvm, region) -> None:
    """Quick calls until the client spins with the full budget: a park that ended within MAX_SPIN
    earns a probe after the back-off, and a probe that catches its answer restores the budget."""
    deadline = time.monotonic() + 30
    while region.policy_state()[0] != MAX_SPIN_NS:
        assert time.monotonic() < deadline, f"the client never went back to spinning: {region.policy_state()}"
        for _ in range(100):
            jvm.java.lang.Math.abs(-1)


def test_calls_longer_than_any_spin_make_the_client_park_at_once():
    # The server spins for 1 ms, so that a client probe finds it answering at once even on a busy
    # machine (with both sides adaptive, both may park until the machine is quiet).
    with GatunClient(wait_policy="adaptive", server_wait_policy="spin:1000") as client:
        _slow_calls_then_quick_calls(client)


def _slow_calls_then_quick_calls(client):
    jvm = client.jvm
    pow_ = jvm.java.math.BigInteger.valueOf(7).pow  # bound once: each call below is one slow wait
    region = client._channel().region
    if waiting.available_cpus() < 2:
        pytest.skip("with one CPU the client never spins")
    _spin_again(jvm, region)
    states = []
    for _ in range(10):
        pow_(400_000)  # tens of ms in the JVM: no spin catches it
        states.append(region.policy_state())
    budgets = [b for b, _ in states]
    # Each wait the spin does not catch halves the budget (or zeroes it, if the spin lost its core),
    # so it only falls, and six such waits bring it to 0; once 0, the probes (one per back-off)
    # fail too and double the back-off.
    assert budgets == sorted(budgets, reverse=True) and budgets[0] < MAX_SPIN_NS, budgets
    assert budgets[6] == budgets[-1] == 0, budgets
    assert states[-1][1] > MIN_PROBE_NS, states
    _spin_again(jvm, region)
    assert region.policy_state() == (MAX_SPIN_NS, MIN_PROBE_NS)


def test_a_parked_client_burns_no_cpu(client):
    jvm = client.jvm
    c0, w0 = time.thread_time(), time.perf_counter()
    jvm.java.math.BigInteger.valueOf(7).pow(1_000_000)
    cpu, wall = time.thread_time() - c0, time.perf_counter() - w0
    assert wall > 0.05, f"the call took only {wall:.3f} s: not long enough to tell"
    assert cpu < 0.2 * wall, f"the waiting thread used {cpu * 1e3:.1f} ms of CPU in {wall * 1e3:.1f} ms"
