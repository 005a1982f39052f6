"""`request_run`, the one path every trigger takes, and its helpers, as tables of named cases.

The comment table covers what a comment can ask; these are the paths only other triggers reach
(no permission check, merge groups and deployments, a check run's commit, a retried attempt)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.core.results import Conclusion
from bot.core.run_model import RunRecord, RunState
from bot.handlers import run_requests
from bot.handlers.run_requests import RunRequest
from tests.fakes.github import REPO, pull
from tests.fakes.runs import MemoryRunRecords
from tests.fakes.world import INSTALLATION, World
from tests.unit.handlers.plans import HEAD, NEWER, OLD, PLAN

NUMBER = 7


@dataclass(frozen=True)
class Case:
    name: str
    request: RunRequest
    memo: dict[str, Any] = field(default_factory=dict)  # what an earlier attempt decided
    earlier: RunRecord | None = None
    acknowledge: bool = False
    # expected
    reaction: str | None = "eyes"
    reply: str | None = None  # a text the reply holds; None: no reply
    queued_target: str | None = None  # the target of the run queued; None: nothing queued
    moved_to: str | None = None
    acknowledged: int = 0
    launched: int = 0


def _pr(**fields: Any) -> RunRequest:
    fields.setdefault("user", "dev")
    return RunRequest(repo=REPO, pr_number=NUMBER, **fields)


def _record(state: RunState, head: str = HEAD, **fields: Any) -> RunRecord:
    fields.setdefault("pr_number", NUMBER)
    return RunRecord(
        run_id="e" * 12,
        installation_id=INSTALLATION,
        repo=REPO,
        head_sha=head,
        state=state,
        **fields,
    )


MEMO_KEY = f"run:comment:{REPO}#{NUMBER}:"

CASES = [
    Case(
        "a user without permission is refused",
        _pr(user="visitor"),
        reaction="confused",
        reply="yours is `none`",
    ),
    Case(
        "auto_run asks no permission",
        _pr(user="visitor", trigger="auto", check_permission=False),
        queued_target=f"{REPO}#{NUMBER}",
        launched=1,
    ),
    Case(
        "a check run's commit that is no longer the head: moved, nothing queued",
        _pr(for_commit=OLD, trigger="button"),
        reaction=None,
        moved_to=HEAD,
    ),
    Case(
        "a check run's commit that is the head: queued",
        _pr(for_commit=HEAD, trigger="button"),
        queued_target=f"{REPO}#{NUMBER}",
        launched=1,
    ),
    Case(
        "a merge group: its own target, the given head",
        RunRequest(
            repo=REPO,
            pr_number=None,
            user="queue",
            trigger="merge_group",
            check_permission=False,
            head_sha=NEWER,
            merge_group_ref="refs/heads/gh-readonly-queue/main/pr-7-x",
        ),
        queued_target=f"{REPO}@refs/heads/gh-readonly-queue/main/pr-7-x",
        launched=1,
    ),
    Case(
        "a deployment's commit: its own target",
        RunRequest(
            repo=REPO,
            pr_number=None,
            user="deployer",
            trigger="deployment",
            check_permission=False,
            head_sha=NEWER,
            commit_ref=NEWER,
        ),
        queued_target=f"{REPO}@{NEWER}",
        launched=1,
    ),
    Case(
        "accepted with an acknowledgement: it reacts, the answer does not again",
        _pr(),
        acknowledge=True,
        reaction=None,
        queued_target=f"{REPO}#{NUMBER}",
        acknowledged=1,
        launched=1,
    ),
    Case(
        "refused before the acknowledgement: none",
        _pr(phases=("nope",)),
        acknowledge=True,
        reaction="confused",
        reply="no phase `nope`",
    ),
    Case(
        "a retry of an attempt that queued its run: nothing more",
        _pr(),
        memo={MEMO_KEY: {"head_sha": HEAD, "run_id": "e" * 12}},
        earlier=_record(RunState.QUEUED, task_id="task-e"),
    ),
    Case(
        "a retry of an attempt that created the run but never launched it: launched now",
        _pr(),
        memo={MEMO_KEY: {"head_sha": HEAD, "run_id": "e" * 12}},
        earlier=_record(RunState.QUEUED),
        launched=1,
    ),
    Case(
        "a retry whose run was already cancelled: nothing launched",
        _pr(),
        memo={MEMO_KEY: {"head_sha": HEAD, "run_id": "e" * 12}},
        earlier=_record(RunState.COMPLETED, conclusion="cancelled"),
    ),
    Case(
        "a retry whose run record expired: nothing launched",
        _pr(),
        memo={MEMO_KEY: {"head_sha": HEAD, "run_id": "gone"}},
    ),
    Case(
        "a retry of an attempt accepted for a head that moved since: stale, nothing",
        _pr(),
        memo={MEMO_KEY: {"head_sha": OLD}},
    ),
    Case(
        "a retry on the same head before anything was queued: queued",
        _pr(),
        memo={MEMO_KEY: {"head_sha": HEAD}},
        queued_target=f"{REPO}#{NUMBER}",
        launched=1,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_request_run(case: Case) -> None:
    world = World()
    world.github.permissions["dev"] = "admin"
    world.github.pulls[NUMBER] = pull(NUMBER, HEAD)
    world.github.plan_at(HEAD, PLAN)
    world.github.plan_at(NEWER, PLAN)
    world.memo.update(case.memo)
    if case.earlier is not None:
        world.runs.create(case.earlier)
    acknowledged: list[str] = []
    request = case.request
    if case.acknowledge:
        request = dataclasses.replace(request, acknowledge=lambda: acknowledged.append("👀"))

    answer = run_requests.request_run(world.context(), request)

    assert answer.reaction == case.reaction
    if case.reply is None:
        assert answer.reply is None
    else:
        assert answer.reply is not None and case.reply in answer.reply
    assert answer.moved_to == case.moved_to
    assert len(acknowledged) == case.acknowledged
    assert len(world.launcher.launched) == case.launched
    if case.queued_target is None:
        assert world.github.named("create_check_run") == []
    else:
        record = world.runs.get(answer.run_id or "")
        assert record.target == case.queued_target
        assert world.runs.locked == [case.queued_target]


@dataclass(frozen=True)
class CancelCase:
    name: str
    state: RunState
    task_id: str | None = "task-e"
    check_run_id: int | None = 900
    # expected
    returned: bool = True
    state_after: RunState = RunState.COMPLETED
    revoked: tuple[str, ...] = ()
    check_concluded: bool = False


CANCELS = [
    CancelCase(
        "queued with a task: revoked, check concluded",
        RunState.QUEUED,
        revoked=("task-e",),
        check_concluded=True,
    ),
    CancelCase(
        "queued before its task was launched: check concluded",
        RunState.QUEUED,
        task_id=None,
        check_concluded=True,
    ),
    CancelCase(
        "queued without a check run: nothing to conclude",
        RunState.QUEUED,
        check_run_id=None,
        revoked=("task-e",),
    ),
    CancelCase(
        "running: asked to stop, nothing else", RunState.RUNNING, state_after=RunState.RUNNING
    ),
    CancelCase("already completed: nothing", RunState.COMPLETED, returned=False),
]


@pytest.mark.parametrize("case", CANCELS, ids=lambda c: c.name)
def test_cancel_run(case: CancelCase) -> None:
    record = _record(case.state, task_id=case.task_id, check_run_id=case.check_run_id)
    world = World(runs=MemoryRunRecords(record))
    updated = run_requests.cancel_run(world.context(), record, "Superseded by ccccccc.")
    assert (updated is not None) == case.returned
    assert world.runs.get(record.run_id).state is case.state_after
    assert tuple(world.launcher.revoked) == case.revoked
    updates = world.github.named("update_check_run")
    assert [u["conclusion"] for u in updates] == (["cancelled"] if case.check_concluded else [])


@dataclass(frozen=True)
class LinkCase:
    name: str
    details_url: str | None
    bot_pages: bool
    check_run_id: int | None
    link: str | None


LINKS = [
    LinkCase(
        "the record's own page", "https://bot.example/r/1", False, 900, "https://bot.example/r/1"
    ),
    LinkCase("the bot's run page", None, True, 900, "https://bot.example/runs/" + "e" * 12),
    LinkCase(
        "no bot page: the check run on GitHub", None, False, 900, "https://github.example/runs/900"
    ),
    LinkCase("no page and no check run: none", None, False, None, None),
]


@pytest.mark.parametrize("case", LINKS, ids=lambda c: c.name)
def test_link_to(case: LinkCase) -> None:
    world = World(details_base="https://bot.example/runs/" if case.bot_pages else None)
    record = _record(RunState.RUNNING, details_url=case.details_url, check_run_id=case.check_run_id)
    assert run_requests.link_to(world.context(), record) == case.link


def test_only_this_apps_check_runs_count_and_none_without_an_app_id() -> None:
    world = World()
    runs: list[dict[str, Any]] = [{"id": 1, "app_id": 4242}, {"id": 2, "app_id": "999"}, {"id": 3}]
    assert run_requests.own_check_runs(world.context(), runs) == [runs[0]]
    ctx = world.context()
    ctx.app_id = None
    assert run_requests.own_check_runs(ctx, runs) == []


def test_concluding_a_record_without_a_check_run_writes_nothing() -> None:
    world = World()
    record = _record(RunState.COMPLETED, check_run_id=None)
    run_requests.conclude_check(world.context(), record, Conclusion.CANCELLED, "gone")
    assert world.github.calls == []


def test_without_a_run_page_the_queued_check_has_no_details_link() -> None:
    world = World(details_base=None)
    world.github.permissions["dev"] = "write"
    world.github.pulls[NUMBER] = pull(NUMBER, HEAD)
    answer = run_requests.request_run(world.context(), _pr())
    (check,) = world.github.named("create_check_run")
    assert "details_url" not in check
    assert world.runs.get(answer.run_id or "").details_url is None
