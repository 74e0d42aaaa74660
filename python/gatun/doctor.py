"""`python -m gatun doctor`: what is installed, which versions were found, what is missing and the
command that fixes it. Exits 1 if a check FAILs (Gatun cannot run here), else 0; WARN and SKIP
lines are for optional parts (PySpark, Arrow) or a slower set-up.

    python -m gatun doctor [--no-server] [--json]
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"
MIN_JAVA = 17
# The PySpark lines this release is tested with (README "Compatibility", bench/results/compat.md);
# gatun[pyspark] allows >=3.5,<5 (gatun.pyspark.MIN_PYSPARK).
TESTED_PYSPARK = "4.3"
TESTED_PYSPARK_LINES = ("3.5", "4.0", "4.1", "4.2", "4.3")
MIN_PYSPARK = (3, 5)
JARS = {
    "gatun-server.jar": "the server (required)",
    "gatun-arrow.jar": "the Arrow data plane with Arrow Java (send_arrow_buffers / get_arrow_data)",
    "gatun-spark.jar": "the Spark driver's main class for PySpark 4.x (GATUN_PYSPARK=1, python -m gatun.submit)",
    "gatun-spark35.jar": "the same for PySpark 3.5 (Spark 3.5, Scala 2.12)",
}


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def _pip(spec: str) -> str:
    return f"{Path(sys.executable).name} -m pip install '{spec}'"


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def check_package() -> Check:
    import gatun
    where = Path(gatun.__file__).resolve().parent
    kind = "editable (source checkout)" if (where.parent / "setup.py").is_file() else "installed"
    return Check("gatun", OK, f"{gatun.__version__} at {where} ({kind}), Python {sys.version.split()[0]}")


def check_native() -> Check:
    try:
        native = importlib.import_module("gatun._native")
    except ImportError as e:
        return Check("native", FAIL, f"the C extension gatun._native does not load: {e}",
                     "reinstall a wheel built for this Python and platform: " + _pip("gatun") +
                     " --force-reinstall (a source build needs a C compiler: apt-get install gcc python3-dev)")
    return Check("native", OK, f"{Path(native.__file__).name} ({sysconfig.get_platform()})")


def _manifest_version(jar: Path) -> str | None:
    try:
        with zipfile.ZipFile(jar) as z:
            manifest = z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    m = re.search(r"^Implementation-Version: (\S+)", manifest, re.M)
    return m.group(1) if m else None


def check_jars() -> list[Check]:
    import gatun
    jars = Path(gatun.__file__).resolve().with_name("jars")
    checks = []
    for name, what in JARS.items():
        jar = jars / name
        if not jar.is_file():
            status = FAIL if name == "gatun-server.jar" else WARN
            checks.append(Check(name, status, f"missing at {jar}: {what}",
                                "reinstall the wheel: " + _pip("gatun") + " --force-reinstall"
                                " (in a source checkout: make jar)"))
            continue
        detail = f"{jar.stat().st_size // 1024} KiB"
        jv = _manifest_version(jar)
        if name == "gatun-server.jar" and jv and jv != gatun.__version__:
            checks.append(Check(name, WARN, f"{detail}, version {jv} but the package is {gatun.__version__}",
                                "the jar and the package are from different builds: reinstall "
                                "(source checkout: make jar)"))
            continue
        checks.append(Check(name, OK, detail + (f", version {jv}" if jv else "")))
    return checks


_JAVA_VERSION = re.compile(r'version "([^"]+)"')


def check_java() -> tuple[Check, bool]:
    from .errors import GatunError
    from .launcher import java_executable
    fix = (f"install Java {MIN_JAVA} or later (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) "
           "and put it on PATH or set JAVA_HOME")
    try:
        java = java_executable()
    except GatunError as e:
        return Check("java", FAIL, str(e), fix), False
    source = "JAVA_HOME" if os.environ.get("JAVA_HOME") else "PATH"
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return Check("java", FAIL, f"{java}: {e}", fix), False
    m = _JAVA_VERSION.search(out.stderr + out.stdout)
    if not m:
        return Check("java", FAIL, f"{java} -version printed no version", fix), False
    v = m.group(1)
    parts = re.split(r"[._+-]", v)
    major = int(parts[1] if parts[0] == "1" and len(parts) > 1 else parts[0])
    if major < MIN_JAVA:
        return Check("java", FAIL, f"{java} (from {source}): Java {v}, {MIN_JAVA} or later needed", fix), False
    return Check("java", OK, f"{java} (from {source}): Java {v}"), True


def check_server() -> Check:
    from .client import GatunClient
    t0 = time.perf_counter()
    try:
        with GatunClient() as client:
            started = time.perf_counter() - t0
            n = client.jvm.java.lang.Math.max(2, 3)
    except Exception as e:  # noqa: BLE001 - the doctor reports any failure
        return Check("server", FAIL, f"starting a server and calling it failed: {type(e).__name__}: {e}",
                     "see the message; `python -m gatun doctor` lines above name a missing part")
    if n != 3:
        return Check("server", FAIL, f"Math.max(2, 3) returned {n!r}", "report this as a bug")
    return Check("server", OK, f"started in {started:.2f} s, a call answered")


def check_shm() -> Check:
    shm = Path("/dev/shm")
    if not shm.is_dir():
        return Check("shm", WARN, "/dev/shm is missing: regions go to the socket directory (slower)",
                     "mount a tmpfs at /dev/shm (docker: --shm-size=256m)")
    try:
        with tempfile.NamedTemporaryFile(dir=shm):
            pass
    except OSError as e:
        return Check("shm", WARN, f"/dev/shm is not writable: {e}", "make /dev/shm writable (mode 1777)")
    st = os.statvfs(shm)
    free = st.f_bavail * st.f_frsize // (1024 * 1024)
    if free < 64:
        return Check("shm", WARN, f"/dev/shm has {free} MiB free", "enlarge /dev/shm (docker: --shm-size=256m)")
    return Check("shm", OK, f"/dev/shm writable, {free} MiB free")


def _optional(name: str, module: str, extra: str, purpose: str, minimum: tuple[int, ...] = ()) -> Check:
    v = _dist_version(name)
    if v is None:
        return Check(name, SKIP, f"not installed (only needed for {purpose})", _pip(f"gatun[{extra}]"))
    found = tuple(int(x) for x in re.findall(r"\d+", v)[:len(minimum)])
    if minimum and found < minimum:
        want = ".".join(map(str, minimum))
        return Check(name, WARN, f"{v} is older than {want} ({purpose})", _pip(f"gatun[{extra}]") + " --upgrade")
    try:
        importlib.import_module(module)
    except Exception as e:  # noqa: BLE001
        return Check(name, FAIL, f"{v} is installed but `import {module}` fails: {e}",
                     _pip(f"gatun[{extra}]") + " --force-reinstall")
    return Check(name, OK, v)


def check_pyspark() -> list[Check]:
    checks = [_optional("pyspark", "pyspark", "pyspark", "PySpark over Gatun", MIN_PYSPARK)]
    v = _dist_version("pyspark")
    if v is not None and checks[0].status == OK and not v.startswith(tuple(t + "." for t in TESTED_PYSPARK_LINES)):
        checks[0] = Check("pyspark", WARN, f"{v}: this Gatun is tested with PySpark "
                          + ", ".join(t + ".x" for t in TESTED_PYSPARK_LINES),
                          _pip(f"pyspark=={TESTED_PYSPARK}.*"))
    if v is not None and checks[0].status != SKIP:
        checks.append(check_driver_jar(v))
    if v is not None:
        pth = [Path(p) / "gatun-pyspark.pth" for p in sys.path if p]
        found = next((p for p in pth if p.is_file()), None)
        if found:
            checks.append(Check("GATUN_PYSPARK", OK, f"{found.name} in {found.parent} (GATUN_PYSPARK=1 "
                                f"{'is set' if os.environ.get('GATUN_PYSPARK') == '1' else 'turns it on'})"))
        else:
            checks.append(Check("GATUN_PYSPARK", WARN, "gatun-pyspark.pth is not in site-packages: GATUN_PYSPARK=1 "
                                "does nothing (gatun.pyspark.install() still works)",
                                "reinstall from the wheel: " + _pip("gatun") + " --force-reinstall"))
        pandas = _dist_version("pandas")
        if pandas is None:
            checks.append(Check("pandas", SKIP, "not installed (PySpark's toPandas / createDataFrame(pandas))",
                                _pip("pandas>=2.2")))
        else:
            checks.append(Check("pandas", OK, pandas))
    return checks


def check_driver_jar(pyspark_version: str) -> Check:
    """Which Spark driver jar gatun.pyspark uses with this PySpark, and whether it is there."""
    try:
        from .pyspark import GatunSparkError, spark_jar, spark_line
    except Exception as e:  # noqa: BLE001 - e.g. py4j missing beside a broken pyspark install
        return Check("driver jar", FAIL, f"gatun.pyspark does not import: {e}",
                     _pip("gatun[pyspark]") + " --force-reinstall")
    line = spark_line(pyspark_version)
    if line is not None and line < MIN_PYSPARK:
        return Check("driver jar", SKIP, f"none for PySpark {pyspark_version} (Gatun runs "
                     f"{'.'.join(map(str, MIN_PYSPARK))}+)", _pip("gatun[pyspark]") + " --upgrade")
    try:
        jar = spark_jar(pyspark_version)
    except GatunSparkError as e:
        return Check("driver jar", WARN, str(e), "reinstall the wheel: " + _pip("gatun") + " --force-reinstall")
    built_for = "Spark 3.5, Scala 2.12" if jar.name == "gatun-spark35.jar" else "Spark 4, Scala 2.13"
    return Check("driver jar", OK, f"{jar.name} ({built_for}) for PySpark {pyspark_version}")


def check_arrow() -> Check:
    return _optional("pyarrow", "pyarrow", "arrow", "Arrow data and PySpark's Arrow paths", (18,))


def run(server: bool = True) -> list[Check]:
    checks = [check_package(), check_native(), *check_jars()]
    java, java_ok = check_java()
    checks.append(java)
    jar_ok = all(c.status != FAIL for c in checks)
    if server and java_ok and jar_ok:
        checks.append(check_server())
    elif server:
        checks.append(Check("server", SKIP, "needs java, the jar and the extension (see above)"))
    checks.append(check_shm())
    checks.append(check_arrow())
    checks.extend(check_pyspark())
    return checks


def print_checks(checks: list[Check], out=sys.stdout) -> None:
    for c in checks:
        print(f"{c.status:<5} {c.name:<17} {c.detail}", file=out)
        if c.fix and c.status != OK:
            print(f"{'':<5} {'':<17} fix: {c.fix}", file=out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gatun doctor", description=__doc__.split("\n")[0])
    ap.add_argument("--no-server", action="store_true", help="do not start a server JVM")
    ap.add_argument("--json", action="store_true", help="print the checks as JSON")
    args = ap.parse_args(argv)
    checks = run(server=not args.no_server)
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        print_checks(checks)
    return 1 if any(c.status == FAIL for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
