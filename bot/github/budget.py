"""What every process of the bot may still spend on GitHub, shared through Redis.

GitHub counts per installation, not per process, so three things are shared:
- **write pacing**: its secondary rate limit allows about 80 content-creating requests (POST,
  PATCH, PUT, DELETE) a minute. Twenty runs finishing together on several workers would each post
  a handful of writes at once, so writes are paced by one schedule per installation kept in Redis
  (GCRA: a burst of `WRITE_BURST` goes at once, then one write per `60 / WRITES_PER_MINUTE` s). A
  write reserves its slot and waits until then: it is delayed, never dropped. In any minute at most
  `WRITE_BURST + WRITES_PER_MINUTE` writes go out, under GitHub's 80.
- a **pause**: when one process meets a rate limit (primary or secondary), every process of that
  installation waits until GitHub's reset instead of each learning it by failing again;
- **retries**: each repository draws retries from its own window (`per_repo`), inside an
  installation-wide window (`per_installation`). A repository whose runs keep failing against a
  sick endpoint uses up its own share and then fails fast; the other repositories of the
  installation keep theirs.

Redis errors never stop a request: pacing and budget fail open (a Redis blip must not become a
GitHub outage of our own making).
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


WINDOW_SECONDS = 60


class Budget(Protocol):
    def wait_before(self, installation_id: int | None) -> float: ...
    def pause(self, installation_id: int | None, seconds: float) -> None: ...
    def take_retry(self, installation_id: int | None, repo: str) -> bool: ...


class LocalBudget:
    """The same rules for one process (the CLI, unit tests): no sharing, no Redis."""

    def __init__(
        self,
        *,
        per_repo: int = 20,
        per_installation: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._limits = (per_repo, per_installation)
        self._clock = clock
        self._paused: dict[int | None, float] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def wait_before(self, installation_id: int | None) -> float:
        with self._lock:
            return max(0.0, self._paused.get(installation_id, 0.0) - self._clock())

    def pause(self, installation_id: int | None, seconds: float) -> None:
        with self._lock:
            until = self._clock() + seconds
            self._paused[installation_id] = max(until, self._paused.get(installation_id, 0.0))

    def take_retry(self, installation_id: int | None, repo: str) -> bool:
        window = int(self._clock() // WINDOW_SECONDS)
        keys = (f"{window}:{installation_id}:{repo}", f"{window}:{installation_id}")
        with self._lock:
            counts = [self._counts.get(k, 0) + 1 for k in keys]
            if any(c > limit for c, limit in zip(counts, self._limits, strict=True)):
                return False
            self._counts.update(zip(keys, counts, strict=True))
            return True


# KEYS: 1 repo window, 2 installation window. ARGV: 1 repo limit, 2 installation limit, 3 ttl.
# Both counters move together or not at all, so a refused retry costs nobody anything.
_TAKE = """
local repo = tonumber(redis.call('GET', KEYS[1]) or '0')
local inst = tonumber(redis.call('GET', KEYS[2]) or '0')
if repo >= tonumber(ARGV[1]) or inst >= tonumber(ARGV[2]) then return 0 end
redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""

# KEYS: 1 pause key. ARGV: 1 until (ms epoch). Keeps the later of two pauses.
_PAUSE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
end
return 1
"""


class RedisBudget:
    """`LocalBudget`'s rules, shared by every process that talks to this Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        per_repo: int = 20,
        per_installation: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._limits = (per_repo, per_installation)
        self._clock = clock
        self._take = client.register_script(_TAKE)
        self._pause = client.register_script(_PAUSE)

    def wait_before(self, installation_id: int | None) -> float:
        try:
            raw = self._redis.get(f"{_PREFIX}:pause:{installation_id}")
        except redis.RedisError:
            return 0.0
        if raw is None:
            return 0.0
        return max(0.0, int(raw) / 1000 - self._clock())

    def pause(self, installation_id: int | None, seconds: float) -> None:
        until_ms = int((self._clock() + seconds) * 1000)
        try:
            self._pause(keys=[f"{_PREFIX}:pause:{installation_id}"], args=[until_ms])
        except redis.RedisError as error:
            log.warning("could not share a GitHub pause: %s", error)

    def take_retry(self, installation_id: int | None, repo: str) -> bool:
        window = int(self._clock() // WINDOW_SECONDS)
        keys = [
            f"{_PREFIX}:retries:{window}:{installation_id}:{repo}",
            f"{_PREFIX}:retries:{window}:{installation_id}",
        ]
        try:
            return bool(self._take(keys=keys, args=[*self._limits, WINDOW_SECONDS * 2]))
        except redis.RedisError:
            return True
