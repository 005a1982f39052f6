"""What a handler is handed: narrow protocols for GitHub, run records and the run queue.

Handlers run in the `events` worker. They decide with core modules and act only through these
objects, so the code is the same against GitHub and against the sandbox (prow's plugin clients).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.run_model import RunRecord


class GitHub(Protocol):
    """The calls handlers make on one repository (`bot.github_api.RepoClient`, wrapped by
    `workers.tasks` so that reactions are best effort)."""

    def permission_of(self, login: str) -> str: ...
    def react(self, comment_id: int, content: str) -> None: ...  # best effort: never raises
    def reply(self, number: int, body: str) -> str: ...
    def get_pull(self, number: int) -> Any: ...
    def read_file(self, path: str, ref: str) -> str | None: ...
    def create_check_run(self, **fields: Any) -> int: ...
    def update_check_run(self, check_run_id: int, **fields: Any) -> None: ...
    def list_check_runs(self, head_sha: str, check_name: str) -> list[dict[str, Any]]: ...


class Runs(Protocol):
    """The run-record operations handlers use (satisfied by `bot.run_records.RunRecords`)."""

    def create(self, record: RunRecord) -> RunRecord: ...
    def get(self, run_id: str) -> RunRecord: ...
    def latest(self, target: str) -> RunRecord | None: ...
    def latest_for_pr(self, repo: str, pr_number: int) -> RunRecord | None: ...
    def set_fields(self, run_id: str, **fields: Any) -> RunRecord | None: ...
    def request_cancel(self, run_id: str, reason: str) -> RunRecord | None: ...
    def remember_pr_for_sha(self, repo: str, sha: str, pr_number: int) -> None: ...
    def pr_for_sha(self, repo: str, sha: str) -> int | None: ...
    def target_lock(self, target: str) -> Any: ...


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
    details_url: Callable[[str], str | None] = lambda run_id: None
    app_id: str | None = None
    # What earlier attempts at this same event decided (the head commit a request was accepted
    # for, the run it queued). The task carries it into its retries, so a retry never re-decides
    # on a head that has moved since, nor queues a second run.
    memo: dict[str, Any] = field(default_factory=dict)
