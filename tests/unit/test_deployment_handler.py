"""The deployment gate's shell against a real redis-server and a small in-memory GitHub: what
gets answered, when, and that it is answered once whoever races for it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from bot.core.deployment_gate import Answer, GateRequest
from bot.core.run_model import RunRecord, RunState
from bot.handlers import deployments
from bot.handlers.context import Context
from bot.state.comment_replies import CommentReplies
from bot.state.deployment_gates import GateRequests
from bot.state.run_records import RunRecords
from tests.fakes.launcher import RecordingLauncher

SHA = "c0ffee" + "0" * 34
PLAN = "deployments: [production]\nphases: [{id: auth, mrr_at_risk: 500, suites: [t.py]}]\n"


class MemoryGitHub:
    """Just what the gate handler calls; records the answers and check runs it made."""

    def __init__(self, plan: str | None, runs: list[dict[str, Any]] | None = None) -> None:
        self.plan = plan
        self.runs = list(runs or [])
        self.answers: list[tuple[int, str, str, str]] = []
        self.created: list[dict[str, Any]] = []
        self.fail_answers = 0
        self.refuse_with: int | None = None
        self._lock = threading.Lock()

    def read_file(self, path: str, ref: str) -> str | None:
        return self.plan

    def list_check_runs(
        self, head_sha: str, check_name: str, *, app_id: str | int | None = None
    ) -> list[dict[str, Any]]:
        return [r for r in self.runs if r.get("app_id", "1") == str(app_id)]

    def create_check_run(self, **fields: Any) -> int:
        self.created.append(fields)
        return 1000 + len(self.created)

    def check_run_url(self, check_run_id: int) -> str | None:
        return f"https://github.example/runs/{check_run_id}"

    def answer_deployment_gate(
        self, workflow_run_id: int, environment: str, state: str, comment: str
    ) -> None:
        with self._lock:
            if self.fail_answers:
                self.fail_answers -= 1
                raise RuntimeError("GitHub had a bad minute")
            if self.refuse_with is not None:
                raise Refused(self.refuse_with)
            self.answers.append((workflow_run_id, environment, state, comment))


class Refused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class OneRepo:
    """The session's Redis is shared: the reconcile pass of a test sees its own requests only."""

    def __init__(self, gates: Any, repo: str) -> None:
        self._gates, self._repo = gates, repo

    def pending(self) -> list[GateRequest]:
        return [r for r in self._gates.pending() if r.repo == self._repo]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gates, name)


def reconcile(ctx: Context, repo: str) -> int:
    return deployments.reconcile(lambda r: ctx, OneRepo(ctx.gates, repo), older_than=0)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def setup(client: redis.Redis, github: MemoryGitHub) -> tuple[Context, GateRequest]:
    repo = f"acme/app-{uuid.uuid4().hex[:8]}"
    ctx = Context(
        github=github,  # type: ignore[arg-type]
        runs=RunRecords(client),
        launcher=RecordingLauncher(),
        installation_id=7,
        replies=CommentReplies(client),
        app_id="1",
        gates=GateRequests(client),
        details_url=lambda run_id: f"https://bot.example/runs/{run_id}",
    )
    request = GateRequest(
        installation_id=7, repo=repo, environment="production", sha=SHA, workflow_run_id=31
    )
    return ctx, ctx.gates.open(request)  # type: ignore[union-attr]


def completed(ctx: Context, repo: str, conclusion: str, **fields: Any) -> RunRecord:
    record = RunRecord(installation_id=7, repo=repo, head_sha=SHA, commit_ref=SHA, **fields)
    ctx.runs.create(record)
    return ctx.runs.set_fields(  # type: ignore[return-value]
        record.run_id, state=RunState.COMPLETED, conclusion=conclusion
    )


def test_green_commit_is_approved_quoting_the_run(client: redis.Redis) -> None:
    github = MemoryGitHub(PLAN)
    ctx, request = setup(client, github)
    record = completed(ctx, request.repo, "success", title="All 1 phases passed", mrr_at_risk=0)
    github.runs = [
        {"id": 5, "status": "completed", "conclusion": "success", "external_id": record.run_id}
    ]
    deployments.evaluate(ctx, request)
    ((run_id, env, state, comment),) = github.answers
    assert (run_id, env, state) == (31, "production", "approved")
    assert "All 1 phases passed" in comment and "Total MRR at risk: $0" in comment
    assert f"https://bot.example/runs/{record.run_id}" in comment


def test_another_apps_check_of_the_same_name_proves_nothing(client: redis.Redis) -> None:
    github = MemoryGitHub(PLAN, [{"id": 5, "status": "completed", "conclusion": "success"}])
    github.runs[0]["app_id"] = "999"
    ctx, request = setup(client, github)
    deployments.evaluate(ctx, request)
    assert github.answers == []  # a run was started instead
    assert [c["status"] for c in github.created] == ["queued"]


def test_unseen_commit_runs_then_answers_when_the_run_completes(client: redis.Redis) -> None:
    github = MemoryGitHub(PLAN)
    ctx, request = setup(client, github)
    deployments.evaluate(ctx, request)
    (run_id,) = ctx.launcher.launched  # type: ignore[attr-defined]
    record = ctx.runs.get(run_id)
    assert (record.trigger, record.pr_number, record.target) == (
        "deployment",
        None,
        f"{request.repo}@{SHA}",
    )
    assert record.lock_wait_limit_seconds == ctx.deploy_lock_wait_seconds
    assert github.answers == []
    # A redelivery of the same request while the run goes on: joins, starts nothing.
    deployments.evaluate(ctx, ctx.gates.open(request))  # type: ignore[union-attr]
    assert len(ctx.launcher.launched) == 1  # type: ignore[attr-defined]
    finished = ctx.runs.finish(
        run_id, "failure", None, title="1 of 1 phase failed", mrr_at_risk=500
    )
    assert finished is not None
    deployments.answer_run_waiters(lambda i, r: github, ctx.gates, finished)  # type: ignore[arg-type]
    deployments.answer_run_waiters(lambda i, r: github, ctx.gates, finished)  # type: ignore[arg-type]
    ((_, _, state, comment),) = github.answers
    assert state == "rejected"
    assert "$500" in comment and "HOLD production deployment" in comment


def test_a_cancelled_run_is_replaced_by_a_new_one(client: redis.Redis) -> None:
    github = MemoryGitHub(PLAN)
    ctx, request = setup(client, github)
    deployments.evaluate(ctx, request)
    (first,) = ctx.launcher.launched  # type: ignore[attr-defined]
    ctx.runs.request_cancel(first, "cancelled by someone")  # still queued: completes cancelled
    reconcile(ctx, request.repo)
    assert len(ctx.launcher.launched) == 2  # type: ignore[attr-defined]
    assert github.answers == []


def test_an_invalid_plan_rejects_with_the_reason(client: redis.Redis) -> None:
    github = MemoryGitHub("deployments: [production]\nphases: []\n")
    ctx, request = setup(client, github)
    deployments.evaluate(ctx, request)
    ((_, _, state, comment),) = github.answers
    assert state == "rejected"
    assert "phases: must not be empty" in comment


def test_an_answer_github_refused_is_sent_again_by_the_reconcile_pass(client: redis.Redis) -> None:
    github = MemoryGitHub("phases: [{id: a, suites: [t.py]}]\n")  # gates nothing
    github.fail_answers = 1
    ctx, request = setup(client, github)
    with pytest.raises(RuntimeError):
        deployments.evaluate(ctx, request)
    assert reconcile(ctx, request.repo) >= 1
    ((_, _, state, comment),) = github.answers
    assert state == "approved" and "does not gate `production`" in comment
    assert ctx.gates.get(request.key).answered_at is not None  # type: ignore[union-attr]
    reconcile(ctx, request.repo)
    assert len(github.answers) == 1


def test_racing_senders_answer_once(client: redis.Redis) -> None:
    github = MemoryGitHub(None)
    _, request = setup(client, github)
    gates = GateRequests(client)
    decided = gates.decide(request.key, Answer.APPROVED, "fine")
    assert decided is not None
    assert gates.decide(request.key, Answer.REJECTED, "second opinion") is None
    threads = [
        threading.Thread(target=deployments.settle, args=(github, gates, decided)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a[2] for a in github.answers] == ["approved"]
    assert request.key not in {r.key for r in gates.pending()}


def test_an_answer_github_will_never_take_is_not_sent_for_ever(client: redis.Redis) -> None:
    github = MemoryGitHub(None)
    github.refuse_with = 422  # e.g. someone approved the deployment by hand meanwhile
    ctx, request = setup(client, github)
    deployments.evaluate(ctx, request)
    assert ctx.gates.get(request.key).answered_at is not None  # type: ignore[union-attr]
    assert reconcile(ctx, request.repo) == 0
