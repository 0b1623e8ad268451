"""The RR / delineation benchmarks: their help, and the q1c reference parser."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks._delineation_bench import reference_beats
from holter._cli import main


class TestHelp:
    @pytest.mark.parametrize("argv", [["bench", "--help"], ["bench", "hrv", "--help"], ["bench", "risk", "--help"]])
    def test_help_prints(self, argv, capsys):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert "--write" in out or "delineation" in out


class TestQ1cReference:
    def test_beats_points_and_p_waves(self):
        # beat 1: P, QRS, T; beat 2: no P annotated; beat 3: no T end
        symbols = ["(", "p", ")", "(", "N", ")", "t", ")", "(", "N", ")", "t", ")", "(", "N", ")"]
        samples = np.arange(len(symbols)) * 10
        beats = reference_beats(samples, symbols)
        assert [b["r"] for b in beats] == [40, 90, 140]
        assert [b["qrs_onset"] for b in beats] == [30, 80, 130]
        assert [b["qrs_offset"] for b in beats] == [50, 100, 150]
        assert [b["t_end"] for b in beats] == [70, 120, -1]
        assert [b["p"] for b in beats] == [True, False, False]
