"""Pushes to the default branch: with `auto_run`, a run of the new head (the baseline)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.core.events import PushEvent
from bot.handlers.pushes import TRIGGER, on_push
from tests.fakes.github import REPO
from tests.fakes.world import INSTALLATION, World
from tests.unit.handlers.plans import AUTO_RUN_PLAN, BROKEN_PLAN, NEWER, PLAN


@dataclass(frozen=True)
class Case:
    name: str
    plan: str | None
    runs: bool = False


CASES = [
    Case("auto_run: the new head runs, as its commit's own target", AUTO_RUN_PLAN, runs=True),
    Case("no auto_run: nothing", PLAN),
    Case("no plan: nothing", None),
    Case("an invalid plan: nothing (its pull request said why)", BROKEN_PLAN),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_push(case: Case) -> None:
    world = World()
    if case.plan is not None:
        world.github.plan_at(NEWER, case.plan)
    event = PushEvent(
        delivery_id="d",
        installation_id=INSTALLATION,
        repo=REPO,
        action="",
        sender="merger",
        ref="refs/heads/main",
        after=NEWER,
    )
    on_push(event, world.context())
    launched = [world.runs.get(run_id) for run_id in world.launcher.launched]
    if case.runs:
        (record,) = launched
        assert (record.trigger, record.target, record.pr_number) == (
            TRIGGER,
            f"{REPO}@{NEWER}",
            None,
        )
        assert world.github.named("permission_of") == []
    else:
        assert launched == []
        assert world.github.named("create_check_run") == []
