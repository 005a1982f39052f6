"""A run's Redis questions during a blip: unknown within the grace period, an error after it."""

from __future__ import annotations

import pytest
import redis

from workers.job.redis_grace import RedisGrace


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def failing() -> str:
    raise redis.ConnectionError("Connection refused")


def test_errors_are_unknown_inside_the_grace_then_raise() -> None:
    clock = Clock()
    grace = RedisGrace(30.0, clock)
    assert grace.ask(failing, None, "stop?") is None
    clock.now += 29
    assert grace.ask(failing, "unknown", "stop?") == "unknown"
    clock.now += 2
    with pytest.raises(redis.ConnectionError):
        grace.ask(failing, None, "stop?")


def test_an_answer_ends_the_streak() -> None:
    clock = Clock()
    grace = RedisGrace(30.0, clock)
    grace.ask(failing, None, "beat")
    clock.now += 25
    assert grace.ask(lambda: "cancelled", None, "stop?") == "cancelled"
    clock.now += 25
    assert grace.ask(failing, None, "beat") is None  # a new streak: 0 s old


def test_other_errors_are_not_swallowed() -> None:
    grace = RedisGrace(30.0, Clock())
    with pytest.raises(ZeroDivisionError):
        grace.ask(lambda: 1 // 0, None, "x")


def test_insist_retries_until_redis_answers() -> None:
    clock, calls = Clock(), []

    def finish() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise redis.ConnectionError("down")
        return "done"

    def sleep(seconds: float) -> None:
        clock.now += seconds

    assert RedisGrace(30.0, clock).insist(finish, "finish", sleep) == "done"
    assert len(calls) == 3
