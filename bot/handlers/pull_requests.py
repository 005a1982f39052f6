"""Pull-request pushes: supersede the old run, then a placeholder check (or `auto_run`)."""

from __future__ import annotations

import logging

from bot.core.events import PullRequestEvent
from bot.core.plan import Plan, check_name_of
from bot.core.report.replies import render_reply
from bot.core.routing import Router
from bot.handlers import run_requests
from bot.handlers.context import Context
from bot.handlers.run_requests import RunRequest

log = logging.getLogger(__name__)
router = Router()

RUN_BUTTON = {
    "label": "Run golden path",
    "description": "Run the P0 golden-path suites",
    "identifier": "run",
}


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="ready_for_review")
def on_new_head(event: PullRequestEvent, ctx: Context) -> None:
    ctx.runs.remember_pr_for_sha(event.repo, event.head_sha, event.number)
    _supersede(event, ctx, f"Superseded by {event.head_sha[:7]}: a new commit was pushed.")
    plan = run_requests.read_plan(ctx, event.head_sha)
    check_name = check_name_of(plan)
    if isinstance(plan, Plan) and plan.auto_run and not event.is_fork:
        # A push by someone with write access to the base repository: no permission check.
        answer = run_requests.request_run(
            ctx,
            RunRequest(
                repo=event.repo,
                pr_number=event.number,
                user=event.sender,
                trigger="auto",
                check_permission=False,
            ),
        )
        if answer.run_id is not None:
            return
    _placeholder(ctx, event, check_name)


@router.register("pull_request", action="closed")
def on_closed(event: PullRequestEvent, ctx: Context) -> None:
    _supersede(event, ctx, f"Pull request #{event.number} was closed.")


def _supersede(event: PullRequestEvent, ctx: Context, reason: str) -> None:
    record = ctx.runs.latest_for_pr(event.repo, event.number)
    if (record is not None and record.active and record.head_sha != event.head_sha) or (
        record is not None and record.active and event.action == "closed"
    ):
        run_requests.cancel_run(ctx, record, reason)


def _placeholder(ctx: Context, event: PullRequestEvent, check_name: str) -> None:
    """The required check, honestly unsatisfied until someone runs it (never neutral).

    A commit that already has the check keeps it: marking a draft ready for review, or reopening,
    must not bury a result (GitHub gates on the newest check run of the name) under a placeholder.
    """
    if run_requests.own_check_runs(ctx, ctx.github.list_check_runs(event.head_sha, check_name)):
        return
    output = render_reply("placeholder", number=event.number, is_fork=event.is_fork)
    ctx.github.create_check_run(
        name=check_name,
        head_sha=event.head_sha,
        status="completed",
        conclusion="action_required",
        title="The golden path has not run for this commit",
        summary=output,
        actions=[RUN_BUTTON],
    )
