"""What a handler is handed: narrow protocols for GitHub, run records and the run queue.

Handlers run in the `events` worker. They decide with core modules and act only through these
objects, so the code is the same against GitHub and against the sandbox (prow's plugin clients).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.deployment_gate import Answer, GateRequest
from bot.core.run_model import RunRecord


class GateAnswers(Protocol):
    """The one call that answers a deployment (all a finished run needs for its waiters)."""

    def answer_deployment_gate(
        self, workflow_run_id: int, environment: str, state: str, comment: str
    ) -> None: ...


class CheckRunUpdates(Protocol):
    """Updating a check run, with the fields `bot.github.client.RepoClient` takes (the reaper
    and publishing need only this)."""

    def update_check_run(
        self,
        check_run_id: int,
        *,
        status: str | None = None,
        conclusion: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        annotations: list[dict[str, Any]] | None = None,
        details_url: str | None = None,
        actions: list[dict[str, Any]] | None = None,
        name: str | None = None,
    ) -> None: ...


class GitHub(GateAnswers, CheckRunUpdates, Protocol):
    """The calls handlers make on one repository (`bot.github.client.RepoClient`, wrapped by
    `workers.tasks` so that reactions are best effort)."""

    def permission_of(self, login: str) -> str: ...
    def react(self, comment_id: int, content: str) -> None: ...  # best effort: never raises
    def reply(self, number: int, body: str) -> str: ...
    def get_pull(self, number: int) -> Any: ...
    def read_file(self, path: str, ref: str) -> str | None: ...
    def create_check_run(
        self,
        *,
        name: str,
        head_sha: str,
        status: str,
        conclusion: str | None = None,
        title: str,
        summary: str,
        text: str | None = None,
        details_url: str | None = None,
        external_id: str | None = None,
        actions: list[dict[str, Any]] | None = None,
        annotations: list[dict[str, Any]] | None = None,
    ) -> int: ...
    def list_check_runs(
        self, head_sha: str, check_name: str, *, app_id: str | int | None = None
    ) -> list[dict[str, Any]]: ...
    def check_run_url(self, check_run_id: int) -> str | None: ...
    def has_comment_with(self, number: int, marker: str) -> bool: ...


class Runs(Protocol):
    """The run-record operations handlers use (satisfied by `bot.state.run_records.RunRecords`)."""

    def create(self, record: RunRecord) -> RunRecord: ...
    def get(self, run_id: str) -> RunRecord: ...
    def latest(self, target: str) -> RunRecord | None: ...
    def latest_for_pr(self, repo: str, pr_number: int) -> RunRecord | None: ...
    def set_fields(self, run_id: str, **fields: Any) -> RunRecord | None: ...
    def request_cancel(self, run_id: str, reason: str) -> RunRecord | None: ...
    def remember_pr_for_sha(self, repo: str, sha: str, pr_number: int) -> None: ...
    def pr_for_sha(self, repo: str, sha: str) -> int | None: ...
    def target_lock(self, target: str) -> Any: ...


class Gates(Protocol):
    """Deployments waiting for an answer (`bot.state.deployment_gates.GateRequests`)."""

    def get(self, key: str) -> GateRequest | None: ...
    def open(self, request: GateRequest) -> GateRequest: ...
    def waiting_on(self, run_id: str) -> list[GateRequest]: ...
    def decide(self, key: str, state: Answer, comment: str) -> GateRequest | None: ...
    def wait_for(self, key: str, run_id: str, *, started: bool) -> GateRequest | None: ...
    def forget_run(self, key: str) -> GateRequest | None: ...
    def claim(self, key: str) -> bool: ...
    def release(self, key: str) -> None: ...
    def mark_answered(self, key: str) -> GateRequest | None: ...


class Replies(Protocol):
    """Which comments were answered (satisfied by `bot.state.comment_replies.CommentReplies`)."""

    def claim(self, repo: str, comment_id: int) -> bool: ...


class Launcher(Protocol):
    """Queues runs on the `runs` queue."""

    def launch(self, run_id: str) -> str: ...
    def revoke(self, task_id: str) -> None: ...


@dataclass
class Context:
    github: GitHub
    runs: Runs
    launcher: Launcher
    installation_id: int
    replies: Replies
    details_url: Callable[[str], str | None] = lambda run_id: None
    app_id: str | None = None
    gates: Gates | None = None  # deployment requests; None where no deployment is handled
    # How long a deployment's run may wait for its environment before the deployment is rejected.
    deploy_lock_wait_seconds: float = 1800.0
    # What earlier attempts at this same event decided (the head commit a request was accepted
    # for, the run it queued). The task carries it into its retries, so a retry never re-decides
    # on a head that has moved since, nor queues a second run.
    memo: dict[str, Any] = field(default_factory=dict)
