"""Each package's ``__init__`` re-exports its public names in a sorted ``__all__``."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["firmware_bridge", "dsp", "models", "edge", "cloud", "benchmarks", "holter"]


@pytest.mark.parametrize("package", PACKAGES)
class TestPublicApi:
    def test_all_is_sorted_without_duplicates(self, package):
        names = importlib.import_module(package).__all__
        assert list(names) == sorted(set(names))

    def test_every_name_in_all_exists(self, package):
        module = importlib.import_module(package)
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert not missing, f"{package}.__all__ names what {package} does not define: {missing}"

    def test_has_a_docstring(self, package):
        assert (importlib.import_module(package).__doc__ or "").strip()
