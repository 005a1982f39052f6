"""The run's steps before its phases: the head it may test, the checkout's credentials, the
plan, the phases chosen (with, for `rerun-failed`, the earlier run's results), the check's
name. Each returns what the next needs, or raises `StopRun` with the reason the check run
will give."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.core import rerun
from bot.core.plan import PLAN_PATH, Plan, PlanError, UnknownPhases
from bot.core.results import Conclusion, PhaseStatus, PhaseVerdict, RunReport
from bot.core.run_model import RunRecord
from bot.core.secrets_policy import SecretsAllowList, pass_env_problems
from workers.engine import plan_file
from workers.job.ports import Records, RunClient
from workers.job.stops import StopRun


def assert_head(client: RunClient, record: RunRecord) -> tuple[str, str]:
    """The run tests exactly the commit that was approved; a moved head supersedes it.

    Returns the URL to clone and the pull request's body (its closing references)."""
    if record.pr_number is None:
        return client.repo_clone_url(), ""
    pull = client.get_pull(record.pr_number)
    if pull.head_sha != record.head_sha:
        raise StopRun(
            Conclusion.CANCELLED,
            f"Superseded by {pull.head_sha[:7]}: the pull request's head moved from "
            f"{record.head_sha[:7]} before this run started, and the run only ever "
            "tests the commit that was approved. Run `/golden-path run` again for the new "
            "head.",
        )
    if pull.state != "open":
        raise StopRun(Conclusion.CANCELLED, f"Pull request #{pull.number} is {pull.state}.")
    return pull.head_clone_url, pull.body or ""


def checkout_token(client: RunClient, clone_url: str) -> str | None:
    """Only an `https` URL gets credentials (a local path is used as it is): a token scoped
    to this repository with `contents: read`."""
    if not clone_url.startswith("https://"):
        return None
    return client.fetch_token()


def read_plan(
    checkout_dir: Path,
    record: RunRecord,
    allowed: SecretsAllowList,
    scrub: Callable[[str], str],
) -> Plan:
    """The checkout's plan, read as untrusted (no symlinks, 64 KiB: `plan_file`)."""
    try:
        plan = plan_file.read_plan(checkout_dir)
        refused = pass_env_problems(plan, allowed, record.repo)
        if refused:  # the operator's allow-list is the only source of pass_env values
            raise PlanError(refused)
    except PlanError as error:
        missing = [p for p in error.problems if p.reason == plan_file.NOT_FOUND]
        reason = (
            f"There is no `{PLAN_PATH}` at {record.head_sha[:7]}."
            if missing
            else f"`{PLAN_PATH}` is invalid."
        )
        problems = tuple(scrub(str(p)) for p in error.problems)
        raise StopRun(Conclusion.FAILURE, reason, problems) from None
    return plan


def select_phases(plan: Plan, record: RunRecord) -> tuple[str, ...]:
    try:
        return plan.select(record.phases)
    except UnknownPhases as error:
        raise StopRun(Conclusion.FAILURE, str(error)) from None


def rerun_inputs(plan: Plan, record: RunRecord, records: Records) -> dict[str, Any]:
    """For `rerun-failed`: the earlier run's stored results of the phases that run only
    their failed tests, and the verdicts of the phases carried over (`bot.core.rerun`)."""
    if not record.rerun_of:
        return {}
    try:
        earlier = records.get(record.rerun_of)
    except LookupError:
        raise StopRun(
            Conclusion.FAILURE,
            f"The results of run {record.rerun_of} are no longer kept, so its failed "
            "tests are unknown. Run `/golden-path run` for a full run.",
        ) from None
    selection = rerun.select(earlier.verdicts)
    stored = {str(v.get("phase_id")): v for v in earlier.verdicts}
    phases = {phase.id: phase for phase in plan.phases}
    return {
        "rerun": {pid: stored[pid] for pid in selection.tests if pid in phases},
        "carried": {
            pid: rerun.carried_verdict(
                stored[pid], name=phases[pid].title, mrr_at_risk=phases[pid].mrr_at_risk
            )
            for pid in selection.carried
            if pid in phases
        },
    }


def adopt_check_name(
    client: RunClient, records: Records, record: RunRecord, check_name: str
) -> None:
    """The queued check got the default name when the plan could not be read through the
    API; the checkout is the authority, so the check takes the plan's name now."""
    if check_name == record.check_name:
        return
    if record.check_run_id is None:
        raise RuntimeError("run has no check run")
    client.update_check_run(record.check_run_id, name=check_name)
    record.check_name = check_name
    records.set_fields(record.run_id, check_name=check_name)


def setting_up(
    plan: Plan, selected: tuple[str, ...], report_fields: Mapping[str, Any]
) -> RunReport:
    """The in-progress report before the first phase: setup runs, every phase pending."""
    phases = tuple(
        PhaseVerdict(
            phase_id=phase.id,
            name=phase.title,
            mrr_at_risk=phase.mrr_at_risk,
            status=PhaseStatus.PENDING if phase.id in selected else PhaseStatus.NOT_SELECTED,
        )
        for phase in plan.phases
    )
    return RunReport(
        check_name=plan.check_name,
        phases=phases,
        environment=plan.environment,
        **report_fields,
    )
