"""A short atheris run of fuzz_native.py: the C fast path's decoder of answer frames against a
fake server in a real region (make fuzz runs FUZZ_RUNS inputs)."""
from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest


def test_the_native_decoder_survives_a_short_fuzzing_run(tmp_path):
    pytest.importorskip("atheris")
    harness = Path(__file__).with_name("fuzz_native.py")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    assert runpy.run_path(str(harness), run_name="seeds")["seed_corpus"](str(corpus)) >= 8
    done = subprocess.run([sys.executable, str(harness), str(corpus), "-runs=30000", "-timeout=10",
                           "-rss_limit_mb=1024"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 30000 runs" in done.stderr


def test_the_harness_catches_a_wrong_decode(monkeypatch):
    """The check is able to fail: a fast path that answers a wrong value is reported."""
    pytest.importorskip("atheris")
    mod = runpy.run_path(str(Path(__file__).with_name("fuzz_native.py")), run_name="seeds")
    frame = bytes.fromhex("0500000040000000050000000000000006") + (41).to_bytes(4, "little")
    mod["check"](frame)  # right: 41

    class Lying:
        def roundtrip(self, ftype, payload):
            return 42

    mod["check"].__globals__["SERVER"].region = Lying()
    with pytest.raises(AssertionError, match="C decoded 42"):
        mod["check"](frame)
