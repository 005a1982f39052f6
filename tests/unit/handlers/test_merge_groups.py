"""Merge queue: reuse the pull request's result, or run the group, as a table."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.core.events import MergeGroupEvent
from bot.core.run_model import RunRecord, RunState
from bot.handlers.merge_groups import on_checks_requested, on_destroyed, pull_request_of
from tests.fakes.github import REPO, pull
from tests.fakes.world import INSTALLATION, World
from tests.unit.handlers.plans import BROKEN_PLAN, HEAD, MERGE_QUEUE_RUN_PLAN, NEWER, PLAN

NUMBER = 7
QUEUE_REF = f"refs/heads/gh-readonly-queue/main/pr-{NUMBER}-{HEAD}"


@dataclass(frozen=True)
class Case:
    name: str
    plan: str | None = PLAN
    head_ref: str = QUEUE_REF
    # the pull request head's check runs of the name: (app id, status, conclusion), oldest first
    pr_checks: tuple[tuple[str, str, str | None], ...] = ()
    # expected: the group's completed check (name, conclusion, a text in its summary)
    completed: tuple[str, str, str] | None = None
    run_queued: bool = False


CASES = [
    Case(
        "the pull request passed: success",
        pr_checks=(("4242", "completed", "success"),),
        completed=("Golden Path", "success", f"#{NUMBER}"),
    ),
    Case(
        "the pull request failed: failure",
        pr_checks=(("4242", "completed", "failure"),),
        completed=("Golden Path", "failure", f"#{NUMBER}"),
    ),
    Case(
        "never run on the pull request: failure", completed=("Golden Path", "failure", f"#{NUMBER}")
    ),
    Case(
        "an older success under a newer failure: failure",
        pr_checks=(("4242", "completed", "success"), ("4242", "completed", "failure")),
        completed=("Golden Path", "failure", f"#{NUMBER}"),
    ),
    Case(
        "a newer run still going: failure",
        pr_checks=(("4242", "completed", "success"), ("4242", "in_progress", None)),
        completed=("Golden Path", "failure", f"#{NUMBER}"),
    ),
    Case(
        "only another App's success: failure",
        pr_checks=(("999", "completed", "success"),),
        completed=("Golden Path", "failure", f"#{NUMBER}"),
    ),
    Case(
        "a ref that names no pull request: failure, saying so",
        head_ref="refs/heads/some-branch",
        completed=("Golden Path", "failure", "names no pull request"),
    ),
    Case(
        "no plan through the API: reuse under the default name",
        plan=None,
        completed=("Golden Path P0", "failure", f"#{NUMBER}"),
    ),
    Case(
        "an invalid plan: failure with the problems",
        plan=BROKEN_PLAN,
        completed=("Golden Path P0", "failure", "cannot be used"),
    ),
    Case("merge_queue: run: the group is run", plan=MERGE_QUEUE_RUN_PLAN, run_queued=True),
]


def event(
    case: Case, action: str = "checks_requested", reason: str | None = None
) -> MergeGroupEvent:
    return MergeGroupEvent(
        delivery_id="d",
        installation_id=INSTALLATION,
        repo=REPO,
        action=action,
        sender="queue",
        head_sha=NEWER,
        head_ref=case.head_ref,
        base_ref="refs/heads/main",
        reason=reason,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_checks_requested(case: Case) -> None:
    world = World()
    world.github.pulls[NUMBER] = pull(NUMBER, HEAD)
    if case.plan is not None:
        world.github.plan_at(NEWER, case.plan)
    for app_id, status, conclusion in case.pr_checks:
        world.github.add_check_run(
            HEAD, "Golden Path", app_id=app_id, status=status, conclusion=conclusion
        )

    on_checks_requested(event(case), world.context())

    created = world.github.named("create_check_run")
    if case.completed is None:
        assert all(c["status"] == "queued" for c in created)
    else:
        (check,) = created
        name, conclusion, text = case.completed
        assert (check["name"], check["head_sha"], check["status"]) == (name, NEWER, "completed")
        assert check["conclusion"] == conclusion
        assert text in check["summary"]
    if case.run_queued:
        (run_id,) = world.launcher.launched
        record = world.runs.get(run_id)
        assert (record.trigger, record.head_sha, record.target) == (
            "merge_group",
            NEWER,
            f"{REPO}@{QUEUE_REF}",
        )
        assert world.github.named("permission_of") == []  # GitHub queued it: approved
    else:
        assert world.launcher.launched == []


@dataclass(frozen=True)
class Destroyed:
    name: str
    state: RunState | None  # the group's run, if any
    reason: str | None = "dequeued"
    state_after: tuple[RunState, str | None, str | None] | None = (
        None  # (state, conclusion, reason)
    )


DESTROYED = [
    Destroyed(
        "its run queued: cancelled, with the reason",
        RunState.QUEUED,
        state_after=(RunState.COMPLETED, "cancelled", "The merge group was destroyed (dequeued)."),
    ),
    Destroyed(
        "its run running: asked to stop",
        RunState.RUNNING,
        reason=None,
        state_after=(RunState.RUNNING, None, None),
    ),
    Destroyed(
        "its run finished: left as it ended",
        RunState.COMPLETED,
        state_after=(RunState.COMPLETED, "success", None),
    ),
    Destroyed("no run: nothing", None),
]


@pytest.mark.parametrize("case", DESTROYED, ids=lambda c: c.name)
def test_destroyed(case: Destroyed) -> None:
    world = World()
    if case.state is not None:
        world.runs.create(
            RunRecord(
                run_id="g" * 12,
                installation_id=INSTALLATION,
                repo=REPO,
                merge_group_ref=QUEUE_REF,
                head_sha=NEWER,
                state=case.state,
                conclusion="success" if case.state is RunState.COMPLETED else None,
            )
        )
    on_destroyed(event(Case("x"), "destroyed", case.reason), world.context())
    if case.state_after is not None:
        record = world.runs.get("g" * 12)
        assert (record.state, record.conclusion, record.reason) == case.state_after
        if case.state is RunState.RUNNING:
            assert record.cancel_reason == "The merge group was destroyed (no reason given)."
    assert world.github.calls == []  # no check run of the group's was made here


@pytest.mark.parametrize(
    ("ref", "number"),
    [
        (QUEUE_REF, NUMBER),
        (f"gh-readonly-queue/main/pr-12-{HEAD}", 12),
        ("gh-readonly-queue/release/v1/pr-3-abc123", 3),
        ("refs/heads/main", None),
        ("gh-readonly-queue/main/pr-x-abc", None),
    ],
)
def test_the_group_names_its_pull_request(ref: str, number: int | None) -> None:
    assert pull_request_of(ref) == number
