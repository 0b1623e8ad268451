"""Serve the REST API and the cardiologist dashboard (or create users and API tokens).

  holter cloud serve [--host 127.0.0.1] [--port 8080]
      needs HOLTER_CLOUD_SESSION_KEY (>= 32 characters) and the store in
      HOLTER_CLOUD_DB_URL (default: sqlite:///holter_cloud.sqlite3)
  holter cloud serve --create-user NAME --sites A,B [--role cardiologist]
      the password is read from HOLTER_CLOUD_PASSWORD, else from stdin
  holter cloud serve --create-token NAME [--token-label LABEL]
      prints a new API token once (only its SHA-256 is stored)

There is no default user and no default password. OpenAPI: /openapi.json, /docs.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import sys

from cloud._auth import session_key_from_env
from cloud._exceptions import AuthConfigError
from cloud._review_store import ROLES, ReviewStore
from cloud._store import StoreSettings, open_store, redact_url

#: Environment variable a new user's password is read from (else stdin).
PASSWORD_ENV = "HOLTER_CLOUD_PASSWORD"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``holter cloud serve`` options."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    parser.add_argument("--db", metavar="URL", help="store URL (default: $HOLTER_CLOUD_DB_URL)")
    parser.add_argument(
        "--insecure-cookies", action="store_true",
        help="send the session cookie over plain HTTP too (default: only on loopback addresses; "
        "put a TLS proxy in front for anything else)",
    )  # fmt: skip
    parser.add_argument("--create-user", metavar="NAME", help="create a user, then exit")
    parser.add_argument("--sites", help="comma-separated sites of --create-user (required with it)")
    parser.add_argument("--role", choices=ROLES, default="cardiologist", help="role of --create-user")
    parser.add_argument("--create-token", metavar="NAME", help="print a new API token of user NAME, then exit")
    parser.add_argument("--token-label", default="", help="label of --create-token (e.g. 'EHR export')")


def _read_password() -> str:
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return password
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise AuthConfigError("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line.strip():
        raise AuthConfigError(f"no password: set {PASSWORD_ENV} or pass it on stdin")
    return line.rstrip("\r\n")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    """Create a user / token, or serve until interrupted; returns the exit status."""
    settings = StoreSettings(url=args.db) if args.db else StoreSettings.from_env()
    if args.create_user:
        if not args.sites:
            raise AuthConfigError("--create-user needs --sites A,B")
        password = _read_password()
        with open_store(settings) as store:
            user = ReviewStore(store).create_user(args.create_user, password, args.sites, role=args.role)
        print(f"created user {user.name} ({user.role}) for sites {', '.join(user.sites)}")
        return 0
    if args.create_token:
        with open_store(settings) as store:
            token = ReviewStore(store).create_token(args.create_token, args.token_label)
        print(token)
        print("(shown once: only its SHA-256 is stored)", file=sys.stderr)
        return 0
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port must be in [1, 65535], got {args.port}")
    key = session_key_from_env()
    import uvicorn

    from cloud._api import create_app

    store = open_store(settings)
    secure = not (args.insecure_cookies or _is_loopback(args.host))
    app = create_app(store, session_key=key, secure_cookies=secure)
    print(
        f"holter cloud serve: http://{args.host}:{args.port}/ (store {redact_url(settings.url)}, "
        f"OpenAPI /openapi.json)",
        file=sys.stderr,
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    finally:
        store.close()
    return 0
