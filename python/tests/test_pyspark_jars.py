"""User jars beside Gatun's: spark-submit's `--jars` and `--packages` over Gatun.

Gatun's driver jar (gatun-spark.jar) is spark-submit's primary resource (the jar of the main
class), so it is on the driver's class path whatever the user adds; `--jars`, `spark.jars` and
`--packages` add theirs beside it. The driver's allowlist (spec/security.md §3) does not know the
user's classes: `--conf spark.gatun.allowlist=spark-default,com.example.**` adds them to the Spark
list. Each test builds a tiny jar (javac) and calls a class from it through the JVM view, over Gatun:

* `python -m gatun.submit --jars tiny.jar app.py`;
* `GATUN_PYSPARK=1 python app.py` with `--jars` in `PYSPARK_SUBMIT_ARGS`, and with `spark.jars`
  set on the session builder;
* `--packages` from Maven Central (a small artifact without dependencies, org.jooq:joou), with
  gatun.submit and with `GATUN_PYSPARK=1` (in `PYSPARK_SUBMIT_ARGS`);
* without the allowlist entry the call is refused with NOT_ALLOWED, naming the class;
* stock `spark-submit app.py` with GATUN_PYSPARK=1 is refused with the command to use instead.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="pyspark is part of the dev dependencies (make venv)")

JAVA = """package com.example.gatunjars;
public class Greeter {
    private final String who;
    public Greeter(String who) { this.who = who; }
    public String greet() { return "hello " + who; }
    public static int twice(int x) { return 2 * x; }
}
"""

APP = r'''
import os, sys
import gatun.pyspark
from pyspark.sql import SparkSession
builder = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
if os.environ.get("APP_SPARK_JARS"):
    builder = builder.config("spark.jars", os.environ["APP_SPARK_JARS"])
spark = builder.getOrCreate()
jvm = spark.sparkContext._jvm
print("bridge:", gatun.pyspark.bridge(spark))
if os.environ.get("APP_CALL") != "joou":
    print("greet:", jvm.com.example.gatunjars.Greeter("gatun").greet())
    print("twice:", jvm.com.example.gatunjars.Greeter.twice(21))
    # The jar reaches the executors too (here in the same JVM, through Spark's file server).
    print("reflect:", spark.sql("select reflect('com.example.gatunjars.Greeter', 'twice', 5) as r").first().r)
else:
    print("joou:", jvm.org.joou.UInteger.valueOf(4000000000).toString())
spark.stop()
'''

ALLOW = "--conf spark.gatun.allowlist=spark-default,com.example.gatunjars.*"
ALLOW_JOOU = "--conf spark.gatun.allowlist=spark-default,org.joou.*"
PACKAGE = "org.jooq:joou:0.9.4"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2/org/jooq/joou/0.9.4/joou-0.9.4.pom"


@pytest.fixture(scope="module")
def tiny_jar(tmp_path_factory) -> Path:
    javac, jar = shutil.which("javac"), shutil.which("jar")
    home = os.environ.get("JAVA_HOME")
    if home:
        javac, jar = Path(home, "bin", "javac"), Path(home, "bin", "jar")
    if not javac or not jar or not Path(javac).exists():
        pytest.skip("needs javac and jar (a JDK)")
    d = tmp_path_factory.mktemp("tiny-jar")
    src = d / "src" / "com" / "example" / "gatunjars"
    src.mkdir(parents=True)
    (src / "Greeter.java").write_text(JAVA)
    subprocess.run([str(javac), "--release", "17", "-d", str(d / "classes"), str(src / "Greeter.java")], check=True)
    out = d / "tiny.jar"
    subprocess.run([str(jar), "cf", str(out), "-C", str(d / "classes"), "."], check=True)
    return out


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    for name in ("GATUN_PYSPARK", "GATUN_GATEWAY_INFO", "PYSPARK_SUBMIT_ARGS", "SPARK_HOME",
                 "APP_SPARK_JARS", "APP_CALL", "PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET"):
        env.pop(name, None)
    env.update(extra)
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    (cwd / "app.py").write_text(APP)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _show(run) -> str:
    return f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr (tail):\n{run.stderr[-3000:]}"


def _assert_greeter(run) -> None:
    assert run.returncode == 0, _show(run)
    assert "bridge: gatun" in run.stdout, _show(run)
    assert "greet: hello gatun" in run.stdout
    assert "twice: 42" in run.stdout
    assert "reflect: 10" in run.stdout


def test_gatun_submit_with_jars(tiny_jar, tmp_path):
    run = _run([sys.executable, "-m", "gatun.submit", *ALLOW.split(), "--jars", str(tiny_jar), "app.py"],
               tmp_path, _env())
    _assert_greeter(run)


def test_user_classes_need_an_allowlist_entry(tiny_jar, tmp_path):
    run = _run([sys.executable, "-m", "gatun.submit", "--jars", str(tiny_jar), "app.py"], tmp_path, _env())
    assert run.returncode != 0, _show(run)
    assert "NOT_ALLOWED: class com.example.gatunjars.Greeter is not allowed by the allowlist" in run.stderr + run.stdout


def test_gatun_pyspark_with_jars_in_pyspark_submit_args(tiny_jar, tmp_path):
    env = _env(GATUN_PYSPARK="1", PYSPARK_SUBMIT_ARGS=f"{ALLOW} --jars {tiny_jar} pyspark-shell")
    _assert_greeter(_run([sys.executable, "app.py"], tmp_path, env))


def test_gatun_pyspark_with_spark_jars_on_the_builder(tiny_jar, tmp_path):
    env = _env(GATUN_PYSPARK="1", APP_SPARK_JARS=str(tiny_jar), PYSPARK_SUBMIT_ARGS=f"{ALLOW} pyspark-shell")
    _assert_greeter(_run([sys.executable, "app.py"], tmp_path, env))


def _maven_central_reachable() -> bool:
    try:
        with urllib.request.urlopen(MAVEN_CENTRAL, timeout=10) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("how", ["gatun.submit", "GATUN_PYSPARK=1"])
def test_packages_from_maven_central(how, tmp_path):
    if not _maven_central_reachable():
        pytest.skip(f"Maven Central not reachable ({MAVEN_CENTRAL})")
    ivy = f"--conf spark.jars.ivy={tmp_path / 'ivy'} {ALLOW_JOOU}"
    if how == "gatun.submit":
        cmd = [sys.executable, "-m", "gatun.submit", *ivy.split(), "--packages", PACKAGE, "app.py"]
        env = _env(APP_CALL="joou")
    else:
        cmd = [sys.executable, "app.py"]
        env = _env(APP_CALL="joou", GATUN_PYSPARK="1", PYSPARK_SUBMIT_ARGS=f"{ivy} --packages {PACKAGE} pyspark-shell")
    run = _run(cmd, tmp_path, env)
    assert run.returncode == 0, _show(run)
    assert "bridge: gatun" in run.stdout and "joou: 4000000000" in run.stdout, _show(run)


def test_stock_spark_submit_with_gatun_pyspark_is_refused(tiny_jar, tmp_path):
    """Stock spark-submit's driver runs Py4J (PythonRunner): GATUN_PYSPARK=1 cannot change that, and
    must not start a second driver without the first one's --jars; it says what to run instead."""
    from gatun.pyspark import spark_home

    submit = os.path.join(spark_home(), "bin", "spark-submit")
    run = _run([submit, "--master", "local[1]", "--jars", str(tiny_jar), "app.py"], tmp_path, _env(GATUN_PYSPARK="1"))
    assert run.returncode != 0, _show(run)
    assert "GATUN_PYSPARK=1 under stock spark-submit" in run.stdout + run.stderr, _show(run)
    assert "python -m gatun.submit" in run.stdout + run.stderr
