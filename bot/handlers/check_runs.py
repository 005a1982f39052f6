"""The "Run golden path" button and GitHub's Re-run: a run as `/golden-path run` would start."""

from __future__ import annotations

from bot.core.events import CheckRunEvent
from bot.core.report.replies import render_reply
from bot.core.routing import Router
from bot.handlers import run_requests
from bot.handlers.context import Context
from bot.handlers.run_requests import RunRequest

router = Router()


@router.register("check_run", action="requested_action")
@router.register("check_run", action="rerequested")
def on_run_requested(event: CheckRunEvent, ctx: Context) -> None:
    if event.action == "requested_action" and event.requested_action != "run":
        return
    if ctx.app_id and event.app_id is not None and str(event.app_id) != str(ctx.app_id):
        return  # another App's check run
    pr_number = _pull_request_of(event, ctx)
    if pr_number is None:
        return  # a merge-group or unknown commit: merge groups have their own path
    answer = run_requests.request_run(
        ctx,
        RunRequest(
            repo=event.repo,
            pr_number=pr_number,
            user=event.sender,
            trigger="button" if event.action == "requested_action" else "rerun",
            for_commit=event.head_sha,
        ),
    )
    if answer.moved_to is not None:
        _say_not_the_head(event, ctx, pr_number, answer.moved_to)
    elif answer.reply:
        ctx.github.reply(pr_number, answer.reply)


def _say_not_the_head(event: CheckRunEvent, ctx: Context, pr_number: int, head: str) -> None:
    """Contract §3: a button on an old commit's check run starts nothing, and that check run's
    output says so (the run would otherwise test code nobody asked about)."""
    ctx.github.update_check_run(
        event.check_run_id,
        title=f"Not started: {event.head_sha[:7]} is no longer the head of #{pr_number}",
        summary=render_reply("not_the_head", sha=event.head_sha, head=head, number=pr_number),
    )


def _pull_request_of(event: CheckRunEvent, ctx: Context) -> int | None:
    """Check runs on forks' commits list no pull request; our own records remember it."""
    if event.pull_requests:
        return event.pull_requests[0]
    return ctx.runs.pr_for_sha(event.repo, event.head_sha)
