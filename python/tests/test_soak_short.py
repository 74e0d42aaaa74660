"""A one-minute run of bench/soak.py (make soak runs SOAK_SECONDS, default an hour): Python and Go
workers must not fail, and no sampled figure (RSS, fds, threads, sessions, /dev/shm files,
registry size) may grow from the middle third of the run to the last."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def test_a_short_soak_shows_no_growth(tmp_path):
    seconds = os.environ.get("GATUN_SHORT_SOAK_SECONDS", "60")
    cmd = [sys.executable, str(SOAK), "--seconds", seconds, "--samples", "24", "--out", str(tmp_path)]
    if shutil.which("go") is None or not (SOAK.parents[1] / "go" / "go.mod").exists():
        cmd.append("--no-go")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=float(seconds) + 600)
    summary = (tmp_path / "soak.md").read_text() if (tmp_path / "soak.md").exists() else done.stderr[-3000:]
    assert done.returncode == 0, summary
    result = json.loads((tmp_path / "soak.json").read_text())
    assert result["ok"] and not result["errors"]
    assert all(n > 0 for n in result["counts"].values()), result["counts"]
    print("\n" + summary)
