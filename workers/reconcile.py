"""The reconcile loop: every `worker` process looks after lost runs and leftovers on its own.

A thread of the `events` Celery worker (started by a bootstep, see `workers.celery_app`) runs one
pass when the worker starts and then every `GOLDEN_PATH_REAP_INTERVAL_SECONDS`: the reaper (restart
or conclude runs whose worker is gone), the reports lost workers still owe after their check run
(`workers.owed_publish`), then the disk sweep. So a lost run is noticed within a
minute even where no `beat` is deployed; `beat` still sends `golden_path.reap` where it is.

Redis blips: a pass that cannot reach Redis does nothing (it cannot tell a dead run from a silent
one), and after an outage the reaper waits one staleness window before trusting heartbeats again,
since every run's heartbeat stopped during the outage too (contract §5.7: a blip changes nothing).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from workers import disk
from workers.reaper import Reaper

log = logging.getLogger(__name__)

SLOW_PING_SECONDS = 2.0


@dataclass
class Reconciler:
    reaper: Reaper
    ping: Callable[[], object]
    running_ids: Callable[[], set[str]]
    workdir: Path
    limits: disk.DiskLimits
    finish_owed: Callable[[], list[str]] = list  # reports lost workers still owe GitHub
    interval: float = 10.0
    trust_after: float = 30.0  # seconds of healthy Redis before stale heartbeats mean death
    clock: Callable[[], float] = time.monotonic
    _stop: threading.Event = field(default_factory=threading.Event)
    _outage_ended: float | None = None
    _in_outage: bool = False
    _thread: threading.Thread | None = None

    def run_once(self) -> None:
        """One pass; never raises (a pass that fails is logged, the next one tries again)."""
        asked = self.clock()
        try:
            self.ping()
        except (redis.RedisError, OSError) as error:
            log.warning("reconcile: Redis unreachable (%s); nothing decided", error)
            self._in_outage = True
            return
        if self.clock() - asked > SLOW_PING_SECONDS:  # paused or overloaded: beats were held too
            log.warning("reconcile: Redis took %.1f s to answer", self.clock() - asked)
            self._in_outage = True
        if self._in_outage:
            self._in_outage = False
            self._outage_ended = self.clock()
        try:
            if self._trusts_heartbeats():
                acted = self.reaper.reap()
                if acted:
                    log.warning("reconcile: acted on run(s) %s", ", ".join(acted))
                self.finish_owed()
            running = self.running_ids()
            removed = disk.sweep(self.workdir, running.__contains__, self.limits)
            if removed:
                log.info("reconcile: removed %d leftover folder(s)", len(removed))
        except (redis.RedisError, OSError) as error:
            log.warning("reconcile pass interrupted: %s", error)
            self._in_outage = True
        except Exception:
            log.exception("reconcile pass failed")

    def _trusts_heartbeats(self) -> bool:
        ended = self._outage_ended
        return ended is None or self.clock() - ended >= self.trust_after

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gp-reconcile", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        self.run_once()
        while not self._stop.wait(self.interval):
            self.run_once()
