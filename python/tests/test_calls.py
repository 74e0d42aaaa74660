"""Calls, values, navigation and proxies against a real server JVM."""
from __future__ import annotations

import decimal

import pytest

from gatun import (
    GatunClient, GatunRequestError, JavaArray, JavaClass, JavaException, JavaList, JavaMap, JavaObject, JavaSet,
    NotAllowedError, get_field, is_instance_of, java_import,
)


def test_instance_calls_and_chaining(jvm):
    sb = jvm.java.lang.StringBuilder("ab")
    assert isinstance(sb, JavaObject)
    assert sb.append("c").append(1).append(2.5).append(True).length() == 11
    assert sb.toString() == "abc12.5true"
    assert str(sb) == "abc12.5true"
    assert sb.charAt(0) == "a"


def test_static_calls_fields_and_navigation(jvm, client):
    assert jvm.java.lang.Math.max(1, 2) == 2
    assert jvm.java.lang.Math.max(1.5, 2) == 2.0
    assert jvm.java.lang.Integer.MAX_VALUE == 2**31 - 1
    assert jvm.java.lang.Long.MAX_VALUE == 2**63 - 1
    assert get_field(jvm.java.lang.Integer, "MIN_VALUE") == -(2**31)
    assert isinstance(jvm.java.lang.Math, JavaClass)
    assert getattr(jvm, "java.lang.Math").abs(-3) == 3
    assert jvm.String.valueOf(12) == "12"  # java.lang is implicit


def test_values_round_trip(jvm):
    lst = jvm.java.util.ArrayList()
    values = [None, True, False, 0, -1, 2**31 - 1, 2**31, -(2**63), 2**63 - 1, 1.25, "", "héllo €𝄞",
              b"\x00\xff", decimal.Decimal("-12.50")]
    for v in values:
        lst.add(v)
    got = [lst.get(i) for i in range(lst.size())]
    assert got == values
    assert [type(g) for g in got] == [type(v) for v in values]
    with pytest.raises(OverflowError, match="long"):
        lst.add(2**64)
    with pytest.raises(TypeError, match="cannot pass"):
        lst.add(object())


def test_auto_conversion_of_collections(jvm):
    al = jvm.java.util.ArrayList([1, "two", [3]])
    assert al.size() == 3 and al.get(2).get(0) == 3
    hm = jvm.java.util.HashMap({"a": 1, "b": [1, 2]})
    assert hm.get("a") == 1 and hm.get("b").size() == 2
    hs = jvm.java.util.HashSet({1, 2, 3})
    assert hs.size() == 3
    assert jvm.java.util.Objects.hashCode(list(range(1000))) == jvm.java.util.ArrayList(list(range(1000))).hashCode()


def test_list_proxy_is_a_mutable_sequence(jvm):
    al = jvm.java.util.ArrayList()
    assert isinstance(al, JavaList)
    al.append(1)
    al.extend([2, 3, 4])
    assert len(al) == 4 and al[0] == 1 and al[-1] == 4 and al[1:3] == [2, 3]
    al[0] = 10
    del al[1]
    al.insert(0, 0)
    assert list(al) == [0, 10, 3, 4]
    assert 3 in al and 99 not in al
    assert al == [0, 10, 3, 4]
    with pytest.raises(IndexError):
        al[10]


def test_map_and_set_proxies(jvm):
    hm = jvm.java.util.HashMap()
    assert isinstance(hm, JavaMap)
    hm["a"] = 1
    hm["b"] = 2
    assert hm["a"] == 1 and len(hm) == 2 and "b" in hm and sorted(hm) == ["a", "b"]
    assert dict(hm.items()) == {"a": 1, "b": 2}
    del hm["a"]
    with pytest.raises(KeyError):
        hm["a"]
    hs = jvm.java.util.HashSet()
    assert isinstance(hs, JavaSet)
    hs.add("x")
    hs.add("x")
    assert len(hs) == 1 and "x" in hs and set(hs) == {"x"}
    it = jvm.java.util.ArrayList([1, 2]).iterator()
    assert list(it) == [1, 2]


def test_arrays(client, jvm):
    arr = client.new_array(jvm.java.lang.String, 3)
    assert isinstance(arr, JavaArray) and len(arr) == 3
    arr[0] = "a"
    arr[-1] = "c"
    assert arr[:] == ["a", None, "c"] and arr[0] == "a" and arr[1:] == [None, "c"]
    with pytest.raises(IndexError):
        arr[3]
    objs = jvm.java.util.ArrayList([1, 2, 3]).toArray()
    assert isinstance(objs, JavaArray) and list(objs) == [1, 2, 3]
    assert jvm.java.util.Arrays.asList(objs).size() == 3
    grid = client.new_array(jvm.java.lang.Integer, 2, 3)
    assert len(grid) == 2 and len(grid[0]) == 3


def test_bytes_come_back_as_bytes(jvm):
    data = bytes(range(256)) * 4
    assert jvm.java.util.Arrays.copyOf(data, 10) == data[:10]
    assert jvm.java.util.Arrays.hashCode(data) == jvm.java.util.Arrays.hashCode(bytearray(data))


def test_nested_classes(jvm):
    entry = jvm.java.util.AbstractMap.SimpleEntry("k", 1)
    assert entry.getKey() == "k"
    entry2 = getattr(jvm, "java.util.AbstractMap$SimpleEntry")("k", 1)
    assert entry == entry2 and hash(entry) == hash(entry2)


def test_java_import_and_is_instance_of(client):
    jvm = client.jvm
    java_import(jvm, "java.util.ArrayList")
    java_import(jvm, "java.util.concurrent.*")
    al = jvm.ArrayList()
    assert is_instance_of(al, "java.util.List")
    assert is_instance_of(al, jvm.java.util.Collection)
    assert not is_instance_of(al, "java.util.Map")
    assert jvm.ConcurrentHashMap().isEmpty()
    assert not is_instance_of("not a proxy", "java.lang.Object")


def test_java_exception_is_live_and_readable(jvm):
    with pytest.raises(JavaException) as info:
        jvm.java.lang.Integer.parseInt("nope")
    e = info.value
    assert e.class_name == "java.lang.NumberFormatException"
    assert "nope" in e.message
    assert "java.lang.NumberFormatException" in str(e) and "at java.base/java.lang.Integer.parseInt" in str(e)
    assert "nope" in e.java_exception.getMessage()
    assert e.java_exception.getStackTrace().__len__() > 0


def test_missing_members_and_overloads_are_clear(jvm):
    sb = jvm.java.lang.StringBuilder()
    with pytest.raises(GatunRequestError, match="NO_SUCH_MEMBER.*noSuchMethod"):
        sb.noSuchMethod()
    with pytest.raises(GatunRequestError, match="NO_MATCHING_OVERLOAD"):
        jvm.java.lang.Math.max("a", "b")
    with pytest.raises(AttributeError, match="no public static member"):
        jvm.java.lang.Math.nothing_here
    assert jvm.java.lang.NoSuchClassAnywhere.__class__.__name__ == "JavaPackage"
    with pytest.raises(TypeError, match="not a Java class"):
        jvm.java.lang.NoSuchClassAnywhere()


def test_allowlist_refuses_dangerous_entry_points(jvm):
    with pytest.raises(NotAllowedError):
        jvm.java.lang.Runtime.getRuntime()
    with pytest.raises(NotAllowedError):
        jvm.java.lang.ProcessBuilder(["true"])
    with pytest.raises(NotAllowedError):
        jvm.java.lang.System.exit(1)
    cls = jvm.java.lang.StringBuilder().getClass()  # allowed: declared by java.lang.Object
    with pytest.raises(NotAllowedError):
        cls.forName("java.lang.Runtime")
    with pytest.raises(NotAllowedError):
        cls.getMethods()
    with pytest.raises(NotAllowedError):
        jvm.java.io.File("/etc/passwd")


def test_execution_time_is_off_by_default_and_says_how_to_turn_it_on(jvm):
    with pytest.raises(JavaException) as e:
        jvm.dev.gatun.server.ExecutionTime.nanos()
    assert "-Dgatun.measureExecution=true" in str(e.value)


def test_execution_time_counts_the_sessions_own_requests():
    allow_nothing_else = ["java.lang.Thread"]  # ExecutionTime is admitted by every list
    with GatunClient(jvm_args=["-Dgatun.measureExecution=true"], allowlist=allow_nothing_else) as c:
        timer = c.jvm.dev.gatun.server.ExecutionTime
        sleep = c.jvm.java.lang.Thread.sleep
        assert timer.enabled() and timer.nanos() >= 0 and timer.requests() >= 0  # resolved once, here
        n0, r0 = timer.nanos(), timer.requests()
        for _ in range(20):
            sleep(10)
        n1, r1 = timer.nanos(), timer.requests()
        # 20 sleeps, plus the requests() before and the nanos() after them.
        assert r1 - r0 == 22
        assert 200e6 <= n1 - n0 < 5e9
        # Another session starts from zero.
        with GatunClient(c._socket_path, token=c._token) as other:
            assert other.jvm.dev.gatun.server.ExecutionTime.nanos() < 200e6
