"""The reconcile loop's share of publishing: a run whose worker died after concluding its check
run still owes GitHub its five-whys issues, PR comment and linked issues' comments and labels
(`bot.core.owed_publish`). Once the worker's hold on the document lapses, this posts the rest
with the same markers and idempotency keys the worker used, so nothing is posted twice, and
records the failure patterns (with their five-whys links) for the dashboard. The run's history and
tracking issue are not redone here (see `RELIABILITY.md`).

A document is dropped without posting when it no longer matches its run: the record is gone, or
another attempt owns the run (a worker lost before its record completed is restarted, and the new
attempt owes its own report). A run not yet completed is left alone. A try that fails keeps the
document, held by this loop for a backoff that doubles with each try, up to `MAX_TRIES`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.idempotency import Ledger
from bot.core.owed_publish import OwedPublish, read_document
from bot.core.plan import FiveWhys
from bot.core.run_model import RunRecord
from bot.core.scrub import Scrubber
from bot.state.run_records import RecordNotFound, RunState
from workers import publish
from workers.job import summary

log = logging.getLogger(__name__)

MAX_TRIES = 6
FIRST_BACKOFF_SECONDS = 30.0


class Owed(Protocol):
    """`bot.state.owed_publishes.OwedPublishes`, as this loop uses it."""

    def run_ids(self) -> list[str]: ...
    def get(self, run_id: str) -> bytes | None: ...
    def take(self, run_id: str, hold_seconds: float) -> bool: ...
    def settle(self, run_id: str) -> None: ...


class Records(Protocol):
    def get(self, run_id: str) -> RunRecord: ...
    def set_fields(self, run_id: str, **fields: Any) -> RunRecord | None: ...


class Client(publish.PublishClient, Protocol):
    @property
    def token(self) -> str: ...


@dataclass
class OwedPublisher:
    owed: Owed
    records: Records
    github_for: Callable[[int, str], Client]
    ledger: Ledger | None = None
    bot_secrets: tuple[str, ...] = ()

    def finish(self) -> list[str]:
        """One pass: the run ids whose owed report was posted now."""
        posted = []
        for run_id in self.owed.run_ids():
            raw = self.owed.get(run_id)
            if raw is None:
                continue
            document = read_document(raw)
            try:
                record = self.records.get(run_id)
            except RecordNotFound:
                self.owed.settle(run_id)
                continue
            if record.attempt != document.attempt:
                log.info("run %s: its owed report is an earlier attempt's; dropped", run_id)
                self.owed.settle(run_id)
                continue
            if record.state is not RunState.COMPLETED:
                continue  # its worker is still at it (it completes the record right after)
            if not self.owed.take(run_id, self._backoff(run_id)):
                continue  # its worker (or another reconciler) holds it
            if self._post(document):
                self.owed.settle(run_id)
                posted.append(run_id)
        return posted

    def _backoff(self, run_id: str) -> float:
        tries = self._tries.get(run_id, 0)
        return FIRST_BACKOFF_SECONDS * 2.0**tries

    def _post(self, document: OwedPublish) -> bool:
        run_id = document.run_id
        tries = self._tries[run_id] = self._tries.get(run_id, 0) + 1
        result = publish.PublishResult(check_run_id=0)
        try:
            client = self.github_for(document.installation_id, document.repo)
            scrubber = Scrubber([client.token, *self.bot_secrets])
            report = document.run_report()
            publish.publish_rest(
                client,
                report,
                result,
                five_whys=FiveWhys(document.five_whys),
                linked=document.linked_issues,
                scrubber=scrubber,
                ledger=self.ledger,
            )
            patterns = summary.patterns(report, result.five_whys, scrubber.scrub)
            if patterns:  # the dashboard's failure patterns, with their five-whys links
                self.records.set_fields(run_id, patterns=patterns)
        except Exception as error:  # noqa: BLE001 - a token or Redis failure: next pass
            result.errors.append(f"{type(error).__name__}: {error}")
        if not result.errors:
            log.warning("run %s: posted the report its lost worker still owed", run_id)
            self._tries.pop(run_id, None)
            return True
        if tries >= MAX_TRIES:
            log.error("run %s: giving up its owed report: %s", run_id, "; ".join(result.errors))
            self._tries.pop(run_id, None)
            return True
        log.warning("run %s: owed report not all posted: %s", run_id, "; ".join(result.errors))
        return False

    def __post_init__(self) -> None:
        self._tries: dict[str, int] = {}  # per process: a new worker starts counting again
