"""What the bot remembers of a run: a plain value, shared by handlers, workers and the web page.

Core: no I/O. `bot.state.run_records` stores these in Redis.
"""

from __future__ import annotations

import re
import time
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from bot.core.plan import DEFAULT_CHECK_NAME

RUN_ID = re.compile(r"[0-9a-f]{12}")


def run_target(repo: str, *, pr_number: int | None = None, ref: str | None = None) -> str:
    """The key of "one run at a time": `owner/name@ref` for a merge group or a commit outside
    pull requests, `owner/name#number` for a pull request."""
    return f"{repo}@{ref}" if ref else f"{repo}#{pr_number}"


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
    # A run of a commit outside any pull request (a deployment waits for it): its target is
    # `repo@<commit_ref>`, so a second deployment of the commit joins it instead of queueing more.
    commit_ref: str | None = None
    head_sha: str
    phases: list[str] = Field(default_factory=list)  # empty: every phase
    rerun_of: str | None = None  # `rerun-failed`: the completed run whose failed tests run again
    requested_by: str = ""
    trigger: str = "comment"
    check_name: str = DEFAULT_CHECK_NAME
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
    # A run whose worker was lost is started again once on the same commit (contract §5.6).
    attempt: int = 1
    restarted_at: float | None = None
    # The reaper's conclusion, retried across reconcile passes until GitHub accepts it.
    pending_conclusion: str | None = None  # decided, not yet accepted by GitHub
    conclude_tries: int = 0
    conclude_next_at: float | None = None
    verdicts: list[dict[str, Any]] = Field(default_factory=list)
    mrr_at_risk: int = 0
    patterns: list[dict[str, Any]] = Field(default_factory=list)  # failure patterns, five whys
    details_url: str | None = None
    # How long the run may wait for its environment before it gives up (a deployment should be
    # answered, not held for hours); None: as long as it takes.
    lock_wait_limit_seconds: float | None = None
    title: str | None = None  # the check run's final title and recommendation line: the
    recommendation: str | None = None  # deployment gate's answer quotes them

    @property
    def target(self) -> str:
        return run_target(
            self.repo, pr_number=self.pr_number, ref=self.merge_group_ref or self.commit_ref
        )

    @property
    def lock_owner(self) -> str:
        """Who this attempt is in the environment's line: a restarted attempt queues apart from
        the lost one, so a lost worker that was only slow can never run beside its successor."""
        return self.run_id if self.attempt == 1 else f"{self.run_id}.{self.attempt}"

    @property
    def active(self) -> bool:
        return self.state is not RunState.COMPLETED
