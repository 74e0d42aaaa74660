"""A short run of bench/load_bench.py (its calls part): the benchmark behind the load figures runs,
measures every bridge at every load level and writes its report. Numbers are not checked: a
short run on a test machine means nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "load_bench.py")


def test_load_bench_quick_run_writes_a_complete_report(tmp_path):
    p = subprocess.run([sys.executable, BENCH, "--quick", "--parts", "calls", "--bridges", "gatun,py4j",
                        "--no-go", "--loads", "0,2", "--out", str(tmp_path), "--no-chart"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    doc = json.loads((tmp_path / "load.json").read_text())
    summary = doc["calls"]["summary"]
    assert sorted(summary, key=int) == ["0", "2"]
    for k, level in summary.items():
        for bridge in ("gatun", "py4j"):
            for op in ("prebound_call", "static_call", "new_object", "callback"):
                cell = level[bridge][op]
                assert cell["failed_runs"] == 0, (k, bridge, op, cell)
                assert 0 < cell["median"]["median"] <= cell["p99"]["median"]
    for level in doc["calls"]["levels"]:
        assert level["loadavg_start"] and level["loadavg_end"]
    md = (tmp_path / "load.md").read_text()
    assert "### 2 busy processes" in md and "| prebound_call | gatun |" in md
