"""Runs a Spark session script for the UDF tests: in a subprocess of its own, so each gets a fresh
JVM and configuration, with this directory importable (for spark_cancel)."""
from __future__ import annotations

import json
import os
import subprocess
import sys


def run_session_script(script: str, *args: str, cwd, timeout: int = 600, env: dict | None = None) -> dict:
    """The JSON the script printed after "RESULT ". By default stock PySpark over Py4J
    (GATUN_PYSPARK unset); `env` adds to or overrides the environment."""
    full = {k: v for k, v in os.environ.items() if k != "GATUN_PYSPARK"}
    full["PYSPARK_PYTHON"] = sys.executable
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.dirname(__file__), full.get("PYTHONPATH")]))
    full.update(env or {})
    run = subprocess.run([sys.executable, "-c", script, *args], env=full, cwd=cwd, capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, run.stderr[-5000:]
    assert "RESULT " in run.stdout, (run.stdout[-2000:], run.stderr[-3000:])
    return json.loads(run.stdout.split("RESULT ", 1)[1])
