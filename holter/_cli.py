"""Entry point of the ``holter`` console script.

Each subcommand lives in its own package's command module. A command module
provides two functions:

``configure(parser: argparse.ArgumentParser) -> None``
    adds the subcommand's arguments; the module docstring becomes its help;
``run(args: argparse.Namespace) -> int``
    does the work and returns the exit status.

Bad input is reported in one line on stderr with exit status 2: command modules
raise ``ValueError`` (every package's input-error exceptions derive from it)
or ``OSError`` (missing or unreadable files), and the dispatcher turns them
into ``holter <command>: error: <reason>``. Anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib import metadata

EXIT_OK = 0
EXIT_BAD_INPUT = 2

#: subcommand -> (command module, one-line help). The registry is the only
#: place that knows where a subcommand lives.
COMMANDS: dict[str, tuple[str, str]] = {
    "detect": (
        "edge._cmd_detect",
        "detect every beat in records and write WFDB .hol annotation files",
    ),
    "bench": (
        "benchmarks._cli",
        "accuracy (EC57 on PhysioNet) and speed benchmarks, side by side with peers",
    ),
    "demo": (
        "edge._cmd_demo",
        "analyse the bundled sample record and print a beat / heart-rate summary",
    ),
    "convert": (
        "firmware_bridge._cmd_convert",
        "convert a record between WFDB, EDF/EDF+ and ISHNE Holter (gain, units, lead names kept)",
    ),
    "simulate-device": (
        "firmware_bridge._cmd_simulate",
        "replay a record as a live device sending frames (TCP, stdout), with drops and corruption",
    ),
    "listen": (
        "edge._cmd_listen",
        "receive a device's live frame stream (TCP, serial, stdin) and detect its beats",
    ),
    "gateway": (
        "edge._cmd_gateway",
        "run the edge gateway: devices and watched recordings -> alerts over MQTT",
    ),
    "risk": (
        "edge._cmd_risk",
        "score cardiac risk (HRV, DC, HRT, ectopy, TFLite model) from a beat annotation file",
    ),
    "cloud": (
        "cloud._cmd",
        "the cloud aggregator: 'worker' (MQTT shared subscription -> store), 'serve' (API, dashboard)",
    ),
    "analyze": (
        "edge._cmd_analyze",
        "analyse a whole recording and write the 24-hour report (report.json + report.html)",
    ),
}


def _version() -> str:
    try:
        return metadata.version("holter-edge")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "unknown"


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="holter",
        description="Open 24-hour Holter ECG analytics at the edge.",
        epilog="Run 'holter COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"holter {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``holter`` command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    top = _top_parser()
    if not argv or argv[0].startswith("-"):
        top.parse_args(argv)  # handles --help / --version, errors on unknown flags
        top.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    name = argv[0]
    if name not in COMMANDS:
        top.error(f"unknown command {name!r} (choose from {', '.join(COMMANDS)})")
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(
        prog=f"holter {name}",
        description=(module.__doc__ or help_text).strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.configure(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args))
    except (ValueError, OSError) as exc:
        print(f"holter {name}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"holter {name}: interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
        text = f"{text}: {exc.filename}"
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
