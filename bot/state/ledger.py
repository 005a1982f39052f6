"""The idempotency keys of GitHub writes, kept in Redis (see `bot.core.idempotency`)."""

from __future__ import annotations

import redis

from bot.core.idempotency import SENDING, Entry, Seen

LEDGER_TTL_SECONDS = 14 * 24 * 3600  # longer than any retry, redelivery or restart
_PREFIX = "gp:write:"


class RedisLedger:
    def __init__(self, client: redis.Redis, ttl_seconds: int = LEDGER_TTL_SECONDS) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def begin(self, key: str) -> Entry:
        """Record that `key` is about to be sent; say what earlier tries did (atomic)."""
        full = _PREFIX + key
        if self._redis.set(full, SENDING, nx=True, ex=self._ttl):
            return Entry(Seen.NEW)
        raw = self._redis.get(full)
        value = raw.decode() if isinstance(raw, bytes) else (raw or "")
        if value == SENDING:
            return Entry(Seen.SENDING)
        return Entry(Seen.DONE, value)

    def done(self, key: str, value: str = "") -> None:
        self._redis.set(_PREFIX + key, value, ex=self._ttl)
