"""What a run's record keeps of its results for `/golden-path status`, `/metrics` and the
dashboard: per phase the counts, rates and durations, and its tests (bounded); the failure
patterns with their five-whys links. Pure; every text is scrubbed before it is cut (contract §5.3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.core.report.facts import failure_patterns
from bot.core.rerun import MAX_RERUN_TESTS
from bot.core.results import PhaseVerdict, RunReport, TestResult

MAX_TESTS_PER_PHASE = 200
MAX_ID_CHARS = 300
MAX_NODE_ID_CHARS = 2000  # a failed id kept to run again whole, never cut (cut, it names nothing)
MAX_MESSAGE_CHARS = 500
MAX_PATTERNS = 20

Scrub = Callable[[str], str]


def verdict(phase: PhaseVerdict, scrub: Scrub) -> dict[str, Any]:
    """The kept tests hold the failures first when a phase has more than the limit (in the
    phase's order); `failed_ids` is what `/golden-path rerun-failed` runs again."""
    by_failure = sorted(range(len(phase.tests)), key=lambda i: not phase.tests[i].is_failure)
    kept = sorted(by_failure[:MAX_TESTS_PER_PHASE])
    tests = [_test(phase.tests[i], scrub) for i in kept]
    failed = [scrub(t.node_id) for t in phase.failures][:MAX_RERUN_TESTS]
    return {
        "phase_id": phase.phase_id,
        "status": phase.status.value,
        "passed": phase.passed,
        "total": phase.total,
        "counts": phase.counts,
        "failed_ids": [node_id for node_id in failed if len(node_id) <= MAX_NODE_ID_CHARS],
        "carried_over": phase.carried_over,
        "pass_rate": phase.pass_rate,
        "p95_seconds": phase.p95_seconds,
        "duration_seconds": round(phase.duration_seconds, 3),
        "tests": tests,
        "tests_cut": len(phase.tests) > MAX_TESTS_PER_PHASE,
    }


def patterns(report: RunReport, five_whys: Mapping[str, str], scrub: Scrub) -> list[dict[str, Any]]:
    return [
        {
            "key": pattern.key,
            "short": scrub(pattern.short)[:MAX_ID_CHARS],
            "tests": [scrub(t)[:MAX_ID_CHARS] for t in pattern.tests[:MAX_TESTS_PER_PHASE]],
            "phases": list(pattern.phase_ids),
            "five_whys_url": five_whys.get(pattern.key),
        }
        for pattern in failure_patterns(report)[:MAX_PATTERNS]
    ]


def _test(test: TestResult, scrub: Scrub) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": scrub(test.node_id)[:MAX_ID_CHARS],
        "outcome": test.outcome.value,
        "duration": round(test.duration, 3),
    }
    if test.is_failure and test.message:
        entry["message"] = scrub(test.message)[:MAX_MESSAGE_CHARS]
    if test.flaky:  # failed, then passed on a retry
        entry["flaky"] = True
        entry["attempts"] = len(test.attempts)
    return entry
