"""Runs kept in Redis: who asked, for which commit, where they are, how they ended.

A record is one JSON document per run (`gp:run:<id>`), written with optimistic transactions so that
a cancel and a worker's start can never both win. Indexes: the latest run of each pull request or
merge group, the set of unfinished runs (the reaper's work list), and head commit -> pull request
(check-run events from forks carry no pull request).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import redis

from bot.core.run_model import RUN_ID, RunRecord, RunState, run_target
from bot.state import run_index
from bot.telemetry import metrics

__all__ = ["RUN_ID", "RecordNotFound", "RunRecord", "RunRecords", "RunState"]

RECORD_TTL_SECONDS = 30 * 24 * 3600
_PREFIX = "gp"


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

    def get_many(self, run_ids: Iterable[str]) -> list[RunRecord]:
        """The records that still exist, in the order asked (one round trip)."""
        wanted = list(run_ids)
        if not wanted:
            return []
        raw = self._redis.mget([self._key(run_id) for run_id in wanted])
        return [RunRecord.model_validate_json(r) for r in raw if r is not None]

    def latest(self, target: str) -> RunRecord | None:
        run_id = self._redis.get(self._latest_key(target))
        if run_id is None:
            return None
        try:
            return self.get(_text(run_id))
        except RecordNotFound:
            return None

    def latest_for_pr(self, repo: str, pr_number: int) -> RunRecord | None:
        return self.latest(run_target(repo, pr_number=pr_number))

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
            run_index.add(pipe, record)  # the dashboard's list, bounded per repository
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
                    was_active = record.active
                    if change(record) is False:
                        pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.set(key, record.model_dump_json(), ex=RECORD_TTL_SECONDS)
                    if record.state is RunState.COMPLETED:
                        pipe.srem(self._ACTIVE, run_id)
                        if was_active:  # counted in the transaction that completes it: once
                            _count_conclusion(pipe, record)
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

    def restart(
        self,
        run_id: str,
        *,
        attempt: int,
        heartbeat_at: float | None = None,
        now: float | None = None,
    ) -> RunRecord | None:
        """running attempt `attempt` -> queued attempt `attempt + 1`; None when someone else
        (another reconciler, the worker itself finishing) got there first, or when the run beat
        since `heartbeat_at` (the beat the reaper judged stale)."""

        def apply(record: RunRecord) -> bool:
            if record.state is not RunState.RUNNING or record.attempt != attempt:
                return False
            if heartbeat_at is not None and record.heartbeat_at != heartbeat_at:
                return False
            record.state = RunState.QUEUED
            record.attempt = attempt + 1
            record.restarted_at = time.time() if now is None else now
            record.worker = record.task_id = None
            record.started_at = record.heartbeat_at = record.deadline_at = None
            record.current_phase = None
            return True

        return self.update(run_id, apply)

    def claim(self, what: str, seconds: float) -> bool:
        """A short exclusive claim (`SET NX EX`): one reconciler acts on a run at a time."""
        return bool(self._redis.set(f"{_PREFIX}:claim:{what}", "1", nx=True, ex=int(seconds)))

    def unclaim(self, what: str) -> None:
        self._redis.delete(f"{_PREFIX}:claim:{what}")

    def heartbeat(self, run_id: str, attempt: int | None = None) -> bool:
        """Record that the run's worker is alive; False when the run is no longer this
        attempt's to run (the reaper restarted it elsewhere)."""

        mine = True

        def apply(record: RunRecord) -> bool:
            nonlocal mine
            if attempt is not None and record.attempt != attempt:
                mine = False
                return False
            if record.state is not RunState.RUNNING:  # completed: nothing to keep alive
                return False
            record.heartbeat_at = time.time()
            return True

        self.update(run_id, apply)
        return mine

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


def _count_conclusion(pipe: Any, record: RunRecord) -> None:
    started = record.started_at
    duration = record.finished_at - started if record.finished_at and started else None
    metrics.add_run_concluded(pipe, record.conclusion or "failure", duration, record.verdicts)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
