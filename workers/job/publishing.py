"""What a run shows on GitHub: the check run's updates, the final report (retried while
GitHub has a bad minute) and the environment's tracking issue.

Failures here are weighed by what they cost: the final report is retried and then raised (the
run must not end without it); the tracking issue's are logged and let go.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bot.core.plan import Plan
from bot.core.report.check_output import CheckOutput
from bot.core.results import RunReport
from bot.core.scrub import Scrubber
from bot.github.client import IssueRef
from workers.job import tracking_issue
from workers.job.ports import Clock, RunClient
from workers.job.tracking_issue import States as TrackingStore

log = logging.getLogger(__name__)
T = TypeVar("T")

PUBLISH_ATTEMPTS = 4
PUBLISH_MAX_WAIT_SECONDS = 60.0


def with_retries(send: Callable[[], T], clock: Clock, run_id: str) -> T:
    """GitHub having a bad minute (5xx past PyGithub's own retries, a rate limit) must not
    lose a finished run's report: try again, waiting as long as GitHub asks (capped). The
    report's posts are idempotent (found by their markers), so a repeat edits, not adds."""
    for attempt in range(PUBLISH_ATTEMPTS):
        try:
            return send()
        except Exception as error:
            if attempt == PUBLISH_ATTEMPTS - 1:
                raise
            wait = min(
                getattr(error, "retry_after", None) or 2.0 * 2**attempt, PUBLISH_MAX_WAIT_SECONDS
            )
            log.warning(
                "run %s: publishing failed (%s); retrying in %.0f s",
                run_id,
                type(error).__name__,
                wait,
            )
            clock.sleep(wait)
    raise AssertionError("PUBLISH_ATTEMPTS is at least 1")


def check_fields(
    scrubber: Scrubber, status: str, output: CheckOutput, conclusion: str | None = None
) -> dict[str, Any]:
    """A check-run update's status and output, scrubbed of the run's secrets."""
    fields: dict[str, Any] = {
        "status": status,
        "title": scrubber.scrub(output.title),
        "summary": scrubber.scrub(output.summary),
    }
    if output.text:
        fields["text"] = scrubber.scrub(output.text)
    if conclusion is not None:
        fields["conclusion"] = conclusion
    return fields


def update_tracking_issue(
    client: RunClient,
    tracking: TrackingStore | None,
    result: RunReport,
    plan: Plan,
    links: Mapping[str, str],
    scrubber: Scrubber,
    trigger: str,
) -> None:
    """After the report: the environment's tracking issue (when the plan keeps one). Its
    failure never fails a run whose check run already holds the result."""
    if tracking is None or not plan.tracking_issue:
        return
    try:
        tracking_issue.update_tracking_issue(
            client,
            tracking,
            result,
            plan=plan,
            five_whys=links,
            scrubber=scrubber,
            trigger=trigger,
        )
    except Exception:
        log.warning("run %s: tracking issue update failed", result.run_id, exc_info=True)


class OnConclusion:
    """The run's client for publishing its report, calling `then` once the check run has got
    its conclusion: the run's record completes then, not after the PR comment and issues."""

    def __init__(self, client: RunClient, check_run_id: int, then: Callable[[], None]) -> None:
        self._client = client
        self._check_run_id = check_run_id
        self._then: Callable[[], None] | None = then

    def update_check_run(self, check_run_id: int, **fields: Any) -> None:
        self._client.update_check_run(check_run_id, **fields)
        concluded = fields.get("status") == "completed" and check_run_id == self._check_run_id
        if concluded and self._then is not None:
            then, self._then = self._then, None
            then()

    # the rest of `publish.PublishClient`, passed through as it is
    def upsert_comment(self, number: int, marker: str, body: str) -> str:
        return self._client.upsert_comment(number, marker, body)

    def comment(self, number: int, body: str) -> str:
        return self._client.comment(number, body)

    def find_comment(self, number: int, marker: str) -> str | None:
        return self._client.find_comment(number, marker)

    def list_annotations(self, check_run_id: int) -> list[dict[str, Any]]:
        return self._client.list_annotations(check_run_id)

    def find_issue(self, label: str, marker: str) -> IssueRef | None:
        return self._client.find_issue(label, marker)

    def update_issue(self, number: int, *, body: str, state: str | None = None) -> None:
        self._client.update_issue(number, body=body, state=state)

    def create_issue(self, title: str, body: str, labels: list[str]) -> IssueRef:
        return self._client.create_issue(title, body, labels)

    def ensure_label(self, name: str, color: str, description: str) -> None:
        self._client.ensure_label(name, color, description)

    def add_labels(self, number: int, names: list[str]) -> None:
        self._client.add_labels(number, names)

    def remove_label(self, number: int, name: str) -> None:
        self._client.remove_label(number, name)

    def is_pull_request(self, number: int) -> bool:
        return self._client.is_pull_request(number)
