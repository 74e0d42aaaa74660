"""The wheel from `make dist` installs and runs on a machine with only a JRE.

Run by `make test-dist` (part of `make test`), which builds dist/ first and names the files in
GATUN_WHEEL and GATUN_SDIST; skipped otherwise. Each test makes a fresh venv and runs pip and
Python in it with a PATH that holds only `java` (a link to the real JRE launcher): no mvn, javac,
gcc or cc, and no JAVA_HOME. `make test-dist-pyspark` (GATUN_DIST_PYSPARK=1) also installs
gatun[pyspark,arrow] from the package index and runs the PySpark demo over Gatun.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text(encoding="ascii").strip()
WHEEL = str(Path(os.environ["GATUN_WHEEL"]).resolve()) if os.environ.get("GATUN_WHEEL") else ""
SDIST = str(Path(os.environ["GATUN_SDIST"]).resolve()) if os.environ.get("GATUN_SDIST") else ""
# Not on the test PATH: a build from source would need one of these.
BUILD_TOOLS = ("mvn", "javac", "gcc", "cc", "c++", "g++", "cpp", "clang", "ant", "gradle", "go")
C_TOOLS = ("gcc", "cc", "x86_64-linux-gnu-gcc", "cpp")

pytestmark = pytest.mark.skipif(not WHEEL, reason="GATUN_WHEEL not set: run `make test-dist`")


def _is_build_tool(name: str) -> bool:
    base = name.removeprefix("x86_64-linux-gnu-")
    return any(base == t or base.startswith(t + "-") for t in BUILD_TOOLS)


def _machine_without_build_tools(bin_dir: Path, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """An environment like a machine with a JRE and the usual commands but no build tools: PATH is
    one directory of links to every command on this PATH (outside the checkout and its venv)
    except mvn, javac, gcc and friends; `java` is the JRE launcher. No JAVA_HOME."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or not os.path.isdir(d) or Path(d).resolve().is_relative_to(ROOT):
            continue
        for entry in os.scandir(d):
            name = entry.name
            if (bin_dir / name).is_symlink() or (_is_build_tool(name) and name not in keep):
                continue
            if os.access(entry.path, os.X_OK) and not entry.is_dir():
                (bin_dir / name).symlink_to(entry.path)
    java = bin_dir / "java"
    if java.is_symlink():
        java.unlink()
    java.symlink_to(_real_java())
    env = {k: v for k, v in os.environ.items()
           if k not in ("JAVA_HOME", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "GATUN_PYSPARK",
                        "SPARK_HOME", "GATUN_JAR", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    env["PATH"] = str(bin_dir)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _real_java() -> Path:
    home = os.environ.get("JAVA_HOME")
    java = Path(home) / "bin" / "java" if home else Path(shutil.which("java") or "java")
    return java.resolve()


@pytest.fixture(scope="module")
def jre_only(tmp_path_factory) -> dict[str, str]:
    return _machine_without_build_tools(tmp_path_factory.mktemp("jre-only") / "bin")


def _venv(tmp: Path, env: dict[str, str], keep: tuple[str, ...] = ()) -> tuple[Path, dict[str, str]]:
    """A fresh venv without pip (pip runs from this interpreter with --python)."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    env = dict(env, PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(venv))
    for tool in BUILD_TOOLS:
        if tool not in keep:
            assert shutil.which(tool, path=env["PATH"]) is None, f"{tool} is on the test PATH"
    assert shutil.which("java", path=env["PATH"])
    return venv / "bin" / "python", env


def _pip(python: Path, env: dict[str, str], *args: str, cwd: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *args]
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"


def _run(python: Path, env: dict[str, str], code: str, cwd: Path, timeout: float = 300) -> str:
    proc = subprocess.run([str(python), "-c", code], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_wheel_contents():
    name = Path(WHEEL).name
    assert name.startswith(f"gatun-{VERSION}-cp{sys.version_info.major}{sys.version_info.minor}-")
    assert "manylinux" in name, name
    with zipfile.ZipFile(WHEEL) as z:
        names = set(z.namelist())
        meta = z.read(f"gatun-{VERSION}.dist-info/METADATA").decode()
    for jar in ("gatun-server.jar", "gatun-arrow.jar", "gatun-spark.jar", "gatun-spark35.jar"):
        assert f"gatun/jars/{jar}" in names
    assert any(n.startswith("gatun/_native.") and n.endswith(".so") for n in names)
    assert "gatun-pyspark.pth" in names
    assert not [n for n in names if n.endswith((".c", ".h"))]
    assert any(n.startswith(f"gatun-{VERSION}.dist-info/") and n.endswith("LICENSE") for n in names), names
    assert "Provides-Extra: pyspark" in meta and "Provides-Extra: arrow" in meta
    assert "Requires-Dist: pyspark" in meta and "Requires-Dist: pyarrow" in meta


CALLS = r'''
import os, sys, gatun
from gatun import GatunClient
assert gatun.__file__.startswith(sys.prefix), gatun.__file__
import gatun._native  # the prebuilt extension
with GatunClient() as client:
    jvm = client.jvm
    sb = jvm.java.lang.StringBuilder("abc")
    assert sb.append(1).length() == 4
    assert jvm.java.lang.Math.max(1, 2) == 2
    assert jvm.java.lang.Integer.parseInt("42") == 42
    lst = jvm.java.util.ArrayList()
    for i in range(10):
        lst.add(i)
    assert lst.size() == 10
print("OK", gatun.__version__, gatun.__file__)
'''


def test_wheel_installs_and_calls_with_only_a_jre(jre_only, tmp_path):
    python, env = _venv(tmp_path, jre_only)
    _pip(python, env, "--no-index", "--no-deps", WHEEL, cwd=tmp_path)
    out = _run(python, env, CALLS, cwd=tmp_path)
    assert out.startswith(f"OK {VERSION} {tmp_path}"), out
    # The doctor finds everything needed, and names the extras as missing with the fixing command.
    proc = subprocess.run([str(python), "-m", "gatun", "doctor"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for name in ("gatun", "native", "gatun-server.jar", "gatun-arrow.jar", "gatun-spark.jar", "gatun-spark35.jar", "java",
                 "server"):
        assert any(line.split()[:2] == ["OK", name] for line in lines), (name, proc.stdout)
    assert any(line.split()[:2] == ["SKIP", "pyspark"] for line in lines), proc.stdout
    assert "fix: python -m pip install 'gatun[pyspark]'" in proc.stdout
    assert "fix: python -m pip install 'gatun[arrow]'" in proc.stdout


def test_sdist_builds_without_maven_or_a_jdk(tmp_path):
    """The sdist carries the jars: building it needs a C compiler but no Maven or javac."""
    if not SDIST:
        pytest.skip("GATUN_SDIST not set")
    env = _machine_without_build_tools(tmp_path / "bin", keep=C_TOOLS)
    assert shutil.which("gcc", path=env["PATH"])
    python, env = _venv(tmp_path, env, keep=C_TOOLS)
    # Build isolation fetches setuptools/wheel from the index (or pip's cache), as for any sdist.
    _pip(python, env, "--no-deps", SDIST, cwd=tmp_path)
    out = _run(python, env, CALLS, cwd=tmp_path)
    assert out.startswith(f"OK {VERSION} {tmp_path}"), out


@pytest.mark.skipif(os.environ.get("GATUN_DIST_PYSPARK") != "1",
                    reason="GATUN_DIST_PYSPARK=1 not set: run `make test-dist-pyspark`")
def test_pyspark_demo_over_the_installed_wheel(jre_only, tmp_path):
    python, env = _venv(tmp_path, jre_only)
    # The extras from the index (pip's cache when warm), pandas for toPandas in PySpark's Arrow path.
    _pip(python, env, f"gatun[pyspark,arrow] @ {Path(WHEEL).resolve().as_uri()}", "pandas>=2.2,<3", cwd=tmp_path)
    proc = subprocess.run([str(python), str(ROOT / "bench" / "pyspark_demo.py")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    print(proc.stdout)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "results identical to Gatun's: True" in proc.stdout
