"""Py4J's API over Gatun: a drop-in for the parts of Py4J that PySpark (and similar code) uses.

The classes here subclass Py4J's public classes without using their machinery, so that
`isinstance(x, py4j.java_gateway.JavaObject)`, `isinstance(gw, ClientServer)` and
`except Py4JJavaError` keep working in code that imports Py4J directly.

Two things cannot be reached without patching, and are patched by `install()` (idempotent):

* `py4j.java_gateway.JavaClass` becomes `JavaClassByName`, which returns a Gatun class proxy for a
  Gatun gateway client and Py4J's own JavaClass for any other (isinstance checks still see Py4J's
  class), because PySpark's converters import it by name at call time.

* `py4j.protocol.get_return_value` is wrapped so that it understands a Gatun failure handed to it.
  Calls that fail go through `py4j.java_gateway.get_return_value` *at call time*, which is where
  PySpark's `install_exception_handler()` puts its converter (it wraps the protocol function); so a
  Java exception becomes an `AnalysisException`, `ParseException`, ... exactly as under Py4J.
  Successful calls skip it: the converter only acts on exceptions.
* Nothing else in Py4J is modified. (`gatun.pyspark` patches a few PySpark names; see there.)

Values behave as Py4J's do (tests/test_compat_types.py runs both side by side): a returned List,
Set, Map, array or Iterator is Py4J's JavaList, JavaSet, JavaMap, JavaArray or JavaIterator (decided
by the interfaces the object's class implements, so unmodifiable, synchronized and Scala wrappers
count), with Py4J's Python semantics for each: `repr`/`str`, `==` (a Java list never equals a
Python list), indexing, slices (new Java lists and arrays), mutation. Every Java exception, on every
call path, is a `Py4JJavaError` (printed as `py4j.protocol.Py4JJavaError`) with `java_exception`.
Two deliberate differences: a Java iterator's own failure is raised (Py4J ends the iteration on any
error), and a Java failure of a list's sort()/reverse()/`*=` is raised (Py4J ignores it).

Py4J's own helpers that talk Py4J's text protocol (`java_import`, `is_instance_of`) work because
this gateway's client answers the JVM-view import command and its JVM view serves
`py4j.reflection.TypeUtil.isInstanceOf` itself.
"""
from __future__ import annotations

import collections.abc as abc
from typing import Any

import py4j.clientserver as _cs
import py4j.java_collections as _jc
import py4j.java_gateway as _jg
import py4j.protocol as _pp
from py4j.protocol import Py4JError, Py4JNetworkError, register_input_converter, smart_decode  # noqa: F401

from . import protocol as p
from .client import GatunClient
from .errors import GatunConnectionError, GatunRequestError, JavaException
from .proxies import (
    JavaArray as _GArray, JavaClass as _GClass, JavaIterator as _GIterator, JavaList as _GList,
    JavaMap as _GMap, JavaMember as _GMember, JavaObject as _GObject, JavaPackage as _GPackage,
    JavaSet as _GSet, JVMView as _GView,
)

# --- exceptions and get_return_value -----------------------------------------------------------


class Py4JJavaError(_pp.Py4JJavaError, JavaException):
    """Py4J's exception for a Java exception, carrying the live Throwable proxy.

    Every Java exception a compat client sees is one of these, whatever the call path (methods,
    constructors, fields, arrays, collection protocols, iterators, calls made inside callbacks):
    `CompatClient` builds it where the THROW frame is read. It is also a `gatun.errors.JavaException`
    (so Gatun's own handling of Java exceptions still sees it), and it names itself as Py4J's class
    (`py4j.protocol.Py4JJavaError`), so tracebacks and doctests that print the exception's type read
    exactly as under Py4J.
    """

    def __init__(self, msg: str, java_exception: Any, stack_trace: str = "", class_name: str = "",
                 message: str = ""):
        self.args = (msg, java_exception)
        self.errmsg = msg
        self.java_exception = java_exception
        self.stack_trace = stack_trace
        self.class_name = class_name
        self.message = message

    def __str__(self) -> str:
        return f"{self.errmsg}: {self.stack_trace}"

    def __reduce__(self) -> Any:
        # The live proxy does not pickle (nor does Py4J's); the text does.
        return (_rebuild_java_error, (self.errmsg, self.stack_trace, self.class_name, self.message))


Py4JJavaError.__module__ = "py4j.protocol"
Py4JJavaError.__qualname__ = Py4JJavaError.__name__ = "Py4JJavaError"


def _rebuild_java_error(msg: str, stack_trace: str, class_name: str, message: str) -> Py4JJavaError:
    return Py4JJavaError(msg, None, stack_trace, class_name, message)


class _Failure:
    """A failed Gatun call, handed to `get_return_value` so that converters see it raised there."""

    __slots__ = ("error",)

    def __init__(self, error: JavaException):
        self.error = error


_original_get_return_value = _pp.get_return_value


def get_return_value(answer: Any, gateway_client: Any, target_id: Any = None, name: Any = None) -> Any:
    """Py4J's `get_return_value`, extended to raise the Py4JJavaError of a Gatun failure."""
    if isinstance(answer, _Failure):
        e = answer.error
        where = f"{target_id}.{name}" if target_id is not None else str(name)
        raise Py4JJavaError(f"An error occurred while calling {where}.\n", e.java_exception, e.stack_trace,
                            e.class_name, e.message) from None
    return _original_get_return_value(answer, gateway_client, target_id, name)


_installed = False


def install() -> None:
    """Make Py4J's `get_return_value` understand Gatun failures (before PySpark wraps it)."""
    global _installed
    if _installed:
        return
    _installed = True
    if _jg.get_return_value is _pp.get_return_value:
        _jg.get_return_value = get_return_value
    _pp.get_return_value = get_return_value
    # Code that does `from py4j.java_gateway import JavaClass` at call time (PySpark's datetime
    # converters) gets a class that serves Gatun clients and defers to Py4J's for the rest.
    _jg.JavaClass = JavaClassByName


def _raise_java(e: JavaException, target: str, name: str) -> Any:
    # Looked up at call time: PySpark replaces this module attribute with its converter.
    return _jg.get_return_value(_Failure(e), None, target, name)


# --- proxies ----------------------------------------------------------------------------------


class JavaMember(_GMember, _jg.JavaMember):
    """A bound Java method; errors surface as Py4J's exceptions."""

    __slots__ = ()

    def __call__(self, *args: Any) -> Any:
        try:
            return self._call(self._kind, self._target, self._name, args)
        except JavaException as e:
            return _raise_java(e, _target_label(self._call.__self__, self._kind, self._target), self._name)


def _target_label(client: Any, kind: int, target: int) -> str:
    """What Py4J's error message names as the call's target: `o<id>`, or `z:<class>` for a static."""
    if kind == p.TARGET_OBJECT:
        return f"o{target:x}"
    for cls in list(client._classes.values()):
        if cls is not None and cls._class_id == target:
            return f"z:{cls._fqn}"
    return f"z:class#{target}"


class JavaObject(_GObject, _jg.JavaObject):
    """A live Java object, also a `py4j.java_gateway.JavaObject`, with Py4J's Python behaviour.

    As in Py4J: `==` is Java's `equals` against another Java object (and defers to the other
    operand otherwise, so a Java list never equals a Python list), `hash` is `hashCode`, `str` is
    `toString` and `repr` is `JavaObject id=o...`.
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        member = JavaMember(self._client, p.TARGET_OBJECT, self._handle, name, self)
        self.__dict__[name] = member
        return member

    def _member(self, name: str) -> JavaMember:
        """The Java method `name`, even where a Python method of that name shadows it (get, add, ...).

        Cached under a key that no attribute lookup finds, so the Python method keeps winning."""
        key = "\0" + name
        member = self.__dict__.get(key)
        if member is None:
            member = JavaMember(self._client, p.TARGET_OBJECT, self._handle, name, self)
            self.__dict__[key] = member
        return member

    def _j(self, method: str, *args: Any) -> Any:
        return self._member(method)(*args)

    @property
    def _target_id(self) -> str:
        return f"o{self._handle:x}"

    @property
    def _gateway_client(self) -> Any:
        return self._client.gateway_client

    def _get_object_id(self) -> str:
        return self._target_id

    def _detach(self) -> None:
        self._client.detach(self)

    def __del__(self) -> None:
        _GObject.__del__(self)

    # Py4J's JavaObject.__eq__/__hash__/__str__/__repr__, through Gatun calls.
    def __eq__(self, other: object) -> Any:
        if other is None:
            return False
        if hasattr(other, "_get_object_id"):
            return self._member("equals")(other)
        return other.__eq__(self)

    def __hash__(self) -> int:
        return self._member("hashCode")()

    def __str__(self) -> str:
        return self._member("toString")()

    def __repr__(self) -> str:
        return "JavaObject id=" + self._target_id


# Py4J's collection classes keep their Java methods in attributes set by their __init__ (which
# talks Py4J's protocol and is not run here); these give the same members over Gatun.
def _member_property(java_name: str) -> property:
    return property(lambda self: self._member(java_name), doc=f"The Java method {java_name}().")


def _collections_class(cls: type, py4j_cls: type) -> type:
    """Give `cls` the Python-level behaviour of Py4J's `py4j_cls`: Py4J's own methods (they call
    Java through attributes, which work over Gatun), except those `cls` defines itself (the ones
    that send Py4J's protocol commands), and Py4J's JavaObject dunders where Py4J's class has none.
    The Gatun proxy's methods (Gatun's own, more Pythonic semantics) are not used."""
    gatun_names = {n for b in cls.__mro__ if b.__module__ == _GObject.__module__ for n in b.__dict__}
    skip = {"__init__", "__getattr__", "__setattr__", "__del__", "__dir__", "_j", "__module__", "__doc__",
            "__dict__", "__weakref__", "__qualname__", "__abstractmethods__", "_abc_impl", "__slots__",
            "__annotations__", "__parameters__", "__orig_bases__", "__ne__"}
    for name in (gatun_names | set(py4j_cls.__dict__)) - skip - set(cls.__dict__):
        if name in py4j_cls.__dict__:
            setattr(cls, name, py4j_cls.__dict__[name])
        elif name in JavaObject.__dict__:
            setattr(cls, name, JavaObject.__dict__[name])
        else:  # a Gatun-only helper or protocol method: the one from the abc (or object), as Py4J has
            for base in py4j_cls.__mro__:
                if name in base.__dict__:
                    setattr(cls, name, base.__dict__[name])
                    break
    return cls


def _new_java(client: Any, fqn: str, *args: Any) -> Any:
    return client._resolve_class(fqn)(*args)


class JavaList(JavaObject, _GList, _jc.JavaList):
    """A java.util.List as Py4J's JavaList: slices are new Java lists, `index` of a missing value
    is -1, `insert` past either end appends, `repr`/`str` print like a Python list."""

    java_remove = _member_property("remove")

    def _JavaList__get_slice(self, indices: range) -> Any:  # Py4J: a new ArrayList, built in Java
        new = _new_java(self._client, "java.util.ArrayList")
        if indices.step == 1:
            if len(indices):
                new.addAll(self.subList(indices.start, indices.stop))
        else:
            for i in indices:
                new.add(self.get(i))
        return new

    def __add__(self, other: Any) -> Any:
        other._get_object_id()  # as Py4J: only another Java list concatenates
        new = _new_java(self._client, "java.util.ArrayList", self)
        new.addAll(other)
        return new

    def __mul__(self, other: int) -> Any:
        new = _new_java(self._client, "java.util.ArrayList")
        for _ in range(other):
            new.addAll(self)
        return new

    def __imul__(self, other: int) -> Any:
        if other <= 0:
            self._member("clear")()
        elif other > 1:
            copy = _new_java(self._client, "java.util.ArrayList", self)
            for _ in range(other - 1):
                self.addAll(copy)
        return self

    def count(self, value: Any) -> int:
        return self._client._resolve_class("java.util.Collections").frequency(self, value)

    def sort(self) -> None:
        self._client._resolve_class("java.util.Collections").sort(self)

    def reverse(self) -> None:
        self._client._resolve_class("java.util.Collections").reverse(self)


class JavaMap(JavaObject, _GMap, _jc.JavaMap):
    """A java.util.Map as Py4J's JavaMap: `m[k]` is Java's `get` (None for a missing key), `del`
    is Java's `remove`, `repr`/`str` print like a Python dict."""

    _get = _member_property("get")


class JavaSet(JavaObject, _GSet, _jc.JavaSet):
    """A java.util.Set as Py4J's JavaSet: `repr`/`str` print like a Python set."""

    _add = _member_property("add")
    _clear = _member_property("clear")
    _remove = _member_property("remove")


class JavaArray(JavaObject, _GArray, _jc.JavaArray):
    """A Java array as Py4J's JavaArray: a fixed-length sequence; a slice is a new Java array of
    the same type; `str` is Java's `toString`."""

    def __len__(self) -> int:
        return self._client._array(self._handle, p.ARRAY_LENGTH)

    def _JavaArray__compute_item(self, key: int) -> Any:
        return self._client._array(self._handle, p.ARRAY_GET, self._JavaArray__compute_index(key))

    def _JavaArray__set_item(self, key: int, value: Any) -> None:
        self._client._array(self._handle, p.ARRAY_SET, self._JavaArray__compute_index(key), value)

    def _JavaArray__get_slice(self, indices: range) -> Any:
        arrays = self._client._resolve_class("java.util.Arrays")
        if indices.step == 1:
            return arrays.copyOfRange(self, indices.start, max(indices.start, indices.stop))
        new = arrays.copyOfRange(self, 0, len(indices))
        for k, i in enumerate(indices):
            self._client._array(new._handle, p.ARRAY_SET, k, self._client._array(self._handle, p.ARRAY_GET, i))
        return new

    def __iter__(self) -> Any:  # one round trip for all the elements (Py4J: one per element)
        return iter(self._client._array(self._handle, p.ARRAY_SLICE, 0, len(self)))


class JavaIterator(JavaObject, _GIterator, _jc.JavaIterator):
    """A java.util.Iterator as Py4J's JavaIterator: `next(it)` and `it.next()` call Java's
    `next()` and raise StopIteration at the end (NoSuchElementException). Unlike Py4J, another Java
    exception thrown by the iterator is raised as Py4JJavaError, not hidden as the end."""

    def __next__(self) -> Any:
        try:
            return self._client._call(p.TARGET_OBJECT, self._handle, "next", ())
        except JavaException as e:
            if e.class_name == "java.util.NoSuchElementException":
                raise StopIteration from None
            return _raise_java(e, self._target_id, "next")

    next = __next__

    def __iter__(self) -> "JavaIterator":
        return self


for _cls, _py4j_cls in ((JavaList, _jc.JavaList), (JavaMap, _jc.JavaMap), (JavaSet, _jc.JavaSet),
                        (JavaArray, _jc.JavaArray), (JavaIterator, _jc.JavaIterator)):
    _collections_class(_cls, _py4j_cls)


class JavaClass(_GClass, _jg.JavaClass):
    """A Java class (static members, construction), also a `py4j.java_gateway.JavaClass`."""

    _member_type = JavaMember

    def __call__(self, *args: Any) -> Any:
        try:
            return self._client._new(self._class_id, args)
        except JavaException as e:
            return _raise_java(e, "None", self._fqn)  # Py4J's words for a constructor

    def __getattr__(self, name: str) -> Any:
        try:
            return _GClass.__getattr__(self, name)
        except JavaException as e:
            return _raise_java(e, self._fqn, name)
        except AttributeError:
            raise Py4JError(f"{self._fqn}.{name} does not exist in the JVM") from None

    @property
    def _gateway_client(self) -> Any:
        return self._client.gateway_client


_OriginalJavaClass = _jg.JavaClass


class _ByNameMeta(type(_OriginalJavaClass)):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _OriginalJavaClass)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _OriginalJavaClass)


class JavaClassByName(_OriginalJavaClass, metaclass=_ByNameMeta):
    """Stands in for `py4j.java_gateway.JavaClass` where code builds a class by name.

    `JavaClass(fqn, gateway_client)` returns this gateway's class proxy when the client is a
    Gatun one, and Py4J's own JavaClass otherwise; isinstance checks see Py4J's class.
    """

    def __new__(cls, fqn: str, gateway_client: Any) -> Any:
        gatun = getattr(gateway_client, "_gatun", None)
        if gatun is None:
            return _OriginalJavaClass(fqn, gateway_client)
        found = gatun._resolve_class(fqn)
        if found is None:
            raise Py4JError(f"{fqn} does not exist in the JVM")
        return found


class JavaPackage(_GPackage, _jg.JavaPackage):
    def __call__(self, *args: Any) -> Any:
        raise TypeError(f"{self._fqn} is not a Java class the server can find (so it is taken as a package)")


_PRIMITIVES = frozenset({"boolean", "byte", "char", "short", "int", "long", "float", "double"})


class _TypeUtil:
    """Serves `py4j.reflection.TypeUtil.isInstanceOf`, which Py4J's `is_instance_of` calls."""

    def __init__(self, client: "CompatClient"):
        self._client = client

    def isInstanceOf(self, java_class: Any, obj: Any) -> bool:  # noqa: N802 - Py4J's name
        if isinstance(java_class, _GObject):
            java_class = java_class.getName()
        return self._client.is_instance_of(obj, java_class)


class JVMView(_GView, _jg.JVMView):
    """The JVM view, also a `py4j.java_gateway.JVMView`; resolves primitive names for new_array."""

    def __getattr__(self, name: str) -> Any:
        if name in _PRIMITIVES:
            found = self._client._resolve_class(name)
            self.__dict__[name] = found
            return found
        if name == "py4j":
            return _Py4JPackage(self._client)
        return _GView.__getattr__(self, name)

    @property
    def _gateway_client(self) -> Any:
        return self._client.gateway_client

    @property
    def _id(self) -> str:
        return "j"


class _Py4JPackage:
    def __init__(self, client: "CompatClient"):
        self.reflection = type("reflection", (), {"TypeUtil": _TypeUtil(client)})()


# --- the client behind the gateway ------------------------------------------------------------


class CompatClient(GatunClient):
    """A GatunClient whose proxies are Py4J-compatible and whose errors are Py4J's."""

    def __init__(self, *args: Any, **kwargs: Any):
        install()
        self.gateway_client = _GatewayClient(self)
        super().__init__(*args, **kwargs)
        self.jvm = JVMView(self)

    def wrap_object(self, handle: int, shape: int) -> JavaObject:
        return _SHAPES.get(shape, JavaObject)(self, handle)

    def _java_exception(self, buf: Any, pos: int, end: int) -> Py4JJavaError:
        """Every Java exception, on every call path, as Py4J's Py4JJavaError (with `java_exception`).

        Method and constructor calls then pass it through `get_return_value` (see `_raise_java`),
        where PySpark's converter turns it into its own exceptions, as under Py4J."""
        e = GatunClient._java_exception(self, buf, pos, end)
        return Py4JJavaError("An error occurred while calling the JVM.\n", e.java_exception, e.stack_trace,
                             e.class_name, e.message)

    def wrap_class(self, class_id: int, name: str) -> JavaClass:
        return JavaClass(self, class_id, name)

    def _request(self, ch: Any, ftype: int, payload: Any, flush: bool = True) -> Any:
        try:
            return GatunClient._request(self, ch, ftype, payload, flush)
        except GatunRequestError as e:
            raise Py4JError(str(e)) from None
        except GatunConnectionError as e:
            raise Py4JNetworkError(str(e)) from None

    def convert(self, value: Any) -> Any:
        """Py4J's auto-conversion of values Gatun does not encode natively (protocol.py hook)."""
        if isinstance(value, abc.Set):
            return set(value)
        if isinstance(value, abc.Mapping) or (hasattr(value, "keys") and hasattr(value, "__getitem__")):
            return {k: value[k] for k in value.keys()}
        for converter in _pp.INPUT_CONVERTER:
            if type(converter).__module__.startswith("py4j."):
                continue  # Py4J's own collection converters: handled natively above and below
            if converter.can_convert(value):
                return converter.convert(value, self.gateway_client)
        if isinstance(value, abc.Iterable) and not isinstance(value, (str, bytes, bytearray)):
            return list(value)
        return None


_SHAPES = {
    p.SHAPE_OBJECT: JavaObject, p.SHAPE_LIST: JavaList, p.SHAPE_MAP: JavaMap, p.SHAPE_SET: JavaSet,
    p.SHAPE_ARRAY: JavaArray, p.SHAPE_ITERATOR: JavaIterator,
}


class _GatewayClient(_jg.GatewayClient):
    """What Py4J code finds as `gateway._gateway_client`: answers the commands Py4J helpers send."""

    def __init__(self, client: CompatClient):
        self._gatun = client
        self.converters = _pp.INPUT_CONVERTER

    def send_command(self, command: str, retry: bool = True, binary: bool = False) -> str:
        parts = command.split("\n")
        if parts[:2] == [_pp.JVMVIEW_COMMAND_NAME.strip(), _pp.JVM_IMPORT_SUB_COMMAND_NAME.strip()]:
            java_import(self._gatun.jvm, parts[3])
            return _pp.SUCCESS + _pp.VOID_TYPE
        raise Py4JError(f"this Py4J command is not available over Gatun: {parts[:2]!r}")

    def garbage_collect_object(self, target_id: str, enqueue: bool = True) -> None:
        if target_id.startswith("o"):
            self._gatun._drop(int(target_id[1:], 16))

    def shutdown_gateway(self) -> None:
        self._gatun.shutdown()

    def close(self, *args: Any, **kwargs: Any) -> None:
        self._gatun.close()


def java_import(jvm_view: Any, import_str: str) -> None:
    """Py4J's java_import, for a Gatun JVM view."""
    jvm_view._import(import_str)


def is_instance_of(gateway: Any, java_object: Any, java_class: Any) -> bool:
    if isinstance(java_class, _GClass):
        java_class = java_class._fqn
    elif isinstance(java_class, _GObject):
        java_class = java_class.getName()
    elif not isinstance(java_class, str):
        raise Py4JError("java_class must be a string, a JavaClass, or a JavaObject")
    return gateway._gatun.is_instance_of(java_object, java_class)


# --- gateways ---------------------------------------------------------------------------------
class _CallbackPool(abc.Mapping):
    """`gateway_property.pool`: the client's callback objects by id, as Py4J's PythonProxyPool.

    Spark's streaming checkpoints read a callback's id on the JVM side (the `id` field of its
    proxy's handler, the decimal callback id) and look it up here to pickle the Python function."""

    def __init__(self, client: Any):
        self._client = client

    def __getitem__(self, key: str) -> Any:
        try:
            return self._client._callbacks[int(key)]
        except (ValueError, TypeError):
            raise KeyError(key) from None

    def __iter__(self) -> abc.Iterator[str]:
        return (str(k) for k in list(self._client._callbacks))

    def __len__(self) -> int:
        return len(self._client._callbacks)


class _GatewayMixin:
    """The gateway surface PySpark uses, over one Gatun client."""

    _gatun: CompatClient

    def _init_gatun(self, client: CompatClient, auth_token: str | None) -> None:
        self.__dict__["_gatun"] = client
        self.__dict__["jvm"] = client.jvm
        self.__dict__["_gateway_client"] = client.gateway_client
        self.__dict__["gateway_parameters"] = _jg.GatewayParameters(auth_token=auth_token, auto_convert=True)
        self.__dict__["java_gateway_server"] = None
        self.__dict__["_callback_server"] = None
        self.__dict__["callback_server_parameters"] = _jg.CallbackServerParameters()
        self.__dict__["gateway_property"] = _jg.GatewayProperty(True, _CallbackPool(client))
        self.__dict__["proc"] = None

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def new_array(self, java_class: Any, *dimensions: int) -> Any:
        return self._gatun.new_array(java_class, *dimensions)

    def detach(self, java_object: Any) -> None:
        if isinstance(java_object, _GObject):
            self._gatun.detach(java_object)

    def start_callback_server(self, callback_server_parameters: Any = None) -> bool:
        return True  # callbacks need no server over Gatun: they come back on the channels

    def shutdown_callback_server(self, raise_exception: bool = False) -> None:
        pass

    def close(self, keep_callback_server: bool = False, close_callback_server_connections: bool = False) -> None:
        self._gatun.close()

    def shutdown(self, raise_exception: bool = False) -> None:
        self._gatun.close()

    @property
    def bridge(self) -> str:
        """Which bridge this gateway runs on: "gatun"."""
        return "gatun"


class JavaGateway(_GatewayMixin, _jg.JavaGateway):
    """Py4J's JavaGateway over Gatun.

    `JavaGateway(socket_path=..., start_server=True)` starts a Gatun server (the design document's
    form); `JavaGateway(socket_path=..., token=...)` attaches; `JavaGateway(client=...)` wraps one.
    """

    def __init__(self, socket_path: str | None = None, start_server: bool = False, token: Any = None,
                 client: CompatClient | None = None, **launch_options: Any):
        if client is None:
            if start_server or socket_path is None:
                if socket_path is not None:
                    launch_options["socket_path"] = socket_path
                client = CompatClient(**launch_options)
            else:
                client = CompatClient(socket_path, token).connect()
        self._init_gatun(client, client._token.hex())


class ClientServer(_GatewayMixin, _cs.ClientServer):
    """Py4J's ClientServer (pinned threads) over Gatun: every Python thread has its own JVM thread."""

    def __init__(self, client: CompatClient, auth_token: str | None = None):
        self._init_gatun(client, auth_token or client._token.hex())


JavaParameters = _cs.JavaParameters
PythonParameters = _cs.PythonParameters
GatewayParameters = _jg.GatewayParameters
CallbackServerParameters = _jg.CallbackServerParameters

__all__ = [
    "JavaGateway", "ClientServer", "JavaParameters", "PythonParameters", "GatewayParameters",
    "CallbackServerParameters", "JavaObject", "JavaClass", "JVMView", "JavaMember", "JavaPackage",
    "JavaList", "JavaMap", "JavaSet", "JavaArray", "JavaIterator", "java_import", "is_instance_of",
    "get_return_value", "register_input_converter", "smart_decode", "Py4JJavaError", "Py4JError",
    "Py4JNetworkError", "install", "CompatClient",
]
