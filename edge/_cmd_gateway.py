"""Run the edge gateway: devices and watched recordings -> analysis -> alerts over MQTT.

  holter gateway --config gateway.toml           run until SIGTERM / Ctrl-C
  holter gateway --config gateway.toml --check   check the file and exit
  holter gateway --config gateway.toml --once    analyse what is in the watched
                                                 folder, send it, and exit
  holter gateway status [--health HOST:PORT | --config gateway.toml]
                                                 print a running gateway's health

A documented sample configuration is edge/deploy/gateway.sample.toml, a systemd
unit edge/deploy/holter-gateway.service. Credentials come from the environment
(HOLTER_MQTT_USERNAME, HOLTER_MQTT_PASSWORD or the file HOLTER_MQTT_PASSWORD_FILE)
or the file named in the config; never from the config itself.

Exit status: 0 on a clean stop, 2 on a bad configuration (one line saying what
and where), 1 when `status` finds the gateway unhealthy or unreachable.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from edge._config import load_config

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``holter gateway`` arguments to `parser`."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__
    parser.add_argument("action", nargs="?", choices=("run", "status"), default="run",
                        help="run the gateway (default) or print a running one's health")
    parser.add_argument("--config", type=Path, metavar="FILE", help="the gateway's TOML file")
    parser.add_argument("--check", action="store_true", help="check the configuration and exit")
    parser.add_argument("--once", action="store_true",
                        help="exit once the watched folder is analysed and the outbox is empty")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="with --once: give up after S seconds (exit 1)")
    parser.add_argument("--health", metavar="HOST:PORT",
                        help="status: the gateway's health address (default: from --config)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every alert")


def _status(args: argparse.Namespace) -> int:
    address = args.health
    if address is None:
        if args.config is None:
            raise ValueError("status needs --health HOST:PORT or --config FILE")
        address = load_config(args.config).health
        if not address:
            raise ValueError(f"{args.config}: [gateway] health is off")
    try:
        with urllib.request.urlopen(f"http://{address}/healthz", timeout=5) as resp:
            body, healthy = resp.read(), True
    except urllib.error.HTTPError as exc:
        body, healthy = exc.read(), False
    except OSError as exc:
        print(f"holter gateway status: no gateway answers at {address}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(json.loads(body), indent=2))
    return 0 if healthy else 1


def run(args: argparse.Namespace) -> int:
    """Run ``holter gateway``; returns the exit status."""
    if args.action == "status":
        return _status(args)
    if args.config is None:
        raise ValueError("--config FILE is required (sample: edge/deploy/gateway.sample.toml)")
    config = load_config(args.config)
    if args.check:
        print(f"{args.config}: OK (site {config.site}, gateway {config.gateway}, "
              f"{len(config.patients)} patients, broker {config.broker_url})")
        return 0
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from edge._gateway import Gateway

    gateway = Gateway(config).start()
    stop = {"now": False}

    def on_signal(signum, frame) -> None:  # noqa: ANN001
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    where = ", ".join(f"port {p}" for p in gateway.listen_ports) or "no port"
    print(f"holter gateway {config.site}/{config.gateway}: devices on {where}, watching "
          f"{config.watch_dir}, health on {config.health or 'off'}", file=sys.stderr, flush=True)
    status = 0
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    try:
        while not stop["now"]:
            time.sleep(0.2)
            if args.once and gateway.idle() and len(gateway.outbox) == 0:
                time.sleep(config.watch_poll_s + config.watch_stable_s + 0.2)
                if gateway.idle() and len(gateway.outbox) == 0:
                    break
            if deadline is not None and time.monotonic() > deadline:
                print(f"holter gateway: --timeout: {len(gateway.outbox)} messages still in the "
                      "outbox (kept on disk)", file=sys.stderr)
                status = 1
                break
    finally:
        counts = gateway.counts
        gateway.stop(flush_s=10.0)
    print(f"holter gateway: stopped; {counts['files']} files, {counts['alerts']} alerts, "
          f"{counts['summaries']} summaries sent or queued", file=sys.stderr)
    return status
