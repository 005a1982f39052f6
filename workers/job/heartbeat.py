"""A running attempt's pulse: it tells the run records it is alive, keeps its environment's
lock, and notices when the reaper has given the run to another attempt."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from workers.job.ports import Lock, Records

log = logging.getLogger(__name__)


class Heartbeat:
    """Beats every `seconds` on its own thread from `start()` to `stop()`. `lost` turns True
    when the record says the run is no longer this attempt's: the run then stops at once and
    publishes nothing (the attempt that owns it reports it)."""

    def __init__(
        self,
        records: Records,
        run_id: str,
        attempt: int,
        seconds: float,
        lock: Callable[[], Lock | None],
        also: Callable[[], None] = lambda: None,
    ) -> None:
        self._records = records
        self._run_id = run_id
        self._attempt = attempt
        self._seconds = seconds
        self._lock = lock  # the environment's lock once the run has joined its line
        self._also = also  # whatever else this attempt keeps alive (the hold on its owed report)
        self._stopped = threading.Event()
        self.lost = False

    def start(self) -> None:
        threading.Thread(target=self._beat_until_stopped, name="gp-heartbeat", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()

    def beat(self) -> None:
        """One beat; a failing one (Redis away) is logged, and the next one tries again."""
        try:
            mine = self._records.heartbeat(self._run_id, self._attempt)
            if mine is False:  # restarted elsewhere: stop at once, publish nothing
                log.warning("run %s: another attempt owns this run now", self._run_id)
                self.lost = True
            lock = self._lock()
            if lock is not None:
                lock.keep_alive()
            self._also()
        except Exception:
            log.warning("run %s: heartbeat failed", self._run_id, exc_info=True)

    def _beat_until_stopped(self) -> None:
        while not self._stopped.wait(self._seconds):
            self.beat()
