"""Build script for the ``gatun`` Python package.

Metadata lives in pyproject.toml. This file adds the two things that need code:

* the C extension ``gatun._native`` (gatun/_native.c), and
* the Gatun server jar, bundled as package data at gatun/jars/gatun-server.jar.
  If that file is missing at build time it is built with Maven from ../java
  (``mvn -q -f ../java/pom.xml -DskipTests package``) and copied in.
  ``make jar`` at the repository root does the same thing ahead of time.

Editable installs (``pip install -e python``) build the extension in place,
next to the sources.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent


def read_version() -> str:
    """The one version of Gatun: VERSION at the repository root (a source checkout), or the copy
    the sdist carries next to this file. The poms and the Go constant must agree
    (tests/test_version.py)."""
    for cand in (HERE.parent / "VERSION", HERE / "VERSION"):
        if cand.is_file():
            return cand.read_text(encoding="ascii").strip()
    raise RuntimeError(f"gatun: no VERSION file at {HERE.parent} or {HERE}")


VERSION = read_version()
JAR_DEST = HERE / "gatun" / "jars" / "gatun-server.jar"
JAVA_POM_REL = os.path.join("..", "java", "pom.xml")  # relative to setup.py
BUILT_JAR = HERE.parent / "java" / "core" / "target" / f"gatun-core-{VERSION}.jar"
# The Spark driver's main class, with the core shaded in (see java/spark: classifier `driver`).
SPARK_JAR_DEST = HERE / "gatun" / "jars" / "gatun-spark.jar"
BUILT_SPARK_JAR = HERE.parent / "java" / "spark" / "target" / f"gatun-spark-{VERSION}-driver.jar"
# The same for Spark 3.5 / Scala 2.12 (java/spark35); gatun.pyspark picks the one for the PySpark it runs.
SPARK35_JAR_DEST = HERE / "gatun" / "jars" / "gatun-spark35.jar"
BUILT_SPARK35_JAR = HERE.parent / "java" / "spark35" / "target" / f"gatun-spark35-{VERSION}-driver.jar"
# The Arrow data plane with Arrow itself, put on the standalone server's class path (see java/arrow).
ARROW_JAR_DEST = HERE / "gatun" / "jars" / "gatun-arrow.jar"
BUILT_ARROW_JAR = HERE.parent / "java" / "arrow" / "target" / f"gatun-arrow-{VERSION}-standalone.jar"


PTH_NAME = "gatun-pyspark.pth"


class ServerJarError(RuntimeError):
    pass


def _fail(msg: str) -> None:
    raise ServerJarError(
        "gatun: cannot bundle the server jar (gatun/jars/gatun-server.jar): " + msg
    )


def _find_java_tool(name: str) -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        cand = Path(java_home) / "bin" / name
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    return shutil.which(name)


def ensure_server_jar() -> None:
    """Make sure gatun/jars/gatun-server.jar exists, building it if needed."""
    if all(j.is_file() for j in (JAR_DEST, SPARK_JAR_DEST, SPARK35_JAR_DEST, ARROW_JAR_DEST)):
        return
    if not (HERE / JAVA_POM_REL).is_file():
        _fail(
            f"it is missing and the Java sources ({(HERE / JAVA_POM_REL).resolve()}) "
            "are not available to build it. Build the jar with "
            "`mvn -f java/pom.xml -DskipTests package` and copy "
            f"java/core/target/gatun-core-{VERSION}.jar to python/gatun/jars/gatun-server.jar."
        )
    mvn = shutil.which("mvn")
    if mvn is None:
        _fail(
            "it is missing and Maven (`mvn`) was not found on PATH, so it cannot be "
            "built. Install Maven 3.8+ (Debian: `apt-get install maven`) or run `make jar`."
        )
    if _find_java_tool("javac") is None or _find_java_tool("java") is None:
        _fail(
            "it is missing and no Java 17+ JDK (`java` and `javac`) was found on PATH or "
            "in $JAVA_HOME, so it cannot be built. Install a JDK "
            "(Debian: `apt-get install openjdk-17-jdk-headless`)."
        )
    cmd = [mvn, "-q", "-B", "-f", JAVA_POM_REL, "-DskipTests", "package"]
    print("gatun: building the server jar: " + " ".join(cmd), file=sys.stderr, flush=True)
    env = dict(os.environ)
    # Debian's Maven 3.8.7 otherwise prints stray ANSI reset codes.
    env["MAVEN_OPTS"] = (env.get("MAVEN_OPTS", "") + " -Djansi.noreset=true").strip()
    result = subprocess.run(cmd, cwd=HERE, env=env)
    if result.returncode != 0:
        _fail(f"`{' '.join(cmd)}` failed with exit code {result.returncode} (see its output above).")
    if not BUILT_JAR.is_file():
        _fail(f"Maven succeeded but {BUILT_JAR} was not produced.")
    JAR_DEST.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUILT_JAR, JAR_DEST)
    if not BUILT_SPARK_JAR.is_file():
        _fail(f"Maven succeeded but {BUILT_SPARK_JAR} was not produced.")
    shutil.copyfile(BUILT_SPARK_JAR, SPARK_JAR_DEST)
    if not BUILT_SPARK35_JAR.is_file():
        _fail(f"Maven succeeded but {BUILT_SPARK35_JAR} was not produced.")
    shutil.copyfile(BUILT_SPARK35_JAR, SPARK35_JAR_DEST)
    if not BUILT_ARROW_JAR.is_file():
        _fail(f"Maven succeeded but {BUILT_ARROW_JAR} was not produced.")
    shutil.copyfile(BUILT_ARROW_JAR, ARROW_JAR_DEST)
    print(f"gatun: copied {BUILT_JAR} -> {JAR_DEST}", file=sys.stderr, flush=True)


class BuildPyWithJar(build_py):
    """build_py (also used by editable installs) that first ensures the jar."""

    def run(self) -> None:
        ensure_server_jar()
        super().run()
        # GATUN_PYSPARK=1 activation: a .pth at the top of site-packages (wheel installs). The
        # editable development venv gets the same file from `make venv`.
        if not self.editable_mode:
            self.copy_file(str(HERE / PTH_NAME), os.path.join(self.build_lib, PTH_NAME))


class SdistWithJar(sdist):
    """The sdist carries the four jars (prebuilt: building from the sdist needs a C compiler but
    no Maven or JDK) and copies of VERSION and LICENSE, which live at the repository root."""

    def run(self) -> None:
        ensure_server_jar()
        super().run()

    def make_release_tree(self, base_dir, files) -> None:
        super().make_release_tree(base_dir, files)
        dest = os.path.join(base_dir, "VERSION")
        if os.path.exists(dest):
            os.unlink(dest)
        with open(dest, "w", encoding="ascii") as f:
            f.write(VERSION + "\n")
        # The licence text (the repository's LICENSE); the wheel built from the sdist carries it too.
        licence = HERE.parent / "LICENSE"
        if licence.is_file():
            dest = os.path.join(base_dir, "LICENSE")
            if os.path.exists(dest):
                os.unlink(dest)
            shutil.copyfile(licence, dest)


extra_compile_args = [] if sys.platform == "win32" else ["-Wall"]

setup(
    version=VERSION,
    ext_modules=[
        Extension(
            "gatun._native",
            sources=["gatun/_native.c"],
            extra_compile_args=extra_compile_args,
        )
    ],
    cmdclass={"build_py": BuildPyWithJar, "sdist": SdistWithJar},
)
