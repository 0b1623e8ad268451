"""Run one aggregator worker: MQTT 5 shared subscription -> idempotent store -> PUBACK.

Reads the config file (cloud/cloud.sample.toml is a commented example;
docs/cloud_worker.md is the reference), connects, and stores every alert,
summary, strip and gateway status it receives, acknowledging each message only
after its batch has committed. SIGTERM or SIGINT: the open batch is committed
and acknowledged, then the worker disconnects and prints its counters. Run
several (each with its own --client-id) to share the load.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the worker's arguments."""
    parser.add_argument("--config", required=True, type=Path, metavar="TOML",
                        help="the worker's config file (cloud.toml)")
    parser.add_argument("--client-id", metavar="ID",
                        help="override [broker] client_id (one per worker, stable across restarts)")
    parser.add_argument("--stats-json", type=Path, metavar="PATH",
                        help="write the final counters here as JSON at exit")
    parser.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"))  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Load the config, run the worker until SIGTERM/SIGINT; 0 on a clean stop."""
    from cloud._worker import Worker
    from cloud._worker_config import load_config

    config = load_config(args.config)
    if args.client_id is not None:
        config = dataclasses.replace(config, client_id=args.client_id)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr,
        format="%(asctime)s %(levelname)s holter-cloud-worker[" + config.client_id + "] %(message)s",
    )  # fmt: skip
    worker = Worker(config)

    def _stop(signum: int, frame: object) -> None:
        worker.stop()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        stats = worker.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if args.stats_json is not None:
        args.stats_json.write_text(worker.stats_json() + "\n", encoding="utf-8")
    print(f"holter cloud worker {config.client_id}: {stats.line()}", file=sys.stderr)
    return 0
