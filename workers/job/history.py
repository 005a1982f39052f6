"""A run's past: read into its report, and its result remembered. History is an extra, never a
reason to lose a result: when the store fails, the report goes without it."""

from __future__ import annotations

import dataclasses
import logging
from typing import Protocol

from bot.core.history import Changes, last_passed_for
from bot.core.report.facts import failure_patterns
from bot.core.results import RunReport
from workers import recall

log = logging.getLogger(__name__)


def with_history(
    history: recall.HistoryStore | None, result: RunReport, *, default_branch: bool = False
) -> RunReport:
    """The report with its past (`default_branch`: this run is of the default branch's head)."""
    if history is None:
        return result
    try:
        return recall.gather(history, result, default_branch=default_branch)
    except Exception:
        log.warning("run %s: history unavailable", result.run_id, exc_info=True)
        return result


def remember(
    history: recall.HistoryStore | None, result: RunReport, *, default_branch: bool
) -> None:
    """The result kept for later runs; `default_branch`: the baseline pull requests are read
    against (a run of the default branch's head)."""
    if history is None:
        return
    try:
        recall.remember(history, result, default_branch=default_branch)
    except Exception:
        log.warning("run %s: history not recorded", result.run_id, exc_info=True)


MAX_COMPARES = 3  # compare requests a run makes for its five whys' evidence


class Comparer(Protocol):
    def compare(self, base: str, head: str) -> Changes: ...


def with_changes(client: Comparer, result: RunReport) -> RunReport:
    """The report with what changed since its failure patterns' tests last passed (GitHub's
    compare API): evidence for the five whys. At most `MAX_COMPARES` requests; a refused
    one leaves that evidence out, never the result."""
    view = result.history
    if view is None or not result.head_sha:
        return result
    bases: list[str] = []
    for pattern in failure_patterns(result):
        found = last_passed_for(view, pattern.tests)
        if found is not None and found.sha != result.head_sha and found.sha not in bases:
            bases.append(found.sha)
    changes = dict(view.changes)
    for base in bases[:MAX_COMPARES]:
        try:
            changes[base] = client.compare(base, result.head_sha)
        except Exception:
            log.warning("run %s: comparing %s failed", result.run_id, base[:7], exc_info=True)
    return dataclasses.replace(result, history=dataclasses.replace(view, changes=changes))
