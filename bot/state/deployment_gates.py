"""Deployments waiting for the bot's answer, kept in Redis until they are answered.

One JSON document per request (`gp:gate:<repo>:<workflow run>:<environment>`), the set of
unanswered ones (the reconcile pass's work list) and, per bot run, the requests waiting for it.
Sending an answer is claimed first (`SET NX` with a lease), so the worker that finishes a run and
the periodic reconcile pass never both post it; it is marked answered right after GitHub took it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from bot.core.deployment_gate import Answer, GateRequest, request_key

TTL_SECONDS = 31 * 24 * 3600  # GitHub waits up to 30 days for an answer
CLAIM_SECONDS = 120  # one attempt at sending; a sender that dies frees it after this
_PREFIX = "gp:gate"
_PENDING = f"{_PREFIX}:pending"


class GateRequests:
    """Redis-backed deployment requests; every change is a WATCH/MULTI transaction."""

    def __init__(self, client: redis.Redis):
        self._redis = client

    @staticmethod
    def _key(key: str) -> str:
        return f"{_PREFIX}:req:{key}"

    @staticmethod
    def _by_run(run_id: str) -> str:
        return f"{_PREFIX}:run:{run_id}"

    # reads
    def get(self, key: str) -> GateRequest | None:
        raw = self._redis.get(self._key(key))
        return GateRequest.model_validate_json(raw) if raw is not None else None

    def pending(self) -> list[GateRequest]:
        found = []
        for key in sorted(_text(k) for k in self._redis.smembers(_PENDING)):
            request = self.get(key)
            if request is None or request.answered_at is not None:
                self._redis.srem(_PENDING, key)
            else:
                found.append(request)
        return found

    def waiting_on(self, run_id: str) -> list[GateRequest]:
        keys = sorted(_text(k) for k in self._redis.smembers(self._by_run(run_id)))
        found = [self.get(key) for key in keys]
        return [r for r in found if r is not None and r.run_id == run_id and not r.answered_at]

    # writes
    def open(self, request: GateRequest) -> GateRequest:
        """Remember `request`, or return the one already remembered under its key (a
        redelivery, a retried task): the first one's decisions stand."""
        key = self._key(request.key)
        with self._redis.pipeline() as pipe:
            pipe.set(key, request.model_dump_json(), nx=True, ex=TTL_SECONDS)
            pipe.sadd(_PENDING, request.key)
            created, _ = pipe.execute()
        if created:
            return request
        existing = self.get(request.key)
        return existing if existing is not None else request

    def update(self, key: str, change: Callable[[GateRequest], bool | None]) -> GateRequest | None:
        """Apply `change` atomically (it returns False to leave the request as it is)."""
        name = self._key(key)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(name)
                    raw = pipe.get(name)
                    if raw is None:
                        pipe.unwatch()
                        return None
                    request = GateRequest.model_validate_json(raw)
                    if change(request) is False:
                        pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.set(name, request.model_dump_json(), ex=TTL_SECONDS)
                    if request.answered_at is not None:
                        pipe.srem(_PENDING, key)
                    pipe.execute()
                    return request
                except redis.WatchError:
                    continue

    def decide(self, key: str, state: Answer, comment: str) -> GateRequest | None:
        """Fix the answer once; a later decision for the same request is declined (None)."""

        def apply(request: GateRequest) -> bool:
            if request.state is not None:
                return False
            request.state, request.comment = state, comment
            return True

        return self.update(key, apply)

    def wait_for(self, key: str, run_id: str, *, started: bool) -> GateRequest | None:
        """The answer comes from run `run_id` (`started`: this request queued it)."""

        def apply(request: GateRequest) -> bool:
            if request.state is not None:
                return False
            request.run_id = run_id
            request.runs_started += 1 if started else 0
            return True

        updated = self.update(key, apply)
        if updated is not None:
            self._redis.sadd(self._by_run(run_id), key)
            self._redis.expire(self._by_run(run_id), TTL_SECONDS)
        return updated

    def forget_run(self, key: str) -> GateRequest | None:
        """The run waited for is gone or was cancelled: the request must be looked at again."""

        def apply(request: GateRequest) -> bool:
            if request.state is not None:
                return False
            request.run_id = None
            return True

        return self.update(key, apply)

    def claim(self, key: str) -> bool:
        """The right to send the answer now; False while another sender holds it."""
        return bool(self._redis.set(f"{_PREFIX}:sending:{key}", "1", nx=True, ex=CLAIM_SECONDS))

    def release(self, key: str) -> None:
        self._redis.delete(f"{_PREFIX}:sending:{key}")

    def mark_answered(self, key: str) -> GateRequest | None:
        def apply(request: GateRequest) -> bool:
            if request.answered_at is not None:
                return False
            request.answered_at = time.time()
            return True

        return self.update(key, apply)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


__all__ = ["GateRequests", "request_key"]
