"""Shared test fixtures.

The PhysioNet fixtures follow the DESIGN.md data contract: the databases are
found through ``HOLTER_PHYSIONET_DIR`` (or ``../shared/data/physionet`` beside
the checkout). Where they are missing, a test that needs them is skipped with a
message saying where it looked and how to get the data, or fails when
``HOLTER_REQUIRE_DATA`` is set (as ``.ci/run`` does). Mark such tests
``@pytest.mark.data``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# tests/edge, tests/dsp, ... have no __init__.py, so on sys.path (pytest puts
# tests/ there) they look like namespace packages named edge, dsp, ... The
# editable install's import hook comes after sys.path, so under a bare `pytest`
# (no cwd on sys.path) `import edge` would find tests/edge. A regular package
# on sys.path wins over namespace portions: put the checkout there.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._data import DataNotFoundError, data_required, require_physionet_dir  # noqa: E402

#: The bundled MIT-BIH record 119 (record path without extension); no shared data needed.
SAMPLE_RECORD = REPO_ROOT / "data" / "sample" / "119"


def _require(database: str | None = None) -> Path:
    try:
        return require_physionet_dir(database)
    except DataNotFoundError as exc:
        if data_required():
            pytest.fail(f"{exc} (HOLTER_REQUIRE_DATA is set, so missing data fail)", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def physionet_dir() -> Path:
    """The PhysioNet folder (one sub-folder per database); skips or fails when missing."""
    return _require()


@pytest.fixture(scope="session")
def mitdb_dir(physionet_dir: Path) -> Path:
    """The MIT-BIH Arrhythmia Database folder; skips or fails when missing."""
    return _require("mitdb")


@pytest.fixture(scope="session")
def sample_record() -> Path:
    """The bundled sample record (MIT-BIH 119) as a WFDB record path without extension."""
    if not SAMPLE_RECORD.with_suffix(".hea").is_file():
        pytest.fail(f"bundled sample record missing: {SAMPLE_RECORD}.hea", pytrace=False)
    return SAMPLE_RECORD


#: What the one-line error must say about each of :func:`bad_records` (regex).
_BAD_RECORD_REASONS = {
    "missing": r"no WFDB record at .*does_not_exist",
    "garbage_header": r"unreadable WFDB header .*garbage\.hea",
    "fs_out_of_range": r"slow\.hea: sampling frequency 50 Hz is outside the supported 100-1000 Hz",
    "zero_length": r"empty\.hea: the record is zero-length",
    "missing_signal_file": r"signal file .*nodat\.dat not found",
}


@pytest.fixture
def bad_records(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """One broken WFDB record of each kind the readers must reject.

    Keyed by the problem: ``missing`` (no files at all), ``garbage_header`` (a
    .hea that is not a header), ``fs_out_of_range`` (50 Hz), ``zero_length``
    (0 samples), ``missing_signal_file`` (header without its .dat). Each value
    is (record path without extension, regex the error message must match).
    """
    import numpy as np
    import wfdb

    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "garbage.hea").write_bytes(b"\x00\xffthis is not a WFDB header\nat all\n")
    wfdb.wrsamp(
        "slow", fs=50, units=["mV"], sig_name=["ECG"], p_signal=np.zeros((500, 1)),
        fmt=["16"], write_dir=str(folder),
    )
    (folder / "empty.hea").write_text("empty 1 360 0\nempty.dat 16 200 16 0 0 0 0 ECG\n")
    (folder / "empty.dat").write_bytes(b"")
    (folder / "nodat.hea").write_text("nodat 1 360 3600\nnodat.dat 16 200 16 0 0 0 0 ECG\n")
    paths = {
        "missing": folder / "does_not_exist",
        "garbage_header": folder / "garbage",
        "fs_out_of_range": folder / "slow",
        "zero_length": folder / "empty",
        "missing_signal_file": folder / "nodat",
    }
    return {kind: (path, _BAD_RECORD_REASONS[kind]) for kind, path in paths.items()}
