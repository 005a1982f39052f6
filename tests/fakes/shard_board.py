"""An in-memory shard board (`bot.state.shard_board.ShardBoard`) and durations store: claims,
leases that lapse when a test says so, results, the stop switch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.state.shard_board import MAX_TAKES, ShardSpec, ShardState


@dataclass
class FakeBoard:
    lease_seconds: int = 20
    posted: ShardSpec | None = None
    claims: dict[int, str] = field(default_factory=dict)
    takes: dict[int, int] = field(default_factory=dict)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    stop_reason: str | None = None

    def post(self, spec: ShardSpec) -> None:
        self.posted = spec

    def states(self, count: int) -> list[ShardState]:
        return [
            ShardState(self.results.get(i), self.claims.get(i), self.takes.get(i, 0))
            for i in range(count)
        ]

    def stop(self, reason: str) -> None:
        self.stop_reason = reason

    def spec(self) -> ShardSpec | None:
        return self.posted

    def claim(self, index: int, owner: str) -> int:
        if index in self.results or index in self.claims:
            return 0
        if self.takes.get(index, 0) >= MAX_TAKES:
            return 0
        self.claims[index] = owner
        self.takes[index] = self.takes.get(index, 0) + 1
        return self.takes[index]

    def renew(self, index: int, owner: str) -> bool:
        return self.claims.get(index) == owner

    def put_result(self, index: int, result: Mapping[str, Any]) -> None:
        self.results[index] = dict(result)
        self.claims.pop(index, None)

    def stopped(self) -> str | None:
        return self.stop_reason

    # the test's side
    def lapse(self, index: int) -> None:
        """The claimer's worker died: its lease runs out, with no result."""
        self.claims.pop(index, None)


@dataclass
class FakeDurations:
    stored: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def get(self, repo: str, phase_id: str) -> dict[str, float]:
        return dict(self.stored.get((repo, phase_id), {}))

    def record(self, repo: str, phase_id: str, durations: Mapping[str, float]) -> None:
        self.stored[(repo, phase_id)] = dict(durations)
