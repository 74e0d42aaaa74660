"""Gatun's Py4J layer against real Py4J, side by side: collections and Java exceptions.

Every case runs the same Python code against two live JVMs in this test run: a real Py4J gateway
(py4j's own jar, the ClientServer PySpark uses, auto_convert on) and a Gatun server reached through
`gatun.py4j_compat` (what PySpark gets over Gatun). Both have the Scala library on their class path
for Scala's Java wrappers. A case passes when both give the same observable outcome: the Python
types (Py4J's JavaList/JavaSet/JavaMap/JavaArray/JavaIterator), the values, repr/str (object ids
and identity hashes masked), and, when the code raises, the exception kind and the Java exception's
class. The last part runs PySpark itself over both bridges (getJobTags, a storage level change).
"""
from __future__ import annotations

import glob
import os
import re
import secrets
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import pytest

py4j = pytest.importorskip("py4j", reason="py4j comes with pyspark in the dev dependencies (make venv)")
pyspark = pytest.importorskip("pyspark", reason="pyspark is part of the dev dependencies (make venv)")

import py4j.java_collections as jc  # noqa: E402
from py4j.clientserver import ClientServer, JavaParameters, PythonParameters  # noqa: E402
from py4j.java_gateway import JavaObject as Py4JObject  # noqa: E402
from py4j.protocol import Py4JError, Py4JJavaError  # noqa: E402

from gatun import py4j_compat  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BRIDGES = ("py4j", "gatun")


# --- the two gateways ----------------------------------------------------------------------------


def _scala_library() -> str:
    jars = glob.glob(os.path.join(os.path.dirname(pyspark.__file__), "jars", "scala-library-*.jar"))
    assert jars, "pyspark's jars/ has no scala-library jar"
    return jars[0]


def _py4j_jar() -> str:
    found = sorted(glob.glob(os.path.join(sys.prefix, "share", "py4j", "py4j*.jar")))
    assert found, f"no py4j jar under {sys.prefix}/share/py4j"
    return found[-1]


class _Py4JGateway:
    """A real Py4J JVM (bench/Py4JBenchServer.java: PySpark's ClientServer setup) and its client."""

    def __init__(self, classpath: list[str]):
        secret = secrets.token_hex(16)
        self.proc = subprocess.Popen(
            ["java", "-cp", os.pathsep.join([_py4j_jar(), *classpath]), str(ROOT / "bench" / "Py4JBenchServer.java")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=dict(os.environ, PY4J_BENCH_SECRET=secret), text=True)
        try:
            port = self._read_port()
            self.gateway = ClientServer(
                java_parameters=JavaParameters(port=port, auth_token=secret, auto_convert=True),
                python_parameters=PythonParameters(port=0))
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            raise

    def _read_port(self) -> int:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # the server prints its port first, or exits
            if line.startswith("PY4J_PORT "):
                return int(line.split()[1])
        raise RuntimeError(f"the Py4J JVM exited before listening (rc={self.proc.wait()})")

    def close(self) -> None:
        try:
            self.gateway.shutdown()
        finally:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def gateways():
    """{"py4j": gateway, "gatun": gateway}: both JVMs live for the module."""
    classpath = [_scala_library()]
    p4 = _Py4JGateway(classpath)
    try:
        client = py4j_compat.CompatClient(classpath=classpath, allowlist="default,scala.**")
    except BaseException:
        p4.close()
        raise
    try:
        yield {"py4j": p4.gateway, "gatun": py4j_compat.JavaGateway(client=client)}
    finally:
        try:
            client.close()
        finally:
            p4.close()


# --- observing an outcome ------------------------------------------------------------------------

_KINDS = ("JavaList", "JavaSet", "JavaMap", "JavaArray", "JavaIterator")


def _mask(text: str) -> str:
    text = re.sub(r"JavaObject id=o[0-9a-f]+", "JavaObject id=o<id>", text)
    text = re.sub(r"calling o[0-9a-f]+\.", "calling o<id>.", text)
    return re.sub(r"@[0-9a-f]+\b", "@<hash>", text)


def norm(v: Any) -> Any:
    """A value as both bridges should show it: proxies by their Py4J kind and contents."""
    if isinstance(v, Py4JObject):
        kinds = tuple(k for k in _KINDS if isinstance(v, getattr(jc, k)))
        if isinstance(v, (jc.JavaList, jc.JavaArray)):
            return ("java", kinds, [norm(x) for x in v])
        if isinstance(v, jc.JavaSet):
            return ("java", kinds, sorted(map(repr, (norm(x) for x in v))))
        if isinstance(v, jc.JavaMap):
            return ("java", kinds, sorted((repr(norm(k)), repr(norm(x))) for k, x in v.items()))
        if isinstance(v, jc.JavaIterator):
            return ("java", kinds)
        return ("java", kinds, _mask(str(v)))
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return ("set", sorted(map(repr, (norm(x) for x in v))))
    if isinstance(v, dict):
        return ("dict", sorted((repr(norm(k)), repr(norm(x))) for k, x in v.items()))
    if v is None or isinstance(v, (bool, int, float, str, bytes)):
        return v
    return ("python", type(v).__name__)


def java_class_of(e: BaseException) -> str:
    return e.java_exception.getClass().getName()  # type: ignore[attr-defined]


def outcome(fn: Callable[[], Any]) -> tuple:
    try:
        v = fn()
    except StopIteration:
        return ("raises", "StopIteration")
    except Py4JJavaError as e:
        assert e.java_exception is not None
        # What a traceback (and a doctest) prints: Py4J's class, whatever the bridge.
        shown = traceback.format_exception_only(type(e), e)[-1].split(":", 1)[0]
        return ("raises", shown, java_class_of(e))
    except Py4JError:
        return ("raises", "Py4JError")
    except Exception as e:  # noqa: BLE001 - the kind of a Python error is the observable
        return ("raises", type(e).__name__)
    return ("returns", norm(v))


# --- the collections -----------------------------------------------------------------------------


def _list(jvm, *items):
    lst = jvm.java.util.ArrayList()
    for x in items:
        lst.add(x)
    return lst


def _set(jvm, cls, *items):
    s = getattr(jvm.java.util, cls)()
    for x in items:
        s.add(x)
    return s


def _map(jvm, cls, **items):
    m = getattr(jvm.java.util, cls)()
    for k, v in items.items():
        m.put(k, v)
    return m


def _scala(jvm):
    return jvm.scala.jdk.javaapi.CollectionConverters


ABC = ("a", "b", "c")

LISTS = {
    "ArrayList": lambda jvm, gw: _list(jvm, *ABC),
    "LinkedList": lambda jvm, gw: jvm.java.util.LinkedList(_list(jvm, *ABC)),
    "Arrays.asList": lambda jvm, gw: jvm.java.util.Arrays.asList(_list(jvm, *ABC).toArray()),
    "unmodifiableList": lambda jvm, gw: jvm.java.util.Collections.unmodifiableList(_list(jvm, *ABC)),
    "synchronizedList": lambda jvm, gw: jvm.java.util.Collections.synchronizedList(_list(jvm, *ABC)),
    "List.of": lambda jvm, gw: jvm.java.util.List.of(*ABC),
    "emptyList": lambda jvm, gw: jvm.java.util.Collections.emptyList(),
    "subList": lambda jvm, gw: _list(jvm, "z", *ABC).subList(1, 4),
    "scala Seq asJava": lambda jvm, gw: _scala(jvm).asJava(_scala(jvm).asScala(_list(jvm, *ABC)).toSeq()),
    "scala Buffer asJava": lambda jvm, gw: _scala(jvm).asJava(_scala(jvm).asScala(_list(jvm, *ABC))),
}

SETS = {
    "HashSet": lambda jvm, gw: _set(jvm, "HashSet", *ABC),
    "TreeSet": lambda jvm, gw: _set(jvm, "TreeSet", *ABC),
    "LinkedHashSet": lambda jvm, gw: _set(jvm, "LinkedHashSet", *ABC),
    "unmodifiableSet": lambda jvm, gw: jvm.java.util.Collections.unmodifiableSet(_set(jvm, "TreeSet", *ABC)),
    "synchronizedSet": lambda jvm, gw: jvm.java.util.Collections.synchronizedSet(_set(jvm, "TreeSet", *ABC)),
    "Set.of": lambda jvm, gw: jvm.java.util.Set.of("a"),  # one element: Set.of's order is per JVM
    "emptySet": lambda jvm, gw: jvm.java.util.Collections.emptySet(),
    "keySet": lambda jvm, gw: _map(jvm, "TreeMap", a=1, b=2, c=3).keySet(),
    "scala Set asJava": lambda jvm, gw: _scala(jvm).asJava(_scala(jvm).asScala(_set(jvm, "TreeSet", "a")).toSet()),
    "scala mutable Set asJava": lambda jvm, gw: _scala(jvm).asJava(_scala(jvm).asScala(_set(jvm, "TreeSet", *ABC))),
}

MAPS = {
    "HashMap": lambda jvm, gw: _map(jvm, "HashMap", a=1, b=2),
    "TreeMap": lambda jvm, gw: _map(jvm, "TreeMap", a=1, b=2),
    "LinkedHashMap": lambda jvm, gw: _map(jvm, "LinkedHashMap", b=2, a=1),
    "unmodifiableMap": lambda jvm, gw: jvm.java.util.Collections.unmodifiableMap(_map(jvm, "TreeMap", a=1, b=2)),
    "synchronizedMap": lambda jvm, gw: jvm.java.util.Collections.synchronizedMap(_map(jvm, "TreeMap", a=1, b=2)),
    "Map.of": lambda jvm, gw: jvm.java.util.Map.of("a", 1),
    "emptyMap": lambda jvm, gw: jvm.java.util.Collections.emptyMap(),
    "scala mutable Map asJava": lambda jvm, gw: _scala(jvm).asJava(_scala(jvm).asScala(_map(jvm, "TreeMap", a=1))),
}


def _int_array(jvm, gw):
    a = gw.new_array(jvm.int, 3)
    for i in range(3):
        a[i] = i + 1
    return a


ARRAYS = {
    "Object[]": lambda jvm, gw: _list(jvm, *ABC).toArray(),
    "String[]": lambda jvm, gw: jvm.java.util.regex.Pattern.compile(",").split("a,b,c"),
    "int[]": _int_array,
    "empty String[]": lambda jvm, gw: gw.new_array(jvm.java.lang.String, 0),
}

ITERATORS = {
    "ArrayList.iterator": lambda jvm, gw: _list(jvm, *ABC).iterator(),
    "listIterator": lambda jvm, gw: _list(jvm, *ABC).listIterator(),
    "unmodifiable iterator": lambda jvm, gw: jvm.java.util.Collections.unmodifiableList(_list(jvm, *ABC)).iterator(),
    "keySet iterator": lambda jvm, gw: _map(jvm, "TreeMap", a=1, b=2).keySet().iterator(),
    "empty iterator": lambda jvm, gw: jvm.java.util.Collections.emptyIterator(),
    "scala Iterator asJava": lambda jvm, gw: _scala(jvm).asJava(_scala(jvm).asScala(_list(jvm, *ABC).iterator())),
}

# Neither bridge gives these a collection type (Py4J: only List, Set, Map, arrays and Iterator).
PLAIN = {
    # Java's values() (a JavaMap's Python `values` is Mapping.values on both bridges)
    "Collection (Java values())": lambda jvm, gw: _map(jvm, "TreeMap", a=1).__getattr__("values")(),
    "unmodifiableCollection": lambda jvm, gw: jvm.java.util.Collections.unmodifiableCollection(_list(jvm, "a")),
    "ArrayDeque": lambda jvm, gw: jvm.java.util.ArrayDeque(_list(jvm, "a")),
    "Map.Entry": lambda jvm, gw: _map(jvm, "TreeMap", a=1).entrySet().iterator().next(),
    "Enumeration": lambda jvm, gw: jvm.java.util.Collections.enumeration(_list(jvm, "a")),
    "scala List": lambda jvm, gw: _scala(jvm).asScala(_list(jvm, *ABC)).toList(),
    "scala asJavaCollection": lambda jvm, gw: _scala(jvm).asJavaCollection(_scala(jvm).asScala(_list(jvm, "a"))),
}


def _mutating(op: Callable[[Any], Any], view: Callable[[Any], Any] = list) -> Callable[[Any, Any], Any]:
    """An operation's result and the collection afterwards."""
    def run(x: Any, jvm: Any) -> Any:
        result = op(x)
        return result, view(x)
    return run


def _setitem(key, value):
    def op(x):
        x[key] = value
    return op


def _delitem(key):
    def op(x):
        del x[key]
    return op


def _iadd(x, other):
    x += other
    return x


def _imul(x, n):
    x *= n
    return x


def _ior(x, other):
    x |= other
    return x


def _isub(x, other):
    x -= other
    return x


def _sorted(x):
    return sorted(x)


COMMON_OPS = {
    "type": lambda x, jvm: norm(x)[:2] if isinstance(norm(x), tuple) else norm(x),
    "repr": lambda x, jvm: _mask(repr(x)),
    "str": lambda x, jvm: _mask(str(x)),
    "len": lambda x, jvm: len(x),
    "bool": lambda x, jvm: bool(x),
    "iter": lambda x, jvm: list(x),
    "hash is hashCode": lambda x, jvm: hash(x) == x.hashCode(),
    "== itself": lambda x, jvm: x == x,
    "== None": lambda x, jvm: x == None,  # noqa: E711 - the operator is what is checked
    "!= None": lambda x, jvm: x != None,  # noqa: E711
    "== 1": lambda x, jvm: x == 1,
}

LIST_OPS = {
    "contains a": lambda x, jvm: "a" in x,
    "contains z": lambda x, jvm: "z" in x,
    "contains None": lambda x, jvm: None in x,
    "== python list": lambda x, jvm: x == list(ABC),
    "python list ==": lambda x, jvm: list(ABC) == x,
    "== Java copy": lambda x, jvm: x == jvm.java.util.ArrayList(x),
    "!= Java copy": lambda x, jvm: x != jvm.java.util.ArrayList(x),
    "[0]": lambda x, jvm: x[0],
    "[-1]": lambda x, jvm: x[-1],
    "[-3]": lambda x, jvm: x[-3],
    "[10]": lambda x, jvm: x[10],
    "[-10]": lambda x, jvm: x[-10],
    "['a']": lambda x, jvm: x["a"],
    "[0:2]": lambda x, jvm: x[0:2],
    "[::2]": lambda x, jvm: x[::2],
    "[5:]": lambda x, jvm: x[5:],
    "[::-1]": lambda x, jvm: x[::-1],
    "[0] = z": _mutating(_setitem(0, "z")),
    "[-1] = z": _mutating(_setitem(-1, "z")),
    "[5] = z": _mutating(_setitem(5, "z")),
    "[0:1] = p,q": _mutating(_setitem(slice(0, 1), ["p", "q"])),
    "[0:2] = p": _mutating(_setitem(slice(0, 2), ["p"])),
    "[1:1] = p": _mutating(_setitem(slice(1, 1), ["p"])),
    "[10:] = p": _mutating(_setitem(slice(10, None), ["p"])),
    "[::2] = p,q": _mutating(_setitem(slice(None, None, 2), ["p", "q"])),
    "[::2] = p": _mutating(_setitem(slice(None, None, 2), ["p"])),
    "del [0]": _mutating(_delitem(0)),
    "del [-1]": _mutating(_delitem(-1)),
    "del [10]": _mutating(_delitem(10)),
    "del [0:2]": _mutating(_delitem(slice(0, 2))),
    "del [::2]": _mutating(_delitem(slice(None, None, 2))),
    "append": _mutating(lambda x: x.append("d")),
    "insert 1": _mutating(lambda x: x.insert(1, "d")),
    "insert -1": _mutating(lambda x: x.insert(-1, "d")),
    "insert -100": _mutating(lambda x: x.insert(-100, "d")),
    "insert 100": _mutating(lambda x: x.insert(100, "d")),
    "extend python list": _mutating(lambda x: x.extend(["d", "e"])),
    "pop()": _mutating(lambda x: x.pop()),
    "pop(0)": _mutating(lambda x: x.pop(0)),
    "pop(10)": _mutating(lambda x: x.pop(10)),
    "remove b": _mutating(lambda x: x.remove("b")),
    "remove zz": _mutating(lambda x: x.remove("zz")),
    "index b": lambda x, jvm: x.index("b"),
    "index zz": lambda x, jvm: x.index("zz"),
    "count a": lambda x, jvm: x.count("a"),
    "sort": _mutating(lambda x: x.sort()),
    "reverse": _mutating(lambda x: x.reverse()),
    "clear": _mutating(lambda x: x.clear()),
    "+ Java list": lambda x, jvm: x + _list(jvm, "q"),
    "+ python list": lambda x, jvm: x + ["q"],
    "* 2": lambda x, jvm: x * 2,
    "2 *": lambda x, jvm: 2 * x,
    "*= 2": _mutating(lambda x: _imul(x, 2)),
    "*= 0": _mutating(lambda x: _imul(x, 0)),
    "+= python list": _mutating(lambda x: _iadd(x, ["q"])),
    "reversed": lambda x, jvm: list(reversed(x)),
    "Java size()": lambda x, jvm: x.size(),
    "Java get(1)": lambda x, jvm: x.get(1),
}

SET_OPS = {
    "contains a": lambda x, jvm: "a" in x,
    "contains z": lambda x, jvm: "z" in x,
    "contains None": lambda x, jvm: None in x,
    "contains 1": lambda x, jvm: 1 in x,
    "== python set": lambda x, jvm: x == {"a", "b", "c"},
    "== Java copy": lambda x, jvm: x == jvm.java.util.HashSet(x),
    "<= python set": lambda x, jvm: x <= {"a", "b", "c", "d"},
    ">= python set": lambda x, jvm: x >= {"a"},
    "isdisjoint": lambda x, jvm: x.isdisjoint({"q"}),
    "| python set": lambda x, jvm: x | {"q"},
    "add d": _mutating(lambda x: x.add("d"), _sorted),
    "add a": _mutating(lambda x: x.add("a"), _sorted),
    "discard a": _mutating(lambda x: x.discard("a"), _sorted),
    "discard z": _mutating(lambda x: x.discard("z"), _sorted),
    "remove a": _mutating(lambda x: x.remove("a"), _sorted),
    "remove z": _mutating(lambda x: x.remove("z"), _sorted),
    "clear": _mutating(lambda x: x.clear(), _sorted),
    "pop": _mutating(lambda x: x.pop(), _sorted),
    "|= python set": _mutating(lambda x: _ior(x, {"q"}), _sorted),
    "-= python set": _mutating(lambda x: _isub(x, {"a"}), _sorted),
    "Java size()": lambda x, jvm: x.size(),
}

MAP_OPS = {
    "contains a": lambda x, jvm: "a" in x,
    "contains z": lambda x, jvm: "z" in x,
    "contains None": lambda x, jvm: None in x,
    "== python dict": lambda x, jvm: x == {"a": 1, "b": 2},
    "== Java copy": lambda x, jvm: x == jvm.java.util.HashMap(x),
    "[a]": lambda x, jvm: x["a"],
    "[z]": lambda x, jvm: x["z"],
    "[None]": lambda x, jvm: x[None],
    "[1]": lambda x, jvm: x[1],
    "get a": lambda x, jvm: x.get("a"),
    "get z, 5": lambda x, jvm: x.get("z", 5),
    "keys": lambda x, jvm: list(x.keys()),
    "values": lambda x, jvm: list(x.values()),
    "items": lambda x, jvm: list(x.items()),
    "dict()": lambda x, jvm: dict(x),
    "[n] = 3": _mutating(_setitem("n", 3), dict),
    "[a] = 3": _mutating(_setitem("a", 3), dict),
    "del [a]": _mutating(_delitem("a"), dict),
    "del [z]": _mutating(_delitem("z"), dict),
    "pop a": _mutating(lambda x: x.pop("a"), dict),
    "pop z, 0": _mutating(lambda x: x.pop("z", 0), dict),
    "setdefault z": _mutating(lambda x: x.setdefault("z", 3), dict),
    "setdefault a": _mutating(lambda x: x.setdefault("a", 3), dict),
    "update": _mutating(lambda x: x.update({"n": 4}), dict),
    "clear": _mutating(lambda x: x.clear(), dict),
    "popitem": _mutating(lambda x: x.popitem(), dict),
    "Java size()": lambda x, jvm: x.size(),
}

ARRAY_OPS = {
    "contains first": lambda x, jvm: (list(x)[:1] or ["a"])[0] in x,
    "contains z": lambda x, jvm: "z" in x,
    "== python list": lambda x, jvm: x == list(x),
    "[0]": lambda x, jvm: x[0],
    "[-1]": lambda x, jvm: x[-1],
    "[3]": lambda x, jvm: x[3],
    "[-4]": lambda x, jvm: x[-4],
    "['a']": lambda x, jvm: x["a"],
    "[0:2]": lambda x, jvm: x[0:2],
    "[::2]": lambda x, jvm: x[::2],
    "[5:]": lambda x, jvm: x[5:],
    "[0] = same": _mutating(lambda x: x.__setitem__(0, x[0])),
    "[0] = str": _mutating(_setitem(0, "z")),
    "[0] = int": _mutating(_setitem(0, 7)),
    "[0] = None": _mutating(_setitem(0, None)),
    "[3] = last": _mutating(lambda x: x.__setitem__(3, x[-1])),
    "[0:2] = first two": _mutating(lambda x: x.__setitem__(slice(0, 2), list(x)[:2])),
    "[0:2] = one": _mutating(lambda x: x.__setitem__(slice(0, 2), list(x)[:1])),
    "index last": lambda x, jvm: x.index(x[-1]),
    "count first": lambda x, jvm: x.count(x[0]),
    "reversed": lambda x, jvm: list(reversed(x)),
    "append": lambda x, jvm: x.append("z"),
}

ITERATOR_OPS = {
    "next x4": lambda x, jvm: [next(x) for _ in range(4)],
    "next then list": lambda x, jvm: (next(x), list(x)),
    ".next() x4": lambda x, jvm: [x.next() for _ in range(4)],
    "iter is itself": lambda x, jvm: iter(x) is x,
    "hasNext": lambda x, jvm: x.hasNext(),
    "remove before next": lambda x, jvm: x.remove(),
    "next then remove": lambda x, jvm: (next(x), x.remove()),
    "list twice": lambda x, jvm: (list(x), list(x)),
}

TABLES = [
    ("list", LISTS, {**COMMON_OPS, **LIST_OPS}),
    ("set", SETS, {**COMMON_OPS, **SET_OPS}),
    ("map", MAPS, {**COMMON_OPS, **MAP_OPS}),
    ("array", ARRAYS, {**COMMON_OPS, **ARRAY_OPS}),
    ("iterator", ITERATORS, {k: v for k, v in {**COMMON_OPS, **ITERATOR_OPS}.items() if k not in ("len", "bool")}),
    ("plain", PLAIN, COMMON_OPS),
]

CASES = [pytest.param(make, op_name, op, id=f"{kind}:{name}:{op_name}")
         for kind, makers, ops in TABLES for name, make in makers.items() for op_name, op in ops.items()]

# The one deliberate difference: Py4J sends these list operations as commands of its own and
# ignores the answer, so a Java failure (sorting an unmodifiable list, say) leaves the list as it
# was and raises nothing. Over Gatun they are Java calls, and the failure is raised (Py4JJavaError).
PY4J_IGNORES_FAILURE = {"sort", "reverse", "*= 2", "*= 0"}


@pytest.mark.parametrize("make,op_name,op", CASES)
def test_collection_behaves_as_in_py4j(gateways, make, op_name, op):
    seen = {}
    for bridge in BRIDGES:
        gw = gateways[bridge]
        jvm = gw.jvm
        seen[bridge] = outcome(lambda: op(make(jvm, gw), jvm))
    if op_name in PY4J_IGNORES_FAILURE and seen["gatun"][0] == "raises":
        assert seen["gatun"] == ("raises", "py4j.protocol.Py4JJavaError", "java.lang.UnsupportedOperationException")
        assert seen["py4j"][0] == "returns" and seen["py4j"][1][1] == list(ABC)  # unchanged, silently
    else:
        assert seen["gatun"] == seen["py4j"]


def test_returned_collections_have_py4j_types(gateways):
    """The Python classes themselves: Gatun's are subclasses of Py4J's, and only of the right one."""
    for kind, makers in (("JavaList", LISTS), ("JavaSet", SETS), ("JavaMap", MAPS), ("JavaArray", ARRAYS),
                         ("JavaIterator", ITERATORS)):
        for name, make in makers.items():
            gw = gateways["gatun"]
            x = make(gw.jvm, gw)
            assert isinstance(x, getattr(jc, kind)), (name, type(x))
            assert isinstance(x, getattr(py4j_compat, kind)), (name, type(x))
            assert [k for k in _KINDS if isinstance(x, getattr(jc, k))] == [kind], name


# --- Java exceptions on every call path ----------------------------------------------------------


class Raising:
    """A Python implementation of a Java interface whose method raises in Python."""

    class Java:
        implements = ["java.util.function.Supplier"]

    def get(self):
        raise ValueError("raised by the Python callback")


class CatchingInside:
    """A callback that calls Java, which throws; it reports what it caught."""

    class Java:
        implements = ["java.util.function.Supplier"]

    def __init__(self, jvm):
        self.jvm = jvm

    def get(self):
        try:
            self.jvm.java.lang.Integer.parseInt("not a number")
        except Py4JJavaError as e:
            return f"{traceback.format_exception_only(type(e), e)[-1].split(':', 1)[0]} {java_class_of(e)}"
        return "nothing raised"


def _callback_on_another_thread(jvm, gw):
    """Java calls the Python callback from a JVM thread no Python call waits on; the callback's
    own Java call fails there and is caught there as Py4JJavaError."""
    return jvm.java.util.concurrent.CompletableFuture.supplyAsync(CatchingInside(jvm)).get()


def _twice(fn):
    """The first call names a method (slow path), the second finds the name known (fast path)."""
    def run(jvm, gw):
        for _ in range(2):
            try:
                fn(jvm, gw)
            except Py4JJavaError as e:
                last = e
        raise last
    return run


def _iterator_after_change(jvm, gw):
    lst = _list(jvm, *ABC)
    it = lst.iterator()
    next(it)
    lst.add("d")
    return next(it)


EXCEPTIONS = {
    "instance method (slow then fast path)": _twice(lambda jvm, gw: _list(jvm, "a").get(10)),
    "static method": lambda jvm, gw: jvm.java.lang.Integer.parseInt("not a number"),
    "static method, 3 MB argument (multi-frame request)": lambda jvm, gw: jvm.java.lang.Integer.parseInt("x" * 3_000_000),
    "constructor": lambda jvm, gw: jvm.java.util.ArrayList(-1),
    "list append (unmodifiable)": lambda jvm, gw: jvm.java.util.Collections.unmodifiableList(_list(jvm, "a")).append("b"),
    "list item assignment (List.of)": lambda jvm, gw: _setitem(0, "b")(jvm.java.util.List.of("a")),
    "list contains None (List.of)": lambda jvm, gw: None in jvm.java.util.List.of("a"),
    "list clear (Py4J's MutableSequence.clear)": lambda jvm, gw: _list(jvm, "a").clear(),
    "set add (unmodifiable)": lambda jvm, gw: jvm.java.util.Collections.unmodifiableSet(_set(jvm, "HashSet")).add("a"),
    "set contains int (TreeSet of strings)": lambda jvm, gw: 1 in _set(jvm, "TreeSet", "a"),
    "map item assignment (unmodifiable)": lambda jvm, gw: _setitem("a", 1)(jvm.java.util.Collections.unmodifiableMap(_map(jvm, "HashMap"))),
    "map lookup by int (TreeMap of strings)": lambda jvm, gw: _map(jvm, "TreeMap", a=1)[1],
    "map delete (unmodifiable)": lambda jvm, gw: _delitem("a")(jvm.java.util.Collections.unmodifiableMap(_map(jvm, "HashMap", a=1))),
    "iterator remove (unmodifiable)": lambda jvm, gw: (lambda it: (next(it), it.remove()))(
        jvm.java.util.Collections.unmodifiableList(_list(jvm, "a")).iterator()),
    "equality through equals (TreeSet vs set of ints)": lambda jvm, gw: _set(jvm, "TreeSet", "a").containsAll(_list(jvm, 1)),
    "Python callback raises": lambda jvm, gw: jvm.java.util.Objects.requireNonNullElseGet(None, Raising()),
}

# The Java exception's class differs where the bridge's own machinery throws (the callback's failure).
_OWN_CLASS = {"Python callback raises"}


@pytest.mark.parametrize("name", list(EXCEPTIONS))
def test_java_exceptions_are_py4j_errors(gateways, name):
    seen = {}
    for bridge in BRIDGES:
        gw = gateways[bridge]
        seen[bridge] = outcome(lambda: EXCEPTIONS[name](gw.jvm, gw))
        assert seen[bridge][:2] == ("raises", "py4j.protocol.Py4JJavaError"), (bridge, seen[bridge])
    if name not in _OWN_CLASS:
        assert seen["gatun"] == seen["py4j"]


def test_exception_caught_inside_a_callback_is_py4j_error(gateways):
    for bridge in BRIDGES:
        jvm = gateways[bridge].jvm
        got = jvm.java.util.Objects.requireNonNullElseGet(None, CatchingInside(jvm))
        assert got == "py4j.protocol.Py4JJavaError java.lang.NumberFormatException", bridge


def test_exception_inside_a_callback_from_a_jvm_thread_is_py4j_error(gateways):
    jvm = gateways["gatun"].jvm
    got = jvm.java.util.concurrent.CompletableFuture.supplyAsync(CatchingInside(jvm)).get()
    assert got == "py4j.protocol.Py4JJavaError java.lang.NumberFormatException"


def test_iterator_failure_is_raised_not_hidden(gateways):
    """Py4J ends iteration on any error of next() (a ConcurrentModificationException looks like the
    end of the data); Gatun ends it on NoSuchElementException only and raises the others."""
    assert outcome(lambda: _iterator_after_change(gateways["py4j"].jvm, None)) == ("raises", "StopIteration")
    assert outcome(lambda: _iterator_after_change(gateways["gatun"].jvm, None)) == (
        "raises", "py4j.protocol.Py4JJavaError", "java.util.ConcurrentModificationException")


def test_py4j_error_carries_the_java_exception(gateways):
    gw = gateways["gatun"]
    with pytest.raises(Py4JJavaError) as info:
        gw.jvm.java.lang.Integer.parseInt("nope")
    e = info.value
    assert isinstance(e, py4j_compat.Py4JJavaError)
    assert java_class_of(e) == "java.lang.NumberFormatException"
    assert e.java_exception.getMessage() == 'For input string: "nope"'
    assert str(e).startswith("An error occurred while calling ")
    assert 'java.lang.NumberFormatException: For input string: "nope"' in str(e)
    assert type(e).__module__ == "py4j.protocol" and type(e).__qualname__ == "Py4JJavaError"


# --- PySpark itself, over each bridge ------------------------------------------------------------

_PYSPARK_SCRIPT = r"""
import sys, traceback
from pyspark import SparkContext, StorageLevel
sc = SparkContext("local[1]", "compat-types")
try:
    import gatun.pyspark
    print("BRIDGE", gatun.pyspark.bridge(sc))
    sc.addJobTag("job_to_cancel")
    tags = sc.getJobTags()
    print("TAGS", repr(tags))
    from py4j.java_collections import JavaSet
    print("TAGS_IS_JAVASET", isinstance(tags, JavaSet), "job_to_cancel" in tags, len(tags), sorted(tags))
    sc.clearJobTags()
    print("TAGS_AFTER", repr(sc.getJobTags()))
    rdd = sc.range(5)
    rdd.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rdd.persist(StorageLevel.MEMORY_ONLY_2)
        print("PERSIST no exception")
    except Exception as e:
        print("PERSIST", traceback.format_exception_only(type(e), e)[-1].split(":", 1)[0],
              e.java_exception.getClass().getName())
finally:
    sc.stop()
"""


def _run_pyspark(gatun: bool) -> dict[str, str]:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYTHONHASHSEED="0")
    env.pop("GATUN_PYSPARK", None)
    if gatun:
        env["GATUN_PYSPARK"] = "1"
    done = subprocess.run([sys.executable, "-c", _PYSPARK_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=600)
    lines = {}
    for line in done.stdout.splitlines():
        key, _, rest = line.partition(" ")
        lines[key] = rest
    assert done.returncode == 0, done.stderr[-3000:]
    return lines


@pytest.fixture(scope="module")
def pyspark_runs() -> dict[str, dict[str, str]]:
    # One at a time: two Spark drivers at once would double the memory this test needs.
    return {"py4j": _run_pyspark(False), "gatun": _run_pyspark(True)}


def test_pyspark_runs_on_each_bridge(pyspark_runs):
    assert pyspark_runs["py4j"]["BRIDGE"] == "py4j"
    assert pyspark_runs["gatun"]["BRIDGE"] == "gatun"


@pytest.mark.parametrize("key", ["TAGS", "TAGS_IS_JAVASET", "TAGS_AFTER", "PERSIST"])
def test_pyspark_get_job_tags_and_storage_level_as_py4j(pyspark_runs, key):
    assert pyspark_runs["gatun"][key] == pyspark_runs["py4j"][key]


def test_pyspark_examples_print_as_documented(pyspark_runs):
    """PySpark's own examples: `{'job_to_cancel'}`, and Py4J's error for a storage level change."""
    for bridge in BRIDGES:
        run = pyspark_runs[bridge]
        assert run["TAGS"].strip() == "{'job_to_cancel'}", bridge
        assert run["TAGS_IS_JAVASET"] == "True True 1 ['job_to_cancel']", bridge
        assert run["TAGS_AFTER"] == "set()", bridge
        assert run["PERSIST"] == "py4j.protocol.Py4JJavaError org.apache.spark.SparkUnsupportedOperationException"


@pytest.mark.parametrize("name", ["instance method (slow then fast path)", "static method", "constructor",
                                  "list append (unmodifiable)", "map lookup by int (TreeMap of strings)"])
def test_error_message_names_the_call_as_py4j(gateways, name):
    """The first line of str(error): `An error occurred while calling o<id>.get.` (or z:<class>.<m>,
    None.<class> for a constructor), then the Java exception, as Py4J words it."""
    lines = {}
    for bridge in BRIDGES:
        gw = gateways[bridge]
        with pytest.raises(Py4JJavaError) as info:
            EXCEPTIONS[name](gw.jvm, gw)
        text = _mask(str(info.value)).splitlines()
        lines[bridge] = (text[0], text[1].split(":", 2)[:2])
    assert lines["gatun"] == lines["py4j"]


def test_byte_arrays_come_back_as_bytes(gateways):
    """The one array that is a value, not a JavaArray, on both bridges."""
    got = {}
    for bridge in BRIDGES:
        jvm = gateways[bridge].jvm
        got[bridge] = jvm.java.util.Base64.getDecoder().decode("AAEC/w==")
    assert type(got["py4j"]) is bytes and type(got["gatun"]) is bytes
    assert got["gatun"] == got["py4j"] == b"\x00\x01\x02\xff"
