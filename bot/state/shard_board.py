"""A sharded phase's board in Redis: what each shard runs, who claimed it, its result, and the
stop switch; and the per-file durations that balance the next split.

A shard is claimed atomically (`SET NX` with a lease) by whoever starts it first: a Celery task
on any worker, or the coordinating run job itself. The claimer renews the lease while it runs; a
claim whose lease lapsed without a result is a lost shard. Each claim is counted, so a shard is
taken at most `MAX_TAKES` times (its first start and one re-queue). Every key expires."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis

_PREFIX = "gp:shards"
BOARD_TTL_SECONDS = 24 * 3600
LEASE_SECONDS = 20  # a shard whose claimer stopped renewing this long ago is lost
MAX_TAKES = 2  # a shard starts at most twice: once, and once more after its worker was lost
MAX_RESULT_BYTES = 32 * 1024 * 1024

# KEYS: 1 claim, 2 takes, 3 result. ARGV: 1 owner, 2 lease, 3 max takes, 4 ttl.
# Returns the take number (1, 2...) when `owner` now holds the shard, else 0.
_CLAIM = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[3]) then return 0 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
local takes = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return takes
"""

# KEYS: 1 claim. ARGV: 1 owner, 2 lease. 1 when `owner` still holds it (lease renewed).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class ShardSpec:
    """What every shard of one phase of one run attempt needs to start."""

    group: str  # "<run id>.<attempt>.<phase id>"
    run_id: str
    attempt: int
    phase_id: str
    clone_url: str  # never holds a token (an https URL gets one at checkout)
    head_sha: str
    groups: tuple[tuple[str, ...], ...]  # shard index -> its test files / node ids
    deadline_at: float  # wall clock: the phase's timeout, the same on every machine

    def to_json(self) -> str:
        return json.dumps(
            {
                "group": self.group,
                "run_id": self.run_id,
                "attempt": self.attempt,
                "phase_id": self.phase_id,
                "clone_url": self.clone_url,
                "head_sha": self.head_sha,
                "groups": [list(g) for g in self.groups],
                "deadline_at": self.deadline_at,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> ShardSpec:
        data = json.loads(text)
        return cls(
            group=str(data["group"]),
            run_id=str(data["run_id"]),
            attempt=int(data["attempt"]),
            phase_id=str(data["phase_id"]),
            clone_url=str(data["clone_url"]),
            head_sha=str(data["head_sha"]),
            groups=tuple(tuple(str(u) for u in g) for g in data["groups"]),
            deadline_at=float(data["deadline_at"]),
        )


def group_of(run_id: str, attempt: int, phase_id: str) -> str:
    return f"{run_id}.{attempt}.{phase_id}"


@dataclass(frozen=True)
class ShardState:
    """One shard as the coordinator sees it."""

    result: dict[str, Any] | None  # its `ShardResult` JSON once written
    claimed_by: str | None  # the live claimer, while its lease holds
    takes: int  # how many times it was claimed


class ShardBoard:
    def __init__(
        self, client: redis.Redis, group: str, *, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self._redis = client
        self.group = group
        self.lease_seconds = max(1, int(lease_seconds))
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)

    def _key(self, *parts: str | int) -> str:
        return ":".join((_PREFIX, self.group, *(str(p) for p in parts)))

    # the coordinator
    def post(self, spec: ShardSpec) -> None:
        self._redis.set(self._key("spec"), spec.to_json(), ex=BOARD_TTL_SECONDS)

    def states(self, count: int) -> list[ShardState]:
        pipe = self._redis.pipeline(transaction=False)
        for index in range(count):
            pipe.get(self._key("result", index))
            pipe.get(self._key("claim", index))
            pipe.get(self._key("takes", index))
        raw = pipe.execute()
        states = []
        for index in range(count):
            result, claim, takes = raw[3 * index : 3 * index + 3]
            states.append(
                ShardState(
                    result=_result(result),
                    claimed_by=claim.decode() if isinstance(claim, bytes) else claim,
                    takes=int(takes or 0),
                )
            )
        return states

    def stop(self, reason: str) -> None:
        """Every shard still running stops within seconds (they check it as they poll)."""
        self._redis.set(self._key("stop"), reason[:1000], ex=BOARD_TTL_SECONDS)

    # whoever runs a shard
    def spec(self) -> ShardSpec | None:
        raw = self._redis.get(self._key("spec"))
        return ShardSpec.from_json(raw) if raw else None

    def claim(self, index: int, owner: str) -> int:
        """The take number when `owner` now runs shard `index`; 0 when it may not."""
        keys = [self._key("claim", index), self._key("takes", index), self._key("result", index)]
        args: list[str | int] = [owner, self.lease_seconds, MAX_TAKES, BOARD_TTL_SECONDS]
        return int(self._claim(keys=keys, args=args))

    def renew(self, index: int, owner: str) -> bool:
        return bool(self._renew(keys=[self._key("claim", index)], args=[owner, self.lease_seconds]))

    def put_result(self, index: int, result: Mapping[str, Any]) -> None:
        text = json.dumps(result)
        if len(text) > MAX_RESULT_BYTES:  # never: ShardResult bounds its parts; a last guard
            text = json.dumps({**result, "tests": [], "problem": "the shard's result was too big"})
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._key("result", index), text, ex=BOARD_TTL_SECONDS)
        pipe.delete(self._key("claim", index))
        pipe.execute()

    def stopped(self) -> str | None:
        raw = self._redis.get(self._key("stop"))
        return raw.decode() if isinstance(raw, bytes) else raw


def _result(raw: Any) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class FileDurations:
    """Seconds per test file of each repository's phase, from its latest sharded runs: one JSON
    document per phase, at most `max_files` files (the latest run's first), expiring."""

    def __init__(
        self, client: redis.Redis, *, max_files: int = 5000, max_age_days: float = 30
    ) -> None:
        self._redis = client
        self._max = max_files
        self._ttl = max(1, int(max_age_days * 86400))

    def _key(self, repo: str, phase_id: str) -> str:
        return f"gp:durations:{repo}:{phase_id}"

    def get(self, repo: str, phase_id: str) -> dict[str, float]:
        raw = self._redis.get(self._key(repo, phase_id))
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            str(k): float(v)
            for k, v in data.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }

    def record(self, repo: str, phase_id: str, durations: Mapping[str, float]) -> None:
        latest = dict(list(durations.items())[: self._max])
        kept = {**self.get(repo, phase_id), **latest}
        newest_first = {**latest, **{k: v for k, v in kept.items() if k not in latest}}
        trimmed = dict(list(newest_first.items())[: self._max])
        self._redis.set(self._key(repo, phase_id), json.dumps(trimmed), ex=self._ttl)
