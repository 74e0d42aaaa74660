"""VERSION at the repository root is the one version of Gatun: the Python package, the Maven
poms (parent and modules) and the Go client's constant must all say the same."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import gatun
from gatun.launcher import server_jar

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text(encoding="ascii").strip()
NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def test_version_is_plain_semver():
    # One spelling that PEP 440, Maven and Go module tags (vX.Y.Z) all accept unchanged.
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION), VERSION


def test_python_package_version():
    assert gatun.__version__ == VERSION


def test_maven_poms():
    parent = ET.parse(ROOT / "java" / "pom.xml").getroot()
    assert parent.findtext("m:version", namespaces=NS) == VERSION
    for module in parent.findall("m:modules/m:module", NS):
        pom = ET.parse(ROOT / "java" / module.text / "pom.xml").getroot()
        assert pom.findtext("m:parent/m:version", namespaces=NS) == VERSION, module.text
        own = pom.findtext("m:version", namespaces=NS)
        assert own in (None, VERSION), (module.text, own)


def test_go_constant():
    src = (ROOT / "go" / "gatun" / "version.go").read_text(encoding="utf-8")
    m = re.search(r'^const Version = "([^"]+)"$', src, re.M)
    assert m and m.group(1) == VERSION


def test_bundled_server_jar_version():
    with zipfile.ZipFile(server_jar()) as z:
        manifest = z.read("META-INF/MANIFEST.MF").decode()
    assert f"Implementation-Version: {VERSION}" in manifest.splitlines()


def test_go_modules():
    """The client module's graph has no charting; the command's module requires the client at this
    version (go.work stands in for it until the go/vVERSION tag exists)."""
    client = (ROOT / "go" / "go.mod").read_text(encoding="utf-8")
    assert "gonum.org/v1/plot" not in client
    cmd = (ROOT / "go" / "cmd" / "go.mod").read_text(encoding="utf-8")
    assert re.search(r"^module github\.com/gatun-project/gatun/go/cmd$", cmd, re.M)
    assert re.search(rf"^\s*github\.com/gatun-project/gatun/go v{re.escape(VERSION)}$", cmd, re.M), cmd
    assert "replace" not in cmd  # `go install ...@version` refuses modules with replace directives
    work = (ROOT / "go" / "go.work").read_text(encoding="utf-8")
    assert f"replace github.com/gatun-project/gatun/go v{VERSION} => ./" in work
