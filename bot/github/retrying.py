"""One GitHub request, tried again on GitHub's bad days within a bound (edge).

`faults.decide` says whether and how long to wait; `budget` says whether this repository may still
retry and whether the installation is paused for everybody. What is left for this module is the
loop, and turning PyGithub's and the transport's exceptions into an `Answer`.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import github
import requests
from urllib3.exceptions import MaxRetryError

from bot.github.budget import Budget, LocalBudget
from bot.github.faults import Answer, Bound, Fault, decide

log = logging.getLogger(__name__)
T = TypeVar("T")
TRANSPORT_ERRORS = (github.GithubException, requests.RequestException, MaxRetryError)


def answer_of(error: Exception) -> Answer:
    """What GitHub (or the lack of it) said, from the exception PyGithub or requests raised."""
    if isinstance(error, github.GithubException):
        data = error.data if isinstance(error.data, dict) else {}
        message = str(data.get("message") or "")
        return Answer(error.status, dict(error.headers or {}), message)
    found = re.search(r"too many (\d{3}) error", str(error))
    return Answer(int(found.group(1)) if found else None, {}, str(error)[:200])


class Paused(Exception):
    """The installation is paused (a rate limit another process met) for longer than the bound."""

    def __init__(self, seconds: float):
        super().__init__(f"GitHub rate limit: paused for {seconds:.0f} s")
        self.seconds = seconds


@dataclass
class Retrier:
    """Runs a request callable, retrying GitHub faults; shared by every client of one process."""

    budget: Budget = field(default_factory=LocalBudget)
    bound: Bound = field(default_factory=Bound)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    on_retry: Callable[[str, Fault], None] | None = None  # (what, fault): counts for the suite

    def call(
        self,
        send: Callable[[], T],
        *,
        what: str,
        installation_id: int | None,
        repo: str = "",
        idempotent: bool = True,
    ) -> T:
        """`send()`'s value; its last exception (a `TRANSPORT_ERRORS` one) when out of tries, or
        `Paused` when the installation is paused past the bound."""
        waited = 0.0
        attempt = 0
        while True:
            pause = self.budget.wait_before(installation_id)
            if pause > 0:
                if waited + pause > self.bound.total_seconds:
                    raise Paused(pause)  # no request: GitHub would only refuse it again
                self.sleep(pause)
                waited += pause
            try:
                return send()
            except TRANSPORT_ERRORS as error:
                answer = answer_of(error)
                decision = decide(
                    answer,
                    attempt=attempt,
                    waited=waited,
                    bound=self.bound,
                    now=self.clock(),
                    idempotent=idempotent,
                    rng=self.rng,
                )
                if decision.fault in (Fault.PRIMARY, Fault.SECONDARY):
                    self.budget.pause(installation_id, decision.wait)
                if not decision.retry:
                    log.warning("%s: %s", what, decision.why)
                    raise
                if not self.budget.take_retry(installation_id, repo):
                    log.warning("%s: %s's retry budget is spent; failing now", what, repo or "app")
                    raise
                log.info("%s: %s", what, decision.why)
                if self.on_retry is not None:
                    self.on_retry(what, decision.fault)
                self.sleep(decision.wait)
                waited += decision.wait
                attempt += 1
