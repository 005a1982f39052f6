"""`/golden-path` comments, decision by decision: what the bot reacts, replies and starts.

Prow-style table: each case arranges a small world (permission, pull request, plan, earlier
run), feeds one comment to the real handler, and reads what the fakes recorded."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.core.events import CommentEvent
from bot.core.run_model import RunRecord, RunState
from bot.handlers.comments import MAX_COMMAND_LINES, on_comment, reply_marker
from tests.factories import comment_event
from tests.fakes.github import REPO, pull
from tests.fakes.world import INSTALLATION, World
from tests.unit.handlers.plans import BROKEN_PLAN, HEAD, OLD, PLAN

COMMENT = 31
NUMBER = 7


@dataclass(frozen=True)
class Case:
    name: str
    body: str = "/golden-path run"
    permission: str = "write"
    author_type: str = "User"
    is_pull_request: bool = True
    issue_state: str = "open"  # the issue's state in the event
    pull_state: str = "open"  # the pull request's state when the handler asks GitHub
    plan: str | None = PLAN
    earlier: RunState | None = None  # the pull request's latest run, if any
    earlier_head: str = HEAD
    # expected
    reactions: tuple[str, ...] = ()
    reply: tuple[str, ...] | None = None  # texts the one reply holds; None: no reply
    launched: int = 0
    checks: tuple[tuple[str, str | None], ...] = ()  # created check runs: (status, conclusion)
    earlier_after: tuple[RunState, str | None] | None = None  # (state, conclusion)


CASES = [
    Case("not a pull request: ignored", is_pull_request=False),
    Case("a bot's comment: ignored", author_type="Bot"),
    Case("no command in it: ignored", body="LGTM, thanks!"),
    Case("a quoted command: ignored", body="> /golden-path run"),
    Case(
        "run by a writer: queued",
        reactions=("eyes",),
        launched=1,
        checks=(("queued", None),),
    ),
    Case(
        "run by a reader: refused",
        permission="read",
        reactions=("confused",),
        reply=("needs `write`, `maintain` or `admin` permission", "yours is `read`"),
    ),
    Case(
        "run on a closed issue: not open",
        issue_state="closed",
        reactions=("confused",),
        reply=("Pull request #7 is not open",),
    ),
    Case(
        "run on a pull request closed since the comment: not open",
        pull_state="closed",
        reactions=("confused",),
        reply=("Pull request #7 is not open",),
    ),
    Case(
        "run with an unknown phase: refused with the plan's phases",
        body="/golden-path run nope",
        reactions=("confused",),
        reply=("This plan has no phase `nope`", "`auth`, `pay`"),
    ),
    Case(
        "run with an invalid plan: failed check and the problems",
        plan=BROKEN_PLAN,
        reactions=("eyes",),
        reply=("The golden-path plan cannot be used", "phases"),
        checks=(("completed", "failure"),),
    ),
    Case(
        "run with no plan through the API: queued under the default name",
        plan=None,
        reactions=("eyes",),
        launched=1,
        checks=(("queued", None),),
    ),
    Case(
        "run while one runs on the same head: already running",
        earlier=RunState.RUNNING,
        reactions=("eyes",),
        reply=("is already running", "no second run was started"),
        earlier_after=(RunState.RUNNING, None),
    ),
    Case(
        "run while one is queued for an old head: superseded, new run queued",
        earlier=RunState.QUEUED,
        earlier_head=OLD,
        reactions=("eyes",),
        launched=1,
        checks=(("queued", None),),
        earlier_after=(RunState.COMPLETED, "cancelled"),
    ),
    Case(
        "run after a finished run: a new run",
        earlier=RunState.COMPLETED,
        reactions=("eyes",),
        launched=1,
        checks=(("queued", None),),
    ),
    Case(
        "help: usage",
        body="/golden-path help",
        permission="none",
        reactions=("eyes",),
        reply=("/golden-path run",),
    ),
    Case(
        "an unknown command: confused, with usage",
        body="/golden-path frobnicate",
        permission="none",
        reactions=("confused",),
        reply=("frobnicate",),
    ),
    Case(
        "help on a closed pull request: still answered",
        body="/golden-path help",
        issue_state="closed",
        reactions=("eyes",),
        reply=("/golden-path run",),
    ),
    Case(
        "status with no run yet",
        body="/golden-path status",
        permission="none",
        reactions=("eyes",),
        reply=("No golden-path run yet",),
    ),
    Case(
        "status of a running run",
        body="/golden-path status",
        permission="none",
        earlier=RunState.RUNNING,
        reactions=("eyes",),
        reply=("aaaaaaa",),
    ),
    Case(
        "cancel by a reader: refused",
        body="/golden-path cancel",
        permission="read",
        earlier=RunState.RUNNING,
        reactions=("confused",),
        reply=("`/golden-path cancel` needs `write`",),
        earlier_after=(RunState.RUNNING, None),
    ),
    Case(
        "cancel on a closed pull request: not open",
        body="/golden-path cancel",
        issue_state="closed",
        earlier=RunState.RUNNING,
        reactions=("confused",),
        reply=("is not open",),
        earlier_after=(RunState.RUNNING, None),
    ),
    Case(
        "cancel with no run: nothing to cancel",
        body="/golden-path cancel",
        reactions=("eyes",),
        reply=("nothing to cancel",),
    ),
    Case(
        "cancel after the run finished: nothing to cancel, says how it ended",
        body="/golden-path cancel",
        earlier=RunState.COMPLETED,
        reactions=("eyes",),
        reply=("nothing to cancel", "completed: success"),
        earlier_after=(RunState.COMPLETED, "success"),
    ),
    Case(
        "cancel a queued run: ends at once",
        body="/golden-path cancel",
        earlier=RunState.QUEUED,
        reactions=("eyes",),
        reply=("Cancelled the golden-path run for commit `aaaaaaa`",),
        earlier_after=(RunState.COMPLETED, "cancelled"),
    ),
    Case(
        "cancel a running run: asked to stop, its worker concludes it",
        body="/golden-path cancel",
        earlier=RunState.RUNNING,
        reactions=("eyes",),
        reply=("Cancelled the golden-path run",),
        earlier_after=(RunState.RUNNING, None),
    ),
    Case(
        "run then status: one reaction, the status in the reply",
        body="/golden-path run\n/golden-path status",
        reactions=("eyes",),
        reply=("queued",),
        launched=1,
        checks=(("queued", None),),
    ),
    Case(
        "refused run then help: the first reaction stays, both replies in one",
        body="/golden-path run\n/golden-path help",
        permission="read",
        reactions=("confused",),
        reply=("yours is `read`", "---", "/golden-path status"),
    ),
    Case(
        "the same refusal twice: said once",
        body="/golden-path run\n/golden-path run",
        permission="read",
        reactions=("confused",),
        reply=("yours is `read`",),
    ),
    Case(
        f"more than {MAX_COMMAND_LINES} command lines: the rest ignored, and said so",
        body="\n".join(["/golden-path status"] * (MAX_COMMAND_LINES + 3)),
        reactions=("eyes",),
        reply=(f"Only the first {MAX_COMMAND_LINES} command lines", "the other 3 were ignored"),
    ),
]


def arrange(case: Case) -> World:
    world = World()
    world.github.permissions["dev"] = case.permission
    world.github.pulls[NUMBER] = pull(NUMBER, HEAD, state=case.pull_state)
    if case.plan is not None:
        world.github.plan_at(HEAD, case.plan)
    if case.earlier is not None:
        world.runs.create(earlier_run(case.earlier, case.earlier_head))
    return world


def earlier_run(state: RunState, head: str) -> RunRecord:
    return RunRecord(
        run_id="e" * 12,
        installation_id=INSTALLATION,
        repo=REPO,
        pr_number=NUMBER,
        head_sha=head,
        state=state,
        conclusion="success" if state is RunState.COMPLETED else None,
        check_run_id=900,
        task_id="task-earlier",
        requested_by="someone",
    )


def comment(case: Case) -> CommentEvent:
    return comment_event(
        repo=REPO,
        number=NUMBER,
        comment_id=COMMENT,
        body=case.body,
        author="dev",
        author_type=case.author_type,
        is_pull_request=case.is_pull_request,
        issue_state=case.issue_state,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_comment(case: Case) -> None:
    world = arrange(case)
    on_comment(comment(case), world.context())

    github = world.github
    assert tuple(r["content"] for r in github.named("react")) == case.reactions
    replies = github.named("reply")
    if case.reply is None:
        assert replies == []
    else:
        (reply,) = replies
        assert reply["number"] == NUMBER
        assert reply["body"].startswith(reply_marker(COMMENT))
        for text in case.reply:
            assert text in reply["body"]
    assert len(world.launcher.launched) == case.launched
    created = github.named("create_check_run")
    assert tuple((c["status"], c.get("conclusion")) for c in created) == case.checks
    if case.earlier_after is not None:
        earlier = world.runs.get("e" * 12)
        assert (earlier.state, earlier.conclusion) == case.earlier_after


def test_a_queued_run_is_recorded_for_the_head_with_its_check_and_task() -> None:
    world = arrange(Case("run"))
    on_comment(comment(Case("run", body="/golden-path run auth")), world.context())
    (run_id,) = world.launcher.launched
    record = world.runs.get(run_id)
    (check,) = world.github.named("create_check_run")
    assert (record.head_sha, record.phases, record.requested_by) == (HEAD, ["auth"], "dev")
    assert (record.check_name, check["name"]) == ("Golden Path", "Golden Path")
    assert (record.check_run_id, record.task_id) == (500, f"task-{run_id}")
    assert check["external_id"] == run_id
    assert check["details_url"] == record.details_url == f"https://bot.example/runs/{run_id}"


def test_cancelling_a_queued_run_revokes_its_task_and_concludes_its_check() -> None:
    world = arrange(Case("cancel", earlier=RunState.QUEUED))
    on_comment(comment(Case("cancel", body="/golden-path cancel")), world.context())
    assert world.launcher.revoked == ["task-earlier"]
    (update,) = world.github.named("update_check_run")
    assert (update["check_run_id"], update["status"], update["conclusion"]) == (
        900,
        "completed",
        "cancelled",
    )


def test_cancelling_a_running_run_leaves_its_task_and_check_to_its_worker() -> None:
    world = arrange(Case("cancel", earlier=RunState.RUNNING))
    on_comment(comment(Case("cancel", body="/golden-path cancel")), world.context())
    assert world.launcher.revoked == []
    assert world.github.named("update_check_run") == []
    assert world.runs.get("e" * 12).cancel_reason == "Cancelled by @dev."


@dataclass(frozen=True)
class Retry:
    name: str
    claimed_before: bool  # an earlier attempt claimed the reply
    posted_before: bool  # ...and posted it before failing
    replies: int  # replies this attempt posts


RETRIES = [
    Retry("first attempt: replies", claimed_before=False, posted_before=False, replies=1),
    Retry("claimed and posted before: posts nothing", True, True, 0),
    Retry("claimed but never posted (crashed between): replies", True, False, 1),
]


@pytest.mark.parametrize("retry", RETRIES, ids=lambda r: r.name)
def test_a_retried_comment_is_answered_once(retry: Retry) -> None:
    world = arrange(Case("help"))
    if retry.claimed_before:
        world.replies.claimed.add((REPO, COMMENT))
    if retry.posted_before:
        world.github.comments.append((NUMBER, f"{reply_marker(COMMENT)}\nearlier answer"))
    on_comment(comment(Case("help", body="/golden-path help")), world.context())
    assert len(world.github.named("reply")) == retry.replies


def test_a_retried_run_reacts_once_and_queues_one_run() -> None:
    """The task's memo travels into its retries: the second attempt neither reacts again nor
    queues a second run, and queues the first attempt's run if it never got its task."""
    world = arrange(Case("run"))
    world.launcher.failures.append(ConnectionError("the broker is away"))
    with pytest.raises(ConnectionError):
        on_comment(comment(Case("run")), world.context())
    on_comment(comment(Case("run")), world.context())
    assert [r["content"] for r in world.github.named("react")] == ["eyes"]
    assert len(world.github.named("create_check_run")) == 1
    (run_id,) = world.launcher.launched
    assert world.runs.get(run_id).task_id == f"task-{run_id}"


def test_a_retry_after_the_head_moved_starts_nothing() -> None:
    """Accepted for one commit: a retry never runs the newer head instead."""
    world = arrange(Case("run"))
    world.github.files.clear()
    world.github.fail["read_file"] = ConnectionError("GitHub away")
    with pytest.raises(ConnectionError):
        on_comment(comment(Case("run")), world.context())
    del world.github.fail["read_file"]
    world.github.pulls[NUMBER] = pull(NUMBER, OLD)
    on_comment(comment(Case("run")), world.context())
    assert world.launcher.launched == []
    assert world.github.named("create_check_run") == []
    assert world.github.named("reply") == []
