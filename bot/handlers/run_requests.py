"""Starting, refusing and cancelling runs: the one path every trigger goes through.

A comment, the "Run golden path" button, GitHub's Re-run, `auto_run` and a merge group all call
`request_run`, so permission, plan checks, "already running" and supersede rules are the same for
each. It returns an `Answer` (reaction and reply) and leaves posting it to the caller, which knows
whether there is a comment to react to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core import permissions
from bot.core.plan import (
    DEFAULT_CHECK_NAME,
    PLAN_PATH,
    Plan,
    PlanError,
    UnknownPhases,
    check_name_of,
    parse_plan,
)
from bot.core.report.check_output import (
    ended_early_update,
    render_check_output,
    render_queued_output,
)
from bot.core.report.replies import render_reply
from bot.core.results import Conclusion, RunReport
from bot.core.run_model import RunRecord, RunState, run_target
from bot.handlers.context import Context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    reaction: str | None = None  # "eyes" for accepted, "confused" for refused or not understood
    reply: str | None = None
    run_id: str | None = None
    moved_to: str | None = None  # the head, when the request named an older commit: nothing ran


@dataclass(frozen=True)
class RunRequest:
    repo: str
    pr_number: int | None
    user: str
    phases: tuple[str, ...] = ()
    trigger: str = "comment"
    check_permission: bool = True
    head_sha: str | None = None  # given for merge groups; pull requests use the live head
    for_commit: str | None = None  # a check run's commit: the request is for it and no other
    merge_group_ref: str | None = None
    commit_ref: str | None = None  # a commit run outside pull requests (a deployment's)
    lock_wait_limit_seconds: float | None = None
    rerun_of: str | None = None  # `rerun-failed`: the completed run whose failed tests run again
    # Called once the request is accepted (permission, plan and phase ids checked), before the
    # check run is created: a comment's 👀 should not wait for the slower work.
    acknowledge: Callable[[], None] | None = field(default=None, compare=False)


def read_plan(ctx: Context, sha: str) -> Plan | PlanError | None:
    """The plan at `sha`, the error that says what is wrong with it, or None when the contents
    API has no such file.

    None is not a verdict: the worker reads the plan from its checkout of the commit, which is
    the authority (contract §4), and fails the run there if the file is really missing. Deciding
    early from the API is an optimisation (the check's name, phase ids, `auto_run`), so a
    server without the contents endpoint (an older GitHub Enterprise, a proxy) still runs."""
    text = ctx.github.read_file(PLAN_PATH, sha)
    if text is None:
        return None
    try:
        return parse_plan(text, PLAN_PATH)
    except PlanError as error:
        return error


def request_run(ctx: Context, req: RunRequest) -> Answer:
    """Decide about a run request and, when it is accepted, queue the run."""
    if req.check_permission:
        permission = ctx.github.permission_of(req.user)
        if not permissions.may_run(permission):
            return Answer(
                "confused",
                render_reply("refused", user=req.user, permission=permission, command="run"),
            )
    memo_key = f"run:{req.trigger}:{_target(req)}:{' '.join(req.phases)}"
    earlier = ctx.memo.get(memo_key, {})
    if earlier.get("run_id"):  # an earlier attempt created it; this is a retry
        _launch_if_never_launched(ctx, earlier["run_id"])
        return Answer("eyes", None, earlier["run_id"])
    if req.pr_number is not None:
        pull = ctx.github.get_pull(req.pr_number)
        if pull.state != "open":
            return Answer("confused", render_reply("closed", number=req.pr_number))
        head_sha = pull.head_sha
        if req.for_commit is not None and req.for_commit != head_sha:
            return Answer(None, None, moved_to=head_sha)
        if earlier.get("head_sha") and earlier["head_sha"] != head_sha:
            # Accepted for a commit that is no longer the head: never run the newer one instead.
            log.info("request for %s at %s is stale: head moved", _target(req), earlier["head_sha"])
            return Answer("eyes", None)
        ctx.memo[memo_key] = {"head_sha": head_sha}
    else:
        assert req.head_sha is not None
        head_sha = req.head_sha
    plan = read_plan(ctx, head_sha)
    if isinstance(plan, PlanError):
        _fail_on_plan(ctx, req, head_sha, plan)
        return Answer("eyes", render_reply("plan_error", problems=[str(p) for p in plan.problems]))
    try:
        if plan is not None:
            plan.select(req.phases)
    except UnknownPhases as unknown:
        return Answer(
            "confused",
            render_reply(
                "unknown_phases", unknown=list(unknown.unknown), known=list(unknown.known)
            ),
        )
    acknowledged = req.acknowledge is not None
    if req.acknowledge is not None:
        req.acknowledge()  # accepted: say so before the slower check-run and queue work
    accepted = None if acknowledged else "eyes"
    target = _target(req)
    with ctx.runs.target_lock(target):
        existing = ctx.runs.latest(target)
        if existing is not None and existing.active:
            if existing.head_sha == head_sha:
                return Answer(
                    accepted,
                    render_reply("already_running", record=existing, link=link_to(ctx, existing)),
                )
            cancel_run(ctx, existing, f"Superseded by {head_sha[:7]}.")
        record = _queue(ctx, req, plan, head_sha, memo=ctx.memo.setdefault(memo_key, {}))
    return Answer(accepted, None, record.run_id)


def _target(req: RunRequest) -> str:
    return run_target(req.repo, pr_number=req.pr_number, ref=req.merge_group_ref or req.commit_ref)


def _queue(
    ctx: Context,
    req: RunRequest,
    plan: Plan | None,
    head_sha: str,
    memo: dict[str, str],
) -> RunRecord:
    check_name = check_name_of(plan)
    record = RunRecord(
        installation_id=ctx.installation_id,
        repo=req.repo,
        pr_number=req.pr_number,
        merge_group_ref=req.merge_group_ref,
        commit_ref=req.commit_ref,
        lock_wait_limit_seconds=req.lock_wait_limit_seconds,
        head_sha=head_sha,
        phases=list(req.phases),
        rerun_of=req.rerun_of,
        requested_by=req.user,
        trigger=req.trigger,
        check_name=check_name,
        environment=plan.environment if plan is not None else None,
    )
    record.details_url = ctx.details_url(record.run_id)
    output = render_queued_output(waiting_for=None, position=None)
    fields: dict[str, Any] = dict(
        name=check_name,
        head_sha=head_sha,
        status="queued",
        title=output.title,
        summary=output.summary,
        external_id=record.run_id,
    )
    if record.details_url:
        fields["details_url"] = record.details_url
    record.check_run_id = ctx.github.create_check_run(**fields)
    ctx.runs.create(record)
    memo.update(head_sha=head_sha, run_id=record.run_id)
    task_id = ctx.launcher.launch(record.run_id)
    ctx.runs.set_fields(record.run_id, task_id=task_id)
    log.info("queued run %s for %s at %s", record.run_id, record.target, head_sha[:7])
    return record


def _launch_if_never_launched(ctx: Context, run_id: str) -> None:
    """An attempt that created the run but failed before queueing its task: queue it now."""
    try:
        record = ctx.runs.get(run_id)
    except LookupError:
        return
    if record.state is RunState.QUEUED and not record.task_id:
        ctx.runs.set_fields(run_id, task_id=ctx.launcher.launch(run_id))


def _fail_on_plan(ctx: Context, req: RunRequest, head_sha: str, error: PlanError) -> None:
    """An invalid plan is a failed check (never neutral): the summary says what is wrong."""
    result = RunReport(
        check_name=DEFAULT_CHECK_NAME,
        phases=(),
        conclusion=Conclusion.FAILURE,
        problem=f"`{PLAN_PATH}` cannot be used.",
        plan_problems=tuple(str(p) for p in error.problems),
        repo=req.repo,
        head_sha=head_sha,
        pr_number=req.pr_number,
        requested_by=req.user,
    )
    output = render_check_output(result)
    ctx.github.create_check_run(
        name=DEFAULT_CHECK_NAME,
        head_sha=head_sha,
        status="completed",
        conclusion=Conclusion.FAILURE.value,
        title=output.title,
        summary=output.summary,
    )


def cancel_run(ctx: Context, record: RunRecord, reason: str) -> RunRecord | None:
    """Stop a queued run at once, or ask a running one to stop (its worker concludes it)."""
    updated = ctx.runs.request_cancel(record.run_id, reason)
    if updated is None:
        return None
    if updated.state is RunState.COMPLETED:  # it was still queued: nobody else will conclude it
        if updated.task_id:
            ctx.launcher.revoke(updated.task_id)
        conclude_check(ctx, updated, Conclusion.CANCELLED, reason)
    return updated


def conclude_check(ctx: Context, record: RunRecord, conclusion: Conclusion, reason: str) -> None:
    if record.check_run_id is not None:
        fields = ended_early_update(record, conclusion, reason)
        ctx.github.update_check_run(record.check_run_id, **fields)


def own_check_runs(ctx: Context, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only this App's check runs count: any App (or a workflow) may create one of the same
    name, and trusting it would let it vouch for a pull request (issue 9)."""
    if not ctx.app_id:
        return []
    return [r for r in runs if str(r.get("app_id")) == str(ctx.app_id)]


def link_to(ctx: Context, record: RunRecord) -> str | None:
    """Where to follow a run: the bot's own run page, else the check run on GitHub."""
    own = record.details_url or ctx.details_url(record.run_id)
    if own or record.check_run_id is None:
        return own
    return ctx.github.check_run_url(record.check_run_id)
