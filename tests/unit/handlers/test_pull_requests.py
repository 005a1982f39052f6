"""Pull-request pushes and closes: supersede, placeholder check or `auto_run`, as a table."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.core.events import PullRequestEvent
from bot.core.run_model import RunRecord, RunState
from bot.handlers.pull_requests import RUN_BUTTON, on_closed, on_new_head
from tests.fakes.github import REPO, pull
from tests.fakes.world import INSTALLATION, World
from tests.unit.handlers.plans import AUTO_RUN_PLAN, BROKEN_PLAN, HEAD, OLD, PLAN

NUMBER = 7
EARLIER = "e" * 12


@dataclass(frozen=True)
class Case:
    name: str
    action: str = "synchronize"
    plan: str | None = PLAN
    is_fork: bool = False
    earlier: RunState | None = None
    earlier_head: str = OLD
    existing_check: str | None = None  # the app id of a check run of the name on the head
    # expected
    earlier_after: tuple[RunState, str | None] | None = None  # (state, conclusion)
    placeholder: str | None = None  # its name; None: no placeholder
    launched: int = 0


CASES = [
    Case("a push with no run: the placeholder", placeholder="Golden Path"),
    Case(
        "no plan through the API: the placeholder under the default name",
        plan=None,
        placeholder="Golden Path P0",
    ),
    Case(
        "an invalid plan: the placeholder under the default name",
        plan=BROKEN_PLAN,
        placeholder="Golden Path P0",
    ),
    Case(
        "a push while the old head's run is queued: superseded, then the placeholder",
        earlier=RunState.QUEUED,
        earlier_after=(RunState.COMPLETED, "cancelled"),
        placeholder="Golden Path",
    ),
    Case(
        "a push while the old head's run is running: asked to stop",
        earlier=RunState.RUNNING,
        earlier_after=(RunState.RUNNING, None),
        placeholder="Golden Path",
    ),
    Case(
        "reopened on the head a run is running on: left alone",
        action="reopened",
        earlier=RunState.RUNNING,
        earlier_head=HEAD,
        earlier_after=(RunState.RUNNING, None),
        placeholder="Golden Path",
    ),
    Case(
        "a finished run of the old head: nothing to supersede",
        earlier=RunState.COMPLETED,
        earlier_after=(RunState.COMPLETED, "success"),
        placeholder="Golden Path",
    ),
    Case(
        "ready for review with our check on the head: kept, no placeholder",
        action="ready_for_review",
        existing_check="4242",
    ),
    Case(
        "another App's check of the name on the head: the placeholder all the same",
        existing_check="999",
        placeholder="Golden Path",
    ),
    Case("auto_run: a run instead of the placeholder", plan=AUTO_RUN_PLAN, launched=1),
    Case(
        "auto_run from a fork: the placeholder, never a run",
        plan=AUTO_RUN_PLAN,
        is_fork=True,
        placeholder="Golden Path",
    ),
    Case(
        "auto_run while a run is on the same head: no second run, the placeholder",
        action="reopened",
        plan=AUTO_RUN_PLAN,
        earlier=RunState.RUNNING,
        earlier_head=HEAD,
        earlier_after=(RunState.RUNNING, None),
        placeholder="Golden Path",
    ),
    Case(
        "closed while running: asked to stop",
        action="closed",
        earlier=RunState.RUNNING,
        earlier_head=HEAD,
        earlier_after=(RunState.RUNNING, None),
    ),
    Case(
        "closed while queued: cancelled",
        action="closed",
        earlier=RunState.QUEUED,
        earlier_head=HEAD,
        earlier_after=(RunState.COMPLETED, "cancelled"),
    ),
    Case("closed with no run: nothing", action="closed"),
]


def event(case: Case) -> PullRequestEvent:
    return PullRequestEvent(
        delivery_id="d",
        installation_id=INSTALLATION,
        repo=REPO,
        action=case.action,
        sender="dev",
        number=NUMBER,
        head_sha=HEAD,
        head_ref="fix",
        head_full_name="someone/shop" if case.is_fork else REPO,
        base_full_name=REPO,
        base_ref="main",
        is_fork=case.is_fork,
        before=OLD if case.action == "synchronize" else None,
        draft=False,
        body="",
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_pull_request(case: Case) -> None:
    world = World()
    world.github.pulls[NUMBER] = pull(NUMBER, HEAD)
    if case.plan is not None:
        world.github.plan_at(HEAD, case.plan)
    if case.existing_check is not None:
        world.github.add_check_run(
            HEAD, "Golden Path", conclusion="success", app_id=case.existing_check
        )
    if case.earlier is not None:
        world.runs.create(
            RunRecord(
                run_id=EARLIER,
                installation_id=INSTALLATION,
                repo=REPO,
                pr_number=NUMBER,
                head_sha=case.earlier_head,
                state=case.earlier,
                check_run_id=900,
                conclusion="success" if case.earlier is RunState.COMPLETED else None,
            )
        )

    handler = on_closed if case.action == "closed" else on_new_head
    handler(event(case), world.context())

    if case.action != "closed":
        assert world.runs.pr_for_sha(REPO, HEAD) == NUMBER  # for check runs on forks' commits
    if case.earlier_after is not None:
        earlier = world.runs.get(EARLIER)
        assert (earlier.state, earlier.conclusion) == case.earlier_after
    created = world.github.named("create_check_run")
    placeholders = [c for c in created if c["status"] == "completed"]
    if case.placeholder is None:
        assert placeholders == []
    else:
        (placeholder,) = placeholders
        assert (placeholder["name"], placeholder["conclusion"]) == (
            case.placeholder,
            "action_required",
        )
        assert placeholder["actions"] == [RUN_BUTTON]
    assert len(world.launcher.launched) == case.launched
