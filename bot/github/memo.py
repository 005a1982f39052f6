"""What the bot remembers about its own posts on GitHub, so a steady-state run skips the reads.

A run edits its sticky PR comment and each linked issue's comment, and sets a linked issue's
`golden-path:passing`/`failing` label. Without a memory each edit first lists the thread's
comments to find its own (one or more reads per post), and each label change is two writes even
when the label is already right. The memo keeps, per post, the comment id and a digest of the
body last written, and per issue the label last set; labels known to exist are kept too.

Entries are hints, never the truth: a memo pointing at a deleted comment costs one 404 and then
the old search. They expire after `TTL_SECONDS`, so an edit made by hand on GitHub (a label
removed, say) is repaired by the next run after that at the latest.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import redis

log = logging.getLogger(__name__)

TTL_SECONDS = 24 * 3600
_PREFIX = "gp:gh:memo:"


class Memo(Protocol):
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...
    def forget(self, key: str) -> None: ...


class LocalMemo:
    """One process's memory (the CLI, unit tests)."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._values.get(key)

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._values[key] = value

    def forget(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)


class RedisMemo:
    """Shared by every worker process (and machine) on this Redis. Fails open: without Redis
    the client only does the reads the memo would have saved."""

    def __init__(self, client: redis.Redis, ttl_seconds: int = TTL_SECONDS) -> None:
        self._redis = client
        self._ttl = ttl_seconds

    def get(self, key: str) -> str | None:
        try:
            raw = self._redis.get(_PREFIX + key)
        except redis.RedisError as error:
            log.warning("memo unavailable: %s", error)
            return None
        return raw.decode() if isinstance(raw, bytes) else raw

    def put(self, key: str, value: str) -> None:
        try:
            self._redis.set(_PREFIX + key, value, ex=self._ttl)
        except redis.RedisError as error:
            log.warning("memo unavailable: %s", error)

    def forget(self, key: str) -> None:
        try:
            self._redis.delete(_PREFIX + key)
        except redis.RedisError as error:
            log.warning("memo unavailable: %s", error)
