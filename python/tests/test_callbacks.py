"""Java calling Python: on the calling thread (nested) and from JVM threads Python never started."""
from __future__ import annotations

import threading

import pytest

from gatun import JavaException


class Supplier:
    class Java:
        implements = ["java.util.function.Supplier"]

    def __init__(self, value):
        self.value = value
        self.threads = set()

    def get(self):
        self.threads.add(threading.current_thread().name)
        return self.value


def test_callback_on_the_calling_thread(jvm):
    sup = Supplier(41)
    assert jvm.java.util.Objects.requireNonNullElseGet(None, sup) == 41
    assert sup.threads == {threading.current_thread().name}


def test_callback_from_a_jvm_thread(jvm):
    sup = Supplier("from a pool thread")
    future = jvm.java.util.concurrent.CompletableFuture.supplyAsync(sup)
    assert future.get() == "from a pool thread"
    assert all(name.startswith("gatun-callback") for name in sup.threads)


def test_many_concurrent_callbacks_from_jvm_threads(jvm):
    sups = [Supplier(i) for i in range(32)]
    futures = [jvm.java.util.concurrent.CompletableFuture.supplyAsync(s) for s in sups]
    assert [f.get() for f in futures] == list(range(32))


def test_callbacks_nest_fifty_levels(client, jvm):
    Optional = jvm.java.util.Optional
    depth = []

    class Recurse:
        class Java:
            implements = ["java.util.function.Function"]

        def apply(self, n):
            depth.append(n)
            if n == 0:
                return "bottom"
            return Optional.of(n - 1).map(self).get()

    assert Optional.of(50).map(Recurse()).get() == "bottom"
    assert depth == list(range(50, -1, -1))


def test_register_callback_with_explicit_interfaces(client, jvm):
    class Runner:
        ran = 0

        def run(self):
            Runner.ran += 1

    r = client.register_callback(Runner(), "java.lang.Runnable")
    jvm.java.util.concurrent.CompletableFuture.runAsync(r).get()
    assert Runner.ran == 1


def test_python_exception_in_callback_reaches_the_caller(jvm):
    class Bad:
        class Java:
            implements = ["java.util.function.Supplier"]

        def get(self):
            raise ValueError("python says no")

    with pytest.raises(JavaException) as info:
        jvm.java.util.Objects.requireNonNullElseGet(None, Bad())
    assert "python says no" in str(info.value) and "ValueError" in str(info.value)


def test_java_exception_through_python_keeps_its_identity(jvm):
    class Rethrow:
        class Java:
            implements = ["java.util.function.Supplier"]

        def get(self):
            return jvm.java.lang.Integer.parseInt("x")  # raises JavaException in Python

    with pytest.raises(JavaException) as info:
        jvm.java.util.Objects.requireNonNullElseGet(None, Rethrow())
    assert info.value.class_name == "java.lang.NumberFormatException"


def test_callback_interface_must_be_allowed(jvm):
    class Evil:
        class Java:
            implements = ["java.lang.reflect.InvocationHandler"]

        def invoke(self, *a):
            return None

    from gatun import NotAllowedError
    with pytest.raises(NotAllowedError):
        jvm.java.util.Objects.requireNonNullElseGet(None, Evil())
