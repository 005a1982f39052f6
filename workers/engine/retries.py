"""Retries (`retries: 0-3` per phase): after the phase's own run, each failed test runs again
alone until it passes or its retries are spent, inside what is left of the phase's timeout. A
test that passes on a retry is flaky; the plan's `flaky` policy says whether it counts as passed.

Decisions only: running a test is the `rerun` callable the executor hands in."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

from bot.core.plan import FlakyPolicy
from bot.core.results import Attempt, Outcome, TestResult

Rerun = Callable[[str, float], TestResult]  # (node id, seconds allowed) -> the retry's result
MIN_RETRY_SECONDS = 1.0  # less than this left of the phase's timeout: no retry is started


def attempt_of(test: TestResult) -> Attempt:
    return Attempt(test.outcome, test.duration, test.message)


def retry_failures(
    tests: Sequence[TestResult],
    *,
    retries: int,
    rerun: Rerun,
    seconds_left: Callable[[], float],
) -> tuple[TestResult, ...]:
    """Every test, failed ones retried; a retried test carries all its attempts, first first."""
    out = []
    for test in tests:
        if not test.is_failure or retries <= 0:
            out.append(test)
            continue
        attempts = [attempt_of(test)]
        for _ in range(retries):
            left = seconds_left()
            if left < MIN_RETRY_SECONDS:
                break
            again = rerun(test.node_id, left)
            attempts.append(attempt_of(again))
            if again.outcome is Outcome.PASSED:
                break
        out.append(dataclasses.replace(test, attempts=tuple(attempts)))
    return tuple(out)


def apply_policy(
    tests: Sequence[TestResult], counts: Mapping[str, int] | None, policy: FlakyPolicy
) -> tuple[tuple[TestResult, ...], dict[str, int] | None]:
    """Final outcomes: with `flaky: pass` a flaky test counts as passed (counts moved with it);
    with `flaky: fail` it stays failed. Either way it keeps its attempts, so reports show it."""
    if policy is FlakyPolicy.FAIL:
        return tuple(tests), dict(counts) if counts is not None else None
    moved = dict(counts) if counts is not None else None
    out = []
    for test in tests:
        if test.flaky and test.is_failure:
            if moved is not None:
                moved["failed" if test.outcome is Outcome.FAILED else "errors"] -= 1
                moved["passed"] += 1
            test = dataclasses.replace(test, outcome=Outcome.PASSED)
        out.append(test)
    return tuple(out), moved
