"""Pushes to the default branch: with `auto_run: true`, a run of the plan on the new head.

Those runs are the baseline a pull request's failures are compared with: a pattern that the
default branch's latest run also failed with is tagged "also failing on the default branch"
(contract §6), so nobody chases a failure their pull request did not cause."""

from __future__ import annotations

from bot.core.events import PUSH_ACTION, PushEvent
from bot.core.plan import Plan
from bot.core.routing import Router
from bot.handlers import run_requests
from bot.handlers.context import Context
from bot.handlers.run_requests import RunRequest

router = Router()

TRIGGER = "push"


@router.register("push", action=PUSH_ACTION)
def on_push(event: PushEvent, ctx: Context) -> None:
    plan = run_requests.read_plan(ctx, event.after)
    if not isinstance(plan, Plan) or not plan.auto_run:
        return  # no plan, an invalid one (its pull request showed why) or no auto_run
    run_requests.request_run(
        ctx,
        RunRequest(
            repo=event.repo,
            pr_number=None,
            user=event.sender,
            trigger=TRIGGER,
            check_permission=False,  # whoever pushed to the default branch may write to it
            head_sha=event.after,
            # The commit's own target: a deployment of this commit joins this run.
            commit_ref=event.after,
        ),
    )
