"""Module-level helpers in Py4J's style, working on any client's proxies."""
from __future__ import annotations

from typing import Any

from .proxies import JavaClass, JavaObject, JVMView


def java_import(jvm: JVMView, name: str) -> None:
    """Make `jvm.Short` find `pkg.Short` (`name` is `pkg.Short`), or every class of `pkg.*`."""
    jvm._import(name)


def is_instance_of(obj: Any, java_class: JavaClass | str) -> bool:
    """Java's `instanceof`, with a class proxy or a fully qualified class name."""
    if not isinstance(obj, JavaObject):
        return False
    return obj._client.is_instance_of(obj, java_class)


def get_field(obj: JavaObject | JavaClass, name: str) -> Any:
    """The value of a public field of a Java object (or a static field of a class)."""
    return obj._client.get_field(obj, name)


def set_field(obj: JavaObject | JavaClass, name: str, value: Any) -> None:
    """Assign a public field of a Java object (or a static field of a class)."""
    obj._client.set_field(obj, name, value)
