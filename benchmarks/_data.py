"""Where the PhysioNet databases are (DESIGN.md contract).

``HOLTER_PHYSIONET_DIR`` names the folder that holds one sub-folder per
database (``mitdb/``, ``nstdb/``, ``qtdb/``, ...). When it is unset,
``../shared/data/physionet`` beside the checkout is used if it exists.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DIR = "HOLTER_PHYSIONET_DIR"
ENV_REQUIRE = "HOLTER_REQUIRE_DATA"
_REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = _REPO_ROOT.parent / "shared" / "data" / "physionet"
HOW_TO_GET = "run 'make data' (downloads the databases from PhysioNet with wfdb; needs internet)"


class DataNotFoundError(FileNotFoundError):
    """The PhysioNet folder (or one database in it) is not where it was looked for."""


def _candidate() -> tuple[Path, str]:
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser(), f"${ENV_DIR}={env}"
    return DEFAULT_DIR, f"the default {DEFAULT_DIR} (${ENV_DIR} is unset)"


def physionet_dir(database: str | None = None) -> Path | None:
    """The PhysioNet folder (or ``folder/database``), or None where it is missing."""
    root, _ = _candidate()
    path = root / database if database else root
    return path if path.is_dir() else None


def require_physionet_dir(database: str | None = None) -> Path:
    """Like :func:`physionet_dir` but raises :class:`DataNotFoundError` saying where it looked."""
    root, where = _candidate()
    path = root / database if database else root
    if not path.is_dir():
        raise DataNotFoundError(f"PhysioNet data not found at {path} (looked in {where}); {HOW_TO_GET}")
    return path


def data_required() -> bool:
    """True when ``HOLTER_REQUIRE_DATA`` asks that missing data fail instead of skip."""
    return os.environ.get(ENV_REQUIRE, "").strip().lower() not in ("", "0", "false", "no")
