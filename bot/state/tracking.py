"""The tracking issues' state in Redis: one JSON document per repository and environment, and the
lock that serializes edits of one issue (two workers finishing at once must not lose an update)."""

from __future__ import annotations

from typing import Any

import redis

from bot.core.tracking import TrackingState

TTL_SECONDS = 180 * 24 * 3600  # refreshed by every run; a quiet environment's state expires
LOCK_SECONDS = 120  # longest an edit may hold the lock (a few GitHub requests)


class TrackingStates:
    def __init__(self, client: redis.Redis):
        self._redis = client

    @staticmethod
    def _key(repo: str, environment: str) -> str:
        return f"gp:tracking:{repo.lower()}:{environment}"

    def load(self, repo: str, environment: str) -> TrackingState:
        raw = self._redis.get(self._key(repo, environment))
        if raw is None:
            return TrackingState(repo=repo, environment=environment)
        return TrackingState.model_validate_json(raw)

    def save(self, state: TrackingState) -> None:
        self._redis.set(
            self._key(state.repo, state.environment), state.model_dump_json(), ex=TTL_SECONDS
        )

    def lock(self, repo: str, environment: str) -> Any:
        """Held while one worker reads the state, edits the issue and saves the state."""
        return self._redis.lock(
            self._key(repo, environment) + ":lock",
            timeout=LOCK_SECONDS,
            blocking_timeout=LOCK_SECONDS,
        )
