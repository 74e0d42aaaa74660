"""PySpark 3.5 over Gatun, in short form for `make test`: the compatibility matrix's smoke job
(bench/compat_matrix.py: DataFrame ops, SQL, toPandas and createDataFrame through Arrow, a Python
UDF, Java errors as Py4J's and as PySpark's exceptions) in a venv of its own with PySpark 3.5.9,
over stock Py4J and over Gatun (GATUN_PYSPARK=1, so gatun-spark35.jar): the results must be the
same, the Arrow batches must have gone through Gatun's arena, and the driver must be the 3.5 jar.

The venv (build/pyspark35-venv: PySpark 3.5.9, pandas 2.2, numpy 1.x, pyarrow 18, and this checkout's
`gatun` through a .pth file) is made on first use and kept. The full check, with PySpark's doctests
against the stock baseline and the wheel: `make test-matrix MATRIX=spark3.5-pd2-py3.11-java17`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "build" / "pyspark35-venv"
PYSPARK = "3.5.9"
REQUIREMENTS = [f"pyspark=={PYSPARK}", "pandas>=2.2,<2.3", "numpy<2", "pyarrow>=18,<19"]
STAMP = VENV / ".gatun-pyspark35.stamp"

sys.path.insert(0, str(ROOT / "bench"))
from compat_matrix import SMOKE  # noqa: E402

# Run before the smoke job stops its session: which driver jar and which Arrow path ran.
ARROW_CHECK = r'''
if bridge == "gatun":
    import gatun.pyspark
    jvm = sc._jvm
    r["gatun"] = {"jar": gatun.pyspark.spark_jar().name,
                  "collector_runs": jvm.dev.gatun.spark.ArrowBatchCollector.started(),
                  "inbox_batches": jvm.dev.gatun.spark.ArrowBatchInbox.received()}
'''


def _python() -> Path:
    python = VENV / "bin" / "python"
    if STAMP.is_file() and STAMP.read_text() == json.dumps(REQUIREMENTS) and python.is_file():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *REQUIREMENTS],
                         capture_output=True, text=True, timeout=1800)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-3000:]
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # This checkout's gatun (its C extension and jars are built for this Python by make venv), and
    # the GATUN_PYSPARK=1 hook a wheel install would put there.
    (Path(purelib) / "gatun-checkout.pth").write_text(str(ROOT / "python") + "\n")
    (Path(purelib) / "gatun-pyspark.pth").write_text((ROOT / "python" / "gatun-pyspark.pth").read_text())
    STAMP.write_text(json.dumps(REQUIREMENTS))
    return python


def _smoke(python: Path, gatun: bool, tmp_path: Path) -> dict:
    script = tmp_path / "smoke35.py"
    assert SMOKE.count("spark.stop()\n") == 1
    script.write_text(SMOKE.replace("spark.stop()\n", ARROW_CHECK + "spark.stop()\n"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("SPARK_HOME", "PYTHONPATH", "PYSPARK_SUBMIT_ARGS", "GATUN_GATEWAY_INFO",
                        "PYSPARK_DRIVER_PYTHON", "GATUN_PYSPARK", "VIRTUAL_ENV")}
    env.update(PYSPARK_PYTHON=str(python), PYTHONHASHSEED="0")
    if gatun:
        env["GATUN_PYSPARK"] = "1"
    proc = subprocess.run([str(python), str(script)], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=900)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError(f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")


@pytest.mark.skipif(sysconfig.get_config_var("py_version_short") != "3.11",
                    reason="the checkout's C extension is built for make venv's Python (3.11)")
def test_pyspark35_runs_over_gatun_as_over_stock(tmp_path):
    python = _python()
    version = subprocess.run([str(python), "-c", "import pyspark; print(pyspark.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == PYSPARK
    stock = _smoke(python, False, tmp_path)
    ours = _smoke(python, True, tmp_path)
    assert stock["bridge"] == "py4j" and ours["bridge"] == "gatun"
    info = ours["results"].pop("gatun")
    assert ours["results"] == stock["results"]
    assert info["jar"] == "gatun-spark35.jar"
    # toPandas ran through ArrowBatchCollector, createDataFrame(pandas) through ArrowBatchInbox.
    assert info["collector_runs"] >= 1 and info["inbox_batches"] >= 1, info
