"""What a run still owes GitHub once its check run holds the conclusion: the five-whys issues,
the sticky PR comment and the linked issues' comments and labels (pure, no I/O).

The run job writes this document when the check run is concluded and removes it when the rest is
posted; a worker that dies in between leaves it for the reconcile loop, which posts the rest with
the same markers and idempotency keys (`workers.owed_publish`). The report goes in scrubbed of the
run's secrets and trimmed to what the rest renders (failed, flaky and skipped tests; passed ones
only count), so the document stays small; one past `MAX_DOCUMENT_BYTES` is not kept at all (the
worker still posts; only a death mid-way would lose the rest).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter

from bot.core.results import Outcome, RunReport, TestResult

MAX_DOCUMENT_BYTES = 512 * 1024
LONG_TEXT_CHARS = 4000  # a failure message, traceback or output tail kept in a trimmed document
_REPORT = TypeAdapter(RunReport)


class OwedPublish(BaseModel):
    """The rest of a run's report, as the reconcile loop needs it to post it."""

    run_id: str
    attempt: int
    installation_id: int
    repo: str
    five_whys: str  # the plan's `five_whys` mode (`bot.core.plan.FiveWhys`)
    linked_issues: list[int]  # the pull request's closing references, already bounded
    report: dict[str, Any]  # the `RunReport`, scrubbed and trimmed

    def run_report(self) -> RunReport:
        return _REPORT.validate_python(self.report)


def owed_document(
    report: RunReport,
    *,
    attempt: int,
    installation_id: int,
    five_whys: str,
    linked_issues: list[int],
    scrub: Callable[[str], str],
) -> str | None:
    """The JSON kept in Redis, or None when even trimmed it would pass `MAX_DOCUMENT_BYTES`."""
    phases = tuple(
        dataclasses.replace(p, tests=tuple(t for t in p.tests if _rendered(t)))
        for p in report.phases
    )
    trimmed = dataclasses.replace(report, phases=phases)
    tree = _scrubbed(_REPORT.dump_python(trimmed, mode="json"), scrub)
    for cut in (None, LONG_TEXT_CHARS):
        if cut is not None:
            tree = _cut(tree, cut)
        owed = OwedPublish(
            run_id=report.run_id,
            attempt=attempt,
            installation_id=installation_id,
            repo=report.repo,
            five_whys=five_whys,
            linked_issues=linked_issues,
            report=tree,
        )
        document = owed.model_dump_json()
        if len(document.encode()) <= MAX_DOCUMENT_BYTES:
            return document
    return None


def read_document(document: str | bytes) -> OwedPublish:
    return OwedPublish.model_validate_json(document)


def _rendered(test: TestResult) -> bool:
    """Tests the rest of the report shows: any but a plain pass (a retried one may be flaky)."""
    return test.outcome is not Outcome.PASSED or len(test.attempts) > 1


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrubbed(v, scrub) for v in value]
    if isinstance(value, dict):
        return {scrub(k): _scrubbed(v, scrub) for k, v in value.items()}
    return value


def _cut(value: Any, chars: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= chars else value[:chars] + "…"
    if isinstance(value, list):
        return [_cut(v, chars) for v in value]
    if isinstance(value, dict):
        return {k: _cut(v, chars) for k, v in value.items()}
    return value
