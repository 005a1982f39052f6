"""A phase's test results against its criteria (`PhaseVerdict`), and the run's conclusion."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from bot.core.plan import Phase
from bot.core.results import (
    COUNT_WORD_OF,
    COUNT_WORDS,
    Conclusion,
    Outcome,
    PhaseStatus,
    PhaseVerdict,
    TestResult,
    summary_line,
)

# pytest's exit codes (`pytest.ExitCode`) that say the session itself did not finish normally.
_EXIT_MEANINGS = {
    2: "pytest was interrupted",
    3: "pytest hit an internal error",
    4: "pytest could not start (usage error)",
}


def p95(durations: Iterable[float]) -> float | None:
    """95th percentile by the nearest-rank method: the smallest value that at least 95% of
    the values are less than or equal to, i.e. sorted(values)[ceil(0.95 * n) - 1].

    It is always one of the measured durations (no interpolation); with fewer than 20 tests
    it is the slowest one."""
    ordered = sorted(durations)
    if not ordered:
        return None
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def judge(
    phase: Phase,
    tests: Sequence[TestResult],
    *,
    duration_seconds: float,
    timed_out: bool = False,
    collection_errors: Sequence[TestResult] = (),
    session_problem: str | None = None,
    counts: Mapping[str, int] | None = None,
    running: str | None = None,
    output_tail: str = "",
) -> PhaseVerdict:
    """Judge a finished (or killed) phase.

    `counts` are pytest's own summary counts (a collection error is one of its errors); without
    them they are counted from the tests. A collection error is a reason of its own: it is kept
    in `tests` (so it is annotated and grouped like a failure)."""
    everything = (*tests, *collection_errors)
    counted = dict(counts) if counts is not None else count(tests, collection_errors)
    # pytest counts a collection error among its errors; the pass rate is about tests.
    ran = counted["passed"] + counted["failed"] + counted["errors"] - len(collection_errors)
    pass_rate = counted["passed"] / ran if ran > 0 else None
    slowest = p95(t.duration for t in tests if t.outcome is not Outcome.SKIPPED)
    reasons = _reasons(
        phase, counted, pass_rate, slowest, timed_out, collection_errors, session_problem
    )
    if timed_out:
        status = PhaseStatus.TIMED_OUT
    else:
        status = PhaseStatus.FAILED if reasons else PhaseStatus.PASSED
    return PhaseVerdict(
        phase_id=phase.id,
        name=phase.title,
        mrr_at_risk=phase.mrr_at_risk,
        status=status,
        passed=counted["passed"],
        failed=counted["failed"],
        errors=counted["errors"],
        skipped=counted["skipped"],
        xfailed=counted["xfailed"],
        xpassed=counted["xpassed"],
        flaky_count=sum(1 for t in tests if t.flaky),
        pass_rate=pass_rate,
        p95_seconds=slowest,
        duration_seconds=duration_seconds,
        reasons=tuple(reasons),
        tests=everything,
        running=running,
        output_tail=output_tail,
    )


def count(
    tests: Sequence[TestResult], collection_errors: Sequence[TestResult] = ()
) -> dict[str, int]:
    """Summary counts from one outcome per test (when pytest's own are not known)."""
    counted = dict.fromkeys(COUNT_WORDS, 0)
    for test in tests:
        counted[COUNT_WORD_OF[test.outcome]] += 1
    counted["errors"] += len(collection_errors)
    return counted


def _reasons(
    phase: Phase,
    counted: Mapping[str, int],
    pass_rate: float | None,
    slowest: float | None,
    timed_out: bool,
    collection_errors: Sequence[TestResult],
    session_problem: str | None,
) -> list[str]:
    reasons: list[str] = []
    ran = counted["passed"] + counted["failed"] + counted["errors"] - len(collection_errors)
    if timed_out:
        reasons.append(f"timed out after {minutes_text(phase.timeout_minutes)}")
    reasons.extend(
        f"collection error in {e.file or e.node_id}: {e.message}"
        if e.message
        else f"collection error in {e.file or e.node_id}"
        for e in collection_errors
    )
    if session_problem:
        reasons.append(session_problem)
    if ran <= 0 and not (timed_out or session_problem or collection_errors):
        others = summary_line(counted)
        reasons.append(f"{others}, no test passed or failed" if others else "no tests ran")
    required = phase.criteria.min_pass_rate
    if pass_rate is not None and pass_rate < required:
        shown, wanted = percent_pair(pass_rate, required)
        reasons.append(f"pass rate {shown} is below the required {wanted}")
    limit = phase.criteria.max_p95_seconds
    if limit is not None and slowest is not None and slowest > limit:
        reasons.append(f"p95 {slowest:.2f} s exceeds {limit:.2f} s")
    return reasons


def percent_pair(value: float, required: float) -> tuple[str, str]:
    """Both rates as percentages, with enough decimals that they do not print alike."""
    for decimals in (1, 2, 3, 4):
        shown, wanted = f"{value:.{decimals}%}", f"{required:.{decimals}%}"
        if shown != wanted:
            break
    return shown, wanted


def minutes_text(minutes: float) -> str:
    """10 -> "10 min", 1.5 -> "1.5 min", 0.25 -> "15 s"."""
    if minutes < 1:
        return f"{minutes * 60:g} s"
    return f"{minutes:g} min"


def pytest_problem(exit_code: int | None, output_tail: str = "") -> str | None:
    """What an abnormal pytest exit says, in words; None for a normal exit.

    0 (all passed), 1 (some failed) and 5 (no tests collected: judged as "no tests ran")
    are normal. A collection error also exits 2; the runner leaves that to the collection
    error reason."""
    if exit_code in (0, 1, 5, None):
        return None
    if exit_code < 0:
        return f"pytest was killed by signal {-exit_code}"
    problem = f"{_EXIT_MEANINGS.get(exit_code, 'pytest was interrupted')} (exit code {exit_code})"
    detail = _error_line(output_tail)
    return f"{problem}: {detail}" if detail else problem


def _error_line(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("ERROR:", "INTERNALERROR>")) or "Exit:" in line:
            return line.strip(" !")[:200]
    return ""


def conclude(
    verdicts: Sequence[PhaseVerdict],
    *,
    cancelled: bool = False,
    timed_out: bool = False,
    setup_failed: bool = False,
) -> Conclusion:
    """success only when every selected phase ran and met its criteria."""
    if cancelled:
        return Conclusion.CANCELLED
    if timed_out:
        return Conclusion.TIMED_OUT
    selected = [v for v in verdicts if v.status is not PhaseStatus.NOT_SELECTED]
    if setup_failed or not selected:
        return Conclusion.FAILURE
    if all(v.status is PhaseStatus.PASSED for v in selected):
        return Conclusion.SUCCESS
    return Conclusion.FAILURE
