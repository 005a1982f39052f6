"""Rewrite the environment's tracking issue after a run (contract §6, `tracking_issue: true`).

Under the issue's lock: read the state, apply the run (pure), render the body (pure), find the
open issue by its hidden marker (or create it), write the body, save the state. Applying a run
twice changes nothing, so a retried publish only rewrites the same body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

from bot.core.plan import Plan
from bot.core.report.tracking_issue import (
    TRACKING_LABEL,
    render_tracking_issue,
    tracking_marker,
    tracking_title,
)
from bot.core.results import RunReport
from bot.core.scrub import Scrubber
from bot.core.tracking import TrackingState, apply, outcome_of
from bot.github.client import IssueRef

log = logging.getLogger(__name__)


class IssueClient(Protocol):
    def find_open_issue(self, label: str, marker: str) -> IssueRef | None: ...
    def create_issue(self, title: str, body: str, labels: list[str]) -> IssueRef: ...
    def update_issue(self, number: int, *, body: str) -> None: ...
    def ensure_label(self, name: str, color: str, description: str) -> None: ...


class States(Protocol):
    def load(self, repo: str, environment: str) -> TrackingState: ...
    def save(self, state: TrackingState) -> None: ...
    def lock(self, repo: str, environment: str) -> Any: ...


def source_of(report: RunReport, trigger: str) -> str:
    """How the log names a run that had no pull request."""
    if report.pr_number is not None:
        return "pull request"
    if trigger == "deployment":
        return "deployment"
    if trigger == "merge_group":
        return "merge queue"
    return "default branch"


def update_tracking_issue(
    client: IssueClient,
    states: States,
    report: RunReport,
    *,
    plan: Plan | None,
    five_whys: Mapping[str, str],
    scrubber: Scrubber,
    trigger: str = "",
    at: float | None = None,
) -> IssueRef | None:
    """Apply a finished run to its environment's tracking issue; None when the plan keeps none."""
    if plan is None or not plan.tracking_issue or report.conclusion is None:
        return None
    outcome = outcome_of(
        report,
        at=time.time() if at is None else at,
        five_whys=five_whys,
        source=source_of(report, trigger),
    )
    label = TRACKING_LABEL[0]
    marker = tracking_marker(plan.environment)
    with states.lock(report.repo, plan.environment):
        state = apply(states.load(report.repo, plan.environment), outcome)
        body = scrubber.scrub(render_tracking_issue(state))
        client.ensure_label(*TRACKING_LABEL)
        issue = client.find_open_issue(label, marker)
        if issue is None:
            issue = client.create_issue(tracking_title(plan.environment), body, [label])
        else:
            client.update_issue(issue.number, body=body)
        states.save(state)
    log.info("tracking issue #%s of %s updated", issue.number, plan.environment)
    return issue
