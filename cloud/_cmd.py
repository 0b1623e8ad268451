"""The cloud aggregator: ``holter cloud worker`` (MQTT -> store) and ``holter cloud serve``.

Each subcommand lives in its own module, imported only when it runs, listed in
:data:`SUBCOMMANDS`; an entry whose module is not there yet is left out.
Run ``holter cloud SUBCOMMAND --help`` for its options.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util

#: subcommand -> command module (with ``configure(parser)`` and ``run(args)``).
SUBCOMMANDS: dict[str, str] = {
    "worker": "cloud._cmd_worker",  # the MQTT aggregator worker (docs/cloud_worker.md)
    # ---- `holter cloud serve`: the REST API and dashboard, written in cloud/_cmd_serve.py
    "serve": "cloud._cmd_serve",
}


def _available() -> dict[str, str]:
    return {
        name: module
        for name, module in SUBCOMMANDS.items()
        if importlib.util.find_spec(module) is not None
    }


def configure(parser: argparse.ArgumentParser) -> None:
    """Add one subparser per available subcommand, each configured by its module."""
    sub = parser.add_subparsers(dest="cloud_command", metavar="SUBCOMMAND", required=True)
    for name, module_name in _available().items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # a missing extra must not break the other subcommands
            child = sub.add_parser(name, help=f"(unavailable: {exc})")
            child.set_defaults(cloud_run=_unavailable(name, exc))
            continue
        doc = (module.__doc__ or name).strip()
        child = sub.add_parser(
            name, help=doc.splitlines()[0], description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        module.configure(child)
        child.set_defaults(cloud_run=module.run)


def _unavailable(name: str, exc: ImportError):
    def run(args: argparse.Namespace) -> int:
        raise ValueError(f"holter cloud {name} needs a package that is missing: {exc}"
                                  " (pip install 'holter-edge[cloud]')")  # fmt: skip

    return run


def run(args: argparse.Namespace) -> int:
    """Run the chosen subcommand."""
    return int(args.cloud_run(args))
