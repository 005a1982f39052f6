"""Runs kept in Redis: who asked, for which commit, where they are, how they ended.

A record is one JSON document per run (`gp:run:<id>`), written with optimistic transactions so that
a cancel and a worker's start can never both win. Indexes: the latest run of each pull request or
merge group, the set of unfinished runs (the reaper's work list), and head commit -> pull request
(check-run events from forks carry no pull request).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

import redis
from pydantic import BaseModel, Field

RECORD_TTL_SECONDS = 30 * 24 * 3600
RUN_ID = re.compile(r"[0-9a-f]{12}")
_PREFIX = "gp"


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"


class RunRecord(BaseModel):
    """Everything a run needs besides the checkout; tasks take only its id."""

    run_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    installation_id: int
    repo: str
    pr_number: int | None = None
    merge_group_ref: str | None = None
    head_sha: str
    phases: list[str] = Field(default_factory=list)  # empty: every phase
    requested_by: str = ""
    trigger: str = "comment"
    check_name: str = "Golden Path P0"
    check_run_id: int | None = None
    environment: str | None = None
    state: RunState = RunState.QUEUED
    current_phase: str | None = None
    conclusion: str | None = None
    reason: str | None = None  # why it ended early (cancel, supersede, reaped, error)
    cancel_reason: str | None = None  # set while a running run is being stopped
    task_id: str | None = None
    worker: str | None = None
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    deadline_at: float | None = None
    verdicts: list[dict[str, Any]] = Field(default_factory=list)
    mrr_at_risk: int = 0
    details_url: str | None = None

    @property
    def target(self) -> str:
        if self.merge_group_ref:
            return f"{self.repo}@{self.merge_group_ref}"
        return f"{self.repo}#{self.pr_number}"

    @property
    def active(self) -> bool:
        return self.state is not RunState.COMPLETED


class RecordNotFound(LookupError):
    pass


class RunRecords:
    """Redis-backed run records. Every write is a WATCH/MULTI transaction."""

    def __init__(self, client: redis.Redis):
        self._redis = client

    # keys
    @staticmethod
    def _key(run_id: str) -> str:
        return f"{_PREFIX}:run:{run_id}"

    @staticmethod
    def _latest_key(target: str) -> str:
        return f"{_PREFIX}:latest:{target}"

    @staticmethod
    def _sha_key(repo: str, sha: str) -> str:
        return f"{_PREFIX}:sha-pr:{repo}:{sha}"

    _ACTIVE = f"{_PREFIX}:active"

    # reads
    def get(self, run_id: str) -> RunRecord:
        raw = self._redis.get(self._key(run_id))
        if raw is None:
            raise RecordNotFound(run_id)
        return RunRecord.model_validate_json(raw)

    def latest(self, target: str) -> RunRecord | None:
        run_id = self._redis.get(self._latest_key(target))
        if run_id is None:
            return None
        try:
            return self.get(_text(run_id))
        except RecordNotFound:
            return None

    def latest_for_pr(self, repo: str, pr_number: int) -> RunRecord | None:
        return self.latest(f"{repo}#{pr_number}")

    def active(self) -> list[RunRecord]:
        records = []
        for run_id in sorted(_text(r) for r in self._redis.smembers(self._ACTIVE)):
            try:
                records.append(self.get(run_id))
            except RecordNotFound:
                self._redis.srem(self._ACTIVE, run_id)
        return records

    def remember_pr_for_sha(self, repo: str, sha: str, pr_number: int) -> None:
        self._redis.set(self._sha_key(repo, sha), pr_number, ex=RECORD_TTL_SECONDS)

    def pr_for_sha(self, repo: str, sha: str) -> int | None:
        value = self._redis.get(self._sha_key(repo, sha))
        return int(value) if value is not None else None

    # writes
    def create(self, record: RunRecord) -> RunRecord:
        with self._redis.pipeline() as pipe:
            pipe.set(self._key(record.run_id), record.model_dump_json(), ex=RECORD_TTL_SECONDS)
            pipe.set(self._latest_key(record.target), record.run_id, ex=RECORD_TTL_SECONDS)
            pipe.sadd(self._ACTIVE, record.run_id)
            if record.pr_number is not None:
                pipe.set(
                    self._sha_key(record.repo, record.head_sha),
                    record.pr_number,
                    ex=RECORD_TTL_SECONDS,
                )
            pipe.execute()
        return record

    def update(
        self,
        run_id: str,
        change: Callable[[RunRecord], bool | None],
    ) -> RunRecord | None:
        """Apply `change` atomically; it returns False to leave the record as it is.

        Returns the new record, or None when `change` declined."""
        key = self._key(run_id)
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        raise RecordNotFound(run_id)
                    record = RunRecord.model_validate_json(raw)
                    if change(record) is False:
                        pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.set(key, record.model_dump_json(), ex=RECORD_TTL_SECONDS)
                    if record.state is RunState.COMPLETED:
                        pipe.srem(self._ACTIVE, run_id)
                    pipe.execute()
                    return record
                except redis.WatchError:
                    continue

    def set_fields(self, run_id: str, **fields: Any) -> RunRecord | None:
        def apply(record: RunRecord) -> None:
            for name, value in fields.items():
                setattr(record, name, value)

        return self.update(run_id, apply)

    def start(self, run_id: str, *, worker: str, task_id: str | None) -> RunRecord | None:
        """queued -> running, unless a cancel got there first (then None)."""

        def apply(record: RunRecord) -> bool:
            if record.state is not RunState.QUEUED:
                return False
            record.state = RunState.RUNNING
            record.worker = worker
            record.task_id = task_id
            record.started_at = record.heartbeat_at = time.time()
            return True

        return self.update(run_id, apply)

    def finish(
        self, run_id: str, conclusion: str, reason: str | None = None, **fields: Any
    ) -> RunRecord | None:
        """Mark completed once; a second finish (reaper vs worker) is declined (None)."""

        def apply(record: RunRecord) -> bool:
            if record.state is RunState.COMPLETED:
                return False
            record.state = RunState.COMPLETED
            record.conclusion = conclusion
            record.reason = reason
            record.finished_at = time.time()
            record.current_phase = None
            for name, value in fields.items():
                setattr(record, name, value)
            return True

        return self.update(run_id, apply)

    def request_cancel(self, run_id: str, reason: str) -> RunRecord | None:
        """Ask a running run to stop, or end a queued one at once.

        Returns the record after the change (its state tells which happened), None when the run
        had already completed."""

        def apply(record: RunRecord) -> bool:
            if record.state is RunState.COMPLETED:
                return False
            if record.state is RunState.QUEUED:
                record.state = RunState.COMPLETED
                record.conclusion = "cancelled"
                record.reason = reason
                record.finished_at = time.time()
            else:
                record.cancel_reason = reason
            return True

        return self.update(run_id, apply)

    def heartbeat(self, run_id: str) -> None:
        self.set_fields(run_id, heartbeat_at=time.time())

    def cancel_reason(self, run_id: str) -> str | None:
        try:
            return self.get(run_id).cancel_reason
        except RecordNotFound:
            return "the run's record disappeared"

    def target_lock(self, target: str, timeout: float = 30.0) -> Any:
        """A short mutual exclusion around deciding about one pull request's runs, so two
        commands handled at once by two event workers cannot both start a run."""
        return self._redis.lock(
            f"{_PREFIX}:decide:{target}", timeout=timeout, blocking_timeout=timeout
        )

    def delete_all(self, run_ids: Iterable[str]) -> None:
        for run_id in run_ids:
            self._redis.delete(self._key(run_id))
            self._redis.srem(self._ACTIVE, run_id)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
