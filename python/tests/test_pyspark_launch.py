"""Starting PySpark's driver over Gatun: bad configuration, attach mode, popen_kwargs, SIGINT.

Each test starts (or fails to start) a real driver with the real spark-submit; none creates a
SparkContext, so the drivers are the gateway alone.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("pyspark", reason="pyspark is part of the dev dependencies (make venv)")

import gatun.pyspark  # noqa: E402
from gatun.launcher import wait_for_file  # noqa: E402
from gatun.pyspark import GatunSparkError  # noqa: E402


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch):
    for name in ("GATUN_GATEWAY_INFO", "PYSPARK_SUBMIT_ARGS", "SPARK_HOME"):
        monkeypatch.delenv(name, raising=False)


def test_missing_spark_jar_says_where_it_should_be(monkeypatch, tmp_path):
    missing = tmp_path / "gatun-spark.jar"
    monkeypatch.setattr(gatun.pyspark, "SPARK_JAR", missing)
    with pytest.raises(GatunSparkError, match=f"jar is missing at {missing}.*reinstall"):
        gatun.pyspark.launch_gateway()


def test_wrong_spark_home_says_what_to_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARK_HOME", str(tmp_path))
    with pytest.raises(GatunSparkError, match="has no executable bin/spark-submit: point SPARK_HOME"):
        gatun.pyspark.launch_gateway()
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "spark-submit").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "spark-submit").chmod(0o755)
    with pytest.raises(GatunSparkError, match="has no jars/ directory: point SPARK_HOME"):
        gatun.pyspark.launch_gateway()


@pytest.mark.parametrize("conf, message", [
    ("spark.gatun.allowlist=@{missing}", "cannot read allowlist file {missing}"),
    ("spark.gatun.allowlist=@{tmp}", "cannot read allowlist file {tmp}"),  # a directory, not a file
    ("spark.gatun.allowlist=org.apache.spark.**,java..util", "bad allowlist entry 'java..util'"),
])
def test_bad_allowlist_fails_at_start_with_the_reason(monkeypatch, tmp_path, conf, message):
    fill = {"missing": tmp_path / "no-such-allowlist", "tmp": tmp_path}
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", f"--conf {conf.format(**fill)} pyspark-shell")
    with pytest.raises(GatunSparkError) as info:
        gatun.pyspark.launch_gateway()
    assert "could not start the Gatun gateway: bad Gatun configuration in the SparkConf" in str(info.value)
    assert message.format(**fill) in str(info.value)


def test_gatun_requested_but_failing_never_falls_back_to_py4j(tmp_path):
    """A nonsense spark.gatun.regionBytes, which Py4J would ignore: the program must fail, naming it."""
    program = (
        "from pyspark.sql import SparkSession\n"
        "SparkSession.builder.master('local[1]').config('spark.gatun.regionBytes', 'lots').getOrCreate()\n"
        "print('SESSION STARTED')\n"
    )
    env = dict(os.environ, GATUN_PYSPARK="1", PYSPARK_PYTHON=sys.executable)
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    run = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode != 0
    assert "SESSION STARTED" not in run.stdout
    assert "GatunSparkError" in run.stderr
    assert "spark.gatun.regionBytes must be a number of bytes, got 'lots'" in run.stderr


def test_the_driver_logs_and_shows_progress_as_stock_pyspark_does(tmp_path):
    """Stock PySpark's driver runs at Spark's shell log level (WARN) with the console progress bar;
    over Gatun the driver is a --class jar, which Spark does not take for a shell, and logged at INFO
    (about a hundred lines at start-up, more per job) until SparkGatewayMain did what the shell does;
    it also took our main class for the app's name."""
    program = (
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.master('local[1]').getOrCreate()\n"
        "assert spark.range(10).count() == 10\n"
        "print('PROGRESS', spark.sparkContext.getConf().get('spark.ui.showConsoleProgress'))\n"
        "print('NAME', spark.sparkContext.appName)\n"
        "spark.stop()\n"
    )
    env = dict(os.environ, GATUN_PYSPARK="1", PYSPARK_PYTHON=sys.executable)
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    env.pop("SPARK_TESTING", None)
    run = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert 'Setting default log level to "WARN".' in run.stderr
    info = [line for line in run.stderr.splitlines() if " INFO " in line]
    assert not info, f"{len(info)} INFO lines, first: {info[:3]}"
    assert "PROGRESS true" in run.stdout
    assert "NAME pyspark-shell" in run.stdout  # stock's name for a shell without a name of its own


def _sigint_ignored(pid: int) -> bool:
    with open(f"/proc/{pid}/status") as f:
        mask = next(int(line.split()[1], 16) for line in f if line.startswith("SigIgn:"))
    return bool(mask & (1 << (signal.SIGINT - 1)))


def test_popen_kwargs_pass_through_and_sigint_is_not_forwarded(monkeypatch, tmp_path):
    kwargs = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "cwd": str(tmp_path),
              "stdin": None, "preexec_fn": None}
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--verbose pyspark-shell")
    gateway = gatun.pyspark.launch_gateway(popen_kwargs=kwargs)
    proc = gateway.proc
    try:
        # As in PySpark: the dict is the Popen's, with stdin and preexec_fn replaced.
        assert kwargs["stdin"] == subprocess.PIPE and kwargs["preexec_fn"] is not None
        assert os.readlink(f"/proc/{proc.pid}/cwd") == str(tmp_path)
        assert "java" in open(f"/proc/{proc.pid}/cmdline").read()
        assert _sigint_ignored(proc.pid), "the driver JVM must ignore SIGINT, as PySpark arranges"
        os.kill(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends the whole process group
        time.sleep(1.0)
        assert proc.poll() is None, "the driver died of SIGINT"
        assert gateway.jvm.java.lang.Math.max(2, 3) == 3
    finally:
        gateway.close()
        proc.stdin.close()  # the driver exits when Python's end of stdin closes
        output = proc.stdout.read().decode(errors="replace")
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert "dev.gatun.spark.SparkGatewayMain" in output  # spark-submit --verbose, captured by our pipe


def test_attach_to_a_running_driver(monkeypatch, tmp_path):
    info = tmp_path / "connection.json"
    env = dict(os.environ, GATUN_CONN_INFO_PATH=str(info), SPARK_CONNECT_MODE="0")
    driver = subprocess.Popen(gatun.pyspark.submit_command(), env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for_file(str(info), driver, 120) is None, "the driver did not start"
        monkeypatch.setenv("GATUN_GATEWAY_INFO", str(info))
        gateway = gatun.pyspark.launch_gateway()
        assert gateway.proc is None  # attached: this process did not start the driver
        assert gateway.bridge == "gatun"
        assert gateway.jvm.SparkConf(True).get("spark.master") == "local[*]"  # the java_imports are there
        gateway.close()
    finally:
        driver.stdin.close()
        driver.wait(timeout=60)
    assert driver.returncode == 0


def test_attach_to_nothing_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("GATUN_GATEWAY_INFO", str(tmp_path / "nothing.json"))
    with pytest.raises(GatunSparkError, match="GATUN_GATEWAY_INFO=.*cannot attach"):
        gatun.pyspark.launch_gateway()


@pytest.mark.parametrize("version", ["3.4.4", "3.4.0", "3.0.3", "2.4.8"])
def test_a_pyspark_older_than_the_minimum_is_refused_with_what_to_install(version):
    with pytest.raises(GatunSparkError, match=rf"PySpark {version} is not supported: Gatun runs PySpark 3\.5 "
                                              r"or newer.*pip install 'pyspark>=3\.5,<5'"):
        gatun.pyspark.check_pyspark_version(version)
    for ok in ("3.5.0", "3.5.9", "4.0.0", "4.3.0", "5.0.0.dev0", "unknown"):
        gatun.pyspark.check_pyspark_version(ok)


def test_the_driver_jar_follows_the_pyspark_line():
    """Spark 3.5 (Scala 2.12) and Spark 4 (Scala 2.13) each have their driver jar, both in the package."""
    assert gatun.pyspark.spark_jar("3.5.9").name == "gatun-spark35.jar"
    assert gatun.pyspark.spark_jar("3.5.0").name == "gatun-spark35.jar"
    for v in ("4.0.5", "4.3.0", "5.0.0.dev0"):
        assert gatun.pyspark.spark_jar(v).name == "gatun-spark.jar"
    import zipfile

    for v in ("3.5.9", "4.3.0"):  # both carry the same driver classes
        with zipfile.ZipFile(gatun.pyspark.spark_jar(v)) as z:
            names = set(z.namelist())
        assert {"dev/gatun/spark/SparkGatewayMain.class", "dev/gatun/spark/PythonAppMain.class",
                "dev/gatun/spark/ArrowBatchCollector.class", "dev/gatun/spark/SparkLine.class",
                "dev/gatun/server/GatunServer.class", "dev/gatun/arrow/ArrowExporter.class"} <= names, v


def test_gatun_pyspark_1_with_an_old_pyspark_says_so_and_never_falls_back(tmp_path):
    """GATUN_PYSPARK=1 (the .pth hook) with an unsupported PySpark: one line at start-up, and the
    first SparkContext fails with the same reason instead of starting a Py4J gateway."""
    code = ("import pyspark; pyspark.__version__ = '3.4.4'\n"
            "import gatun.pyspark; gatun.pyspark._autoinstall()\n"
            "from pyspark.java_gateway import launch_gateway as a\n"
            "from pyspark.core import context\n"
            "for f in (a, context.launch_gateway):\n"
            "    try: f(); print('started')\n"
            "    except gatun.pyspark.GatunSparkError as e: print('refused:', e)\n")
    env = {k: v for k, v in os.environ.items() if k != "GATUN_PYSPARK"}
    run = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("gatun: GATUN_PYSPARK=1 but Gatun cannot run this PySpark: PySpark 3.4.4 is not "
                            "supported") == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout.count("refused: PySpark 3.4.4 is not supported") == 2, run.stdout


@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan", "inf"])
def test_a_bad_start_timeout_is_refused_before_anything_starts(monkeypatch, value):
    monkeypatch.setenv(gatun.pyspark.START_TIMEOUT_ENV, value)
    with pytest.raises(GatunSparkError, match=f"GATUN_SPARK_START_TIMEOUT='{value}': expected a positive number"):
        gatun.pyspark.launch_gateway()


def test_a_start_timeout_stops_a_driver_that_is_too_slow(monkeypatch):
    # No driver JVM starts its gateway within 50 ms: the limit ends the wait and the driver.
    monkeypatch.setenv(gatun.pyspark.START_TIMEOUT_ENV, "0.05")
    started = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(subprocess, "Popen", popen)
    with pytest.raises(GatunSparkError, match=r"did not start the Gatun gateway within 0\.05 s "
                                              r"\(GATUN_SPARK_START_TIMEOUT\); the driver was stopped"):
        gatun.pyspark.launch_gateway()
    assert len(started) == 1 and started[0].poll() is not None, "the driver is still running"


def test_the_start_up_hook_imports_nothing_stock_pyspark_does_not_need():
    # With GATUN_PYSPARK=1 every Python process imports gatun at start-up (start-up under load is
    # an issue 12 target); importlib.metadata, for gatun.__version__ alone, cost ~12 ms of it.
    env = dict(os.environ, GATUN_PYSPARK="1")
    code = ("import sys; import gatun.pyspark; "
            "print(sorted(m for m in ('importlib.metadata', 'email') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
