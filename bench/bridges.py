"""Bridge adapters and the benchmark worker for bench/run_bench.py and bench/demo.py.

Each bridge (Gatun, Py4J, JPype) exposes the same set of operations as
zero-argument callables.  A worker process (``python bench/run_bench.py
--worker NAME``) owns exactly one bridge and answers JSON-line requests from
the driver, so that every bridge runs in its own process (JPype's in-process
JVM cannot be restarted, and the bridges must not disturb each other).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import traceback

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))

BRIDGES = ["gatun", "py4j", "jpype"]
BRIDGE_LABELS = {"gatun": "Gatun", "py4j": "Py4J", "jpype": "JPype"}

# (key, label, what it measures) -- order is the table order.
OPS = [
    ("prebound_call", "pre-bound call `m()` (m = sb.length)",
     "instance method call through a method handle bound once; the minimum cost of one Python->Java call"),
    ("static_call", "navigated static `java.lang.Math.max(1, 2)`",
     "static call with the full `jvm.java.lang.Math.max` attribute navigation every time"),
    ("new_object", "object creation `java.util.ArrayList()`",
     "constructor call returning a new object reference that is immediately dropped (and so released)"),
    ("string_1k", "1 KiB string arg `sb.indexOf(\"x\"*1024)`",
     "instance call with a 1024-character str argument"),
    ("bytes_1m", "1 MiB bytes arg `Arrays.hashCode(bytes)`",
     "static call with a 1 MiB bytes argument converted to byte[] (hashCode reads every byte)"),
    ("bytes_1m_len", "1 MiB bytes arg, O(1) use `new String(bytes, 0, 0)`",
     "the same 1 MiB bytes->byte[] argument to a constructor that only bounds-checks it: transfer cost alone"),
    ("list_1000", "1000-element list `Objects.hashCode(list)`",
     "static call with a 1000-int Python list converted to a java.util.List (hashCode reads every element)"),
    ("callback", "callback `Objects.requireNonNullElseGet(None, sup)`",
     "Python->Java call during which Java calls back into Python (Supplier.get) and gets the result"),
]
OP_KEYS = [k for k, _, _ in OPS]
OP_LABELS = {k: label for k, label, _ in OPS}
OP_SHORT = {
    "prebound_call": "pre-bound call",
    "static_call": "navigated static",
    "new_object": "object creation",
    "string_1k": "1 KiB string",
    "bytes_1m": "1 MiB bytes",
    "bytes_1m_len": "1 MiB bytes, O(1) use",
    "list_1000": "1000-elem list",
    "callback": "callback",
}

STRING_1K = "x" * 1024
BYTES_1M = b"\0" * (1 << 20)
LIST_1000 = list(range(1000))
PY4J_VERSION_PINNED = "0.10.9.9"


# --------------------------------------------------------------------------
# helpers shared with the driver
# --------------------------------------------------------------------------

def java_int(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= (1 << 31) else v


def java_bytes_hash(data: bytes) -> int:
    """java.util.Arrays.hashCode(byte[])"""
    if data and not any(data):  # fast path for zero-filled payloads
        r = 1
        p = pow(31, len(data), 1 << 32)
        return java_int(r * p)
    r = 1
    for b in data:
        r = (31 * r + (b - 256 if b > 127 else b)) & 0xFFFFFFFF
    return java_int(r)


def java_list_hash(items) -> int:
    """java.util.List.hashCode() of boxed non-negative small ints (Integer and Long hash alike)."""
    r = 1
    for x in items:
        r = (31 * r + x) & 0xFFFFFFFF
    return java_int(r)


def short_error(exc: BaseException, limit: int = 90) -> str:
    msg = f"{type(exc).__name__}: {exc}".strip()
    msg = msg.splitlines()[0] if msg else type(exc).__name__
    msg = msg.replace("|", "/")
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


def resolve_java() -> dict:
    """Locate the single `java` that every bridge uses: $JAVA_HOME, else `java` on PATH."""
    jh = os.environ.get("JAVA_HOME")
    java = os.path.join(jh, "bin", "java") if jh else shutil.which("java")
    if not java or not os.path.exists(java):
        raise RuntimeError("no java found (set JAVA_HOME or put java on PATH)")
    out = subprocess.run([java, "-XshowSettings:properties", "-version"],
                         capture_output=True, text=True, timeout=60).stderr
    home = None
    for line in out.splitlines():
        s = line.strip()
        if s.startswith("java.home ="):
            home = s.split("=", 1)[1].strip()
    if not home:
        home = os.path.dirname(os.path.dirname(os.path.realpath(java)))
    ver = subprocess.run([os.path.join(home, "bin", "java"), "-version"],
                         capture_output=True, text=True, timeout=60).stderr.strip().splitlines()
    return {
        "java_home": home,
        "java": os.path.join(home, "bin", "java"),
        "libjvm": os.path.join(home, "lib", "server", "libjvm.so"),
        "version_lines": ver,
    }


# --------------------------------------------------------------------------
# bridges
# --------------------------------------------------------------------------

class Bridge:
    name = "?"
    bytes_arg = staticmethod(lambda b: b)  # how this bridge passes bytes as byte[]

    def __init__(self):
        self.ops: dict = {}
        self.verifiers: dict = {}
        self.info: dict = {}
        self.roundtrips: dict = {}

    def close(self):
        pass


def _common_ops(bridge: Bridge, jvm, sup, bytes_call, bytes_len_call, list_call):
    """Operations written identically against a Py4J-style `jvm` view (Gatun and Py4J)."""
    sb = jvm.java.lang.StringBuilder("abc")
    m = sb.length  # bound once
    s1k = STRING_1K
    bridge._keep = (sb, m, sup)
    bridge.ops = {
        "prebound_call": m,
        "static_call": lambda: jvm.java.lang.Math.max(1, 2),
        "new_object": lambda: jvm.java.util.ArrayList(),
        "string_1k": lambda: sb.indexOf(s1k),
        "bytes_1m": bytes_call,
        "bytes_1m_len": bytes_len_call,
        "list_1000": list_call,
        "callback": lambda: jvm.java.util.Objects.requireNonNullElseGet(None, sup),
    }

    def v_new():
        o = bridge.ops["new_object"]()
        name = str(o.getClass().getName())
        assert name == "java.util.ArrayList", f"created {name}"
        assert o.size() == 0

    def v_string():
        assert bridge.ops["string_1k"]() == -1
        # the string really arrives intact: a builder containing it finds it at offset 2
        assert jvm.java.lang.StringBuilder("ab" + s1k).indexOf(s1k) == 2, "1 KiB string not found"

    def v_callback():
        before = sup.calls
        r = bridge.ops["callback"]()
        assert r == 1, f"callback returned {r!r}"
        assert sup.calls == before + 1, f"Supplier.get called {sup.calls - before} times"

    def v_bytes_len():
        _expect(str(bridge.ops["bytes_1m_len"]()), "")
        # the whole array arrived: its last byte is in bounds (else StringIndexOutOfBoundsException)
        last = bridge.bytes_arg(BYTES_1M[:-1] + b"A")
        _expect(str(jvm.java.lang.String(last, len(BYTES_1M) - 1, 1)), "A")

    bridge.verifiers = {
        "prebound_call": lambda: _expect(m(), 3),
        "static_call": lambda: _expect(bridge.ops["static_call"](), 2),
        "new_object": v_new,
        "string_1k": v_string,
        "bytes_1m": lambda: _expect(bridge.ops["bytes_1m"](), java_bytes_hash(BYTES_1M)),
        "bytes_1m_len": v_bytes_len,
        "list_1000": lambda: _expect(bridge.ops["list_1000"](), java_list_hash(LIST_1000)),
        "callback": v_callback,
    }


def _expect(got, want):
    assert got == want, f"got {got!r}, expected {want!r}"


class GatunBridge(Bridge):
    name = "gatun"

    def __init__(self):
        super().__init__()
        import gatun
        from gatun import GatunClient

        self.info["gatun_version"] = getattr(gatun, "__version__", "unknown")
        self.client = GatunClient()
        jvm = self.client.jvm

        class Sup:
            class Java:
                implements = ["java.util.function.Supplier"]

            def __init__(self):
                self.calls = 0

            def get(self):
                self.calls += 1
                return 1

        sup = Sup()
        b1m, l1k = BYTES_1M, LIST_1000
        _common_ops(
            self, jvm, sup,
            bytes_call=lambda: jvm.java.util.Arrays.hashCode(b1m),
            bytes_len_call=lambda: jvm.java.lang.String(b1m, 0, 0),
            list_call=lambda: jvm.java.util.Objects.hashCode(l1k),
        )

    def close(self):
        self.client.close()


class Py4JBridge(Bridge):
    """Py4J the way PySpark uses it: pinned-thread ClientServer, auto_convert=True."""

    name = "py4j"

    def __init__(self):
        super().__init__()
        from py4j.clientserver import ClientServer, JavaParameters, PythonParameters
        from py4j.version import __version__ as p4v

        self.info["py4j_version"] = p4v
        jar = find_py4j_jar()
        self.info["py4j_jar"] = jar
        java = os.environ.get("BENCH_JAVA") or resolve_java()["java"]
        secret = secrets.token_hex(16)
        env = dict(os.environ, PY4J_BENCH_SECRET=secret)
        self.proc = subprocess.Popen(
            [java, "-cp", jar, os.path.join(BENCH_DIR, "Py4JBenchServer.java")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        port = _read_port(self.proc, timeout=60)
        self.cs = ClientServer(
            java_parameters=JavaParameters(port=port, auth_token=secret, auto_convert=True),
            python_parameters=PythonParameters(port=0, eager_load=False),
        )
        jvm = self.cs.jvm

        class Sup:
            class Java:
                implements = ["java.util.function.Supplier"]

            def __init__(self):
                self.calls = 0

            def get(self):
                self.calls += 1
                return 1

        sup = Sup()
        b1m, l1k = BYTES_1M, LIST_1000
        _common_ops(
            self, jvm, sup,
            bytes_call=lambda: jvm.java.util.Arrays.hashCode(b1m),
            bytes_len_call=lambda: jvm.java.lang.String(b1m, 0, 0),
            list_call=lambda: jvm.java.util.Objects.hashCode(l1k),
        )

    def count_roundtrips(self):
        """Number of Python->Java commands one call of each op sends."""
        import threading

        client = self.cs._gateway_client
        orig = client.send_command
        counter = [0]
        me = threading.get_ident()

        def counting(*a, **kw):
            if threading.get_ident() == me:  # not the memory-management thread's releases
                counter[0] += 1
            return orig(*a, **kw)

        client.send_command = counting
        try:
            for k, f in self.ops.items():
                counter[0] = 0
                f()
                self.roundtrips[k] = counter[0]
        finally:
            del client.send_command

    def close(self):
        try:
            self.cs.shutdown()
        finally:
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except Exception:
                self.proc.kill()


def find_py4j_jar() -> str:
    import py4j

    cands = [
        os.path.join(sys.prefix, "share", "py4j", f"py4j{PY4J_VERSION_PINNED}.jar"),
        os.path.join(os.path.dirname(py4j.__file__), "..", "..", "..", "..", "share", "py4j",
                     f"py4j{PY4J_VERSION_PINNED}.jar"),
    ]
    for c in cands:
        if os.path.exists(c):
            return os.path.realpath(c)
    share = os.path.join(sys.prefix, "share", "py4j")
    if os.path.isdir(share):
        for f in sorted(os.listdir(share)):
            if f.startswith("py4j") and f.endswith(".jar"):
                return os.path.join(share, f)
    raise RuntimeError("py4j jar not found under sys.prefix/share/py4j")


def _read_port(proc, timeout):
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"Py4J JVM exited (rc={proc.wait()})")
        if line.startswith("PY4J_PORT "):
            return int(line.split()[1])
    proc.kill()
    raise RuntimeError("Py4J JVM did not report its port in time")


class JPypeBridge(Bridge):
    """JPype, in-process JVM.  bytes and lists need explicit conversion."""

    name = "jpype"

    def __init__(self):
        super().__init__()
        import jpype
        from jpype import JArray, JByte, JImplements, JOverride

        self.info["jpype_version"] = jpype.__version__
        libjvm = os.environ.get("BENCH_LIBJVM") or resolve_java()["libjvm"]
        jpype.startJVM(libjvm, convertStrings=False)
        jvm = jpype  # jpype.java.lang.Math ... navigates packages like a Py4J jvm view

        @JImplements("java.util.function.Supplier")
        class Sup:
            def __init__(self):
                self.calls = 0

            @JOverride
            def get(self):
                self.calls += 1
                return 1

        sup = Sup()
        b1m, l1k = BYTES_1M, LIST_1000
        self.bytes_arg = lambda b: JArray(JByte)(b)
        # JPype has no implicit bytes->byte[] for an overloaded method (ambiguous) and no
        # list->Object conversion: do the idiomatic explicit conversion inside the call.
        _common_ops(
            self, jvm, sup,
            bytes_call=lambda: jvm.java.util.Arrays.hashCode(JArray(JByte)(b1m)),
            bytes_len_call=lambda: jvm.java.lang.String(JArray(JByte)(b1m), 0, 0),
            list_call=lambda: jvm.java.util.Objects.hashCode(jvm.java.util.ArrayList(l1k)),
        )

    def measure_floor(self, seconds: float = 2.0):
        """Java-side cost of the 1 MiB op alone: Arrays.hashCode on an existing byte[]."""
        import jpype
        from jpype import JArray, JByte

        arr = JArray(JByte)(BYTES_1M)
        hc = jpype.java.util.Arrays.hashCode
        time_slice(lambda: hc(arr), 1, seconds / 2)  # warm-up / JIT
        s = sorted(time_slice(lambda: hc(arr), 1, seconds / 2))
        return s[len(s) // 2]

    def close(self):
        pass  # the JVM goes away with the process


BRIDGE_CLASSES = {"gatun": GatunBridge, "py4j": Py4JBridge, "jpype": JPypeBridge}


# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------

def time_slice(f, batch: int, seconds: float, min_batches: int = 3, max_batches: int = 10 ** 7):
    """Run batches of `batch` calls for ~`seconds`; return per-call ns of each batch."""
    pc = time.perf_counter_ns
    rng = range(batch)
    out = []
    end = pc() + int(seconds * 1e9)
    while True:
        t0 = pc()
        for _ in rng:
            f()
        t1 = pc()
        out.append((t1 - t0) / batch)
        if (t1 >= end and len(out) >= min_batches) or len(out) >= max_batches:
            return out


def per_call(f, seconds: float, warmup: float) -> dict:
    """Warm `f` up, then time each call on its own for ~`seconds`: the median and tail of single
    calls (bench/load_bench.py; a batch mean would hide the tail)."""
    pc = time.perf_counter_ns
    end = pc() + int(warmup * 1e9)
    while pc() < end:
        f()
    samples = []
    end = pc() + int(seconds * 1e9)
    while True:
        t0 = pc()
        f()
        t1 = pc()
        samples.append(t1 - t0)
        if t1 >= end and len(samples) >= 20:
            break
    samples.sort()
    n = len(samples)
    return {"n": n, "median_ns": samples[n // 2], "p99_ns": samples[min(n - 1, n * 99 // 100)],
            "max_ns": samples[-1]}


def calibrate(f, seconds: float, target_batch_ns: float, max_batch: int) -> int:
    """Warm up `f` for ~`seconds` and choose a batch size of about `target_batch_ns`."""
    samples = time_slice(f, 1, min(seconds, 0.05), min_batches=3)
    per = sorted(samples)[len(samples) // 2]
    batch = max(1, min(max_batch, int(target_batch_ns // max(per, 1.0))))
    rest = seconds - 0.05
    if rest > 0:
        samples = time_slice(f, batch, rest, min_batches=3)
        per = sorted(samples)[len(samples) // 2]
        batch = max(1, min(max_batch, int(target_batch_ns // max(per, 1.0))))
    return batch


# --------------------------------------------------------------------------
# worker process
# --------------------------------------------------------------------------

def worker_main(name: str) -> int:
    # Keep the protocol on private fds: anything the bridge or its JVM prints to
    # stdout goes to stderr instead, and nothing can read our requests.
    proto_in = os.fdopen(os.dup(0), "r")
    proto_out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(obj):
        proto_out.write(json.dumps(obj) + "\n")
        proto_out.flush()

    bridge = None
    try:
        bridge = BRIDGE_CLASSES[name]()
    except BaseException as e:  # noqa: BLE001
        traceback.print_exc()
        send({"ok": False, "error": short_error(e)})
        return 1

    verify = {}
    for k in OP_KEYS:
        try:
            bridge.verifiers[k]()
            verify[k] = None
        except BaseException as e:  # noqa: BLE001
            traceback.print_exc()
            verify[k] = short_error(e)
    if isinstance(bridge, Py4JBridge):
        try:
            bridge.count_roundtrips()
        except Exception:  # noqa: BLE001
            traceback.print_exc()
    send({"ok": True, "info": bridge.info, "verify": verify, "roundtrips": bridge.roundtrips,
          "pid": os.getpid()})

    for line in proto_in:
        req = json.loads(line)
        cmd = req.get("cmd")
        if cmd == "quit":
            break
        try:
            f = bridge.ops.get(req.get("op"))
            if cmd == "warmup":
                b = calibrate(f, req["seconds"], req["target_batch_ns"], req["max_batch"])
                send({"batch": b})
            elif cmd == "floor":
                send({"floor_ns": bridge.measure_floor()})
            elif cmd == "percall":
                send(per_call(f, req["seconds"], req.get("warmup", 0.3)))
            elif cmd == "run":
                s = time_slice(f, req["batch"], req["seconds"], req.get("min_batches", 3))
                send({"samples": s})
            else:
                send({"error": f"unknown command {cmd!r}"})
        except BaseException as e:  # noqa: BLE001
            traceback.print_exc()
            send({"error": short_error(e)})
    try:
        bridge.close()
    except Exception:  # noqa: BLE001
        traceback.print_exc()
    return 0
