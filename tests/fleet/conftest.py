"""Real servers for the fleet tests: one private redis-server and one PostgreSQL cluster per
session (see tests/fleet/servers.py), started on first use and stopped at the end.

Without the binaries or the Python clients the tests skip, saying how to get them; under
`CI=true` a server that cannot start fails the run instead. redis-py's and psycopg's async
clients run on asyncio, so these tests run on asyncio only (tests of the trio refusal ask
for trio themselves).
"""

from __future__ import annotations

import importlib.util
import itertools
import os
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from tests.fleet.servers import Missing, PostgresServer, RedisServer, StartFailed

T = TypeVar("T")

_IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if _IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def _start(what: str, client: str, extra: str, make: Callable[[], T]) -> T:
    if importlib.util.find_spec(client) is None:
        _unavailable(f"the {client} package is missing: pip install 'l0[{extra}]'")
    try:
        return make()
    except Missing as exc:
        _unavailable(str(exc))
    except StartFailed as exc:
        _unavailable(f"{what} did not start: {exc}")
    raise AssertionError("unreachable")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = _start("redis-server", "redis", "redis", RedisServer)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    import redis

    with redis.Redis.from_url(redis_server.url) as client:
        client.flushdb()
    return redis_server.url


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own, to pause or kill."""
    server = _start("redis-server", "redis", "redis", RedisServer)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = _start("PostgreSQL", "psycopg", "postgres", PostgresServer)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of this test's own, to stop."""
    server = _start("PostgreSQL", "psycopg", "postgres", PostgresServer)
    try:
        yield server
    finally:
        server.stop()


_databases = itertools.count()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty database of this test's own on the session's cluster."""
    import psycopg

    name = f"l0_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres_server.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.database_url(name)
    finally:
        with psycopg.connect(postgres_server.url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
