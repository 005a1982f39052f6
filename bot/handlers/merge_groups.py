"""Merge queue: give each merge group the required check, so the queue never stalls."""

from __future__ import annotations

import re

from bot.core.events import MergeGroupEvent
from bot.core.plan import DEFAULT_CHECK_NAME, MergeQueue, PlanError, check_name_of
from bot.core.report.replies import render_reply
from bot.core.routing import Router
from bot.core.run_model import run_target
from bot.handlers import run_requests
from bot.handlers.context import Context
from bot.handlers.run_requests import RunRequest

router = Router()

_QUEUE_REF = re.compile(r"(?:refs/heads/)?gh-readonly-queue/.+/pr-(?P<number>\d+)-[0-9a-f]+$")


def pull_request_of(head_ref: str) -> int | None:
    """`gh-readonly-queue/<base>/pr-<N>-<sha>` names the group's pull request (contract §6)."""
    match = _QUEUE_REF.match(head_ref)
    return int(match["number"]) if match else None


@router.register("merge_group", action="checks_requested")
def on_checks_requested(event: MergeGroupEvent, ctx: Context) -> None:
    plan = run_requests.read_plan(ctx, event.head_sha)
    if isinstance(plan, PlanError):
        _complete(
            ctx,
            event,
            DEFAULT_CHECK_NAME,
            "failure",
            "The golden-path plan cannot be used",
            render_reply("plan_error", problems=[str(p) for p in plan.problems]),
        )
        return
    if plan is not None and plan.merge_queue is MergeQueue.RUN:
        run_requests.request_run(
            ctx,
            RunRequest(
                repo=event.repo,
                pr_number=None,
                user=event.sender,
                trigger="merge_group",
                check_permission=False,  # GitHub queued it: the merge was already approved
                head_sha=event.head_sha,
                merge_group_ref=event.head_ref,
            ),
        )
        return
    _reuse(event, ctx, check_name_of(plan))


def _reuse(event: MergeGroupEvent, ctx: Context, check_name: str) -> None:
    number = pull_request_of(event.head_ref)
    passed: list[int] = []
    missing: list[int] = []
    if number is not None:
        pull = ctx.github.get_pull(number)
        # The newest check run of the name is the one GitHub gates on (an older success does not
        # count once a newer run failed, or is still going).
        runs = run_requests.own_check_runs(
            ctx, ctx.github.list_check_runs(pull.head_sha, check_name)
        )
        latest = max(runs, key=lambda r: int(r["id"]), default=None)
        ok = latest is not None and (latest.get("status"), latest.get("conclusion")) == (
            "completed",
            "success",
        )
        (passed if ok else missing).append(number)
    conclusion = "success" if passed and not missing else "failure"
    title = (
        "Every pull request in this group passed the golden path"
        if conclusion == "success"
        else "The golden path has not passed for every pull request in this group"
    )
    summary = render_reply(
        "merge_group",
        passed=passed,
        missing=missing,
        head_ref=event.head_ref,
        unknown_ref=number is None,
    )
    _complete(ctx, event, check_name, conclusion, title, summary)


def _complete(
    ctx: Context, event: MergeGroupEvent, name: str, conclusion: str, title: str, summary: str
) -> None:
    ctx.github.create_check_run(
        name=name,
        head_sha=event.head_sha,
        status="completed",
        conclusion=conclusion,
        title=title,
        summary=summary,
    )


@router.register("merge_group", action="destroyed")
def on_destroyed(event: MergeGroupEvent, ctx: Context) -> None:
    record = ctx.runs.latest(run_target(event.repo, ref=event.head_ref))
    if record is not None and record.active:
        reason = f"The merge group was destroyed ({event.reason or 'no reason given'})."
        run_requests.cancel_run(ctx, record, reason)
