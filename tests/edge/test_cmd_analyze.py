"""``holter analyze RECORD --report DIR``: the files, the exit status, one-line errors."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest

from holter._cli import main


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["analyze", *argv])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def report(sample_record, tmp_path_factory):
    folder = tmp_path_factory.mktemp("analyze") / "report" / "119"
    status, out, err = _run(str(sample_record), "--report", str(folder))
    return status, out, err, folder


class TestAnalyzeSample:
    def test_writes_both_files_and_exits_0(self, report):
        status, out, err, folder = report
        assert status == 0
        doc = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        assert doc["record"]["name"] == "119"
        page = (folder / "report.html").read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and "</html>" in page
        assert not re.search(r"https?://", page)

    def test_one_summary_line_and_no_progress_when_not_a_terminal(self, report):
        status, out, err, folder = report
        assert out == ""
        lines = [line for line in err.splitlines() if not line.startswith("INFO:")]
        assert len(lines) == 1, err
        assert re.match(r"holter analyze: 119: \d+ beats in 0\.50 h, risk level \w", lines[0])
        assert "\r" not in err

    def test_json_only(self, sample_record, tmp_path):
        status, _, _ = _run(str(sample_record), "--report", str(tmp_path), "--json-only", "--no-model")
        assert status == 0
        assert (tmp_path / "report.json").is_file()
        assert not (tmp_path / "report.html").exists()
        doc = json.loads((tmp_path / "report.json").read_text())
        model = next(f for f in doc["risk"]["factors"] if f["name"] == "model_probability")
        assert model["level"] == "not assessed" and "not run" in model["note"]


class TestBadInput:
    def test_missing_record(self, tmp_path):
        status, _, err = _run(str(tmp_path / "nope"), "--report", str(tmp_path / "out"))
        assert status == 2
        assert len(err.strip().splitlines()) == 1
        assert re.match(r"holter analyze: error: .*nope", err)
        assert not (tmp_path / "out" / "report.json").exists()

    @pytest.mark.parametrize("kind", ["missing_signal_file", "zero_length", "garbage_header"])
    def test_broken_records(self, bad_records, tmp_path, kind):
        path, reason = bad_records[kind]
        status, _, err = _run(str(path), "--report", str(tmp_path / "out"))
        assert status == 2
        assert len(err.strip().splitlines()) == 1
        assert re.search(reason, err), err

    def test_unwritable_report_folder(self, sample_record, tmp_path):
        blocker = tmp_path / "a_file"
        blocker.write_text("not a folder")
        status, _, err = _run(str(sample_record), "--report", str(blocker / "report"))
        assert status == 2
        assert len(err.strip().splitlines()) == 1
        assert err.startswith("holter analyze: error:") and "a_file" in err

    def test_report_path_is_a_file(self, sample_record, tmp_path):
        blocker = tmp_path / "report"
        blocker.write_text("")
        status, _, err = _run(str(sample_record), "--report", str(blocker))
        assert status == 2
        assert err.startswith("holter analyze: error:")


def test_listed_in_holter_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "analyze" in capsys.readouterr().out
