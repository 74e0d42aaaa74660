"""`go install github.com/gatun-project/gatun/go/cmd/gatun@vX.Y.Z`, as go/README.md documents it,
run against local tags instead of published ones.

A clone of this checkout stands in for github.com/gatun-project/gatun (git's `url.<clone>.insteadOf`,
GOPRIVATE so the go command fetches the module from git directly and skips the checksum database).
The release steps of go/README.md are followed in the clone: tag `go/vX.Y.Z`, `GOWORK=off go mod tidy`
in go/cmd (the client's checksum into cmd/go.sum), commit, tag `go/cmd/vX.Y.Z`; then `go install
...@vX.Y.Z` runs outside any module, with `go.work` and its `replace` out of play, into a private
GOBIN and module cache. The other modules come from this machine's module cache first (a file://
GOPROXY), then proxy.golang.org. Skipped without go or git.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text(encoding="ascii").strip()
MODULE = "github.com/gatun-project/gatun"

pytestmark = pytest.mark.skipif(not (shutil.which("go") and shutil.which("git")), reason="needs go and git")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} (in {cwd}): exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_go_install_at_a_release_tag(tmp_path):
    modcache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    repo = tmp_path / "repo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GO"))}
    env.update(
        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=str(tmp_path / "gitconfig"),
        GIT_AUTHOR_NAME="release", GIT_AUTHOR_EMAIL="release@example.com",
        GIT_COMMITTER_NAME="release", GIT_COMMITTER_EMAIL="release@example.com",
        GOPRIVATE=MODULE, GOWORK="off", GOFLAGS="-modcacherw -buildvcs=false",
        GOPROXY=f"file://{modcache}/cache/download,https://proxy.golang.org",
        GOMODCACHE=str(tmp_path / "modcache"), GOPATH=str(tmp_path / "gopath"), GOBIN=str(tmp_path / "bin"),
        GOTOOLCHAIN="local",
    )
    (tmp_path / "gitconfig").write_text(f'[url "file://{repo}"]\n\tinsteadOf = https://{MODULE}\n')
    # The committed state of this checkout (HEAD), as a release would tag it.
    _run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(repo)], tmp_path, env)
    _run(["git", "tag", f"go/v{VERSION}"], repo, env)
    _run(["go", "mod", "tidy"], repo / "go" / "cmd", env)
    _run(["git", "commit", "-q", "--allow-empty", "-am", "go/cmd: the client's checksum"], repo, env)
    _run(["git", "tag", f"go/cmd/v{VERSION}"], repo, env)

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _run(["go", "install", f"{MODULE}/go/cmd/gatun@v{VERSION}"], outside, env, timeout=900)
    gatun = tmp_path / "bin" / "gatun"
    assert gatun.is_file()
    out = _run([str(gatun), "--help"], outside, env)
    assert "usage: gatun <command>" in out and "doctor" in out, out
    # It was built from the tagged modules, not from this checkout through go.work.
    listing = _run(["go", "version", "-m", str(gatun)], outside, env)
    assert f"mod\t{MODULE}/go/cmd\tv{VERSION}" in listing, listing
    assert f"dep\t{MODULE}/go\tv{VERSION}" in listing, listing
