"""What a run is handed: the narrow protocols of its adapters, and `RunServices` carrying them.

The job acts only through these (prow's plugin clients), so its steps run the same against
GitHub, Redis and git as against the in-memory fakes of `tests/fakes/`. `workers.services`
builds the real ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.core.idempotency import Ledger
from bot.core.results import RunReport
from bot.core.run_model import RunRecord
from bot.core.secrets_policy import SecretsAllowList
from bot.github.client import PullInfo
from bot.handlers.context import GateAnswers, Gates
from bot.state.shard_board import ShardSpec, ShardState
from workers import publish, recall
from workers.engine import executor
from workers.engine.shards import ShardResult
from workers.job.history import Comparer
from workers.job.tracking_issue import IssueClient
from workers.job.tracking_issue import States as TrackingStore

HEARTBEAT_SECONDS = 5.0


class Turn(Protocol):
    """Where the run stands in the environment's line (`bot.state.env_lock.Turn`)."""

    @property
    def holding(self) -> bool: ...
    @property
    def ahead(self) -> int: ...  # runs before this one, the holder included
    @property
    def holder(self) -> str | None: ...  # the holder's lock owner: "<run id>[.<attempt>]"


class Lock(Protocol):
    """One environment's line (`bot.state.env_lock.EnvironmentLock`)."""

    def join(self) -> None: ...
    def keep_alive(self) -> None: ...
    def try_acquire(self) -> Turn: ...
    def release(self) -> None: ...
    def holder(self) -> str | None: ...


class RunClient(publish.PublishClient, IssueClient, GateAnswers, Comparer, Protocol):
    """The slice of `bot.github.client.RepoClient` a run uses: publishing its report, the
    tracking issue, answering the deployments it held, the five whys' compare, and these."""

    @property
    def token(self) -> str: ...
    def fetch_token(self) -> str: ...
    def get_pull(self, number: int) -> PullInfo: ...
    def repo_clone_url(self) -> str: ...


class Records(Protocol):
    """The run-record operations a run uses (`bot.state.run_records.RunRecords`)."""

    def get(self, run_id: str) -> RunRecord: ...
    def start(self, run_id: str, *, worker: str, task_id: str | None) -> RunRecord | None: ...
    def set_fields(self, run_id: str, **fields: Any) -> RunRecord | None: ...
    def finish(
        self, run_id: str, conclusion: str, reason: str | None = None, **fields: Any
    ) -> RunRecord | None: ...
    def cancel_reason(self, run_id: str) -> str | None: ...
    def heartbeat(self, run_id: str, attempt: int | None = None) -> bool: ...


class OwedStore(Protocol):
    """Reports still owed to GitHub after the check run (`bot.state.owed_publishes`)."""

    def owe(self, run_id: str, document: str, *, hold_seconds: float) -> None: ...
    def renew(self, run_id: str, hold_seconds: float) -> None: ...
    def settle(self, run_id: str) -> None: ...


class FolderLeaseStore(Protocol):
    def hold(self, run_id: str, seconds: float) -> None: ...
    def release(self, run_id: str) -> None: ...


class Clock(Protocol):
    """Time as the run sees it: waiting for the environment, deadlines, publishing retries."""

    def monotonic(self) -> float: ...
    def time(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Board(Protocol):
    """One sharded phase's board (`bot.state.shard_board.ShardBoard`)."""

    @property
    def lease_seconds(self) -> int: ...
    def post(self, spec: ShardSpec) -> None: ...
    def states(self, count: int) -> list[ShardState]: ...
    def stop(self, reason: str) -> None: ...
    def spec(self) -> ShardSpec | None: ...
    def claim(self, index: int, owner: str) -> int: ...
    def renew(self, index: int, owner: str) -> bool: ...
    def put_result(self, index: int, result: Mapping[str, Any]) -> None: ...
    def stopped(self) -> str | None: ...


class Durations(Protocol):
    """Seconds per test file (`bot.state.shard_board.FileDurations`)."""

    def get(self, repo: str, phase_id: str) -> dict[str, float]: ...
    def record(self, repo: str, phase_id: str, durations: Mapping[str, float]) -> None: ...


@dataclass(frozen=True)
class ShardPorts:
    """What sharding needs of the process: the board of a group, the durations, and sending a
    shard task to the `shards` queue (any runs worker, any machine)."""

    board_for: Callable[[str], Board]
    durations: Durations
    send: Callable[[str, int], None]  # (group, shard index)


@dataclass
class RunServices:
    records: Records
    github_for: Callable[[int, str], RunClient]  # (installation_id, repo) -> client
    lock_for: Callable[[str, str, str], Lock]  # (repo, environment, lock owner) -> Lock
    checkout: Callable[..., Path]  # (clone_url, sha, dest, token=) -> Path
    workdir: Path
    worker_env: Mapping[str, str]
    bot_secrets: list[str] = field(default_factory=list)
    isolation: executor.Isolation = field(default=executor.unsandboxed)
    sandboxed: bool = False  # says whether `isolation` is the sandbox, for the check run
    secrets_allowed: SecretsAllowList = field(default_factory=SecretsAllowList)
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    history: recall.HistoryStore | None = None  # none: reports say nothing of the past
    ledger: Ledger | None = None  # idempotency keys of the report's writes (annotations...)
    on_lock_wait: Callable[[float], None] = lambda seconds: None  # seconds before it held it
    # Deployments waiting for runs (`bot.state.deployment_gates.GateRequests`): a finished run
    # answers them at once. None: the reconcile pass on beat answers them.
    gates: Gates | None = None
    tracking: TrackingStore | None = None  # tracking issues' state (`bot.state.tracking`)
    # What the report still owes GitHub once the check run is concluded, for the reconcile loop
    # to finish if this worker dies first. None: nothing kept (a death there loses the rest).
    owed: OwedStore | None = None
    # The job's hold on its folders, so the disk sweep leaves them until its last clean-up step
    # (`bot.state.folder_leases`). None: no hold (a sweep may take them once the run completes).
    folder_leases: FolderLeaseStore | None = None
    # The phases' runner (setup, pytest, verdicts), handed in like `checkout`.
    execute: Callable[..., RunReport] = executor.execute
    clock: Clock = field(default_factory=SystemClock)
    # `shards: N` phases across workers (`workers.job.shards`); None: such phases run whole
    shards: ShardPorts | None = None
    execute_shard: Callable[..., ShardResult] = executor.execute_shard
