"""Criteria, reasons, p95 and the run's conclusion, as tables."""

from __future__ import annotations

import pytest

from bot.core.plan import Criteria, Phase
from bot.core.results import COUNT_WORDS, Conclusion, Outcome, PhaseStatus, PhaseVerdict, TestResult
from workers.engine import verdict

P, F, E, S = Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.SKIPPED


def phase(min_pass_rate: float = 1.0, max_p95: float | None = None, timeout: float = 10) -> Phase:
    return Phase(
        id="auth",
        name="Core auth",
        mrr_at_risk=120000,
        timeout_minutes=timeout,
        suites=("tests/test_auth.py",),
        criteria=Criteria(min_pass_rate=min_pass_rate, max_p95_seconds=max_p95),
    )


def results_of(*outcomes: Outcome, duration: float = 0.1) -> list[TestResult]:
    return [TestResult(f"t.py::test_{i}", o, duration) for i, o in enumerate(outcomes)]


COLLECTION_ERROR = TestResult("tests/x.py", E, 0.0, file="tests/x.py", message="collection failure")


@pytest.mark.parametrize(
    ("case", "criteria", "results", "kwargs", "status", "reasons"),
    [
        ("all pass", {}, results_of(P, P, P), {}, PhaseStatus.PASSED, []),
        (
            "one failure below 100%",
            {},
            results_of(P, P, P, F),
            {},
            PhaseStatus.FAILED,
            ["pass rate 75.0% is below the required 100.0%"],
        ),
        (
            "75% meets 0.75",
            {"min_pass_rate": 0.75},
            results_of(P, P, P, F),
            {},
            PhaseStatus.PASSED,
            [],
        ),
        (
            "errors count against the rate",
            {"min_pass_rate": 0.75},
            results_of(P, P, E, F),
            {},
            PhaseStatus.FAILED,
            ["pass rate 50.0% is below the required 75.0%"],
        ),
        ("skipped do not count", {}, results_of(P, S, S), {}, PhaseStatus.PASSED, []),
        (
            "xfailed and xpassed do not count",
            {},
            results_of(P, Outcome.XFAILED, Outcome.XPASSED),
            {},
            PhaseStatus.PASSED,
            [],
        ),
        (
            "pytest's own counts win over one outcome per test",
            {},
            results_of(P),
            {"counts": {**dict.fromkeys(COUNT_WORDS, 0), "passed": 1, "errors": 1}},
            PhaseStatus.FAILED,
            ["pass rate 50.0% is below the required 100.0%"],
        ),
        (
            "only skipped and xfailed",
            {},
            results_of(S, Outcome.XFAILED),
            {},
            PhaseStatus.FAILED,
            ["1 skipped, 1 xfailed, no test passed or failed"],
        ),
        (
            "only skipped: nothing ran",
            {},
            results_of(S, S),
            {},
            PhaseStatus.FAILED,
            ["2 skipped, no test passed or failed"],
        ),
        ("no tests at all", {}, [], {}, PhaseStatus.FAILED, ["no tests ran"]),
        (
            "close rates print apart",
            {"min_pass_rate": 0.9999},
            results_of(*([P] * 9998), F, F),
            {},
            PhaseStatus.FAILED,
            ["pass rate 99.98% is below the required 99.99%"],
        ),
        (
            "p95 over the limit",
            {"max_p95": 2.0},
            results_of(P, duration=2.41),
            {},
            PhaseStatus.FAILED,
            ["p95 2.41 s exceeds 2.00 s"],
        ),
        (
            "p95 at the limit",
            {"max_p95": 2.0},
            results_of(P, duration=2.0),
            {},
            PhaseStatus.PASSED,
            [],
        ),
        (
            "timed out",
            {"timeout": 10},
            results_of(P),
            {"timed_out": True},
            PhaseStatus.TIMED_OUT,
            ["timed out after 10 min"],
        ),
        (
            "timed out, fractional minutes, nothing reported",
            {"timeout": 0.5},
            [],
            {"timed_out": True},
            PhaseStatus.TIMED_OUT,
            ["timed out after 30 s"],
        ),
        (
            "collection error",
            {},
            results_of(P),
            {"collection_errors": [COLLECTION_ERROR]},
            PhaseStatus.FAILED,
            ["collection error in tests/x.py: collection failure"],
        ),
        (
            "interrupted session",
            {},
            results_of(P),
            {"session_problem": "pytest was interrupted (exit code 2)"},
            PhaseStatus.FAILED,
            ["pytest was interrupted (exit code 2)"],
        ),
        (
            "several misses at once",
            {"max_p95": 1.0},
            results_of(P, F, duration=3.0),
            {},
            PhaseStatus.FAILED,
            ["pass rate 50.0% is below the required 100.0%", "p95 3.00 s exceeds 1.00 s"],
        ),
    ],
)
def test_judge(
    case: str,
    criteria: dict,
    results: list[TestResult],
    kwargs: dict,
    status: PhaseStatus,
    reasons: list[str],
) -> None:
    min_rate = criteria.get("min_pass_rate", 1.0)
    judged = verdict.judge(
        phase(min_rate, criteria.get("max_p95"), criteria.get("timeout", 10)),
        results,
        duration_seconds=4.2,
        **kwargs,
    )
    assert judged.status is status, case
    assert list(judged.reasons) == reasons, case


def test_verdict_carries_counts_and_phase_facts() -> None:
    judged = verdict.judge(
        phase(0.5),
        results_of(P, P, F, E, S),
        duration_seconds=4.2,
        collection_errors=[COLLECTION_ERROR],
    )
    # pytest's summary counts the collection error among the errors; the rate leaves it out
    assert (judged.passed, judged.failed, judged.errors, judged.skipped) == (2, 1, 2, 1)
    assert judged.pass_rate == pytest.approx(2 / 4)
    assert (judged.phase_id, judged.name, judged.mrr_at_risk) == ("auth", "Core auth", 120000)
    assert judged.duration_seconds == 4.2
    assert COLLECTION_ERROR in judged.failures


@pytest.mark.parametrize(
    ("durations", "expected"),
    [
        ([], None),
        ([3.0], 3.0),
        ([1.0, 5.0, 2.0], 5.0),  # under 20 values the nearest rank is the slowest
        ([float(i) for i in range(1, 21)], 19.0),  # ceil(0.95 * 20) = 19th of 20
        ([float(i) for i in range(1, 101)], 95.0),
        ([float(i) for i in range(1, 102)], 96.0),  # ceil(95.95) = 96
    ],
)
def test_p95_nearest_rank(durations: list[float], expected: float | None) -> None:
    assert verdict.p95(durations) == expected


def test_p95_ignores_skipped_tests() -> None:
    results = [*results_of(P, duration=0.5), *results_of(S, duration=9.0)]
    assert verdict.judge(phase(), results, duration_seconds=1).p95_seconds == 0.5


@pytest.mark.parametrize(
    ("exit_code", "tail", "expected"),
    [
        (0, "", None),
        (1, "", None),
        (5, "", None),
        (None, "", None),
        (2, "", "pytest was interrupted (exit code 2)"),
        (
            2,
            "!!!!!!!!!! _pytest.outcomes.Exit: staging is down !!!!!!!!!!",
            "pytest was interrupted (exit code 2): _pytest.outcomes.Exit: staging is down",
        ),
        (
            3,
            "INTERNALERROR> boom",
            "pytest hit an internal error (exit code 3): INTERNALERROR> boom",
        ),
        (
            4,
            "ERROR: file or directory not found: tests/nope.py\n",
            "pytest could not start (usage error) (exit code 4): "
            "ERROR: file or directory not found: tests/nope.py",
        ),
        (-9, "", "pytest was killed by signal 9"),
        (7, "", "pytest was interrupted (exit code 7)"),
    ],
)
def test_pytest_problem(exit_code: int | None, tail: str, expected: str | None) -> None:
    assert verdict.pytest_problem(exit_code, tail) == expected


def pv(status: PhaseStatus) -> PhaseVerdict:
    return PhaseVerdict(phase_id="p", name="p", mrr_at_risk=0, status=status)


OK, BAD, SKIP = PhaseStatus.PASSED, PhaseStatus.FAILED, PhaseStatus.NOT_SELECTED


@pytest.mark.parametrize(
    ("statuses", "kwargs", "expected"),
    [
        ([OK, OK], {}, Conclusion.SUCCESS),
        ([OK, SKIP], {}, Conclusion.SUCCESS),
        ([OK, BAD], {}, Conclusion.FAILURE),
        ([OK, PhaseStatus.TIMED_OUT], {}, Conclusion.FAILURE),
        ([BAD, PhaseStatus.NOT_RUN], {}, Conclusion.FAILURE),
        ([OK, PhaseStatus.PENDING], {}, Conclusion.FAILURE),
        ([SKIP, SKIP], {}, Conclusion.FAILURE),
        ([OK, OK], {"setup_failed": True}, Conclusion.FAILURE),
        ([OK, PhaseStatus.NOT_RUN], {"cancelled": True}, Conclusion.CANCELLED),
        ([OK, PhaseStatus.TIMED_OUT], {"timed_out": True}, Conclusion.TIMED_OUT),
        ([OK, OK], {"cancelled": True, "timed_out": True}, Conclusion.CANCELLED),
    ],
)
def test_conclude(statuses: list[PhaseStatus], kwargs: dict, expected: Conclusion) -> None:
    assert verdict.conclude([pv(s) for s in statuses], **kwargs) is expected
