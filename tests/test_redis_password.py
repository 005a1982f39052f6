"""Redis runs with a password everywhere the project starts it (sandbox/redis_server.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
import redis

from sandbox.redis_server import RedisServer


@pytest.fixture
def redis_server(redis_server_factory: Callable[[], RedisServer]) -> RedisServer:
    return redis_server_factory()


def test_the_redis_server_refuses_clients_without_the_password(redis_server: RedisServer) -> None:
    assert f":{redis_server.password}@" in redis_server.url
    assert redis.Redis.from_url(redis_server.url).ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=redis_server.port).ping()


def test_the_password_is_on_no_command_line(redis_server: RedisServer) -> None:
    every_command_line = subprocess.run(
        ["ps", "-eo", "args"], capture_output=True, text=True, check=True
    ).stdout
    assert "redis-server" in every_command_line
    assert redis_server.password not in every_command_line
