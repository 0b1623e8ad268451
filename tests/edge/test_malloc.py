"""edge._malloc: glibc's thresholds raised once per process, harmlessly elsewhere."""

from __future__ import annotations

import platform
import sys

import pytest

from edge import _malloc


class TestReuseFreedMemory:
    def test_idempotent_bool(self):
        first = _malloc.reuse_freed_memory()
        assert isinstance(first, bool)
        assert _malloc.reuse_freed_memory() is first

    @pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                        reason="the thresholds exist in glibc's malloc only")
    def test_set_on_glibc(self):
        assert _malloc._set_thresholds() is True

    def test_other_platforms_do_nothing(self, monkeypatch):
        monkeypatch.setattr(_malloc.sys, "platform", "darwin")
        assert _malloc._set_thresholds() is False
