"""Run unmodified PySpark programs over Gatun instead of Py4J.

Activate before the first SparkContext, either with `GATUN_PYSPARK=1` in the environment (the
`gatun-pyspark.pth` hook installed with the package calls `install()` at start-up) or from code:

    import gatun.pyspark
    gatun.pyspark.install()

The Spark driver JVM is started by spark-submit as usual, but with Gatun's main class
(`dev.gatun.spark.SparkGatewayMain` in `gatun-spark.jar`) in place of PySpark's Py4J gateway; it
hands its socket and token to Python through a private file and exits when Python's stdin closes.
If Gatun is requested and cannot start, the error says why: there is no silent fallback to Py4J.
`gatun.pyspark.bridge(spark)` tells which bridge a session runs on. With `GATUN_GATEWAY_INFO` set
to a driver's connection info file, PySpark attaches to that running driver instead (this is how
`python -m gatun.submit`, spark-submit's counterpart, hands the driver to the application).

PySpark names replaced by `install()` (nothing else of PySpark is modified):
* `pyspark.java_gateway.launch_gateway` and the copy `pyspark.core.context` (4.x) or
  `pyspark.context` (3.5) imported;
* `ensure_callback_server_started` where PySpark imported it (callbacks need no server here);
* `JavaClass` in the PySpark modules that build classes by name from a gateway client (and
  `py4j.java_gateway.JavaClass` itself, for the converters that import it at call time; see
  `py4j_compat.JavaClassByName`);
* the transport of the Arrow paths (toPandas()/toArrow(), createDataFrame from pandas or
  pyarrow), for sessions over Gatun only: see `gatun.spark_arrow`.
"""
from __future__ import annotations

import importlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import py4j_compat, waiting, spark_arrow
from .errors import GatunError
from .launcher import wait_for_file

MAIN_CLASS = "dev.gatun.spark.SparkGatewayMain"
# The oldest PySpark line Gatun runs. Each Spark line has its driver jar, built from the same source
# against that line's Spark, Scala and Arrow (java/spark, java/spark35): gatun-spark.jar for Spark 4
# (Scala 2.13), gatun-spark35.jar for Spark 3.5 (Scala 2.12); `spark_jar()` picks the one for the
# installed PySpark. The compatibility matrix (bench/compat_matrix.py, bench/results/compat.md)
# records the versions that ran.
MIN_PYSPARK = (3, 5)
INFO_ENV = "GATUN_CONN_INFO_PATH"
ATTACH_ENV = "GATUN_GATEWAY_INFO"  # attach to a driver that is already running (its info file)
ERROR_SUFFIX = ".error"  # the driver writes why it failed to <info file>.error (SparkGatewayMain)
# How long launch_gateway waits for the driver to start the gateway. Unset: as long as the driver
# process lives, as stock PySpark's launch_gateway does (a driver on a loaded machine took 119.6 s
# once, against a fixed 120 s limit before); a positive number of seconds sets a limit.
START_TIMEOUT_ENV = "GATUN_SPARK_START_TIMEOUT"
SPARK_JAR = Path(__file__).with_name("jars") / "gatun-spark.jar"  # Spark 4.x
SPARK35_JAR = Path(__file__).with_name("jars") / "gatun-spark35.jar"  # Spark 3.5

# What PySpark's own launch_gateway imports into the JVM view (pyspark/java_gateway.py, 4.3).
JAVA_IMPORTS = (
    "org.apache.spark.SparkConf", "org.apache.spark.api.java.*", "org.apache.spark.api.python.*",
    "org.apache.spark.ml.python.*", "org.apache.spark.mllib.api.python.*", "org.apache.spark.resource.*",
    "org.apache.spark.sql.Encoders", "org.apache.spark.sql.OnSuccessCall", "org.apache.spark.sql.functions",
    "org.apache.spark.sql.classic.*", "org.apache.spark.sql.api.python.*", "org.apache.spark.sql.hive.*",
    "scala.Tuple2",
)
# The same in PySpark 3.5 (pyspark/java_gateway.py, 3.5.9): its DataFrame classes are in org.apache.spark.sql.
JAVA_IMPORTS_35 = (
    "org.apache.spark.SparkConf", "org.apache.spark.api.java.*", "org.apache.spark.api.python.*",
    "org.apache.spark.ml.python.*", "org.apache.spark.mllib.api.python.*", "org.apache.spark.resource.*",
    "org.apache.spark.sql.*", "org.apache.spark.sql.api.python.*", "org.apache.spark.sql.hive.*",
    "scala.Tuple2",
)


class GatunSparkError(GatunError):
    """Gatun was asked to run PySpark and could not."""


def spark_line(version: str | None = None) -> tuple[int, int] | None:
    """(major, minor) of this PySpark (or of `version`); None for a version that does not parse."""
    version = pyspark_version() if version is None else version
    try:
        return tuple(int(x) for x in version.split(".")[:2])  # type: ignore[return-value]
    except ValueError:
        return None


def spark_jar(version: str | None = None) -> Path:
    """The bundled jar with the driver main classes (`SparkGatewayMain`, `PythonAppMain`) for this
    PySpark (or for PySpark `version`): gatun-spark35.jar for 3.5, gatun-spark.jar for 4.x."""
    line = spark_line(version)
    jar = SPARK35_JAR if line is not None and line < (4, 0) else SPARK_JAR
    if not jar.is_file():
        raise GatunSparkError(f"the Gatun Spark jar is missing at {jar}; reinstall gatun (`make venv`)")
    if not os.access(jar, os.R_OK):
        raise GatunSparkError(f"the Gatun Spark jar at {jar} is not readable: fix its permissions or reinstall gatun")
    return jar


def spark_home() -> str:
    """SPARK_HOME as PySpark finds it, checked for what spark-submit needs."""
    from pyspark.find_spark_home import _find_spark_home

    try:
        home = _find_spark_home()
    except SystemExit:  # PySpark's finder prints what it searched and exits
        raise GatunSparkError(
            "no SPARK_HOME found (see above): set SPARK_HOME or install pyspark in this Python") from None
    submit = Path(home) / "bin" / "spark-submit"
    if not submit.is_file() or not os.access(submit, os.X_OK):
        raise GatunSparkError(
            f"SPARK_HOME={home} has no executable bin/spark-submit: point SPARK_HOME at a Spark installation "
            "or unset it to use the one inside the pyspark package"
        )
    if not (Path(home) / "jars").is_dir():
        raise GatunSparkError(
            f"SPARK_HOME={home} has no jars/ directory: point SPARK_HOME at a Spark installation "
            "or unset it to use the one inside the pyspark package"
        )
    return home


def submit_command(conf: Any = None) -> list[str]:
    """The spark-submit command line that starts a driver with the Gatun gateway."""
    command = [os.path.join(spark_home(), "bin", "spark-submit")]
    keys = set()
    if conf is not None:
        for k, v in conf.getAll():
            command += ["--conf", f"{k}={v}"]
            keys.add(k)
    if os.environ.get(waiting.ENV) and "spark.gatun.waitPolicy" not in keys:
        # The driver's channel threads wait as this process's clients do (spec §2.2.1).
        command += ["--conf", f"spark.gatun.waitPolicy={waiting.resolve(None)}"]
    if os.environ.get("SPARK_TESTING"):
        command += ["--conf", "spark.ui.enabled=false"]
    words = shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", "pyspark-shell"))
    if "pyspark-shell" in words:
        at = words.index("pyspark-shell")
        words[at:at + 1] = ["--class", MAIN_CLASS, str(spark_jar())]
    else:
        words += ["--class", MAIN_CLASS, str(spark_jar())]
    return command + words


def start_timeout() -> float | None:
    """The limit $GATUN_SPARK_START_TIMEOUT sets on the driver's start, in seconds; None when unset."""
    raw = os.environ.get(START_TIMEOUT_ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (0 < value < float("inf")):
        raise GatunSparkError(
            f"{START_TIMEOUT_ENV}={raw!r}: expected a positive number of seconds (unset: wait as long "
            "as the driver process lives)")
    return value


def launch_gateway(conf: Any = None, popen_kwargs: dict[str, Any] | None = None) -> py4j_compat.ClientServer:
    """PySpark's `launch_gateway`, over Gatun: same inputs, a Py4J-compatible gateway out.

    As in PySpark, `popen_kwargs` go to the `Popen` of spark-submit, except `stdin` (a pipe: the
    driver exits when it closes), `env` (this process's environment) and `preexec_fn` (SIGINT
    ignored, so Ctrl-C interrupts Python, not the driver), which are set here; the `Popen` is
    `gateway.proc`. With `GATUN_GATEWAY_INFO` set, attaches to that running driver instead.
    """
    attach = os.environ.get(ATTACH_ENV)
    if attach:
        try:
            client = py4j_compat.CompatClient(info_file=attach).connect()
        except (GatunError, py4j_compat.Py4JError) as e:
            raise GatunSparkError(
                f"{ATTACH_ENV}={attach}: cannot attach to the Spark driver's Gatun gateway: {e}") from e
        return _gateway(client, None)
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Stock spark-submit's PythonRunner started this application and runs a Py4J gateway in
        # its driver; starting a second driver here would lose that one's options (--master,
        # --jars, --conf ...).
        raise GatunSparkError(
            "GATUN_PYSPARK=1 under stock spark-submit: its driver (PYSPARK_GATEWAY_PORT is set) runs "
            "Py4J, not Gatun. Run the application with `python -m gatun.submit` and the same options "
            "(`python -m gatun.submit --jars ... app.py`), or unset GATUN_PYSPARK to run it over Py4J.")
    command = submit_command(conf)
    timeout_s = start_timeout()
    info_dir = tempfile.mkdtemp(prefix="gatun-spark-")
    os.chmod(info_dir, 0o700)
    info_file = os.path.join(info_dir, "connection.json")
    try:
        env = dict(os.environ)
        env[INFO_ENV] = info_file
        env["SPARK_CONNECT_MODE"] = "0"
        kwargs = {} if popen_kwargs is None else popen_kwargs
        kwargs["stdin"] = subprocess.PIPE
        kwargs["env"] = env
        kwargs["preexec_fn"] = _ignore_sigint
        try:
            proc = subprocess.Popen(command, **kwargs)
        except OSError as e:
            raise GatunSparkError(f"cannot run spark-submit ({command[0]}): {e}") from e
        try:
            code = wait_for_file(info_file, proc, timeout_s)
        except TimeoutError:
            proc.kill()
            proc.wait()
            raise GatunSparkError(
                f"the Spark driver did not start the Gatun gateway within {timeout_s:g} s "
                f"({START_TIMEOUT_ENV}); the driver was stopped") from None
        if code is not None:
            raise GatunSparkError(_exit_reason(code, info_file, command))
        client = py4j_compat.CompatClient(info_file=info_file).connect()
    finally:
        shutil.rmtree(info_dir, ignore_errors=True)
    return _gateway(client, proc)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit_reason(code: int, info_file: str, command: list[str]) -> str:
    """Why the driver ended before the gateway was ready: its own words when it left them."""
    try:
        with open(info_file + ERROR_SUFFIX, encoding="utf-8") as f:
            reason = f.read().strip()
    except OSError:
        reason = ""
    if reason:
        return f"the Spark driver could not start the Gatun gateway: {reason}"
    return (f"the Spark driver exited with code {code} before the Gatun gateway was ready; "
            f"command: {shlex.join(command)} (its output above says why)")


def _gateway(client: py4j_compat.CompatClient, proc: Any) -> py4j_compat.ClientServer:
    gateway = py4j_compat.ClientServer(client)
    gateway.__dict__["proc"] = proc
    line = spark_line()
    for name in JAVA_IMPORTS_35 if line is not None and line < (4, 0) else JAVA_IMPORTS:
        py4j_compat.java_import(gateway.jvm, name)
    return gateway


def _no_callback_server(gw: Any) -> None:
    """Callbacks come back on Gatun's channels: there is no callback server to start."""


_PATCHES = (
    ("pyspark.java_gateway", "launch_gateway", launch_gateway),
    ("pyspark.core.context", "launch_gateway", launch_gateway),
    ("pyspark.context", "launch_gateway", launch_gateway),  # PySpark 3.5 (4.x: no copy there)
    ("pyspark.java_gateway", "ensure_callback_server_started", _no_callback_server),
    ("pyspark.sql.streaming.readwriter", "ensure_callback_server_started", _no_callback_server),
    ("pyspark.sql.streaming.query", "ensure_callback_server_started", _no_callback_server),
    ("pyspark.streaming.context", "ensure_callback_server_started", _no_callback_server),
    ("pyspark.sql.types", "JavaClass", py4j_compat.JavaClassByName),
    ("pyspark.sql.readwriter", "JavaClass", py4j_compat.JavaClassByName),
)


def pyspark_version() -> str:
    import pyspark

    return getattr(pyspark, "__version__", None) or "unknown"


def check_pyspark_version(version: str | None = None) -> None:
    """Raises GatunSparkError, saying what to install, if this PySpark is older than MIN_PYSPARK."""
    version = pyspark_version() if version is None else version
    major_minor = spark_line(version)
    if major_minor is None:
        return  # a development build: let it try
    if major_minor < MIN_PYSPARK:
        need = ".".join(map(str, MIN_PYSPARK))
        raise GatunSparkError(
            f"PySpark {version} is not supported: Gatun runs PySpark {need} or newer (its Spark driver "
            f"jars are built for Spark 3.5 with Scala 2.12 and for Spark 4 with Scala 2.13). Upgrade with "
            f"`python -m pip install 'pyspark>={need},<5'`, or unset GATUN_PYSPARK to run this PySpark over Py4J.")


def install() -> None:
    """Make PySpark start its driver with the Gatun gateway. Call before the first SparkContext.

    Raises GatunSparkError if this PySpark is older than MIN_PYSPARK (nothing is patched then)."""
    check_pyspark_version()
    py4j_compat.install()
    for module_name, attr, value in _PATCHES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, attr):
            setattr(module, attr, value)
    spark_arrow.install()
    SparkContext = spark_context_class()
    if SparkContext._gateway is not None and not isinstance(SparkContext._gateway, py4j_compat.ClientServer):
        raise GatunSparkError("a SparkContext already runs over Py4J in this process: install Gatun before creating it")


def spark_context_class() -> Any:
    """PySpark's SparkContext class: in `pyspark.core.context` (4.x) or `pyspark.context` (3.5)."""
    try:
        from pyspark.core.context import SparkContext
    except ImportError:
        from pyspark.context import SparkContext
    return SparkContext


def bridge(spark_or_context: Any) -> str:
    """Which bridge a SparkSession or SparkContext runs on: "gatun" or "py4j"."""
    sc = getattr(spark_or_context, "sparkContext", spark_or_context)
    return "gatun" if isinstance(sc._gateway, py4j_compat.ClientServer) else "py4j"


def _refuse_gateway(error: GatunSparkError) -> None:
    """Makes PySpark's launch_gateway (in every module that holds a copy) raise `error`."""
    def launch_gateway(conf: Any = None, popen_kwargs: dict[str, Any] | None = None) -> Any:
        raise GatunSparkError(str(error))

    for module_name in ("pyspark.java_gateway", "pyspark.context", "pyspark.core.context"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, "launch_gateway"):
            module.launch_gateway = launch_gateway


def _autoinstall() -> None:
    """Called from gatun-pyspark.pth at interpreter start-up when GATUN_PYSPARK=1."""
    try:
        install()
    except ImportError:
        pass  # no pyspark in this environment: nothing to do
    except GatunSparkError as e:
        # Said once at start-up, and again as the error of the first SparkContext: no silent
        # fallback to Py4J, and Python programs that do not start Spark still run.
        print(f"gatun: GATUN_PYSPARK=1 but Gatun cannot run this PySpark: {e}", file=sys.stderr)
        _refuse_gateway(e)
    except Exception as e:  # a broken hook must say so, not silently leave Py4J in place
        print(f"gatun: GATUN_PYSPARK=1 but Gatun could not be installed: {e}", file=sys.stderr)
        raise
