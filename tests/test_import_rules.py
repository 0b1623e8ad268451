"""DESIGN.md's import rules, checked on the source.

dsp/ imports none of the other packages; models/ may import dsp/;
firmware_bridge/ imports neither edge/ nor cloud/; edge/ uses firmware_bridge/,
dsp/ and models/ and knows nothing of cloud/; cloud/ shares only the payload
codec with edge/ and never runs dsp/ or models/; nothing imports benchmarks/
or tests/. (holter/ is the CLI dispatcher: it names command modules as strings
and imports none of them.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("firmware_bridge", "dsp", "models", "edge", "cloud", "benchmarks", "holter")

#: package -> the project packages it may import
ALLOWED = {
    "dsp": set(),
    "models": {"dsp"},
    "firmware_bridge": set(),
    "edge": {"firmware_bridge", "dsp", "models"},
    "cloud": {"edge"},  # the payload codec only, see below
    "benchmarks": {"firmware_bridge", "dsp", "models", "edge", "cloud"},
    "holter": set(),
}
#: the only edge modules cloud/ may import (the payload codec)
CLOUD_MAY_USE_FROM_EDGE = ("edge.codec", "edge._payload", "edge.payload", "edge._codec")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            # "from edge import codec" imports the module edge.codec
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules(package: str):
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_follow_the_design(package):
    problems = []
    for path in _modules(package):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == package or top not in PACKAGES + ("tests",):
                continue
            rel = path.relative_to(ROOT)
            if top == "tests" or top not in ALLOWED[package]:
                problems.append(f"{rel} imports {name}")
            elif package == "cloud" and top == "edge" and name != "edge":
                if not name.startswith(CLOUD_MAY_USE_FROM_EDGE):
                    problems.append(f"{rel} imports {name} (cloud may use only the payload codec)")
    assert not problems, "\n".join(problems)


def test_every_package_is_checked():
    assert {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()} <= set(PACKAGES)
