"""The deployment gate (contract §6): what to answer a `deployment_protection_rule` request.

Pure: the plan at the deployment's commit and that commit's check runs of `check_name` by this
App in, a `Decision` out. Acting on it (answering GitHub, starting or joining a run) is the
handler's job (`bot/handlers/deployments.py`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from bot.core.plan import PLAN_PATH, Plan, PlanError


class Gate(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    RUN = "run"  # no usable result yet: run the golden path on the commit, answer when done
    WAIT = "wait"  # a run of ours is under way on the commit: answer when it completes


class Answer(StrEnum):
    """The `state` GitHub takes in `POST .../deployment_protection_rule`."""

    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Decision:
    gate: Gate
    reason: str = ""  # for an answer given without a run: the comment's text
    check_run_id: int | None = None  # the completed check run an answer rests on
    run_id: str | None = None  # WAIT: the bot's run (the check run's external_id)
    gated: bool = True  # False: the plan does not gate the environment (approved as such)


# Conclusions of the latest check run that answer at once; every other state asks for a run.
PASSING = frozenset({"success"})
FAILING = frozenset({"failure", "timed_out"})
IN_FLIGHT = frozenset({"queued", "in_progress", "waiting", "requested", "pending"})


def latest(check_runs: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest check run (GitHub gates on the newest of a name; ids only grow)."""
    return max(check_runs, key=lambda run: int(run["id"]), default=None)


def decide(
    plan: Plan | PlanError | None,
    environment: str,
    sha: str,
    check_runs: Sequence[Mapping[str, Any]],
) -> Decision:
    """What to do about a deployment of `sha` to `environment`.

    `check_runs` are the commit's check runs named `plan.check_name` made by this App (the
    caller filters by app id: another App's check of the same name proves nothing)."""
    if plan is None:
        return Decision(
            Gate.APPROVE,
            f"The golden path does not gate `{environment}`: there is no "
            f"`{PLAN_PATH}` at {sha[:7]}.",
            gated=False,
        )
    if isinstance(plan, PlanError):
        problems = "; ".join(str(p) for p in plan.problems[:5])
        return Decision(
            Gate.REJECT,
            f"The golden path cannot run: `{PLAN_PATH}` at {sha[:7]} is invalid ({problems}).",
        )
    if not plan.gates(environment):
        gated = ", ".join(f"`{name}`" for name in plan.deployments) or "no environment"
        return Decision(
            Gate.APPROVE,
            f"The golden path does not gate `{environment}`: `{PLAN_PATH}` at "
            f"{sha[:7]} does not list it under `deployments` (it gates {gated}).",
            gated=False,
        )
    return from_check_run(latest(check_runs))


def from_check_run(run: Mapping[str, Any] | None) -> Decision:
    """The decision a gated environment gets from the commit's latest check run of ours."""
    if run is None:
        return Decision(Gate.RUN)
    status, conclusion = run.get("status"), run.get("conclusion")
    check_run_id = int(run["id"])
    if status == "completed" and conclusion in PASSING:
        return Decision(Gate.APPROVE, check_run_id=check_run_id)
    if status == "completed" and conclusion in FAILING:
        return Decision(Gate.REJECT, check_run_id=check_run_id)
    if status in IN_FLIGHT and run.get("external_id"):
        return Decision(Gate.WAIT, check_run_id=check_run_id, run_id=str(run["external_id"]))
    # action_required (the placeholder), cancelled, anything else: no result to rest on.
    return Decision(Gate.RUN)


def answer_for(conclusion: str | None) -> Answer:
    """A finished run's answer: only a success lets the deployment through."""
    return Answer.APPROVED if conclusion in PASSING else Answer.REJECTED


MAX_RUNS_PER_REQUEST = 3  # runs started for one request (a cancelled one is replaced) at most


class GateRequest(BaseModel):
    """One deployment waiting for our answer, remembered until it is answered (GitHub waits up to
    30 days), so a lost worker or a restart still answers it, and answers it once."""

    installation_id: int
    repo: str
    environment: str
    sha: str
    workflow_run_id: int
    delivery_id: str = ""
    sender: str = ""
    created_at: float = Field(default_factory=time.time)
    run_id: str | None = None  # the bot's run the answer waits for
    runs_started: int = 0
    state: Answer | None = None  # decided; sent when `answered_at` is set
    comment: str = ""
    answered_at: float | None = None

    @property
    def key(self) -> str:
        return request_key(self.repo, self.workflow_run_id, self.environment)


def request_key(repo: str, workflow_run_id: int, environment: str) -> str:
    """GitHub asks once per workflow run and environment; redeliveries share the key."""
    return f"{repo.lower()}:{workflow_run_id}:{environment.casefold()}"
