"""Train the project's models (needs the ``train`` extra: TensorFlow).

  python -m models.train beats [--out-dir models/] [--cache-dir DIR]
  python -m models.train risk  [--out-dir models/] [--cache FILE]   (see models/RISK_MODEL_CARD.md)

``beats`` regenerates models/beat_classifier.tflite and its sidecar
models/beat_classifier.json from the MIT-BIH DS1 records found through
HOLTER_PHYSIONET_DIR (default ../shared/data/physionet), with fixed seeds, and
prints the DS1 patient-held-out figures used for model selection (the DS2
figures come from ``holter bench beats``). It runs TensorFlow on one thread;
on a shared machine run it with ``nice``.

Each trainer is a module with ``configure(parser)`` and ``run(args) -> int``,
registered in :data:`TRAINERS` (the same convention as the ``holter`` command).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

#: model name -> (training module, one-line help)
TRAINERS: dict[str, tuple[str, str]] = {
    "beats": ("models._train_beats", "the beat classifier (MIT-BIH DS1, de Chazal 2004 split)"),
    "risk": ("models.train", "the risk model (chf2db vs nsr2db)"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``risk`` (its trainer, models._train_risk, has a plain main())."""
    parser.add_argument(
        "--out-dir", type=Path, default=Path(__file__).resolve().parent,
        help="where risk_model.tflite and .json go (default: models/)",
    )
    parser.add_argument("--cache", type=Path, default=None, help="feature cache file (JSON)")


def run(args: argparse.Namespace) -> int:
    """Run the risk trainer."""
    from models._train_risk import main as train_risk

    return int(train_risk(args.out_dir, args.cache))


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one trainer; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m models.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="model", required=True, metavar="MODEL")
    for name, (module_name, help_text) in TRAINERS.items():
        p = sub.add_parser(name, help=help_text)
        importlib.import_module(module_name).configure(p)
    args = parser.parse_args(argv)
    return int(importlib.import_module(TRAINERS[args.model][0]).run(args))


if __name__ == "__main__":
    sys.exit(main())
