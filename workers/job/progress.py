"""A run's progress while it goes: every step recorded (for `/golden-path status`), and shown on
the check run at most every `MIN_INTERVAL` seconds, the latest state always shown (`throttle`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.core.results import RunReport
from bot.core.scrub import Scrubber
from workers import publish
from workers.job import summary
from workers.job.ports import Records, RunClient
from workers.job.redis_grace import RedisGrace
from workers.job.throttle import Throttled

log = logging.getLogger(__name__)

MIN_INTERVAL = 3.0


class ProgressReporter:
    """`scrubber` is asked at each update: the run learns more secrets as it goes (the plan's
    `pass_env` values), and every update masks them all."""

    def __init__(
        self,
        client: RunClient,
        records: Records,
        grace: RedisGrace,
        run_id: str,
        check_run_id: int | None,
        scrubber: Callable[[], Scrubber],
    ) -> None:
        self._client = client
        self._records = records
        self._grace = grace
        self._run_id = run_id
        self._check_run_id = check_run_id
        self._scrubber = scrubber
        self._to_github: Throttled[RunReport] = Throttled(self._publish, MIN_INTERVAL)

    def show(self, progress: RunReport, *, to_github: bool = True) -> None:
        self._grace.ask(lambda: self._record(progress), None, "progress")
        if to_github:
            self._to_github.offer(progress)

    def on_phase(self, progress: RunReport) -> None:
        """The executor's callback. When a phase has just ended and none runs, GitHub hears of
        it with the next phase's start or with the conclusion right after: an update now would
        be one more write for nothing."""
        self.show(progress, to_github=progress.current_phase is not None)

    def close(self) -> None:
        """Nothing more goes to GitHub: a held update must never overwrite the conclusion."""
        self._to_github.close()

    def _record(self, progress: RunReport) -> None:
        current = progress.current_phase
        scrub = self._scrubber().scrub
        self._records.set_fields(
            self._run_id,
            current_phase=current.phase_id if current else None,
            verdicts=[summary.verdict(p, scrub) for p in progress.phases],
        )

    def _publish(self, progress: RunReport) -> None:
        try:
            if self._check_run_id is None:
                raise RuntimeError("run has no check run")
            publish.publish_progress(
                self._client,
                progress,
                check_run_id=self._check_run_id,
                scrubber=self._scrubber(),
            )
        except Exception:  # one update missed is not worth stopping the run for
            log.warning("run %s: progress update failed", self._run_id, exc_info=True)
