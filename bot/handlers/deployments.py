"""The deployment gate (contract §6): answer `deployment_protection_rule` requests.

A request is remembered first (`ctx.gates`), then decided with `bot.core.deployment_gate`:
answered at once from the commit's latest check run of ours, or from a run of the golden path on
that commit (one under way, or one started for it). `settle` sends a decided answer exactly once;
`answer_run_waiters` answers the requests a finished run was holding, and `reconcile` (beat)
picks up whatever a lost worker or a restart left unanswered.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from bot.core import deployment_gate
from bot.core.deployment_gate import Answer, GateRequest
from bot.core.events import DeploymentGateEvent
from bot.core.plan import DEFAULT_CHECK_NAME, check_name_of
from bot.core.report.deployment_answer import (
    fallback_recommendation,
    render_answer_comment,
    render_reason_comment,
)
from bot.core.routing import Router
from bot.core.run_model import RunRecord, RunState, run_target
from bot.handlers import run_requests
from bot.handlers.context import Context, GateAnswers, Gates, Runs
from bot.handlers.run_requests import RunRequest

log = logging.getLogger(__name__)
router = Router()
_FINAL_REFUSALS = (404, 410, 422)  # statuses after which sending the same answer is pointless


@router.register("deployment_protection_rule", action="requested")
def on_requested(event: DeploymentGateEvent, ctx: Context) -> None:
    gates = _gates(ctx)
    request = gates.open(
        GateRequest(
            installation_id=event.installation_id,
            repo=event.repo,
            environment=event.environment,
            sha=event.sha,
            workflow_run_id=event.workflow_run_id,
            delivery_id=event.delivery_id,
            sender=event.sender,
        )
    )
    evaluate(ctx, request)


def evaluate(ctx: Context, request: GateRequest) -> None:
    """Bring `request` one step closer to its answer (safe to repeat: a retried task, a
    redelivery and the reconcile pass all come through here)."""
    gates = _gates(ctx)
    if request.answered_at is not None:
        return
    if request.state is not None:
        settle(ctx.github, gates, request)
        return
    if request.run_id is not None:
        _follow_run(ctx, request)
        return
    plan = run_requests.read_plan(ctx, request.sha)
    check_name = check_name_of(plan)
    runs = ctx.github.list_check_runs(request.sha, check_name, app_id=ctx.app_id)
    decision = deployment_gate.decide(plan, request.environment, request.sha, runs)
    log.info("deployment %s: %s", request.key, decision.gate.value)
    if decision.gate is deployment_gate.Gate.WAIT and decision.run_id is not None:
        record = _record(ctx.runs, decision.run_id)
        if record is not None and record.active:
            _wait(ctx, request, record, started=False)
            return
    if decision.gate in (deployment_gate.Gate.WAIT, deployment_gate.Gate.RUN):
        _run(ctx, request)
        return
    state = Answer.APPROVED if decision.gate is deployment_gate.Gate.APPROVE else Answer.REJECTED
    comment = _comment_for_check(ctx, runs, decision) or render_reason_comment(decision.reason)
    _decide(ctx.github, gates, request, state, comment)


def _run(ctx: Context, request: GateRequest) -> None:
    if request.runs_started >= deployment_gate.MAX_RUNS_PER_REQUEST:
        reason = (
            f"The golden path was started {request.runs_started} times for {request.sha[:7]} "
            "and never concluded; rejecting rather than waiting without end."
        )
        _decide(ctx.github, _gates(ctx), request, Answer.REJECTED, render_reason_comment(reason))
        return
    # A fresh memo: each run started for a request is a new decision. A retried task needs no
    # memo here: the run it queued is found again as the commit's active run, and joined.
    answer = run_requests.request_run(
        dataclasses.replace(ctx, memo={}),
        RunRequest(
            repo=request.repo,
            pr_number=None,
            user=request.sender,
            trigger="deployment",
            check_permission=False,  # GitHub asked: whoever deploys was allowed to
            head_sha=request.sha,
            commit_ref=request.sha,
            lock_wait_limit_seconds=ctx.deploy_lock_wait_seconds,
        ),
    )
    record = _record(ctx.runs, answer.run_id) if answer.run_id else None
    if record is None:  # one is already queued or running for this commit: join it
        record = ctx.runs.latest(run_target(request.repo, ref=request.sha))
    if record is None:
        reason = "The golden path could not be started: " + (answer.reply or "no reason given")
        _decide(ctx.github, _gates(ctx), request, Answer.REJECTED, render_reason_comment(reason))
        return
    _wait(ctx, request, record, started=answer.run_id is not None)


def _wait(ctx: Context, request: GateRequest, record: RunRecord, *, started: bool) -> None:
    waiting = _gates(ctx).wait_for(request.key, record.run_id, started=started)
    if waiting is not None:
        _follow_run(ctx, waiting)


def _follow_run(ctx: Context, request: GateRequest) -> None:
    """The run waited for may have ended meanwhile (or never be coming back)."""
    assert request.run_id is not None
    record = _record(ctx.runs, request.run_id)
    if record is not None and record.active:
        return  # its completion answers (or the reconcile pass, if its worker is lost)
    if record is None or record.conclusion == "cancelled":
        # Superseded, cancelled or expired: nothing was concluded about the commit; look again.
        forgotten = _gates(ctx).forget_run(request.key)
        if forgotten is not None:
            evaluate(ctx, forgotten)
        return
    answer_from_run(
        ctx.github, _gates(ctx), request, record, link=run_requests.link_to(ctx, record)
    )


def answer_from_run(
    github: GateAnswers, gates: Gates, request: GateRequest, record: RunRecord, link: str | None
) -> None:
    state = deployment_gate.answer_for(record.conclusion)
    _decide(github, gates, request, state, run_comment(record, link))


def run_comment(record: RunRecord, link: str | None) -> str:
    conclusion = record.conclusion
    title = record.title or _fallback_title(record)
    return render_answer_comment(
        check_name=record.check_name,
        title=title,
        mrr_at_risk=record.mrr_at_risk,
        recommendation=record.recommendation or fallback_recommendation(conclusion),
        link=link or record.details_url,
    )


def _fallback_title(record: RunRecord) -> str:
    word = (record.conclusion or "failure").replace("_", " ").capitalize()
    reason = (record.reason or "").strip().split("\n", 1)[0]
    return f"{word}: {reason}" if reason else word


def _comment_for_check(
    ctx: Context, runs: list[dict[str, Any]], decision: deployment_gate.Decision
) -> str | None:
    """The answer's comment when an existing check run decides: from our run record (title,
    MRR, recommendation), else from the check run itself."""
    if decision.check_run_id is None:
        return None
    run = next((r for r in runs if int(r["id"]) == decision.check_run_id), {})
    record = _record(ctx.runs, str(run.get("external_id") or ""))
    if record is not None and record.state is RunState.COMPLETED:
        return run_comment(record, run_requests.link_to(ctx, record) or run.get("html_url"))
    return render_answer_comment(
        check_name=str(run.get("name") or DEFAULT_CHECK_NAME),
        title=str(run.get("title") or run.get("conclusion") or ""),
        mrr_at_risk=None,
        recommendation=fallback_recommendation(str(run.get("conclusion"))),
        link=str(run.get("html_url") or "") or None,
    )


def _decide(
    github: GateAnswers, gates: Gates, request: GateRequest, state: Answer, text: str
) -> None:
    decided = gates.decide(request.key, state, text) or gates.get(request.key)
    if decided is not None:
        settle(github, gates, decided)


def settle(github: GateAnswers, gates: Gates, request: GateRequest) -> bool:
    """Send a decided answer unless it was sent; True once GitHub has it. A GitHub error
    propagates (the task retries; the reconcile pass tries again later)."""
    if request.state is None or request.answered_at is not None:
        return request.answered_at is not None
    if not gates.claim(request.key):
        return False  # another worker is sending it right now
    try:
        current = gates.get(request.key)
        if current is None or current.answered_at is not None:
            return True
        try:
            github.answer_deployment_gate(
                request.workflow_run_id, request.environment, request.state.value, request.comment
            )
        except Exception as error:
            if getattr(error, "status", None) not in _FINAL_REFUSALS:
                raise
            # The deployment was decided meanwhile (a person, a timeout) or the workflow run is
            # gone: asking again for 30 days would change nothing.
            log.warning("deployment %s: GitHub refused the answer: %s", request.key, error)
        gates.mark_answered(request.key)
        log.info("deployment %s answered %s", request.key, request.state.value)
        return True
    finally:
        gates.release(request.key)


def answer_run_waiters(
    github_for: Callable[[int, str], GateAnswers], gates: Gates, record: RunRecord
) -> None:
    """A run completed: answer every deployment waiting for it (a cancelled run answers
    nothing: the reconcile pass looks at those requests again)."""
    if record.state is not RunState.COMPLETED or record.conclusion == "cancelled":
        return
    for request in gates.waiting_on(record.run_id):
        answer_from_run(
            github_for(request.installation_id, request.repo), gates, request, record, None
        )


def reconcile(
    ctx_for: Callable[[GateRequest], Context], gates: Any, *, older_than: float = 5.0
) -> int:
    """Look again at every unanswered request (those a lost worker or a restart left behind);
    returns how many were looked at. Young ones are left to the task handling them."""
    seen = 0
    for request in gates.pending():
        if time.time() - request.created_at < older_than:
            continue
        seen += 1
        try:
            evaluate(ctx_for(request), request)
        except Exception:
            log.exception("deployment %s: reconcile failed; will try again", request.key)
    return seen


def _record(runs: Runs, run_id: str | None) -> RunRecord | None:
    if not run_id:
        return None
    try:
        return runs.get(run_id)
    except LookupError:
        return None


def _gates(ctx: Context) -> Gates:
    if ctx.gates is None:
        raise RuntimeError("deployment requests need a Gates store in the context")
    return ctx.gates
