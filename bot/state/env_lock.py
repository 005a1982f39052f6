"""One run at a time per repository and environment, first come first served, across machines.

Waiters stand in a sorted set scored by arrival; each keeps a liveness key alive while it waits or
runs. A Lua script, atomic in Redis, drops waiters whose liveness key expired (their worker died)
and hands the lock to the oldest live waiter. The lock itself expires unless its holder renews it,
so a dead holder never blocks the environment for longer than `LEASE_SECONDS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

LEASE_SECONDS = 30

# KEYS: 1 lock, 2 waiters zset. ARGV: 1 me, 2 lease seconds, 3 alive-key prefix.
# Returns 0 when `me` holds the lock, else its 1-based place among the live waiters ahead of it
# (the holder counts as ahead even when it is not, or no longer, in line before `me`), or -1
# when `me` is not in line.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 0
end
local ahead = 0
local holder_counted = false
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if id == ARGV[1] then
    if holder == false then
      if ahead == 0 then
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
        return 0
      end
      return ahead
    end
    if not holder_counted then
      ahead = ahead + 1
    end
    return ahead
  end
  if redis.call('EXISTS', ARGV[3] .. id) == 0 then
    redis.call('ZREM', KEYS[2], id)
  else
    ahead = ahead + 1
    if id == holder then
      holder_counted = true
    end
  end
end
return -1
"""

# KEYS: 1 waiters zset. ARGV: 1 me. Places `me` after the last waiter unless already in line.
# The score is Redis's arrival order, not a worker's clock: workers on machines whose clocks
# disagree must still queue in the order they joined.
_JOIN = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local place = 1
if last[2] then
  place = tonumber(last[2]) + 1
end
redis.call('ZADD', KEYS[1], place, ARGV[1])
return 1
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Turn:
    """Where a waiter stands: holding the lock, or `ahead` runs before it (holder included)."""

    holding: bool
    ahead: int
    holder: str | None


class EnvironmentLock:
    """The queue for one (repository, environment)."""

    def __init__(self, client: redis.Redis, repo: str, environment: str, me: str):
        self._redis = client
        self._me = me
        base = f"gp:env:{repo}:{environment}"
        self._lock_key = f"{base}:lock"
        self._waiters_key = f"{base}:waiters"
        self._acquire = client.register_script(_ACQUIRE)
        self._join = client.register_script(_JOIN)
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)

    @staticmethod
    def _alive_key(run_id: str) -> str:
        return f"gp:alive:{run_id}"

    def join(self) -> None:
        """Take a place in line (idempotent: a retried join keeps the first place)."""
        self.keep_alive()
        self._join(keys=[self._waiters_key], args=[self._me])

    def keep_alive(self) -> None:
        """Renew this waiter's liveness, and the lock when held; call every few seconds."""
        self._redis.set(self._alive_key(self._me), "1", ex=LEASE_SECONDS)
        self._renew(keys=[self._lock_key], args=[self._me, LEASE_SECONDS])

    def try_acquire(self) -> Turn:
        place = self._acquire(
            keys=[self._lock_key, self._waiters_key],
            args=[self._me, LEASE_SECONDS, "gp:alive:"],
        )
        if place == -1:  # dropped from the line (we looked dead): stand in again
            self.join()
            return self.try_acquire()
        holder = self.holder()
        return Turn(holding=place == 0, ahead=int(place), holder=holder)

    def holder(self) -> str | None:
        value = self._redis.get(self._lock_key)
        return value.decode() if isinstance(value, bytes) else value

    def release(self) -> None:
        self._release(keys=[self._lock_key, self._waiters_key], args=[self._me])
        self._redis.delete(self._alive_key(self._me))


def queue_of(client: redis.Redis, repo: str, environment: str) -> tuple[str | None, list[str]]:
    """The run holding (repo, environment) and the runs waiting for it, in order (read-only;
    waiters whose worker died are still listed until the next acquire drops them)."""
    base = f"gp:env:{repo}:{environment}"
    with client.pipeline(transaction=False) as pipe:
        pipe.get(f"{base}:lock")
        pipe.zrange(f"{base}:waiters", 0, 99)
        holder, waiters = pipe.execute()

    def text(value: bytes | str) -> str:
        return value.decode() if isinstance(value, bytes) else value

    return (text(holder) if holder else None), [text(w) for w in waiters]
