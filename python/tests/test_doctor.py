"""`python -m gatun doctor` reports what is installed and, for what is missing, the fixing command."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import gatun


def _doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gatun", "doctor", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_doctor_reports_this_install():
    proc = _doctor("--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = {c["name"]: c for c in json.loads(proc.stdout)}
    assert checks["gatun"]["status"] == "OK" and gatun.__version__ in checks["gatun"]["detail"]
    for name in ("native", "gatun-server.jar", "gatun-arrow.jar", "gatun-spark.jar", "gatun-spark35.jar", "java",
                 "server"):
        assert checks[name]["status"] == "OK", checks[name]
    assert "Java " in checks["java"]["detail"]
    # The development venv has the extras.
    assert checks["pyarrow"]["status"] == "OK" and checks["pyspark"]["status"] in ("OK", "WARN")
    # The driver jar that matches the installed PySpark.
    import pyspark

    expected = "gatun-spark35.jar" if pyspark.__version__.startswith("3.") else "gatun-spark.jar"
    assert checks["driver jar"]["status"] == "OK", checks["driver jar"]
    assert checks["driver jar"]["detail"].startswith(expected + " ") and pyspark.__version__ in checks["driver jar"]["detail"]


def test_doctor_names_the_fix_for_a_missing_java(tmp_path):
    env = dict(os.environ, JAVA_HOME=str(tmp_path / "no-jdk"))
    proc = _doctor(env=env)
    assert proc.returncode == 1, proc.stdout
    java = [line for line in proc.stdout.splitlines() if " java " in f" {line} "]
    assert java and java[0].startswith("FAIL"), proc.stdout
    assert "fix: install Java 17 or later" in proc.stdout
    assert "SKIP  server" in proc.stdout


def test_version_command():
    out = subprocess.run([sys.executable, "-m", "gatun", "version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == gatun.__version__
