"""Python proxies of Java things: objects, members, classes, packages and collections.

Every proxy holds its client; the client does the talking. Resolution results are cached on the
proxies (members in the instance `__dict__`, so a bound member costs one dictionary lookup), so a
navigated call such as `jvm.java.lang.Math.max(1, 2)` costs one round trip once warmed up.
"""
from __future__ import annotations

import collections.abc as abc
from typing import TYPE_CHECKING, Any, Iterator

from . import protocol as p

if TYPE_CHECKING:
    from .client import GatunClient


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


class JavaMember:
    """A method of a Java object or class, bound to its target. Calling it calls Java."""

    __slots__ = ("_call", "_kind", "_target", "_name", "_owner")

    def __init__(self, client: "GatunClient", kind: int, target: int, name: str, owner: Any = None):
        self._call = client._call
        self._kind = kind
        self._target = target
        self._name = name
        # Keeps the object alive while its method is: `x.get().size()` must not release the
        # result of get() before size() runs. (The object caches the member: a cycle, which
        # the cyclic collector frees, as with Py4J.)
        self._owner = owner

    def __call__(self, *args: Any) -> Any:
        return self._call(self._kind, self._target, self._name, args)

    def __repr__(self) -> str:
        return f"<JavaMember {self._name}>"


class JavaObject:
    """A live Java object. Attribute access names its methods; fields use get_field/set_field.

    Equality is Java's `equals`, hashing its `hashCode`, `str` its `toString`. When the proxy is
    collected its handle is released in the JVM (in batches).
    """

    def __init__(self, client: "GatunClient", handle: int):
        self.__dict__["_client"] = client
        self.__dict__["_handle"] = handle

    def __getattr__(self, name: str) -> JavaMember:
        if _is_dunder(name):
            raise AttributeError(name)
        member = JavaMember(self._client, p.TARGET_OBJECT, self._handle, name, self)
        self.__dict__[name] = member
        return member

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot set {name!r} on a Java object proxy: use gatun.set_field(obj, name, value)")

    def _j(self, method: str, *args: Any) -> Any:
        """Call a Java method by name, even one that a Python mixin shadows (get, remove, ...)."""
        return self._client._call(p.TARGET_OBJECT, self._handle, method, args)

    def __del__(self) -> None:
        try:
            self._client._drop(self._handle)
        except Exception:
            pass  # interpreter shutdown: the session's end releases everything anyway

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, (JavaObject, JavaClass)) and other is not None:
            return NotImplemented
        return bool(self._client._call(p.TARGET_OBJECT, self._handle, "equals", (other,)))

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return self._client._call(p.TARGET_OBJECT, self._handle, "hashCode", ())

    def __str__(self) -> str:
        return self._client._call(p.TARGET_OBJECT, self._handle, "toString", ())

    def __repr__(self) -> str:
        return f"JavaObject id=0x{self._handle:016x}"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {"get_field", "set_field"})


class JavaIterator(JavaObject, abc.Iterator):
    """A java.util.Iterator as a Python iterator."""

    def __next__(self) -> Any:
        if not self._j("hasNext"):
            raise StopIteration
        return self._j("next")

    def __iter__(self) -> "JavaIterator":
        return self


class JavaCollection(JavaObject):
    def __len__(self) -> int:
        return self.size()

    def __iter__(self) -> Iterator[Any]:
        return self.iterator()

    def __contains__(self, value: object) -> bool:
        return bool(self.contains(value))


class JavaList(JavaCollection, abc.MutableSequence):
    """A java.util.List as a Python MutableSequence (live: changes go to the Java list)."""

    def _index(self, i: int) -> int:
        n = self.size()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("list index out of range")
        return i

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self.get(k) for k in range(*i.indices(self.size()))]
        return self.get(self._index(i))

    def __setitem__(self, i: Any, value: Any) -> None:
        if isinstance(i, slice):
            items = list(value)
            indices = range(*i.indices(self.size()))
            if i.step not in (None, 1):
                if len(items) != len(indices):
                    raise ValueError("attempt to assign sequence of wrong size to extended slice")
                for k, v in zip(indices, items):
                    self.set(k, v)
                return
            del self[i]
            for offset, v in enumerate(items):
                self.add(indices.start + offset, v)
            return
        self.set(self._index(i), value)

    def __delitem__(self, i: Any) -> None:
        if isinstance(i, slice):
            for k in sorted(range(*i.indices(self.size())), reverse=True):
                self._j("remove", k)
            return
        self._j("remove", self._index(i))

    def insert(self, index: int, value: Any) -> None:
        n = self.size()
        index = max(0, min(n, index + n if index < 0 else index))
        self.add(index, value)

    def append(self, value: Any) -> None:
        self.add(value)

    def __str__(self) -> str:
        return JavaObject.__str__(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list):
            return list(self) == other
        return JavaObject.__eq__(self, other)

    __hash__ = JavaObject.__hash__


class JavaSet(JavaCollection, abc.MutableSet):
    """A java.util.Set as a Python MutableSet."""

    def add(self, value: Any) -> None:  # type: ignore[override]
        self._j("add", value)

    def discard(self, value: Any) -> None:
        self._j("remove", value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (set, frozenset)):
            return set(self) == other
        return JavaObject.__eq__(self, other)

    __hash__ = JavaObject.__hash__


class JavaMap(JavaObject, abc.MutableMapping):
    """A java.util.Map as a Python MutableMapping."""

    def __getitem__(self, key: Any) -> Any:
        value = self._j("get", key)
        if value is None and not self._j("containsKey", key):
            raise KeyError(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        self._j("put", key, value)

    def __delitem__(self, key: Any) -> None:
        if not self._j("containsKey", key):
            raise KeyError(key)
        self._j("remove", key)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._j("keySet"))

    def __len__(self) -> int:
        return self._j("size")

    def __contains__(self, key: object) -> bool:
        return bool(self._j("containsKey", key))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dict):
            return dict(self.items()) == other
        return JavaObject.__eq__(self, other)

    __hash__ = JavaObject.__hash__


class JavaArray(JavaObject, abc.Sequence):
    """A Java array: len, index (negative too), slices (a list), item assignment."""

    def __len__(self) -> int:
        return self._client._array(self._handle, p.ARRAY_LENGTH)

    def __getitem__(self, i: Any) -> Any:
        n = len(self)
        if isinstance(i, slice):
            start, stop, step = i.indices(n)
            if step == 1:
                return self._client._array(self._handle, p.ARRAY_SLICE, start, max(start, stop))
            return [self._client._array(self._handle, p.ARRAY_GET, k) for k in range(start, stop, step)]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("array index out of range")
        return self._client._array(self._handle, p.ARRAY_GET, i)

    def __setitem__(self, i: int, value: Any) -> None:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("array assignment index out of range")
        self._client._array(self._handle, p.ARRAY_SET, i, value)

    def __iter__(self) -> Iterator[Any]:
        return iter(self[:])

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, JavaArray) and self._handle == other._handle)

    def __hash__(self) -> int:
        return hash(self._handle)

    def __str__(self) -> str:
        return str(self[:])


SHAPE_CLASSES: dict[int, type[JavaObject]] = {
    p.SHAPE_OBJECT: JavaObject,
    p.SHAPE_LIST: JavaList,
    p.SHAPE_MAP: JavaMap,
    p.SHAPE_SET: JavaSet,
    p.SHAPE_ARRAY: JavaArray,
    p.SHAPE_ITERATOR: JavaIterator,
}


class JavaClass:
    """A Java class: call it to construct, reach its static methods, fields and nested classes."""

    _member_type = JavaMember

    def __init__(self, client: "GatunClient", class_id: int, name: str):
        self.__dict__.update(_client=client, _class_id=class_id, _fqn=name, _fields=set())

    def __call__(self, *args: Any) -> Any:
        return self._client._new(self._class_id, args)

    def __getattr__(self, name: str) -> Any:
        if _is_dunder(name):
            raise AttributeError(name)
        if name in self._fields:
            return self._client._get_field(p.TARGET_CLASS, self._class_id, name)
        kind = self._client._resolve_member(self._class_id, name)
        if kind == 1:
            member = self._member_type(self._client, p.TARGET_CLASS, self._class_id, name)
            self.__dict__[name] = member
            return member
        if kind == 2:
            self._fields.add(name)
            return self._client._get_field(p.TARGET_CLASS, self._class_id, name)
        if isinstance(kind, JavaClass):
            self.__dict__[name] = kind
            return kind
        raise AttributeError(f"Java class {self._fqn} has no public static member named {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        self._client._set_field(p.TARGET_CLASS, self._class_id, name, value)

    def __repr__(self) -> str:
        return f"<JavaClass {self._fqn}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JavaClass) and other._fqn == self._fqn and other._client is self._client

    def __hash__(self) -> int:
        return hash(self._fqn)


class JavaPackage:
    """A Java package name; attributes are sub-packages or classes, resolved once and cached."""

    def __init__(self, client: "GatunClient", name: str):
        self.__dict__.update(_client=client, _fqn=name)

    def __getattr__(self, name: str) -> Any:
        if _is_dunder(name):
            raise AttributeError(name)
        full = f"{self._fqn}.{name}"
        found = self._client._resolve_class(full)
        result = found if found is not None else JavaPackage(self._client, full)
        self.__dict__[name] = result
        return result

    def __call__(self, *args: Any) -> Any:
        raise TypeError(f"{self._fqn} is not a Java class the server can find (so it is taken as a package)")

    def __repr__(self) -> str:
        return f"<JavaPackage {self._fqn}>"


class JVMView:
    """The root of navigation: `jvm.java.util.ArrayList`, or a short name after `java_import`.

    A whole dotted name works as one attribute too: `getattr(jvm, "java.util.ArrayList")`.
    """

    def __init__(self, client: "GatunClient"):
        self.__dict__.update(_client=client, _imports={}, _wildcards=[])

    def __getattr__(self, name: str) -> Any:
        if _is_dunder(name):
            raise AttributeError(name)
        client = self._client
        if "." in name:
            found = client._resolve_class(name)
            if found is None:
                head, _, rest = name.partition(".")
                node: Any = getattr(self, head)
                for part in rest.split("."):
                    node = getattr(node, part)
                return node
            return found
        fqn = self._imports.get(name)
        if fqn is not None:
            found = client._resolve_class(fqn)
            if found is not None:
                self.__dict__[name] = found
                return found
        for package in self._wildcards:
            found = client._resolve_class(f"{package}.{name}")
            if found is not None:
                self.__dict__[name] = found
                return found
        if name[:1].isupper():
            found = client._resolve_class(f"java.lang.{name}")
            if found is not None:
                self.__dict__[name] = found
                return found
        package = JavaPackage(client, name)
        self.__dict__[name] = package
        return package

    def _import(self, name: str) -> None:
        if name.endswith(".*"):
            package = name[:-2]
            if package not in self._wildcards:
                self._wildcards.append(package)
            return
        short = name.rsplit(".", 1)[-1]
        self._imports[short] = name
        self.__dict__.pop(short, None)

    def __repr__(self) -> str:
        return "<JVMView>"
