"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sandbox.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server for the whole session (database 0; tests use unique keys)."""
    server = RedisServer()
    yield server.start()
    server.stop()


@pytest.fixture
def redis_server_factory() -> Iterator[Callable[[], RedisServer]]:
    """Fresh redis-servers a test may stop and restart; all stopped at teardown."""
    servers: list[RedisServer] = []

    def make() -> RedisServer:
        server = RedisServer()
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
