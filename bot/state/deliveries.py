"""Delivery intake in Redis: record an `X-GitHub-Delivery` id and queue its event, atomically.

The first sight of a delivery id wins. One Lua script does `SET NX EX` on the delivery's key
and, only when that set it, `LPUSH`es the event's task message onto the `events` list: one
round trip per webhook, and a delivery is never recorded without its event (or queued twice).
Redis answers before the web answers 202, so nothing answered 202 is lost (Redis' own
persistence settings apply, as they do to every Celery message).
"""

from __future__ import annotations

import asyncio
from typing import TypedDict

import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.core.queues import EVENTS_QUEUE

# GitHub keeps deliveries for 3 days and a redelivery reuses the delivery id; a week outlives any
# redelivery, so a repeat is always recognised, while keys still expire on their own.
DELIVERY_TTL_SECONDS = 7 * 24 * 3600
KEY_PREFIX = "golden-path:delivery:"

# The web process must answer GitHub within 10 s, even with Redis down or hung.
CONNECT_TIMEOUT_SECONDS = 1.0
SOCKET_TIMEOUT_SECONDS = 2.0

# KEYS[1] the events list, KEYS[2..] delivery keys; ARGV[1] the TTL, ARGV[i] the message for
# KEYS[i] ("": nothing to queue). Returns 1 (first sight: recorded, message queued) or 0 per key.
ADMIT_SCRIPT = """
local admitted = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
    if ARGV[i] ~= '' then redis.call('LPUSH', KEYS[1], ARGV[i]) end
    admitted[i - 1] = 1
  else
    admitted[i - 1] = 0
  end
end
return admitted
"""
# Deliveries per script call: bounds one call's size and how long it holds Redis.
MAX_BATCH = 128


class IntakeUnavailable(Exception):
    """Redis did not answer; the web edge answers 503 so GitHub can redeliver."""


def redis_client(url: str) -> redis.Redis:
    """A blocking client that fails fast: short timeouts, one immediate retry (for a stale
    pooled socket after a Redis restart), no backoff. Opens no connection until first used."""
    return redis.Redis.from_url(url, **_FAIL_FAST, retry=Retry(NoBackoff(), 1))


def async_redis_client(url: str) -> redis.asyncio.Redis:
    """The same, for the web's event loop (no thread hop per request)."""
    return redis.asyncio.Redis.from_url(
        url, **_FAIL_FAST, retry=redis.asyncio.retry.Retry(NoBackoff(), 1)
    )


class _Timeouts(TypedDict):
    socket_connect_timeout: float
    socket_timeout: float
    health_check_interval: int


_FAIL_FAST: _Timeouts = {
    "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
    "socket_timeout": SOCKET_TIMEOUT_SECONDS,
    "health_check_interval": 30,
}


class DeliveryIntake:
    """`admit(delivery_id, message)`: True on the delivery's first sight (message queued).

    Group commit: one script call is in flight at a time; deliveries that arrive meanwhile wait
    for it and then go together in the next call. Under load the Redis client's fixed cost (pool,
    command packing, socket write, reply) is then paid once per batch instead of once per
    webhook; when idle, a delivery costs exactly one round trip. Each delivery gets its own
    answer; a call carries at most `MAX_BATCH` deliveries.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        ttl_seconds: int = DELIVERY_TTL_SECONDS,
        queue: str = EVENTS_QUEUE,
    ) -> None:
        self._redis = client
        self._ttl = ttl_seconds
        self._queue = queue
        self._script = client.register_script(ADMIT_SCRIPT)  # EVALSHA, reloaded when missing
        self._pending: list[tuple[str, bytes, asyncio.Future[int]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def admit(self, delivery_id: str, message: bytes | None) -> bool:
        """Record the delivery and, on its first sight, queue `message` (None: nothing to do)."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((KEY_PREFIX + delivery_id, message or b"", future))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_pending())
        try:
            return bool(await future)
        except (redis.RedisError, OSError) as exc:
            raise IntakeUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (redis.RedisError, OSError):
            return False

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def _send_pending(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._send(batch)
        finally:
            self._sender = None

    async def _send(self, batch: list[tuple[str, bytes, asyncio.Future[int]]]) -> None:
        keys = [self._queue, *(key for key, _, _ in batch)]
        args: list[int | bytes] = [self._ttl, *(message for _, message, _ in batch)]
        try:
            answers = await self._script(keys, args)
        except Exception as exc:  # noqa: BLE001 (handed to every waiter: none hangs)
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:
            for _, _, future in batch:
                future.cancel()
            raise
        for (_, _, future), answer in zip(batch, answers, strict=True):
            if not future.done():  # its request may have been cancelled meanwhile
                future.set_result(int(answer))
