"""Conclude runs that nobody will conclude: their worker died, or they overran every limit.

Runs periodically (Celery beat). A run is reaped when its heartbeat stopped, when it ran past its
deadline plus a grace period, or when it sat queued longer than any queue should hold it. The
finish is a compare-and-set on the record, so a worker that comes back cannot conclude it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.core.report.check_output import render_ended_early
from bot.core.results import Conclusion
from bot.state.run_records import RunRecord, RunRecords, RunState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReapLimits:
    heartbeat_stale_seconds: float = 90.0
    deadline_grace_seconds: float = 120.0
    queued_max_seconds: float = 6 * 3600.0


def verdict_for(record: RunRecord, now: float, limits: ReapLimits) -> tuple[Conclusion, str] | None:
    """Pure: whether `record` must be reaped, with the conclusion and the reason to show."""
    if record.state is RunState.RUNNING:
        last_beat = record.heartbeat_at or record.started_at or record.created_at
        if now - last_beat > limits.heartbeat_stale_seconds:
            return (
                Conclusion.FAILURE,
                f"The worker running this check stopped responding (last heartbeat "
                f"{int(now - last_beat)} s ago): it was killed or lost. Nothing was concluded "
                "about the code; run `/golden-path run` to try again.",
            )
        if record.deadline_at and now > record.deadline_at + limits.deadline_grace_seconds:
            return (
                Conclusion.TIMED_OUT,
                "The run went past its `timeout_minutes` and was stopped.",
            )
    elif record.state is RunState.QUEUED and now - record.created_at > limits.queued_max_seconds:
        return (
            Conclusion.FAILURE,
            f"No worker picked this run up within {int(limits.queued_max_seconds // 60)} minutes; "
            "run `/golden-path run` to queue it again.",
        )
    return None


def reap(
    records: RunRecords,
    github_for: Callable[[int, str], Any],
    *,
    now: float | None = None,
    limits: ReapLimits = ReapLimits(),
) -> list[str]:
    """Conclude every stuck run; returns the ids reaped."""
    now = time.time() if now is None else now
    reaped = []
    for record in records.active():
        decision = verdict_for(record, now, limits)
        if decision is None:
            continue
        conclusion, reason = decision
        if record.state is RunState.RUNNING:
            # Ask a live-but-late worker to stop too (a queued run has no worker to ask: a
            # cancel would complete it as `cancelled` and leave its check run queued).
            records.request_cancel(record.run_id, reason)
        if records.finish(record.run_id, conclusion.value, reason) is None:
            continue
        reaped.append(record.run_id)
        log.warning("reaped run %s (%s): %s", record.run_id, conclusion.value, reason)
        if record.check_run_id is not None:
            _conclude_check(
                github_for(record.installation_id, record.repo), record, conclusion, reason
            )
    return reaped


def _conclude_check(client: Any, record: RunRecord, conclusion: Conclusion, reason: str) -> None:
    output = render_ended_early(record, conclusion, reason)
    try:
        client.update_check_run(
            record.check_run_id,
            status="completed",
            conclusion=conclusion.value,
            title=output.title,
            summary=output.summary,
        )
    except Exception:
        log.exception("reaper could not conclude check run %s", record.check_run_id)
