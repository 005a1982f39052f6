"""`/golden-path rerun-failed`, decision by decision: refused, nothing to re-run, a run still
going, a head that moved (before or while deciding), and the run it queues."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.core.run_model import RunRecord, RunState
from bot.github.client import PullInfo
from bot.handlers.comments import on_comment
from tests.factories import comment_event
from tests.fakes.github import REPO, FakeGitHub, pull
from tests.fakes.world import INSTALLATION, World
from tests.unit.handlers.plans import HEAD, NEWER, PLAN

NUMBER = 7
LATEST = "e" * 12
FAILED = [
    {"phase_id": "auth", "status": "failed", "failed_ids": ["tests/test_auth.py::test_login"]},
    {"phase_id": "pay", "status": "passed", "passed": 2, "total": 2},
]
GREEN = [{"phase_id": "auth", "status": "passed"}, {"phase_id": "pay", "status": "passed"}]


class HeadMovesAfterOneLook(FakeGitHub):
    """The pull request's head moves right after the handler first reads it."""

    def get_pull(self, number: int) -> PullInfo:
        found = super().get_pull(number)
        self.pulls[number] = pull(number, NEWER)
        return found


@dataclass(frozen=True)
class Case:
    name: str
    permission: str = "write"
    latest: dict[str, Any] | None = field(
        default_factory=lambda: {"state": RunState.COMPLETED, "verdicts": FAILED}
    )
    head: str = HEAD
    github: type[FakeGitHub] = FakeGitHub
    # expected
    reaction: str = "eyes"
    reply: str | None = None  # a text of the reply; None: no reply
    queued: bool = False


CASES = [
    Case("the latest run failed: its failed tests queued again", queued=True),
    Case(
        "by a reader: refused",
        permission="read",
        reaction="confused",
        reply="`/golden-path rerun-failed` needs `write`",
    ),
    Case("no run yet: nothing to re-run", latest=None, reply="no completed golden-path run yet"),
    Case(
        "the latest run passed: nothing to re-run",
        latest={"state": RunState.COMPLETED, "verdicts": GREEN},
        reply="met its criteria, so no test failed",
    ),
    Case(
        "a run still going: already running",
        latest={"state": RunState.RUNNING, "verdicts": []},
        reply="is already running",
    ),
    Case(
        "the head moved since the latest run: nothing started",
        head=NEWER,
        reply="the pull request's head has moved to `ccccccc`",
    ),
    Case(
        "the head moved while deciding: nothing started",
        github=HeadMovesAfterOneLook,
        reply="the pull request's head has moved to `ccccccc`",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_rerun_failed(case: Case) -> None:
    world = World(github=case.github())
    world.github.permissions["dev"] = case.permission
    world.github.pulls[NUMBER] = pull(NUMBER, case.head)
    world.github.plan_at(HEAD, PLAN)
    if case.latest is not None:
        world.runs.create(
            RunRecord(
                run_id=LATEST,
                installation_id=INSTALLATION,
                repo=REPO,
                pr_number=NUMBER,
                head_sha=HEAD,
                conclusion="failure",
                **case.latest,
            )
        )

    event = comment_event(
        repo=REPO, number=NUMBER, comment_id=31, body="/golden-path rerun-failed", author="dev"
    )
    on_comment(event, world.context())

    assert [r["content"] for r in world.github.named("react")] == [case.reaction]
    replies = world.github.named("reply")
    if case.reply is None:
        assert replies == []
    else:
        (reply,) = replies
        assert case.reply in reply["body"]
    if case.queued:
        (run_id,) = world.launcher.launched
        record = world.runs.get(run_id)
        assert (record.trigger, record.rerun_of, record.head_sha) == ("rerun-failed", LATEST, HEAD)
        assert record.phases == ["auth", "pay"]
        assert world.github.named("permission_of") == [{"login": "dev"}]  # asked once
    else:
        assert world.launcher.launched == []
