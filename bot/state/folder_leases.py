"""Which runs' jobs still use their folders (checkout, artifacts): the disk sweep leaves them.

A run's record completes as soon as its check run is concluded, while its job still posts the
rest of the report and then keeps its JUnit files and output: "not active" is not "done with its
folders". Each job holds a lease here, renewed with its heartbeat and dropped after its last
clean-up step; a job whose worker died stops renewing, and its folders become leftovers a few
heartbeats later. One sorted set, scored by expiry, so a reconcile pass reads it in one call."""

from __future__ import annotations

import time

import redis

_KEY = "gp:folder-leases"


class FolderLeases:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def hold(self, run_id: str, seconds: float) -> None:
        self._redis.zadd(_KEY, {run_id: time.time() + seconds})

    def release(self, run_id: str) -> None:
        self._redis.zrem(_KEY, run_id)

    def held(self) -> set[str]:
        """The run ids whose lease has not lapsed (lapsed ones are dropped on the way)."""
        now = time.time()
        with self._redis.pipeline() as pipe:
            pipe.zremrangebyscore(_KEY, "-inf", now)
            pipe.zrangebyscore(_KEY, now, "+inf")
            _, members = pipe.execute()
        return {m.decode() if isinstance(m, bytes) else str(m) for m in members}
