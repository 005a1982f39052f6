"""Runs that nobody will finish: restart them once, or conclude them honestly.

Called by the reconcile loop of every `worker` process (and by Celery beat where deployed). A run
whose heartbeat stopped lost its worker: its first loss restarts it on the same commit (contract
§5.6), a second loss concludes it `failure` saying nothing was concluded about the code. A run past
its deadline is `timed_out`; one queued longer than any queue should hold it is a `failure`.

Every change of state is a compare-and-set on the record, so two reconcilers (or a worker that was
only slow) cannot both act. A conclusion is retried on later passes until GitHub accepts it (with
backoff, inside a total budget); the record is marked finished only then, so a check run can never
stay `in_progress` because one request met a rate limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import redis

from bot.core.report.check_output import ended_early_update, render_queued_output
from bot.core.results import Conclusion
from bot.github.client import GitHubError, GitHubRateLimited
from bot.handlers.context import CheckRunUpdates
from bot.state.run_records import RunRecord, RunRecords, RunState

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2
RESTARTED_NOTE = "restarted: the worker running it was lost"
LOST_TWICE = (
    "The worker running this check was lost twice (last heartbeat {age} s ago): nothing was "
    "concluded about the code. Run `/golden-path run` to try again."
)
# Keep asking GitHub for about an hour (5 s doubling to 5 min between tries), then log and let go.
MAX_CONCLUDE_TRIES = 16
CLAIM_SECONDS = 120.0
SLOW_READ_SECONDS = 2.0


class Action(StrEnum):
    RESTART = "restart"
    CONCLUDE = "conclude"
    RELAUNCH = "relaunch"  # a restarted run whose task was never sent (its reconciler died)


@dataclass(frozen=True)
class ReapLimits:
    heartbeat_stale_seconds: float = 30.0
    deadline_grace_seconds: float = 120.0
    queued_max_seconds: float = 6 * 3600.0
    relaunch_after_seconds: float = 30.0


@dataclass(frozen=True)
class Reap:
    action: Action
    reason: str
    conclusion: Conclusion | None = None


class Launcher(Protocol):
    def launch(self, run_id: str) -> str: ...


def verdict_for(record: RunRecord, now: float, limits: ReapLimits) -> Reap | None:
    """Pure: what to do about `record`, or None to leave it alone."""
    if record.pending_conclusion:  # decided on an earlier pass; GitHub has not taken it yet
        return Reap(Action.CONCLUDE, record.reason or "", Conclusion(record.pending_conclusion))
    if record.state is RunState.RUNNING:
        last_beat = record.heartbeat_at or record.started_at or record.created_at
        age = int(now - last_beat)
        if now - last_beat > limits.heartbeat_stale_seconds:
            if record.cancel_reason:  # it was being stopped anyway: say why, do not rerun
                return Reap(Action.CONCLUDE, record.cancel_reason, Conclusion.CANCELLED)
            if record.attempt < MAX_ATTEMPTS:
                return Reap(Action.RESTART, f"{RESTARTED_NOTE} (no heartbeat for {age} s)")
            return Reap(Action.CONCLUDE, LOST_TWICE.format(age=age), Conclusion.FAILURE)
        if record.deadline_at and now > record.deadline_at + limits.deadline_grace_seconds:
            return Reap(
                Action.CONCLUDE,
                "The run went past its `timeout_minutes` and was stopped.",
                Conclusion.TIMED_OUT,
            )
    elif record.state is RunState.QUEUED:
        if now - record.created_at > limits.queued_max_seconds:
            return Reap(
                Action.CONCLUDE,
                f"No worker picked this run up within "
                f"{int(limits.queued_max_seconds // 60)} minutes; run `/golden-path run` to "
                "queue it again.",
                Conclusion.FAILURE,
            )
        restarted = record.restarted_at
        if (
            restarted is not None
            and record.task_id is None
            and now - restarted > limits.relaunch_after_seconds
        ):
            return Reap(Action.RELAUNCH, "its restart was never queued")
    return None


def may_retry_conclusion(record: RunRecord, now: float) -> bool:
    """Pure: whether this pass should (again) try to conclude the check run."""
    return record.conclude_next_at is None or now >= record.conclude_next_at


def next_conclusion_try(tries: int, now: float) -> float:
    """Pure: when to ask GitHub again after `tries` refusals (5 s doubling, at most 5 min)."""
    return now + min(300.0, 5.0 * 2.0 ** max(0, tries - 1))


@dataclass
class Reaper:
    records: RunRecords
    github_for: Callable[[int, str], CheckRunUpdates]
    launcher: Launcher | None = None
    release_lock: Callable[[RunRecord], None] | None = None  # frees a lost attempt's place
    limits: ReapLimits = ReapLimits()
    clock: Callable[[], float] = time.time

    def reap(self) -> list[str]:
        """One pass over the unfinished runs; returns the ids acted on."""
        asked = time.monotonic()
        active = self.records.active()
        if time.monotonic() - asked > SLOW_READ_SECONDS:
            # Redis was paused or overloaded: every heartbeat was held up as well, so a stale
            # one says nothing about its worker. Decide on a later, prompt pass.
            log.warning(
                "reaper: reading the runs took %.1f s; deciding nothing", time.monotonic() - asked
            )
            return []
        acted = []
        for record in active:
            decision = verdict_for(record, self.clock(), self.limits)
            if decision is None:
                continue
            claim = f"reap:{record.run_id}:{record.attempt}"
            if not self.records.claim(claim, CLAIM_SECONDS):
                continue
            try:
                if self._act(record, decision):
                    acted.append(record.run_id)
            finally:
                self.records.unclaim(claim)
        return acted

    def _act(self, record: RunRecord, decision: Reap) -> bool:
        if decision.action is Action.RESTART:
            return self._restart(record, decision.reason)
        if decision.action is Action.RELAUNCH:
            return self._launch(record)
        assert decision.conclusion is not None
        return self._conclude(record, decision.conclusion, decision.reason)

    def _restart(self, record: RunRecord, reason: str) -> bool:
        if self.launcher is None:  # nobody to hand it to: conclude honestly instead
            reason = LOST_TWICE.format(age=int(self.clock() - (record.heartbeat_at or 0)))
            return self._conclude(record, Conclusion.FAILURE, reason)
        restarted = self.records.restart(
            record.run_id, attempt=record.attempt, heartbeat_at=record.heartbeat_at
        )
        if restarted is None:
            return False
        log.warning("restarting run %s (attempt %d): %s", record.run_id, restarted.attempt, reason)
        if self.release_lock is not None:
            try:
                self.release_lock(record)
            except (redis.RedisError, OSError):
                log.warning("run %s: could not free the lost attempt's place", record.run_id)
        if record.check_run_id is not None:
            output = render_queued_output(f"a worker ({RESTARTED_NOTE})", None)
            try:
                self.github_for(record.installation_id, record.repo).update_check_run(
                    record.check_run_id,
                    status="queued",
                    title=f"Queued again: {RESTARTED_NOTE}",
                    summary=f"**Restarted**: {reason}. The run starts again on the same commit "
                    f"({record.head_sha[:7]}).\n\n{output.summary}",
                )
            except GitHubError as error:  # the run still restarts; its progress updates follow
                log.warning("run %s: could not mark the restart: %s", record.run_id, error)
        return self._launch(restarted)

    def _launch(self, record: RunRecord) -> bool:
        assert self.launcher is not None
        task_id = self.launcher.launch(record.run_id)
        self.records.update(record.run_id, lambda r: _set_task(r, record.attempt, task_id))
        return True

    def _conclude(self, record: RunRecord, conclusion: Conclusion, reason: str) -> bool:
        now = self.clock()
        if not may_retry_conclusion(record, now):
            return False
        if record.state is RunState.RUNNING and not record.cancel_reason:
            # Ask a live-but-late worker to stop too (a queued run has no worker to ask).
            self.records.request_cancel(record.run_id, reason)
        if record.check_run_id is not None:
            try:
                client = self.github_for(record.installation_id, record.repo)
                fields = ended_early_update(record, conclusion, reason)
                client.update_check_run(record.check_run_id, **fields)
            except GitHubError as error:
                return self._concluding_later(record, conclusion, reason, error, now)
        if self.records.finish(record.run_id, conclusion.value, reason) is None:
            return False
        log.warning("reaped run %s (%s): %s", record.run_id, conclusion.value, reason)
        return True

    def _concluding_later(
        self,
        record: RunRecord,
        conclusion: Conclusion,
        reason: str,
        error: GitHubError,
        now: float,
    ) -> bool:
        tries = record.conclude_tries + 1
        pointless = not isinstance(error, GitHubRateLimited) and error.status in (404, 410, 422)
        if pointless or tries >= MAX_CONCLUDE_TRIES:
            log.error("run %s: giving up concluding its check run: %s", record.run_id, error)
            self.records.finish(record.run_id, conclusion.value, reason)
            return True
        log.warning("run %s: GitHub refused the conclusion (%s); retrying", record.run_id, error)
        self.records.set_fields(
            record.run_id,
            pending_conclusion=conclusion.value,
            reason=reason,
            conclude_tries=tries,
            conclude_next_at=next_conclusion_try(tries, now),
        )
        return False


def _set_task(record: RunRecord, attempt: int, task_id: str) -> bool:
    if record.state is not RunState.QUEUED or record.attempt != attempt:
        return False
    record.task_id = task_id
    return True


def reap(
    records: RunRecords,
    github_for: Callable[[int, str], CheckRunUpdates],
    *,
    now: float | None = None,
    limits: ReapLimits = ReapLimits(),
    launcher: Launcher | None = None,
) -> list[str]:
    """One pass (kept for callers that build no `Reaper`)."""
    clock = (lambda: now) if now is not None else time.time
    return Reaper(records, github_for, launcher, limits=limits, clock=clock).reap()
