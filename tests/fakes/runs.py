"""Run records in memory, with `bot.state.run_records.RunRecords`' rules (no Redis)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from bot.core.run_model import RunRecord, RunState
from bot.state.run_records import RecordNotFound


class MemoryRunRecords:
    """What `RunRecords` does, one process, no transactions needed. Records are copied in and
    out, as a store that serialises them would: a caller's later change to its copy is not
    stored. `locked` lists the targets decided under `target_lock`, in order."""

    def __init__(self, *records: RunRecord) -> None:
        self.records: dict[str, RunRecord] = {}
        self.latest_of: dict[str, str] = {}  # target -> run id
        self.pr_of_sha: dict[tuple[str, str], int] = {}
        self.locked: list[str] = []
        for record in records:
            self.create(record)

    # reads
    def get(self, run_id: str) -> RunRecord:
        if run_id not in self.records:
            raise RecordNotFound(run_id)
        return self.records[run_id].model_copy(deep=True)

    def latest(self, target: str) -> RunRecord | None:
        run_id = self.latest_of.get(target)
        return self.get(run_id) if run_id in self.records else None

    def latest_for_pr(self, repo: str, pr_number: int) -> RunRecord | None:
        return self.latest(f"{repo}#{pr_number}")

    def remember_pr_for_sha(self, repo: str, sha: str, pr_number: int) -> None:
        self.pr_of_sha[(repo, sha)] = pr_number

    def pr_for_sha(self, repo: str, sha: str) -> int | None:
        return self.pr_of_sha.get((repo, sha))

    def cancel_reason(self, run_id: str) -> str | None:
        try:
            return self.get(run_id).cancel_reason
        except RecordNotFound:
            return "the run's record disappeared"

    @contextlib.contextmanager
    def target_lock(self, target: str) -> Iterator[None]:
        self.locked.append(target)
        yield

    # writes
    def create(self, record: RunRecord) -> RunRecord:
        self.records[record.run_id] = record.model_copy(deep=True)
        self.latest_of[record.target] = record.run_id
        if record.pr_number is not None:
            self.pr_of_sha[(record.repo, record.head_sha)] = record.pr_number
        return record

    def update(self, run_id: str, change: Callable[[RunRecord], bool | None]) -> RunRecord | None:
        record = self.get(run_id)
        if change(record) is False:
            return None
        self.records[run_id] = record.model_copy(deep=True)
        return record

    def set_fields(self, run_id: str, **fields: Any) -> RunRecord | None:
        def apply(record: RunRecord) -> None:
            for name, value in fields.items():
                setattr(record, name, value)

        return self.update(run_id, apply)

    def start(self, run_id: str, *, worker: str, task_id: str | None) -> RunRecord | None:
        def apply(record: RunRecord) -> bool:
            if record.state is not RunState.QUEUED:
                return False
            record.state, record.worker, record.task_id = RunState.RUNNING, worker, task_id
            return True

        return self.update(run_id, apply)

    def finish(
        self, run_id: str, conclusion: str, reason: str | None = None, **fields: Any
    ) -> RunRecord | None:
        def apply(record: RunRecord) -> bool:
            if record.state is RunState.COMPLETED:
                return False
            record.state, record.conclusion, record.reason = RunState.COMPLETED, conclusion, reason
            record.current_phase = None
            for name, value in fields.items():
                setattr(record, name, value)
            return True

        return self.update(run_id, apply)

    def request_cancel(self, run_id: str, reason: str) -> RunRecord | None:
        def apply(record: RunRecord) -> bool:
            if record.state is RunState.COMPLETED:
                return False
            if record.state is RunState.QUEUED:
                record.state, record.conclusion, record.reason = (
                    RunState.COMPLETED,
                    "cancelled",
                    reason,
                )
            else:
                record.cancel_reason = reason
            return True

        return self.update(run_id, apply)

    def heartbeat(self, run_id: str, attempt: int | None = None) -> bool:
        """True while the run is this attempt's (the reaper restarting it makes it another's)."""
        return attempt is None or self.get(run_id).attempt == attempt
