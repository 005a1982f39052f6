"""A run's past: read into its report, and its result remembered. History is an extra, never a
reason to lose a result: when the store fails, the report goes without it."""

from __future__ import annotations

import logging

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
