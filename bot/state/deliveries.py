"""Delivery de-duplication in Redis: the first sight of an `X-GitHub-Delivery` id wins."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# GitHub keeps deliveries for 3 days and a redelivery reuses the delivery id; a week outlives any
# redelivery, so a repeat is always recognised, while keys still expire on their own.
DELIVERY_TTL_SECONDS = 7 * 24 * 3600
KEY_PREFIX = "golden-path:delivery:"

# The web process must answer GitHub within 10 s, even with Redis down or hung.
CONNECT_TIMEOUT_SECONDS = 1.0
SOCKET_TIMEOUT_SECONDS = 2.0


class StoreUnavailable(Exception):
    """Redis did not answer; the web edge answers 503 so GitHub can redeliver."""


def redis_client(url: str) -> redis.Redis:
    """A client that fails fast: short timeouts, one immediate retry (for a stale pooled socket
    after a Redis restart), no backoff. Opens no connection until first used."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


class DeliveryStore:
    def __init__(self, client: redis.Redis, ttl_seconds: int = DELIVERY_TTL_SECONDS) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def first_time(self, delivery_id: str) -> bool:
        """Record the delivery; True when this is its first sight (atomic `SET NX EX`)."""
        try:
            return bool(self._redis.set(self._key(delivery_id), "1", nx=True, ex=self._ttl))
        except (redis.RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    def release(self, delivery_id: str) -> None:
        """Forget the delivery, so a redelivery after a failed enqueue is not taken for a repeat."""
        try:
            self._redis.delete(self._key(delivery_id))
        except (redis.RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except (redis.RedisError, OSError):
            return False

    @staticmethod
    def _key(delivery_id: str) -> str:
        return KEY_PREFIX + delivery_id
