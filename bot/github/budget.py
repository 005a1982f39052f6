"""What every process of the bot may still spend on GitHub, shared through Redis.

GitHub counts per installation, not per process: its secondary rate limit allows about 80
content-creating requests (POST, PATCH, PUT, DELETE) a minute. Twenty runs finishing together
on several workers would each post a handful of writes at once, so writes are paced by one
schedule per installation kept in Redis (GCRA: a burst of `WRITE_BURST` goes at once, then one
write per `60 / WRITES_PER_MINUTE` s). A write reserves its slot and waits until then: it is
delayed, never dropped. In any minute at most `WRITE_BURST + WRITES_PER_MINUTE` writes go out,
under GitHub's 80. Redis errors never stop a request: the pacer fails open (a Redis blip must not
become a GitHub outage of our own making).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

log = logging.getLogger(__name__)

WRITES_PER_MINUTE = 60  # sustained
WRITE_BURST = 15  # at once, after a quiet spell: a run's reaction and queued check never wait
_PREFIX = "gp:gh"


class WritePacer(Protocol):
    def reserve_write(self, installation_id: int | None) -> float:
        """Seconds this write must wait for its slot (the slot is taken)."""
        ...


class LocalWritePacer:
    """The same schedule for one process (the CLI, unit tests): no sharing, no Redis."""

    def __init__(
        self,
        per_minute: int = WRITES_PER_MINUTE,
        burst: int = WRITE_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = 60.0 / per_minute
        self._tolerance = self._interval * (burst - 1)
        self._clock = clock
        self._due: dict[int | None, float] = {}  # GCRA's "theoretical arrival time"
        self._lock = threading.Lock()

    def reserve_write(self, installation_id: int | None) -> float:
        with self._lock:
            now = self._clock()
            due = max(self._due.get(installation_id, now), now)
            self._due[installation_id] = due + self._interval
            return max(0.0, due - self._tolerance - now)


# KEYS[1]: the installation's schedule (ms). ARGV: 1 interval (ms), 2 tolerance (ms).
# Returns the wait (ms) before this write's slot; Redis' own clock, so machines agree.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local due = tonumber(redis.call('GET', KEYS[1]) or '0')
if due < now then due = now end
redis.call('SET', KEYS[1], due + interval, 'PX', due + interval - now + 60000)
local wait = due - tonumber(ARGV[2]) - now
if wait < 0 then return 0 end
return wait
"""


class RedisWritePacer:
    """`LocalWritePacer`'s schedule, shared by every process (and machine) on this Redis."""

    def __init__(
        self,
        client: redis.Redis,
        per_minute: int = WRITES_PER_MINUTE,
        burst: int = WRITE_BURST,
    ) -> None:
        interval_ms = 60_000 // per_minute
        self._args = [interval_ms, interval_ms * (burst - 1)]
        self._reserve = client.register_script(_RESERVE)

    def reserve_write(self, installation_id: int | None) -> float:
        try:
            wait_ms = self._reserve(keys=[f"{_PREFIX}:writes:{installation_id}"], args=self._args)
        except redis.RedisError as error:
            log.warning("write pacing unavailable, writing unpaced: %s", error)
            return 0.0
        return int(wait_ms) / 1000
