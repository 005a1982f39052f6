"""The deployment gate's handler as tables: what a `deployment_protection_rule` request is
answered, when, and that an answer is sent once (in memory; the Redis store's own races are
`tests/unit/test_deployment_handler.py`'s)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.core.deployment_gate import MAX_RUNS_PER_REQUEST, Answer, GateRequest
from bot.core.events import DeploymentGateEvent
from bot.core.run_model import RunRecord, RunState
from bot.github.client import GitHubError
from bot.handlers import deployments
from tests.fakes.github import REPO, FakeGitHub
from tests.fakes.stores import MemoryGates
from tests.fakes.world import INSTALLATION, World
from tests.unit.handlers.plans import BROKEN_PLAN, HEAD

SHA = HEAD
GATED = "deployments: [production]\nphases: [{id: auth, mrr_at_risk: 500, suites: [t.py]}]\n"
UNGATED = "deployments: [staging]\nphases: [{id: auth, suites: [t.py]}]\n"
ENVIRONMENT = "production"
RUN = "r" * 12
CHECK_NAME = "Golden Path P0"


def gate_request(**fields: Any) -> GateRequest:
    defaults: dict[str, Any] = {
        "installation_id": INSTALLATION,
        "repo": REPO,
        "environment": ENVIRONMENT,
        "sha": SHA,
        "workflow_run_id": 31,
        "sender": "deployer",
    }
    return GateRequest(**{**defaults, **fields})


def run_record(state: RunState, conclusion: str | None = None, **fields: Any) -> RunRecord:
    return RunRecord(
        run_id=RUN,
        installation_id=INSTALLATION,
        repo=REPO,
        head_sha=SHA,
        commit_ref=SHA,
        state=state,
        conclusion=conclusion,
        **fields,
    )


@dataclass(frozen=True)
class Case:
    name: str
    plan: str | None = GATED
    request: dict[str, Any] = field(default_factory=dict)  # the stored request's fields
    # the commit's check runs of the name: (app id, status, conclusion, external id)
    checks: tuple[tuple[str, str, str | None, str | None], ...] = ()
    record: RunRecord | None = None
    # expected
    answer: str | None = None  # "approved" / "rejected"; None: nothing sent yet
    comment: tuple[str, ...] = ()  # texts the answer's comment holds
    launched: int = 0
    waits_on: str | None = None  # the run the request waits for afterwards ("new": the one queued)


DONE = run_record(RunState.COMPLETED, "success", title="All 1 phases passed", mrr_at_risk=0)

CASES = [
    Case("already answered: nothing", request={"state": Answer.APPROVED, "answered_at": 5.0}),
    Case(
        "decided but never sent (a lost worker): sent now",
        request={"state": Answer.REJECTED, "comment": "no"},
        answer="rejected",
        comment=("no",),
    ),
    Case(
        "no plan at the commit: approved, not gated",
        plan=None,
        answer="approved",
        comment=("does not gate `production`", "there is no"),
    ),
    Case(
        "the plan gates other environments: approved",
        plan=UNGATED,
        answer="approved",
        comment=("does not list it under `deployments`", "`staging`"),
    ),
    Case(
        "an invalid plan: rejected with the reason",
        plan=BROKEN_PLAN,
        answer="rejected",
        comment=("is invalid", "phases"),
    ),
    Case(
        "our latest check passed, with its run's record: approved quoting the run",
        checks=(("4242", "completed", "success", RUN),),
        record=DONE,
        answer="approved",
        comment=("All 1 phases passed", "Total MRR at risk: $0", f"https://bot.example/runs/{RUN}"),
    ),
    Case(
        "our latest check passed, its record expired: approved quoting the check run",
        checks=(("4242", "completed", "success", "unknown"),),
        answer="approved",
        comment=("https://github.example/runs/500",),
    ),
    Case(
        "our latest check failed: rejected",
        checks=(("4242", "completed", "failure", None),),
        answer="rejected",
        comment=("HOLD production deployment",),
    ),
    Case(
        "our run is under way on the commit: wait for it",
        checks=(("4242", "in_progress", None, RUN),),
        record=run_record(RunState.RUNNING),
        waits_on=RUN,
    ),
    Case(
        "a check in progress whose run already ended: a run of our own",
        checks=(("4242", "in_progress", None, RUN),),
        record=run_record(RunState.COMPLETED, "cancelled"),
        launched=1,
        waits_on="new",
    ),
    Case("no check run: a run, then wait for it", launched=1, waits_on="new"),
    Case(
        "only the placeholder: a run",
        checks=(("4242", "completed", "action_required", None),),
        launched=1,
        waits_on="new",
    ),
    Case(
        "another App's success proves nothing: a run",
        checks=(("999", "completed", "success", None),),
        launched=1,
        waits_on="new",
    ),
    Case(
        f"{MAX_RUNS_PER_REQUEST} runs started and none concluded: rejected",
        request={"runs_started": MAX_RUNS_PER_REQUEST},
        answer="rejected",
        comment=(f"started {MAX_RUNS_PER_REQUEST} times", "never concluded"),
    ),
    Case(
        "a run queued for the commit but no check yet: joined, nothing more queued",
        record=run_record(RunState.QUEUED),
        waits_on=RUN,
    ),
    Case(
        "waiting on a run still going: nothing",
        request={"run_id": RUN},
        record=run_record(RunState.RUNNING),
        waits_on=RUN,
    ),
    Case(
        "waiting on a run that passed: approved from it",
        request={"run_id": RUN},
        record=DONE,
        answer="approved",
        comment=("All 1 phases passed",),
    ),
    Case(
        "waiting on a run that failed without a title: rejected, the reason as title",
        request={"run_id": RUN},
        record=run_record(RunState.COMPLETED, "failure", reason="Checkout failed\nmore"),
        answer="rejected",
        comment=("Failure: Checkout failed",),
    ),
    Case(
        "waiting on a run that was cancelled: looked at again, a new run",
        request={"run_id": RUN},
        record=run_record(RunState.COMPLETED, "cancelled"),
        launched=1,
        waits_on="new",
    ),
    Case(
        "waiting on a run whose record is gone: looked at again, a new run",
        request={"run_id": RUN},
        launched=1,
        waits_on="new",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_evaluate(case: Case) -> None:
    world = World()
    if case.plan is not None:
        world.github.plan_at(SHA, case.plan)
    for app_id, status, conclusion, external_id in case.checks:
        world.github.add_check_run(
            SHA,
            CHECK_NAME,
            app_id=app_id,
            status=status,
            conclusion=conclusion,
            external_id=external_id,
        )
    if case.record is not None:
        world.runs.create(case.record)
    request = world.gates.open(gate_request(**case.request))

    deployments.evaluate(world.context(), request)

    answers = world.github.named("answer_deployment_gate")
    if case.answer is None:
        assert answers == []
    else:
        (answer,) = answers
        assert (answer["workflow_run_id"], answer["environment"], answer["state"]) == (
            31,
            ENVIRONMENT,
            case.answer,
        )
        for text in case.comment:
            assert text in answer["comment"]
        stored = world.gates.get(request.key)
        assert stored is not None and stored.answered_at is not None
    assert len(world.launcher.launched) == case.launched
    stored = world.gates.get(request.key)
    assert stored is not None
    if case.waits_on == "new":
        (queued,) = world.launcher.launched
        record = world.runs.get(queued)
        assert stored.run_id == queued
        assert (record.trigger, record.target, record.requested_by) == (
            "deployment",
            f"{REPO}@{SHA}",
            "deployer",
        )
        assert record.lock_wait_limit_seconds == world.context().deploy_lock_wait_seconds
    elif case.waits_on is not None:
        assert stored.run_id == case.waits_on


class PlanBrokenOnSecondRead(FakeGitHub):
    """The plan read for the decision is fine; the one read to start the run is not (a
    force-push between the two reads)."""

    def read_file(self, path: str, ref: str) -> str | None:
        super().read_file(path, ref)
        return BROKEN_PLAN if self.named("read_file")[1:] else GATED


def test_a_run_that_cannot_be_started_rejects_with_the_reason() -> None:
    world = World(github=PlanBrokenOnSecondRead())
    request = world.gates.open(gate_request())
    deployments.evaluate(world.context(), request)
    (answer,) = world.github.named("answer_deployment_gate")
    assert answer["state"] == "rejected"
    assert "could not be started" in answer["comment"]
    assert "cannot be used" in answer["comment"]


def test_a_redelivered_request_keeps_the_first_ones_decisions() -> None:
    world = World()
    world.github.plan_at(SHA, GATED)
    event = DeploymentGateEvent(
        delivery_id="d1",
        installation_id=INSTALLATION,
        repo=REPO,
        action="requested",
        sender="deployer",
        environment=ENVIRONMENT,
        sha=SHA,
        ref="main",
        trigger="push",
        callback_url="https://api.example/callback",
        workflow_run_id=31,
    )
    deployments.on_requested(event, world.context())
    deployments.on_requested(event, world.context())  # joins the run the first one started
    (queued,) = world.launcher.launched
    (request,) = world.gates.pending()
    assert (request.run_id, request.runs_started, request.delivery_id) == (queued, 1, "d1")


@dataclass(frozen=True)
class Settle:
    name: str
    request: dict[str, Any]
    held_by_another: bool = False
    answered_meanwhile: bool = False
    github_refuses: int | None = None  # the HTTP status GitHub answers with
    # expected
    returns: bool | None = True  # None: raises
    sent: bool = False
    answered: bool = True


SETTLES = [
    Settle("decided: sent and marked", {"state": Answer.APPROVED}, sent=True),
    Settle("not decided yet: nothing", {}, returns=False, answered=False),
    Settle("already answered: nothing", {"state": Answer.APPROVED, "answered_at": 5.0}),
    Settle(
        "another sender holds it: nothing now",
        {"state": Answer.APPROVED},
        held_by_another=True,
        returns=False,
        answered=False,
    ),
    Settle(
        "answered by another sender meanwhile: nothing",
        {"state": Answer.APPROVED},
        answered_meanwhile=True,
    ),
    Settle(
        "GitHub says the deployment is decided (422): marked, never sent again",
        {"state": Answer.APPROVED},
        github_refuses=422,
        sent=True,
    ),
    Settle(
        "GitHub has a bad minute (502): raised, left for a retry",
        {"state": Answer.APPROVED},
        github_refuses=502,
        returns=None,
        sent=True,
        answered=False,
    ),
]


@pytest.mark.parametrize("case", SETTLES, ids=lambda c: c.name)
def test_settle(case: Settle) -> None:
    world = World()
    request = world.gates.open(gate_request(**case.request))
    if case.held_by_another:
        world.gates.held.add(request.key)
    if case.answered_meanwhile:
        world.gates.mark_answered(request.key)
    if case.github_refuses is not None:
        world.github.fail["answer_deployment_gate"] = GitHubError("no", case.github_refuses)

    if case.returns is None:
        with pytest.raises(GitHubError):
            deployments.settle(world.github, world.gates, request)
    else:
        assert deployments.settle(world.github, world.gates, request) is case.returns

    assert bool(world.github.named("answer_deployment_gate")) == case.sent
    stored = world.gates.get(request.key)
    assert stored is not None and (stored.answered_at is not None) == case.answered
    assert world.gates.held == ({request.key} if case.held_by_another else set())


@dataclass(frozen=True)
class Finished:
    name: str
    record: RunRecord
    answer: str | None


FINISHED = [
    Finished("passed: approved", DONE, "approved"),
    Finished("failed: rejected", run_record(RunState.COMPLETED, "failure"), "rejected"),
    Finished(
        "cancelled: left to the reconcile pass", run_record(RunState.COMPLETED, "cancelled"), None
    ),
    Finished("still running: nothing", run_record(RunState.RUNNING), None),
]


@pytest.mark.parametrize("case", FINISHED, ids=lambda c: c.name)
def test_a_finished_run_answers_the_deployments_waiting_for_it(case: Finished) -> None:
    world = World()
    waiting = world.gates.open(gate_request())
    world.gates.wait_for(waiting.key, RUN, started=True)
    other = world.gates.open(gate_request(workflow_run_id=32))  # waits for nothing yet
    asked: list[tuple[int, str]] = []

    def github_for(installation_id: int, repo: str) -> Any:
        asked.append((installation_id, repo))
        return world.github

    deployments.answer_run_waiters(github_for, world.gates, case.record)

    answers = world.github.named("answer_deployment_gate")
    assert [a["state"] for a in answers] == ([case.answer] if case.answer else [])
    assert [a["workflow_run_id"] for a in answers] == ([31] if case.answer else [])
    assert asked == ([(INSTALLATION, REPO)] if case.answer else [])
    assert world.gates.get(other.key).answered_at is None  # type: ignore[union-attr]


def test_reconcile_looks_again_at_old_requests_only_and_survives_a_failing_one() -> None:
    world = World()
    world.github.plan_at(SHA, UNGATED)
    old = world.gates.open(gate_request(created_at=0.0))
    young = world.gates.open(gate_request(workflow_run_id=32, created_at=1e12))
    broken = world.gates.open(gate_request(workflow_run_id=33, created_at=0.0, repo="acme/gone"))
    contexts = {REPO: world.context()}

    def ctx_for(request: GateRequest) -> Any:
        return contexts[request.repo]  # acme/gone: KeyError, logged, the pass goes on

    assert deployments.reconcile(ctx_for, world.gates, older_than=5.0) == 2
    assert world.gates.get(old.key).answered_at is not None  # type: ignore[union-attr]
    assert world.gates.get(young.key).answered_at is None  # type: ignore[union-attr]
    assert world.gates.get(broken.key).answered_at is None  # type: ignore[union-attr]


def test_a_context_without_a_gates_store_is_a_wiring_error() -> None:
    world = World()
    ctx = world.context()
    ctx.gates = None
    with pytest.raises(RuntimeError, match="Gates store"):
        deployments.evaluate(ctx, gate_request())


class RacingGates(MemoryGates):
    """Another worker gets to the request just before this one's `step`: it decides it (or,
    with `expire`, the request's key expires)."""

    def __init__(self, step: str, *, expire: bool = False) -> None:
        super().__init__()
        self.step, self.expire = step, expire

    def _race(self, step: str, key: str) -> None:
        if step != self.step:
            return
        if self.expire:
            del self.requests[key]
        else:
            self.requests[key].state = Answer.APPROVED

    def wait_for(self, key: str, run_id: str, *, started: bool) -> GateRequest | None:
        self._race("wait_for", key)
        return super().wait_for(key, run_id, started=started)

    def forget_run(self, key: str) -> GateRequest | None:
        self._race("forget_run", key)
        return super().forget_run(key)

    def decide(self, key: str, state: Answer, comment: str) -> GateRequest | None:
        self._race("decide", key)
        return super().decide(key, state, comment)


@dataclass(frozen=True)
class Race:
    name: str
    gates: RacingGates
    request: dict[str, Any] = field(default_factory=dict)
    record: RunRecord | None = None
    plan: str = GATED


RACES = [
    Race(
        "decided elsewhere while a run was started: this one does not wait", RacingGates("wait_for")
    ),
    Race(
        "decided elsewhere while a cancelled run was forgotten: not looked at again",
        RacingGates("forget_run"),
        request={"run_id": RUN},
        record=run_record(RunState.COMPLETED, "cancelled"),
    ),
    Race(
        "the request expired before its answer: nothing sent",
        RacingGates("decide", expire=True),
        plan=UNGATED,
    ),
]


@pytest.mark.parametrize("case", RACES, ids=lambda c: c.name)
def test_a_request_someone_else_got_to_first_is_left_to_them(case: Race) -> None:
    world = World(gates=case.gates)
    world.github.plan_at(SHA, case.plan)
    if case.record is not None:
        world.runs.create(case.record)
    request = world.gates.open(gate_request(**case.request))
    deployments.evaluate(world.context(), request)
    assert world.github.named("answer_deployment_gate") == []
    assert len(world.launcher.launched) <= 1  # at most the run started before the race
