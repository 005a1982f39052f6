"""`/golden-path rerun-failed`: what to run again, and how the new results join the earlier run's.

Pure. The earlier run is read from what its record kept (`workers/job/summary.py`): per phase its
status, pytest's counts, its tests (bounded) and the ids of its failed and errored tests.

- A phase that met its criteria is **carried over**: its result stands, nothing of it runs.
- A phase that failed with failed or errored tests runs **only those tests**; the tests that
  passed before keep their result, and a test that passes now is flaky (it failed, then passed).
- A phase that failed without a test to name (p95 too slow, a session that did not start, a
  timeout before any result) or that never ran (fail-fast, cancel, setup) runs **in full**:
  there is nothing to carry over, and carrying a failure over would make the gate unpassable.
- A phase the earlier run did not select stays not selected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.results import (
    COUNT_WORD_OF,
    COUNT_WORDS,
    Attempt,
    Outcome,
    PhaseStatus,
    PhaseVerdict,
    TestResult,
)

MAX_RERUN_TESTS = 500  # failed ids a record keeps per phase (and so runs again at most)

_FAILED_STATUSES = {PhaseStatus.FAILED.value, PhaseStatus.TIMED_OUT.value}


@dataclass(frozen=True)
class RerunSelection:
    tests: Mapping[str, tuple[str, ...]]  # phase id -> node ids to run again
    whole: tuple[str, ...] = ()  # phases run in full
    carried: tuple[str, ...] = ()  # phases whose earlier result stands

    @property
    def phases(self) -> tuple[str, ...]:
        """Every phase the new run shows a result for (run, partly run or carried over)."""
        return (*self.tests, *self.whole, *self.carried)

    @property
    def test_count(self) -> int:
        return sum(len(ids) for ids in self.tests.values())

    @property
    def anything_to_run(self) -> bool:
        return bool(self.tests or self.whole)


def select(verdicts: Sequence[Mapping[str, Any]]) -> RerunSelection:
    """What a rerun of the run whose stored verdicts these are runs, phase by phase."""
    tests: dict[str, tuple[str, ...]] = {}
    whole: list[str] = []
    carried: list[str] = []
    for stored in verdicts:
        phase_id, status = str(stored.get("phase_id", "")), str(stored.get("status", ""))
        if not phase_id or status == PhaseStatus.NOT_SELECTED.value:
            continue
        if status == PhaseStatus.PASSED.value:
            carried.append(phase_id)
        elif status in _FAILED_STATUSES and (ids := failed_ids(stored)):
            tests[phase_id] = ids
        else:
            whole.append(phase_id)
    return RerunSelection(tests=tests, whole=tuple(whole), carried=tuple(carried))


def failed_ids(stored: Mapping[str, Any]) -> tuple[str, ...]:
    """The stored phase's failed and errored test ids (older records: from its kept tests)."""
    ids = stored.get("failed_ids")
    if ids is None:
        ids = [
            t.get("id")
            for t in stored.get("tests") or ()
            if t.get("outcome") in (Outcome.FAILED.value, Outcome.ERROR.value)
        ]
    usable = (str(i) for i in ids if i and _usable_id(str(i)))
    return tuple(dict.fromkeys(usable))[:MAX_RERUN_TESTS]


def _usable_id(node_id: str) -> bool:
    """A node id the tests reported can go on pytest's command line: never as an option."""
    return not node_id.startswith("-") and node_id.isprintable() and "***" not in node_id


def stored_counts(stored: Mapping[str, Any]) -> dict[str, int]:
    """pytest's counts as the record kept them (older records kept only passed and total)."""
    counts = stored.get("counts")
    if isinstance(counts, Mapping):
        return {word: int(counts.get(word, 0) or 0) for word in COUNT_WORDS}
    passed = int(stored.get("passed", 0) or 0)
    total = int(stored.get("total", 0) or 0)
    return {**dict.fromkeys(COUNT_WORDS, 0), "passed": passed, "failed": max(total - passed, 0)}


def stored_tests(stored: Mapping[str, Any]) -> tuple[TestResult, ...]:
    out = []
    for entry in stored.get("tests") or ():
        try:
            outcome = Outcome(entry.get("outcome"))
        except ValueError:
            continue
        out.append(
            TestResult(
                node_id=str(entry.get("id", "")),
                outcome=outcome,
                duration=float(entry.get("duration", 0.0) or 0.0),
                message=str(entry.get("message", "")),
            )
        )
    return tuple(out)


def carried_verdict(stored: Mapping[str, Any], *, name: str, mrr_at_risk: int) -> PhaseVerdict:
    """The earlier run's result of a phase that met its criteria, shown as carried over."""
    counts = stored_counts(stored)
    return PhaseVerdict(
        phase_id=str(stored["phase_id"]),
        name=name,
        mrr_at_risk=mrr_at_risk,
        status=PhaseStatus.PASSED,
        passed=counts["passed"],
        failed=counts["failed"],
        errors=counts["errors"],
        skipped=counts["skipped"],
        xfailed=counts["xfailed"],
        xpassed=counts["xpassed"],
        pass_rate=stored.get("pass_rate"),
        p95_seconds=stored.get("p95_seconds"),
        duration_seconds=float(stored.get("duration_seconds", 0.0) or 0.0),
        tests=stored_tests(stored),
        carried_over=True,
    )


@dataclass(frozen=True)
class Merged:
    tests: tuple[TestResult, ...]
    counts: dict[str, int]


def merge(stored: Mapping[str, Any], rerun: Sequence[TestResult]) -> Merged:
    """The earlier phase's results with its failed tests replaced by their rerun.

    A rerun test keeps its earlier failure as its first attempt, so one that passes now is
    flaky (`TestResult.flaky`) and keeps the failed outcome for the plan's `flaky` policy to
    decide, exactly as a retry inside the run would."""
    earlier = {t.node_id: t for t in stored_tests(stored)}
    asked = set(failed_ids(stored))
    counts = stored_counts(stored)
    for node_id in asked:
        was = earlier.get(node_id)
        word = COUNT_WORD_OF[was.outcome] if was is not None else "failed"
        counts[word] = max(counts[word] - 1, 0)
    merged = []
    for test in rerun:
        was = earlier.get(test.node_id)
        if was is not None and was.is_failure and test.node_id in asked:
            test = _after(was, test)
        counts[COUNT_WORD_OF[test.outcome]] += 1
        merged.append(test)
    kept = tuple(t for t in earlier.values() if t.node_id not in asked)
    return Merged(tests=(*kept, *merged), counts=counts)


def _after(was: TestResult, now: TestResult) -> TestResult:
    first = Attempt(was.outcome, was.duration, was.message)
    attempts = now.attempts or (Attempt(now.outcome, now.duration, now.message),)
    outcome = was.outcome if attempts[-1].outcome is Outcome.PASSED else now.outcome
    return dataclasses.replace(now, outcome=outcome, attempts=(first, *attempts))
