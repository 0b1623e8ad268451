"""Accuracy and speed benchmarks: an EC57-style beat-by-beat scorer for PhysioNet
annotations and ``holter bench`` runs side by side with peer detectors. Results
are committed under ``benchmarks/results/`` with the machine described.

Nothing in the product imports this package; tests may.
"""

from benchmarks._data import DataNotFoundError, physionet_dir, require_physionet_dir

__all__ = ["DataNotFoundError", "physionet_dir", "require_physionet_dir"]
