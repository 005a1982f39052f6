"""Run history in memory (`workers.recall.HistoryStore`); `unavailable` makes every read and
write fail, as a store whose Redis is away."""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.history import Occurrence, RunEntry
from bot.state.history import DefaultBranchRun


class MemoryHistory:
    def __init__(self, *, unavailable: bool = False) -> None:
        self.unavailable = unavailable
        self.runs: list[tuple[str, RunEntry]] = []

    def _check(self) -> None:
        if self.unavailable:
            raise ConnectionError("history store unreachable")

    def pr_runs(self, repo: str, pr_number: int) -> list[RunEntry]:
        self._check()
        return [e for r, e in self.runs if r == repo and e.pr_number == pr_number]

    def pattern_occurrences(self, repo: str, key: str) -> list[Occurrence]:
        self._check()
        return []

    def test_occurrences(self, repo: str, node_id: str) -> list[Occurrence]:
        self._check()
        return []

    def default_branch(self, repo: str) -> DefaultBranchRun | None:
        self._check()
        return None

    def record_run(
        self,
        repo: str,
        entry: RunEntry,
        *,
        patterns: Iterable[tuple[str, str]],
        tests: Iterable[tuple[str, str]],
    ) -> None:
        self._check()
        self.runs.append((repo, entry))
