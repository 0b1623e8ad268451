"""Run the atheris harness for a few thousand inputs (coverage-guided)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).with_name("fuzz_bridge.py")


@pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None,
    reason="atheris is not installed (dev extra, x86_64 only); hypothesis fuzzing still runs",
)
class TestAtherisFuzz:
    def test_frame_parser_and_ishne_header_raise_only_typed_errors(self, tmp_path):
        proc = subprocess.run(
            [sys.executable, str(HARNESS), "-runs=20000", "-max_len=4096", "-len_control=0",
             "-seed=1", f"-artifact_prefix={tmp_path}/"],
            capture_output=True, text=True, timeout=300, cwd=HARNESS.parents[2],
        )
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        assert proc.returncode == 0, f"atheris found a crash:\n{tail}"
        assert "Done 20000 runs" in proc.stderr, tail
