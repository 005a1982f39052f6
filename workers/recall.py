"""The run's past, read before reporting and written after: the shell between a finished
`RunReport` and `bot.state.history` (decisions are in `bot.core.history`)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import Protocol

from bot.core.history import (
    HistoryView,
    Occurrence,
    RunEntry,
    flaky_history,
    last_passing,
    mention,
    tag_pattern,
)
from bot.core.report.facts import failure_patterns
from bot.core.report.past import current_entry
from bot.core.results import RunReport
from bot.state.history import DefaultBranchRun, outcomes_of

MAX_TESTS_LOOKED_UP = 200  # failed and flaky tests whose past a report shows


class HistoryStore(Protocol):
    def pr_runs(self, repo: str, pr_number: int) -> list[RunEntry]: ...
    def pattern_occurrences(self, repo: str, key: str) -> list[Occurrence]: ...
    def test_occurrences(self, repo: str, node_id: str) -> list[Occurrence]: ...
    def default_branch(self, repo: str) -> DefaultBranchRun | None: ...
    def record_run(
        self,
        repo: str,
        entry: RunEntry,
        *,
        patterns: Iterable[tuple[str, str]],
        tests: Iterable[tuple[str, str]],
    ) -> None: ...


def gather(store: HistoryStore, report: RunReport, *, default_branch: bool = False) -> RunReport:
    """The report with its `history`: pattern tags, flaky rates, the PR's runs, the mention."""
    if report.conclusion is None:
        return report
    default = store.default_branch(report.repo)
    failing_on_default = set(default.patterns) if default else set()
    patterns = {
        p.key: tag_pattern(
            store.pattern_occurrences(report.repo, p.key),
            pr_number=report.pr_number,
            failing_on_default=p.key in failing_on_default,
        )
        for p in failure_patterns(report)
    }
    looked_up = [t for p in report.phases for t in p.tests if t.is_failure or t.flaky]
    tests, passed = {}, {}
    for test in looked_up[:MAX_TESTS_LOOKED_UP]:
        past = store.test_occurrences(report.repo, test.node_id)
        tests[test.node_id] = flaky_history(past)
        if (found := last_passing(past)) is not None:
            passed[test.node_id] = found
    pr_runs = tuple(store.pr_runs(report.repo, report.pr_number)) if report.pr_number else ()
    view = HistoryView(
        default_branch_run=default_branch,
        patterns=patterns,
        tests=tests,
        last_passed=passed,
        pr_runs=pr_runs,
        mention=mention(pr_runs, report.conclusion.value, report.requested_by),
    )
    return dataclasses.replace(report, history=view)


def remember(
    store: HistoryStore, report: RunReport, *, default_branch: bool = False, at: float | None = None
) -> None:
    """Record a finished run (a cancelled one proves nothing and is not history)."""
    if report.conclusion is None or report.conclusion.value == "cancelled":
        return
    entry = current_entry(report, time.time() if at is None else at)
    entry = entry.model_copy(update={"default_branch": default_branch})
    store.record_run(
        report.repo,
        entry,
        patterns=[(p.key, p.short) for p in failure_patterns(report)],
        tests=outcomes_of([t for p in report.phases for t in p.tests]),
    )
