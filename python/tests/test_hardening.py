"""Holes of issue 13 that show from Python: against real server JVMs."""
from __future__ import annotations

import runpy
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gatun import GatunClient, JavaException


def test_another_client_cannot_stop_a_launched_server(own_client):
    assert "--allow-shutdown" not in own_client._launcher.command("info", "dir")
    other = GatunClient(own_client._socket_path, token=own_client._token)
    other.jvm.java.lang.Math.max(1, 2)
    other.shutdown()  # refused by the server: it runs without --allow-shutdown
    assert own_client.jvm.java.lang.Math.max(3, 4) == 4
    assert own_client._launcher.exit_code() is None


def _in_thread_with_room(fn):
    """Run fn on a thread with a large C stack, so that Python's recursion limit, not the C stack, ends deep nesting."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # handed to the test
            box["error"] = e

    old = threading.stack_size(512 * 1024 * 1024)
    try:
        t = threading.Thread(target=run)
        t.start()
    finally:
        threading.stack_size(old)
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class _Recurse:
    class Java:
        implements = ["java.util.function.Function"]

    def __init__(self, optional):
        self.optional = optional
        self.deepest = None

    def apply(self, n):
        self.deepest = n
        if n == 0:
            return "bottom"
        return self.optional.of(n - 1).map(self).get()


@pytest.fixture
def deep_limit():
    old = sys.getrecursionlimit()
    yield
    sys.setrecursionlimit(old)


def test_callbacks_nest_as_deep_as_the_recursion_limit_allows(own_client, deep_limit):
    optional = own_client.jvm.java.util.Optional

    def nest():
        sys.setrecursionlimit(40_000)
        return optional.of(3_000).map(_Recurse(optional)).get()

    assert _in_thread_with_room(nest) == "bottom"  # a 1 MB JVM channel stack ran out at 200-400 levels


@pytest.fixture
def thread_client():
    """A private server whose allowlist lets the test look at the depth of a channel thread's stack."""
    c = GatunClient(allowlist="**")
    yield c
    c.close()


def test_running_out_of_stack_in_a_callback_is_a_clear_error_and_the_channel_stays(thread_client, deep_limit):
    own_client = thread_client
    optional = own_client.jvm.java.util.Optional
    math = own_client.jvm.java.lang.Math
    current = own_client.jvm.java.lang.Thread.currentThread

    def nest():
        base = sys.getrecursionlimit()
        results = []
        for _ in range(20):  # past reflection's inflation (15 calls), which changes the depth by one frame
            stack = len(current().getStackTrace())
        # Each level of nesting takes several Python frames; moving the limit one frame at a time
        # makes the RecursionError strike at each point of a level, between a nested request and
        # its answer too.
        for extra in range(16):
            ch = own_client._channel()
            sys.setrecursionlimit(base + 500 + extra)
            try:
                optional.of(10_000).map(_Recurse(optional)).get()
            except JavaException as e:
                results.append("RecursionError" in str(e))
            finally:
                sys.setrecursionlimit(base)
            assert own_client._channel() is ch, f"the channel was replaced (limit +{500 + extra})"
            assert ch.broken is None, ch.broken
            assert math.max(extra, 99) == 99
            # No level of the failed nesting is left waiting in the JVM for an answer that went elsewhere.
            assert len(current().getStackTrace()) == stack, f"limit +{500 + extra}"
        return results

    assert _in_thread_with_room(nest) == [True] * 16


def test_python_decoders_survive_a_short_fuzzing_run(tmp_path):
    """A short atheris run of fuzz_decoders.py (make fuzz runs 10 million inputs)."""
    pytest.importorskip("atheris")
    harness = Path(__file__).with_name("fuzz_decoders.py")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    assert runpy.run_path(str(harness), run_name="seeds")["seed_corpus"](str(corpus)) >= 4
    done = subprocess.run([sys.executable, str(harness), str(corpus), "-runs=30000", "-rss_limit_mb=1024"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 30000 runs" in done.stderr
