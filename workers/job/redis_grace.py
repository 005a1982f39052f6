"""Redis blips change nothing about a run (contract §5.7): an error is "unknown" for a while.

A run asks Redis a few things all the time (should I stop? I am alive; this phase is running).
When Redis is restarting or failing over, those questions fail for seconds. Within the grace
period (`GRACE_SECONDS`, counted from the first error of a streak) a failed question answers its
default (no stop, no news) and the run goes on; a streak longer than that is a real outage, and
the error propagates (the run then ends as the bot failing, and the reaper covers the rest).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis

log = logging.getLogger(__name__)
T = TypeVar("T")

GRACE_SECONDS = 30.0
REDIS_ERRORS = (redis.RedisError, OSError)


class RedisGrace:
    """Shared by one run's threads (its heartbeat, stop checks and progress updates)."""

    def __init__(
        self, grace: float = GRACE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._grace = grace
        self._clock = clock
        self._failing_since: float | None = None
        self._lock = threading.Lock()

    def ask(self, question: Callable[[], T], unknown: T, what: str) -> T:
        """`question()`, or `unknown` when Redis fails inside the grace period."""
        try:
            answer = question()
        except REDIS_ERRORS as error:
            with self._lock:
                now = self._clock()
                if self._failing_since is None:
                    self._failing_since = now
                    log.warning(
                        "Redis failed (%s: %s); going on for up to %.0f s", what, error, self._grace
                    )
                if now - self._failing_since > self._grace:
                    raise
            return unknown
        with self._lock:
            if self._failing_since is not None:
                log.info("Redis answers again (%s)", what)
            self._failing_since = None
        return answer

    def insist(
        self, action: Callable[[], T], what: str, sleep: Callable[[float], None] = time.sleep
    ) -> T:
        """`action()` retried until it succeeds or Redis has failed for the grace period (for
        what must happen: the record's conclusion)."""
        started = self._clock()
        while True:
            try:
                return action()
            except REDIS_ERRORS as error:
                if self._clock() - started > self._grace:
                    raise
                log.warning("Redis failed (%s: %s); trying again", what, error)
                sleep(0.5)
