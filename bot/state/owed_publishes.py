"""Runs whose report is still owed to GitHub after their check run was concluded (the document is
`bot.core.owed_publish`), and who is posting it now.

A document lives at `gp:owed:<run id>` (bounded in size, expiring after a day) and its run id in
the set `gp:owed`. Whoever posts the rest holds `gp:owed-hold:<run id>`: the run's worker for a
few heartbeats at a time (its heartbeat renews it), the reconcile loop for a backoff that grows
with each try (`SET NX`, never renewed, so a failed try waits it out). A hold that lapses means
its holder is gone.
"""

from __future__ import annotations

import redis

OWED_TTL_SECONDS = 24 * 3600
_IDS = "gp:owed"


def _doc_key(run_id: str) -> str:
    return f"gp:owed:{run_id}"


def _hold_key(run_id: str) -> str:
    return f"gp:owed-hold:{run_id}"


class OwedPublishes:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def owe(self, run_id: str, document: str, *, hold_seconds: float) -> None:
        """Keep the document, held by the caller for `hold_seconds` (one round trip)."""
        with self._redis.pipeline() as pipe:
            pipe.set(_doc_key(run_id), document, ex=OWED_TTL_SECONDS)
            pipe.sadd(_IDS, run_id)
            pipe.set(_hold_key(run_id), "worker", ex=max(1, int(hold_seconds)))
            pipe.execute()

    def renew(self, run_id: str, hold_seconds: float) -> None:
        """The worker posting it is still alive; a hold the reconcile loop took stays its own."""
        key, seconds = _hold_key(run_id), max(1, int(hold_seconds))
        if self._redis.set(key, "worker", nx=True, ex=seconds):
            return
        if _text(self._redis.get(key) or b"") == "worker":
            self._redis.set(key, "worker", ex=seconds, xx=True)

    def take(self, run_id: str, hold_seconds: float) -> bool:
        """Hold it, unless somebody holds it now."""
        return bool(self._redis.set(_hold_key(run_id), "reconcile", nx=True, ex=int(hold_seconds)))

    def run_ids(self) -> list[str]:
        return sorted(_text(r) for r in self._redis.smembers(_IDS))

    def get(self, run_id: str) -> bytes | None:
        """The document; None when it expired (its id is then forgotten)."""
        raw = self._redis.get(_doc_key(run_id))
        if raw is None:
            self._redis.srem(_IDS, run_id)
        return raw if raw is None or isinstance(raw, bytes) else str(raw).encode()

    def settle(self, run_id: str) -> None:
        """Nothing more is owed."""
        with self._redis.pipeline() as pipe:
            pipe.delete(_doc_key(run_id), _hold_key(run_id))
            pipe.srem(_IDS, run_id)
            pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
