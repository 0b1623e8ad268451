"""Train the project's models (needs the ``train`` extra: TensorFlow).

  python -m models.train risk [--out-dir models/] [--cache FILE]

``risk`` regenerates models/risk_model.tflite and models/risk_model.json from
chf2db and nsr2db (subject-wise cross-validation, then all subjects), with
fixed seeds; see models/RISK_MODEL_CARD.md. Run it niced on a shared machine
(it sets one TensorFlow thread itself).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="model", required=True)
    risk = sub.add_parser("risk", help="the RR-interval risk model (chf2db vs nsr2db)")
    risk.add_argument(
        "--out-dir", type=Path, default=Path(__file__).resolve().parent,
        help="where risk_model.tflite and .json go (default: models/)",
    )
    risk.add_argument(
        "--cache", type=Path, default=None,
        help="JSON file caching the per-record features (outside the repository)",
    )
    args = parser.parse_args(argv)
    from models._train_risk import main as train_risk

    return train_risk(args.out_dir, args.cache)


if __name__ == "__main__":
    sys.exit(main())
