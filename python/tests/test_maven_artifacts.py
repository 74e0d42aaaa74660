"""What `mvn install` puts in the local Maven repository: every module with its -sources and -javadoc
jars, POMs with licence and SCM metadata, gatun-spark's shaded jar only under the `driver`
classifier, and no logging binding passed on by gatun-arrow.

`make test-maven` installs them and names the repository in GATUN_M2_REPO. Without it (make test),
the same checks run on the build's own output instead (java/*/target after `make jar`, the source
POMs), except those of the -sources and -javadoc jars, which only `mvn install` builds.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text(encoding="ascii").strip()
M2 = os.environ.get("GATUN_M2_REPO")
REPO = Path(M2 or ".") / "dev" / "gatun"
NS = {"m": "http://maven.apache.org/POM/4.0.0"}
MODULE_DIR = {"gatun-parent": "", "gatun-core": "core", "gatun-arrow": "arrow", "gatun-spark": "spark",
              "gatun-spark35": "spark35"}

installed = pytest.mark.skipif(not M2, reason="GATUN_M2_REPO not set: run `make test-maven`")


def _file(artifact: str, suffix: str) -> Path:
    if M2:
        return REPO / artifact / VERSION / f"{artifact}-{VERSION}{suffix}"
    module = ROOT / "java" / MODULE_DIR[artifact]
    if suffix == ".pom":
        return module / "pom.xml"
    path = module / "target" / f"{artifact}-{VERSION}{suffix}"
    if not path.is_file():
        pytest.skip(f"{path} not built (make jar)")
    return path


def _pom(artifact: str) -> ET.Element:
    return ET.parse(_file(artifact, ".pom")).getroot()


def _classes(jar: Path) -> set[str]:
    with zipfile.ZipFile(jar) as z:
        return {n for n in z.namelist() if n.endswith(".class")}


@installed
@pytest.mark.parametrize("artifact", ["gatun-core", "gatun-arrow", "gatun-spark", "gatun-spark35"])
def test_jars_sources_javadoc(artifact):
    for suffix in (".jar", "-sources.jar", "-javadoc.jar", ".pom"):
        assert _file(artifact, suffix).is_file(), _file(artifact, suffix)
    with zipfile.ZipFile(_file(artifact, "-sources.jar")) as z:
        assert any(n.endswith(".java") for n in z.namelist())
    with zipfile.ZipFile(_file(artifact, "-javadoc.jar")) as z:
        assert "index.html" in z.namelist()
    assert _pom(artifact).findtext("m:parent/m:artifactId", namespaces=NS) == "gatun-parent"


def test_parent_pom_metadata():
    parent = _pom("gatun-parent")
    assert parent.findtext("m:licenses/m:license/m:name", namespaces=NS) == "Apache-2.0"
    assert parent.findtext("m:scm/m:connection", namespaces=NS).startswith("scm:git:")
    assert parent.findtext("m:url", namespaces=NS)
    assert parent.findtext("m:developers/m:developer/m:name", namespaces=NS)


@pytest.mark.parametrize("artifact", ["gatun-spark", "gatun-spark35"])
def test_spark_main_jar_does_not_duplicate_core(artifact):
    deps = {d.findtext("m:artifactId", namespaces=NS) for d in _pom(artifact).findall("m:dependencies/m:dependency", NS)}
    assert {"gatun-core", "gatun-arrow"} <= deps
    main = _classes(_file(artifact, ".jar"))
    assert main and all(c.startswith("dev/gatun/spark/") for c in main), sorted(main)[:5]
    driver = _classes(_file(artifact, "-driver.jar"))
    assert main <= driver
    assert _classes(_file("gatun-core", ".jar")) <= driver
    assert _classes(_file("gatun-arrow", ".jar")) <= driver
    assert not any(c.startswith("org/apache/") for c in driver)


SPARK4_ONLY = "dev/gatun/spark/udf/"  # Python UDFs' columnar input (java/README.md): Spark 4 has it, 3.5 not


def test_both_spark_lines_have_the_same_classes():
    """gatun-spark35 is gatun-spark's source built against Spark 3.5: the same classes, not a fork,
    but for the Spark 4 only package dev.gatun.spark.udf."""
    spark4 = _classes(_file("gatun-spark", ".jar"))
    assert any(c.startswith(SPARK4_ONLY) for c in spark4)
    assert {c for c in spark4 if not c.startswith(SPARK4_ONLY)} == _classes(_file("gatun-spark35", ".jar"))


def test_arrow_forces_no_logging_binding():
    for dep in _pom("gatun-arrow").findall("m:dependencies/m:dependency", NS):
        if dep.findtext("m:groupId", namespaces=NS) == "org.slf4j":
            artifact = dep.findtext("m:artifactId", namespaces=NS)
            if artifact != "slf4j-api":
                scope = dep.findtext("m:scope", namespaces=NS)
                optional = dep.findtext("m:optional", namespaces=NS)
                assert scope == "test" or optional == "true", artifact
