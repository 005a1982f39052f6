"""Run history in Redis, per repository: each pull request's runs, and every failure pattern's and
test's occurrences (pull request, commit, default branch, flaky or not).

Bounded: every list keeps its newest `max_entries`, every key expires `max_age_days` after its last
write, older occurrences are dropped on read, and the repository's ranking sets keep their top
`MAX_RANKED`. A run with thousands of tests costs one pipelined round trip."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from typing import Any, cast

import redis
from pydantic import BaseModel, ValidationError

from bot.core.history import Occurrence, RunEntry

_PREFIX = "gp:hist"
MAX_ENTRIES = 50
MAX_RANKED = 1000


class DefaultBranchRun(BaseModel):
    """The default branch's latest run: which patterns it failed with."""

    sha: str
    at: float
    patterns: list[str] = []


class History:
    def __init__(
        self, client: redis.Redis, *, max_age_days: float = 90, max_entries: int = MAX_ENTRIES
    ):
        self._redis = client
        self._ttl = max(1, int(max_age_days * 86400))
        self._max = max_entries

    # keys
    def _key(self, repo: str, *parts: str) -> str:
        return ":".join((_PREFIX, repo, *parts))

    @staticmethod
    def _test_id(node_id: str) -> str:
        return hashlib.sha1(node_id.encode("utf-8")).hexdigest()[:16]

    # reads
    def pr_runs(self, repo: str, pr_number: int) -> list[RunEntry]:
        """The pull request's finished runs, newest first."""
        return self._list(self._key(repo, "pr", str(pr_number)), RunEntry)

    def pattern_occurrences(self, repo: str, key: str) -> list[Occurrence]:
        return self._list(self._key(repo, "pattern", key), Occurrence)

    def test_occurrences(self, repo: str, node_id: str) -> list[Occurrence]:
        return self._list(self._key(repo, "test", self._test_id(node_id)), Occurrence)

    def default_branch(self, repo: str) -> DefaultBranchRun | None:
        raw = self._redis.get(self._key(repo, "default"))
        try:
            return DefaultBranchRun.model_validate_json(raw) if raw else None
        except ValidationError:
            return None

    def flakiest(self, repo: str, limit: int = 10) -> list[tuple[str, int]]:
        """Test ids by how many of their runs were flaky, most first."""
        return self._ranked(repo, "flaky", "test-names", limit)

    def frequent_patterns(self, repo: str, limit: int = 10) -> list[tuple[str, int]]:
        """Pattern titles by how many runs failed with them, most first."""
        return self._ranked(repo, "pattern-counts", "pattern-titles", limit)

    # writes
    def record_run(
        self,
        repo: str,
        entry: RunEntry,
        *,
        patterns: Iterable[tuple[str, str]],  # (key, title)
        tests: Iterable[tuple[str, str]],  # (node id, passed | failed | flaky)
    ) -> None:
        """One finished run: the PR's history, each pattern's and each test's occurrence."""
        pipe = self._redis.pipeline(transaction=False)
        if entry.pr_number is not None:
            self._push(pipe, self._key(repo, "pr", str(entry.pr_number)), entry.model_dump_json())
        seen = Occurrence(
            run_id=entry.run_id,
            sha=entry.sha,
            at=entry.at,
            pr_number=entry.pr_number,
            default_branch=entry.default_branch,
        )
        keys = []
        for key, title in patterns:
            keys.append(key)
            self._push(pipe, self._key(repo, "pattern", key), seen.model_dump_json())
            self._rank(pipe, repo, "pattern-counts", "pattern-titles", key, title)
        for node_id, outcome in tests:
            test_key = self._key(repo, "test", self._test_id(node_id))
            occurrence = seen.model_copy(update={"outcome": outcome})
            self._push(pipe, test_key, occurrence.model_dump_json())
            if outcome == "flaky":
                self._rank(pipe, repo, "flaky", "test-names", self._test_id(node_id), node_id)
        if entry.default_branch:
            latest = DefaultBranchRun(sha=entry.sha, at=entry.at, patterns=keys)
            pipe.set(self._key(repo, "default"), latest.model_dump_json(), ex=self._ttl)
        pipe.execute()

    # helpers
    def _push(self, pipe: Any, key: str, value: str) -> None:
        pipe.lpush(key, value)
        pipe.ltrim(key, 0, self._max - 1)
        pipe.expire(key, self._ttl)

    def _rank(self, pipe: Any, repo: str, ranking: str, names: str, member: str, name: str) -> None:
        pipe.zincrby(self._key(repo, ranking), 1, member)
        pipe.zremrangebyrank(self._key(repo, ranking), 0, -MAX_RANKED - 1)
        pipe.hset(self._key(repo, names), member, name[:500])
        for key in (self._key(repo, ranking), self._key(repo, names)):
            pipe.expire(key, self._ttl)

    def _ranked(self, repo: str, ranking: str, names: str, limit: int) -> list[tuple[str, int]]:
        # withscores=True: (member, score) pairs (redis-py types every range as one union)
        top = cast(
            list[tuple[bytes | str, float]],
            self._redis.zrevrange(self._key(repo, ranking), 0, limit - 1, withscores=True),
        )
        members = [_text(m) for m, _ in top]
        titles = self._redis.hmget(self._key(repo, names), members) if members else []
        return [
            (_text(title) if title else member, int(score))
            for (member, title), (_, score) in zip(
                zip(members, titles, strict=True), top, strict=True
            )
        ]

    def _list(self, key: str, model: type[Any]) -> list[Any]:
        oldest = time.time() - self._ttl
        found = []
        for raw in self._redis.lrange(key, 0, self._max - 1):
            try:
                item = model.model_validate_json(raw)
            except ValidationError:
                continue
            if item.at >= oldest:
                found.append(item)
        return found


def outcomes_of(tests: Sequence[Any]) -> list[tuple[str, str]]:
    """(node id, passed | failed | flaky) of a run's tests; skipped ones are not history."""
    out = []
    for test in tests:
        if test.flaky:
            out.append((test.node_id, "flaky"))
        elif test.is_failure:
            out.append((test.node_id, "failed"))
        elif test.outcome.value == "passed":
            out.append((test.node_id, "passed"))
    return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
