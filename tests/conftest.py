"""Shared test fixtures.

The PhysioNet fixtures follow the DESIGN.md data contract: the databases are
found through ``HOLTER_PHYSIONET_DIR`` (or ``../shared/data/physionet`` beside
the checkout). Where they are missing, a test that needs them is skipped with a
message saying where it looked and how to get the data, or fails when
``HOLTER_REQUIRE_DATA`` is set (as ``.ci/run`` does). Mark such tests
``@pytest.mark.data``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks._data import DataNotFoundError, data_required, require_physionet_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
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
