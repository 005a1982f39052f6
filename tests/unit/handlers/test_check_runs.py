"""The "Run golden path" button and GitHub's Re-run, as a table of named cases."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.core.events import CheckRunEvent
from bot.handlers.check_runs import on_run_requested
from tests.fakes.github import APP_ID, REPO, pull
from tests.fakes.world import INSTALLATION, World
from tests.unit.handlers.plans import HEAD, OLD, PLAN

NUMBER = 7


@dataclass(frozen=True)
class Case:
    name: str
    action: str = "requested_action"
    identifier: str | None = "run"
    app_id: int | None = int(APP_ID)
    head_sha: str = HEAD
    listed: bool = True  # the event lists the pull request (a fork's commit does not)
    remembered: bool = False  # the bot remembers the commit's pull request
    permission: str = "write"
    # expected
    trigger: str | None = None  # of the run queued; None: nothing queued
    not_the_head: bool = False  # the pressed check run says it started nothing
    reply: str | None = None


CASES = [
    Case("the button on the head: a run", trigger="button"),
    Case("Re-run on the head: a run", action="rerequested", identifier=None, trigger="rerun"),
    Case("another button of ours: ignored", identifier="something-else"),
    Case("another App's check run: ignored", app_id=999),
    Case("a check run without an app: handled", app_id=None, trigger="button"),
    Case(
        "a fork's commit the bot remembers: a run", listed=False, remembered=True, trigger="button"
    ),
    Case("a commit of no known pull request: ignored", listed=False),
    Case(
        "the button on an old commit: nothing started, and the check run says so",
        head_sha=OLD,
        not_the_head=True,
    ),
    Case(
        "Re-run on an old commit: the same",
        action="rerequested",
        identifier=None,
        head_sha=OLD,
        not_the_head=True,
    ),
    Case("pressed by a reader: refused in a comment", permission="read", reply="yours is `read`"),
]


def event(case: Case) -> CheckRunEvent:
    return CheckRunEvent(
        delivery_id="d",
        installation_id=INSTALLATION,
        repo=REPO,
        action=case.action,
        sender="dev",
        check_run_id=321,
        name="Golden Path",
        head_sha=case.head_sha,
        external_id="",
        requested_action=case.identifier,
        app_id=case.app_id,
        pull_requests=(NUMBER,) if case.listed else (),
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_check_run(case: Case) -> None:
    world = World()
    world.github.permissions["dev"] = case.permission
    world.github.pulls[NUMBER] = pull(NUMBER, HEAD)
    world.github.plan_at(HEAD, PLAN)
    if case.remembered:
        world.runs.remember_pr_for_sha(REPO, case.head_sha, NUMBER)

    on_run_requested(event(case), world.context())

    launched = [world.runs.get(run_id) for run_id in world.launcher.launched]
    assert [r.trigger for r in launched] == ([case.trigger] if case.trigger else [])
    assert all(r.head_sha == HEAD for r in launched)
    updates = world.github.named("update_check_run")
    if case.not_the_head:
        (update,) = updates
        assert update["check_run_id"] == 321
        assert update["title"] == f"Not started: {OLD[:7]} is no longer the head of #{NUMBER}"
        assert f"the head is now `{HEAD[:7]}`" in update["summary"]
    else:
        assert updates == []
    replies = world.github.named("reply")
    if case.reply is None:
        assert replies == []
    else:
        (reply,) = replies
        assert reply["number"] == NUMBER and case.reply in reply["body"]
    assert world.github.named("react") == []  # nothing to react to
