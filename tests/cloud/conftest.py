"""Store fixtures: every store test runs on SQLite and on the real PostgreSQL.

PostgreSQL is reached at ``HOLTER_TEST_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``, trust auth as ``.ci/run``
starts it). Each test run creates its own database ``holter_test_<random>``
(dropped at the end), and each test its own schema in it, so runs and tests
never collide. Where nothing listens on the port the PostgreSQL variants skip,
saying so, unless ``HOLTER_REQUIRE_DATA`` is set (then they fail).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from benchmarks._data import data_required

PG_BASE_URL = os.environ.get("HOLTER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 2):
            return True
    except OSError:
        return False


def _with_database(url: str, dbname: str, query: str = "") -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", query, ""))


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (dropped afterwards)."""
    reason = None
    try:
        import psycopg
    except ImportError:
        reason = "psycopg is not installed (pip install -e '.[dev]')"
    if reason is None and not _listening(PG_BASE_URL):
        reason = f"nothing listens at {PG_BASE_URL.split('@')[-1]} (start PostgreSQL or set HOLTER_TEST_PG_URL)"
    if reason is not None:
        if data_required():
            pytest.fail(
                f"PostgreSQL store tests: {reason} (HOLTER_REQUIRE_DATA is set)", pytrace=False
            )
        pytest.skip(f"PostgreSQL store tests: {reason}")
    dbname = f"holter_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_BASE_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    try:
        yield _with_database(PG_BASE_URL, dbname)
    finally:
        with psycopg.connect(PG_BASE_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL naming an empty store: a SQLite file, or a fresh schema in the run's database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
        return
    import psycopg

    database_url = request.getfixturevalue("pg_database_url")
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _with_database(
            database_url,
            urlsplit(database_url).path.lstrip("/"),
            f"options=-csearch_path%3D{schema}",
        )
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
