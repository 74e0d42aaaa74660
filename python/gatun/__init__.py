"""Gatun: call the JVM from Python over shared memory.

    from gatun import GatunClient
    with GatunClient() as client:
        sb = client.jvm.java.lang.StringBuilder("abc")
        sb.append(1).length()
"""
from .client import GatunClient
from .errors import (
    GatunConnectionError, GatunError, GatunProtocolError, GatunRequestError, JavaException,
    LimitError, NotAllowedError,
)
from .launcher import ConnectionInfo, GatunLauncher
from .proxies import (
    JavaArray, JavaClass, JavaIterator, JavaList, JavaMap, JavaMember, JavaObject, JavaPackage,
    JavaSet, JVMView,
)
from .api import get_field, is_instance_of, java_import, set_field

__all__ = [
    "GatunClient", "GatunLauncher", "ConnectionInfo", "JavaObject", "JavaClass", "JavaMember",
    "JavaPackage", "JVMView", "JavaList", "JavaMap", "JavaSet", "JavaArray", "JavaIterator",
    "java_import", "is_instance_of", "get_field", "set_field", "GatunError", "GatunConnectionError",
    "GatunProtocolError", "GatunRequestError", "NotAllowedError", "LimitError", "JavaException",
]


def _version() -> str:
    # The installed distribution's version, which setup.py reads from VERSION (the one source).
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("gatun")
    except PackageNotFoundError:  # run from a source tree without installing
        from pathlib import Path
        f = Path(__file__).resolve().parents[2] / "VERSION"
        return f.read_text(encoding="ascii").strip() if f.is_file() else "0+unknown"


def __getattr__(name: str):
    # __version__ is looked up on first use: importlib.metadata costs ~12 ms of every start-up with
    # GATUN_PYSPARK=1 (the hook imports gatun in each Python process), and stock PySpark never
    # imports it.
    if name == "__version__":
        v = _version()
        globals()["__version__"] = v
        return v
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
