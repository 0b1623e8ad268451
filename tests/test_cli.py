"""The ``holter`` command line: subcommands listed, bad input is one line and exit status 2."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from holter._cli import main

REPO_ROOT = Path(__file__).resolve().parent.parent
BAD_KINDS = ["missing", "garbage_header", "fs_out_of_range", "zero_length", "missing_signal_file"]


class TestTopLevel:
    def test_help_lists_the_subcommands(self, capsys):
        with pytest.raises(SystemExit) as exit_info:
            main(["--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        for command in ("detect", "bench", "demo"):
            assert re.search(rf"^\s+{command}\s", out, flags=re.MULTILINE), f"{command} not in:\n{out}"

    def test_unknown_command_exits_2_naming_it(self, capsys):
        with pytest.raises(SystemExit) as exit_info:
            main(["frobnicate"])
        assert exit_info.value.code == 2
        assert "unknown command 'frobnicate'" in capsys.readouterr().err

    def test_detect_help_describes_the_output(self, capsys):
        with pytest.raises(SystemExit) as exit_info:
            main(["detect", "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert "--out-dir DIR" in out
        assert ".hol" in out


class TestDetectBadInput:
    @pytest.mark.parametrize("kind", BAD_KINDS)
    def test_one_line_and_exit_2(self, bad_records, tmp_path, capsys, kind):
        path, reason = bad_records[kind]
        status = main(["detect", str(path), "--out-dir", str(tmp_path / "out")])
        captured = capsys.readouterr()
        assert status == 2
        lines = captured.err.splitlines()
        assert len(lines) == 1, captured.err
        assert lines[0].startswith("holter detect: error: ")
        assert re.search(reason, lines[0]), lines[0]
        assert not list((tmp_path / "out").iterdir())  # nothing written for a bad record

    def test_out_dir_that_is_a_file_exits_2(self, sample_record, tmp_path, capsys):
        not_a_dir = tmp_path / "file"
        not_a_dir.write_text("")
        status = main(["detect", str(sample_record), "--out-dir", str(not_a_dir)])
        err = capsys.readouterr().err
        assert status == 2
        assert len(err.splitlines()) == 1
        assert str(not_a_dir) in err

    def test_real_exit_status_of_the_console_command(self, bad_records, tmp_path):
        path, reason = bad_records["fs_out_of_range"]
        proc = subprocess.run(
            [sys.executable, "-m", "holter", "detect", str(path), "--out-dir", str(tmp_path / "out")],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.splitlines()
        assert len(lines) == 1, proc.stderr
        assert re.search(reason, lines[0])
        assert proc.stdout == ""
