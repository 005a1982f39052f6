"""Post a rendered run through the GitHub client: check run and annotations, PR comment, five whys
and linked issues. Everything is scrubbed on its way out.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.core.closing_refs import closing_refs
from bot.core.idempotency import Ledger, marker, once
from bot.core.plan import FiveWhys, Plan
from bot.core.report.check_output import CheckOutput, render_check_output
from bot.core.report.facts import (
    PR_COMMENT_MARKER,
    failure_patterns,
    five_whys_marker,
    linked_issue_marker,
)
from bot.core.report.five_whys import render_five_whys_issue, render_five_whys_recurrence
from bot.core.report.linked_issue import render_linked_issue
from bot.core.report.markdown import MAX_BODY_CHARS
from bot.core.report.pr_comment import render_pr_comment
from bot.core.report.seen_in import render_seen_in, splice
from bot.core.results import Conclusion, RunReport
from bot.core.scrub import Scrubber
from bot.github.client import GitHubError, GitHubRateLimited, IssueRef
from bot.handlers.context import CheckRunUpdates

log = logging.getLogger(__name__)

ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit per check-run request
MAX_FIVE_WHYS = 10  # patterns filed per run: a broken staging must not open hundreds of issues
MAX_LINKED_ISSUES = 20
PASSING_LABEL = ("golden-path:passing", "0e8a16", "The latest golden-path run of its PR passed")
FAILING_LABEL = ("golden-path:failing", "d93f0b", "The latest golden-path run of its PR failed")
FIVE_WHYS_LABEL_STYLE = ("5319e7", "A golden-path failure pattern to investigate (five whys)")
# A later step (comment, issue, label) that GitHub refused is tried again after these waits; each
# step is idempotent (markers, idempotency keys), so a repeat edits or skips, never adds.
STEP_RETRY_WAITS = (0.5, 2.0)


class PublishClient(CheckRunUpdates, Protocol):
    """The slice of `bot.github.client.RepoClient` publishing uses."""

    def upsert_comment(self, number: int, marker: str, body: str) -> str: ...
    def comment(self, number: int, body: str) -> str: ...
    def find_comment(self, number: int, marker: str) -> str | None: ...
    def list_annotations(self, check_run_id: int) -> list[dict[str, Any]]: ...
    def find_issue(self, label: str, marker: str) -> IssueRef | None: ...
    def create_issue(self, title: str, body: str, labels: list[str]) -> IssueRef: ...
    def update_issue(self, number: int, *, body: str, state: str | None = None) -> None: ...
    def ensure_label(self, name: str, color: str, description: str) -> None: ...
    def add_labels(self, number: int, names: list[str]) -> None: ...
    def remove_label(self, number: int, name: str) -> None: ...
    def is_pull_request(self, number: int) -> bool: ...


@dataclass
class PublishResult:
    check_run_id: int
    pr_comment_url: str | None = None
    five_whys: dict[str, str] = field(default_factory=dict)  # pattern key -> issue/comment URL
    linked_issues: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # steps after the check run that failed


def _scrub_output(output: CheckOutput, scrubber: Scrubber) -> CheckOutput:
    return CheckOutput(
        title=scrubber.scrub(output.title),
        summary=scrubber.scrub(output.summary),
        text=scrubber.scrub(output.text),
        annotations=[
            {k: scrubber.scrub(v) if isinstance(v, str) else v for k, v in a.items()}
            for a in output.annotations
        ],
    )


def _output_fields(output: CheckOutput) -> dict[str, Any]:
    fields: dict[str, Any] = {"title": output.title, "summary": output.summary}
    if output.text:
        fields["text"] = output.text
    return fields


def publish_check(
    client: PublishClient,
    report: RunReport,
    *,
    check_run_id: int,
    scrubber: Scrubber,
    ledger: Ledger | None = None,
) -> None:
    """The check run's status, conclusion and output; annotations 50 per request, each batch
    sent once (idempotency key: run id and batch index), so a retried publish resumes."""
    output = _scrub_output(render_check_output(report), scrubber)
    batches = [
        output.annotations[i : i + ANNOTATIONS_PER_REQUEST]
        for i in range(0, len(output.annotations), ANNOTATIONS_PER_REQUEST)
    ] or [[]]
    status: dict[str, Any] = (
        {"status": "in_progress"}
        if report.conclusion is None
        else {"status": "completed", "conclusion": report.conclusion.value}
    )
    # GitHub wants the output's title and summary with every further batch.
    for index, batch in enumerate(batches):
        fields = {**status, **_output_fields(output)} if index == 0 else _output_fields(output)
        _send_batch(client, ledger, report.run_id, check_run_id, index, batch, fields)


def _send_batch(
    client: PublishClient,
    ledger: Ledger | None,
    run_id: str,
    check_run_id: int,
    index: int,
    batch: list[dict[str, Any]],
    fields: dict[str, Any],
) -> None:
    if not batch:
        client.update_check_run(check_run_id, **fields)
        return
    sent = False

    def send() -> str:
        nonlocal sent
        client.update_check_run(check_run_id, **fields, annotations=batch)
        sent = True
        return "sent"

    def find() -> str | None:
        present = {_annotation_key(a) for a in client.list_annotations(check_run_id)}
        return "found" if all(_annotation_key(a) in present for a in batch) else None

    once(ledger, f"annotations:{run_id}:{index}", send, find)
    if not sent and "status" in fields:  # the batch went out before; the status may not have
        client.update_check_run(check_run_id, **fields)


def _annotation_key(annotation: dict[str, Any]) -> tuple[Any, ...]:
    return (annotation.get("path"), annotation.get("start_line"), annotation.get("message"))


def publish_report(
    client: PublishClient,
    report: RunReport,
    *,
    check_run_id: int,
    plan: Plan | None,
    pr_body: str | None,
    scrubber: Scrubber,
    five_whys_label: str = "five-whys",
    ledger: Ledger | None = None,
) -> PublishResult:
    """Everything a finished (or progressing) run shows on GitHub.

    The check run comes first and its errors propagate (the caller retries or concludes it);
    later steps are independent: one failing is logged and recorded, the others still happen.
    """
    publish_check(client, report, check_run_id=check_run_id, scrubber=scrubber, ledger=ledger)
    result = PublishResult(check_run_id)
    if report.conclusion is None:
        return result
    mode = plan.five_whys if plan is not None else FiveWhys.OFF
    publish_rest(
        client,
        report,
        result,
        five_whys=mode,
        linked=linked_issues(report, pr_body),
        scrubber=scrubber,
        five_whys_label=five_whys_label,
        ledger=ledger,
    )
    return result


def linked_issues(report: RunReport, pr_body: str | None) -> list[int]:
    """The issues the pull request's body closes (`Fixes #N`), bounded, itself left out."""
    if report.pr_number is None:
        return []
    refs = closing_refs(pr_body, report.repo)[:MAX_LINKED_ISSUES]
    return [n for n in refs if n != report.pr_number]


def publish_rest(
    client: PublishClient,
    report: RunReport,
    result: PublishResult,
    *,
    five_whys: FiveWhys,
    linked: list[int],
    scrubber: Scrubber,
    five_whys_label: str = "five-whys",
    ledger: Ledger | None = None,
) -> None:
    """What follows a concluded check run: five-whys issues, the PR comment, linked issues.

    Each step is independent: one failing is logged and recorded in `result.errors`, the others
    still happen. Every step is safe to repeat (markers, idempotency keys), which is how a run
    whose worker died here is finished by the reconcile loop (`workers.owed_publish`)."""
    patterns = failure_patterns(report)[:MAX_FIVE_WHYS]

    def attempt(step: str, action: Callable[[], None]) -> None:
        for wait in (*STEP_RETRY_WAITS, None):
            try:
                action()
                return
            except GitHubError as error:
                if wait is None or isinstance(error, GitHubRateLimited):
                    log.warning("publishing %s failed: %s", step, error)
                    result.errors.append(f"{step}: {error}")
                    return
                time.sleep(wait)

    for pattern in patterns:
        attempt(
            f"five whys {pattern.key}",
            functools.partial(
                _five_whys,
                client,
                report,
                pattern,
                five_whys,
                five_whys_label,
                scrubber,
                result,
                ledger,
            ),
        )
    if report.pr_number is not None:
        attempt("pr comment", lambda: _pr_comment(client, report, scrubber, result))
        for number in linked:
            attempt(
                f"linked issue #{number}",
                functools.partial(_linked_issue, client, report, number, scrubber, result),
            )


def _five_whys(
    client: PublishClient,
    report: RunReport,
    pattern: Any,
    mode: FiveWhys,
    label: str,
    scrubber: Scrubber,
    result: PublishResult,
    ledger: Ledger | None = None,
) -> None:
    pattern_marker = five_whys_marker(pattern.key)
    if mode is FiveWhys.OFF:
        return
    if mode is FiveWhys.COMMENT:
        if report.pr_number is None:
            return
        _, body = render_five_whys_issue(pattern, report)
        url = client.upsert_comment(report.pr_number, pattern_marker, scrubber.scrub(body))
        result.five_whys[pattern.key] = url
        return
    client.ensure_label(label, *FIVE_WHYS_LABEL_STYLE)
    # Whether this run files a new issue or adds to an existing one is decided once per run and
    # pattern (kept in the ledger): a repeat after the issue was created must not take this
    # run's own issue for an earlier one and comment a recurrence on it.
    run_key = f"{report.repo}:{report.run_id}:{pattern.key}"
    decided = once(ledger, f"five-whys:{run_key}", lambda: _new_or_existing(client, label, pattern))
    if decided == NEW_ISSUE:
        title, body = render_five_whys_issue(pattern, report, seen_at=time.time())
        url = once(
            ledger,
            f"five-whys-issue:{run_key}",
            lambda: client.create_issue(scrubber.scrub(title), scrubber.scrub(body), [label]).url,
            find=lambda: _issue_url(client.find_issue(label, pattern_marker)),
        )
        result.five_whys[pattern.key] = url
        return
    existing = client.find_issue(label, pattern_marker)
    if existing is None:  # deleted since: nothing to add to
        return
    reopened = existing.state != "open"  # closed as fixed, and it failed again
    _update_seen_in(client, existing, render_seen_in(pattern, report, time.time()), reopened)
    # One recurrence comment per run and pattern, however often publishing is retried.
    key = f"recurrence:{run_key}"
    comment = scrubber.scrub(render_five_whys_recurrence(pattern, report, reopened=reopened))
    number = existing.number
    once(
        ledger,
        key,
        lambda: client.comment(number, f"{comment}\n\n{marker(key)}"),
        find=lambda: client.find_comment(number, marker(key)),
    )
    result.five_whys[pattern.key] = existing.url


NEW_ISSUE = "new"


def _new_or_existing(client: PublishClient, label: str, pattern: Any) -> str:
    found = client.find_issue(label, five_whys_marker(pattern.key))
    return NEW_ISSUE if found is None else f"existing #{found.number}"


def _issue_url(issue: IssueRef | None) -> str | None:
    return issue.url if issue is not None else None


def _update_seen_in(client: PublishClient, issue: IssueRef, section: str, reopened: bool) -> None:
    """Rewrite the issue's "Seen in" section in place (people's answers around it stay), and
    reopen it when it was closed. A body that would pass GitHub's limit keeps its old table."""
    body = splice(issue.body, section)
    if len(body) > MAX_BODY_CHARS:
        log.warning("five-whys issue #%s: body too long for its Seen in table", issue.number)
        body = issue.body
    if body != issue.body or reopened:
        client.update_issue(issue.number, body=body, state="open" if reopened else None)


def _pr_comment(
    client: PublishClient, report: RunReport, scrubber: Scrubber, result: PublishResult
) -> None:
    assert report.pr_number is not None
    body = scrubber.scrub(render_pr_comment(report, result.five_whys))
    result.pr_comment_url = client.upsert_comment(report.pr_number, PR_COMMENT_MARKER, body)


def _linked_issue(
    client: PublishClient, report: RunReport, number: int, scrubber: Scrubber, result: PublishResult
) -> None:
    if client.is_pull_request(number):
        return  # `Fixes #N` naming another pull request: not ours to comment on or relabel
    body = scrubber.scrub(render_linked_issue(report))
    client.upsert_comment(number, linked_issue_marker(report.pr_number), body)
    result.linked_issues.append(number)
    if report.conclusion is Conclusion.CANCELLED:
        return  # a cancelled run proves nothing either way: leave the label as it was
    wanted, other = (
        (PASSING_LABEL, FAILING_LABEL)
        if report.conclusion is Conclusion.SUCCESS
        else (FAILING_LABEL, PASSING_LABEL)
    )
    client.ensure_label(*wanted)
    client.add_labels(number, [wanted[0]])
    client.remove_label(number, other[0])


def publish_progress(
    client: PublishClient, report: RunReport, *, check_run_id: int, scrubber: Scrubber
) -> None:
    """An `in_progress` check run whose output shows the running phase and the results so far."""
    output = _scrub_output(render_check_output(report), scrubber)
    client.update_check_run(check_run_id, status="in_progress", **_output_fields(output))
