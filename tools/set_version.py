#!/usr/bin/env python3
"""Sets the one version of Gatun: VERSION, and the copies that cannot read it (the Maven poms, the Go
constant gatun.Version, go/cmd/go.mod's requirement of the client and go.work's stand-in for it).
python/tests/test_version.py checks that they agree.

    python3 tools/set_version.py 0.2.0        (make set-version V=0.2.0)
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sub(path: Path, pattern: str, repl: str, count: int = 0) -> None:
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(pattern, repl, text, count=count, flags=re.M)
    if n == 0:
        raise SystemExit(f"set_version: {pattern!r} not found in {path}")
    path.write_text(new, encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not re.fullmatch(r"\d+\.\d+\.\d+", argv[0]):
        print(__doc__, file=sys.stderr)
        return 2
    v = argv[0]
    (ROOT / "VERSION").write_text(v + "\n", encoding="ascii")
    # The parent's own <version> (the first after </parent>-less header) and each module's <parent>.
    sub(ROOT / "java" / "pom.xml", r"(<artifactId>gatun-parent</artifactId>\s*<version>)[^<]+(</version>)", rf"\g<1>{v}\g<2>", 1)
    for module in ("core", "arrow", "spark"):
        sub(ROOT / "java" / module / "pom.xml", r"(<artifactId>gatun-parent</artifactId>\s*<version>)[^<]+(</version>)", rf"\g<1>{v}\g<2>", 1)
    sub(ROOT / "go" / "gatun" / "version.go", r'^const Version = "[^"]+"$', f'const Version = "{v}"')
    sub(ROOT / "go" / "cmd" / "go.mod", r"^(\s*github\.com/gatun-project/gatun/go) v\S+$", rf"\g<1> v{v}")
    sub(ROOT / "go" / "go.work", r"^replace github\.com/gatun-project/gatun/go v\S+ => \./$",
        f"replace github.com/gatun-project/gatun/go v{v} => ./")
    print(f"Gatun version set to {v}; add a CHANGELOG.md section for it")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
