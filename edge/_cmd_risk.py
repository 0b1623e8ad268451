"""Score cardiac risk from an existing beat annotation file (RR-interval databases).

Reads RECORD.EXT (a WFDB annotation file, e.g. chf2db/chf201.ecg at 128 Hz;
no signal file is needed), groups the beat labels into N / A / V / F / Q,
and computes from the RR intervals: HRV (Task Force 1996, NN intervals only),
deceleration capacity, heart-rate turbulence, ectopy and pauses, hourly heart
rate, and the int8 TFLite risk model's probability of the heart-failure
class. Prints one JSON document on stdout:

  model_probability   the model's output (null with --no-model)
  level, points       the overall level (worst assessed factor) and its points
  factors             every factor: value, level, cut-off, source, contribution;
                      factors this input cannot give (AF burden, ST, QTc) are
                      "not assessed" with the reason
  disclaimer          the score supports a physician and does not diagnose
  measures            the measurements behind the factors

examples:
  holter risk $HOLTER_PHYSIONET_DIR/chf2db/chf201 --annotator ecg
  holter risk out/119 --annotator hol --sex female
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["configure", "load_annotation", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``holter risk`` arguments to `parser`."""
    parser.add_argument("record", metavar="RECORD", help="record path without extension")
    parser.add_argument(
        "--annotator", required=True, metavar="EXT",
        help="annotation file extension (ecg for chf2db / nsr2db, atr, hol, ...)",
    )
    parser.add_argument(
        "--fs-hz", type=float, default=None,
        help="sampling frequency of the annotation times when the record has no header",
    )
    parser.add_argument(
        "--sex", choices=("female", "male"), default=None,
        help="for the sex-specific QTc cut-off (default: unknown, the lower cut-off)",
    )
    parser.add_argument(
        "--model", type=Path, default=None, metavar="PATH",
        help="risk model .tflite (default: the committed models/risk_model.tflite)",
    )
    parser.add_argument("--no-model", action="store_true", help="do not run the risk model")
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2)")


def load_annotation(record: str, extension: str, fs_hz: float | None = None):
    """Samples, symbols and sampling frequency of RECORD.EXT (ValueError / OSError when bad)."""
    import wfdb

    record = str(record).removesuffix(".hea")
    path = Path(f"{record}.{extension}")
    if not path.is_file():
        raise FileNotFoundError(f"no annotation file {path}")
    try:
        ann = wfdb.rdann(record, extension)
    except Exception as exc:  # wfdb raises anything from IndexError to struct.error
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"unreadable annotation file {path}: {reason}") from exc
    fs = fs_hz if fs_hz is not None else ann.fs
    if fs is None or not float(fs) > 0:
        raise ValueError(
            f"{path}: no sampling frequency (no header beside it); pass --fs-hz"
        )
    return ann.sample, list(ann.symbol), float(fs)


def run(args: argparse.Namespace) -> int:
    """Run ``holter risk``; returns the exit status."""
    import dsp
    import models

    t0 = time.perf_counter()
    samples, symbols, fs_hz = load_annotation(args.record, args.annotator, args.fs_hz)
    rr = dsp.rr_series_from_annotation(samples, symbols, fs_hz)
    if rr.n_beats < 2:
        raise ValueError(
            f"{args.record}.{args.annotator}: {rr.n_beats} beat annotation(s); "
            "need at least 2 beats to score"
        )
    model = None
    if not args.no_model:
        model = models.RiskModel(args.model) if args.model else models.RiskModel()
    assessment = models.assess_rr(rr, model=model, sex=args.sex)
    score = assessment.score
    document = {
        "record": Path(args.record).name,
        "annotator": args.annotator,
        "fs_hz": fs_hz,
        "model_probability": assessment.model_probability,
        "level": score.level,
        "points": score.points,
        "n_factors_assessed": score.n_assessed,
        "disclaimer": score.disclaimer,
        "factors": score.as_dict()["factors"],
        "model": None
        if model is None
        else {
            "path": str(model.path),
            "version": model.info.get("version"),
            "output": model.info.get("output"),
            "cross_validated_auc": model.info.get("cross_validation", {}).get("auc_int8"),
            "cross_validated_auc_ci95": model.info.get("cross_validation", {}).get(
                "auc_int8_ci95_bootstrap"
            ),
        },
        "measures": models.rr_analysis_dict(assessment),
    }
    json.dump(document, sys.stdout, indent=args.indent or None, allow_nan=False)
    sys.stdout.write("\n")
    print(
        f"holter risk: {document['record']}: {rr.n_beats} beats, "
        f"{rr.duration_s / 3600:.1f} h, level {score.level} "
        f"({time.perf_counter() - t0:.2f} s)",
        file=sys.stderr,
    )
    return 0
