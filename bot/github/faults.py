"""Which GitHub failures are worth another try, and how long to wait first (pure, no I/O).

GitHub's bad days come in four kinds, each with its own honest wait:
- a 5xx or a timeout: transient; exponential backoff with full jitter, so that many workers that
  failed together do not come back together;
- a secondary rate limit (403/429 with `retry-after`, or a message naming it): wait as told;
- the primary rate limit (`x-ratelimit-remaining: 0`): wait until `x-ratelimit-reset`;
- anything else (401, 404, 422, a 403 without rate-limit signs): not retried.

Every retry happens inside a bound (attempts and total seconds); past it the caller gets a clear
failure rather than a worker that waits for an hour. A request that is not idempotent (a POST that
creates a comment or an issue) is never repeated after a 5xx or a timeout: GitHub may have done it
already; only the caller, which knows the write's idempotency key, can tell (`bot.state.ledger`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    NONE = "none"  # not a fault we retry
    TRANSIENT = "transient"  # 5xx, timeout, connection reset
    SECONDARY = "secondary"  # secondary rate limit
    PRIMARY = "primary"  # primary rate limit exhausted


@dataclass(frozen=True)
class Answer:
    """What came back: an HTTP status with its headers and message, or no answer (status None)."""

    status: int | None
    headers: Mapping[str, str]
    message: str = ""

    def header(self, name: str) -> str | None:
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower())


@dataclass(frozen=True)
class Bound:
    """How far one call may go: attempts in all, seconds waited in all, seconds in one wait."""

    attempts: int = 5
    total_seconds: float = 60.0
    longest_wait: float = 30.0
    base: float = 0.5


@dataclass(frozen=True)
class Decision:
    retry: bool
    wait: float
    fault: Fault
    why: str


def classify(answer: Answer) -> Fault:
    status = answer.status
    if status is None or 500 <= status <= 599:
        return Fault.TRANSIENT
    if status not in (403, 429):
        return Fault.NONE
    if answer.header("x-ratelimit-remaining") == "0":
        return Fault.PRIMARY
    message = answer.message.lower()
    if answer.header("retry-after") is not None or "secondary rate limit" in message:
        return Fault.SECONDARY
    if status == 429 or "rate limit" in message:
        return Fault.SECONDARY
    return Fault.NONE


def wait_for(fault: Fault, answer: Answer, attempt: int, now: float, rng: random.Random) -> float:
    """Seconds to wait before attempt `attempt + 1` (attempt counts from 0)."""
    if fault is Fault.PRIMARY:
        reset = _number(answer.header("x-ratelimit-reset"))
        return max(1.0, reset - now) if reset is not None else 60.0
    if fault is Fault.SECONDARY:
        after = _number(answer.header("retry-after"))
        # GitHub: without retry-after, wait at least a minute; we jitter a little above it.
        return after if after is not None else 60.0 + rng.uniform(0, 5)
    return rng.uniform(0, 0.5 * 2**attempt)  # full jitter


def decide(
    answer: Answer,
    *,
    attempt: int,
    waited: float,
    bound: Bound,
    now: float,
    idempotent: bool = True,
    rng: random.Random | None = None,
) -> Decision:
    """Whether to try again after `answer`, having made `attempt + 1` tries and waited `waited`."""
    fault = classify(answer)
    if fault is Fault.NONE:
        return Decision(False, 0.0, fault, f"HTTP {answer.status} is not retried")
    if fault is Fault.TRANSIENT and not idempotent:
        return Decision(False, 0.0, fault, "a create that may have happened is not repeated here")
    if attempt + 1 >= bound.attempts:
        return Decision(False, 0.0, fault, f"gave up after {attempt + 1} tries")
    wait = wait_for(fault, answer, attempt, now, rng or random.Random())
    if fault is Fault.TRANSIENT:
        wait = max(wait, bound.base * (attempt + 1) / 4)
    if wait > bound.longest_wait or waited + wait > bound.total_seconds:
        return Decision(False, wait, fault, f"GitHub asks to wait {wait:.0f} s: past the bound")
    return Decision(True, wait, fault, f"{fault.value}: retrying in {wait:.1f} s")


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
