"""Plain values that flow from the runner to the report: tests, phase verdicts, the run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.history import HistoryView


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    XFAILED = "xfailed"
    XPASSED = "xpassed"


# pytest's own summary words, in its order ("1 failed, 2 passed, 1 skipped, 1 xfailed, 1 error").
COUNT_WORDS = ("failed", "passed", "skipped", "xfailed", "xpassed", "errors")
# The summary count each test's outcome adds to (an `error` counts among the "errors").
COUNT_WORD_OF = {
    Outcome.PASSED: "passed",
    Outcome.FAILED: "failed",
    Outcome.ERROR: "errors",
    Outcome.SKIPPED: "skipped",
    Outcome.XFAILED: "xfailed",
    Outcome.XPASSED: "xpassed",
}


def summary_line(counts: Mapping[str, int]) -> str:
    """pytest's way: "1 failed, 2 passed, 3 skipped" (only the non-zero ones, in its order)."""
    words = {"errors": "error"}
    parts = []
    for word in COUNT_WORDS:
        n = counts.get(word, 0)
        if n:
            name = words.get(word, word)
            parts.append(f"{n} {name}{'s' if name == 'error' and n != 1 else ''}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Frame:
    """One traceback entry: a path (relative when inside the checkout), 1-based line, function."""

    path: str
    line: int
    function: str = ""


@dataclass(frozen=True)
class Attempt:
    """One run of a test: the phase's own run, or a retry alone."""

    outcome: Outcome
    duration: float
    message: str = ""


@dataclass(frozen=True)
class TestResult:
    """One pytest test case, from the bot's result stream (or JUnit XML)."""

    __test__ = False  # not a pytest test class

    node_id: str
    outcome: Outcome
    duration: float = 0.0
    file: str | None = None
    line: int | None = None
    message: str = ""
    traceback: str = ""
    frames: tuple[Frame, ...] = ()  # the whole traceback, never cut
    attempts: tuple[Attempt, ...] = ()  # with retries: every run, the first one first

    @property
    def is_failure(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.ERROR)

    @property
    def flaky(self) -> bool:
        """Failed, then passed on a retry."""
        return (
            len(self.attempts) > 1
            and self.attempts[0].outcome in (Outcome.FAILED, Outcome.ERROR)
            and self.attempts[-1].outcome is Outcome.PASSED
        )


class PhaseStatus(StrEnum):
    PASSED = "passed"  # met its criteria
    FAILED = "failed"  # missed them (reasons say why)
    TIMED_OUT = "timed_out"  # the phase's own timeout
    NOT_RUN = "not_run"  # fail-fast, run timeout or cancel left it out
    NOT_SELECTED = "not_selected"  # `/golden-path run other_phase`
    PENDING = "pending"  # not started yet (progress reports)
    RUNNING = "running"  # started, not finished (progress reports)

    @property
    def met_criteria(self) -> bool:
        return self is PhaseStatus.PASSED


@dataclass(frozen=True)
class PhaseVerdict:
    """A phase's results judged against its criteria."""

    phase_id: str
    name: str
    mrr_at_risk: int
    status: PhaseStatus
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    flaky_count: int = 0  # flaky tests, whichever way the plan's `flaky` policy counts them
    pass_rate: float | None = None
    p95_seconds: float | None = None
    duration_seconds: float = 0.0
    reasons: tuple[str, ...] = ()
    tests: tuple[TestResult, ...] = ()
    running: str | None = None  # the test that was running when the phase was stopped
    output_tail: str = ""  # pytest's last output, kept when the session did not end normally
    carried_over: bool = False  # `rerun-failed`: this phase's result comes from the earlier run

    @property
    def counts(self) -> dict[str, int]:
        """pytest's summary counts, in pytest's words."""
        values = (self.failed, self.passed, self.skipped, self.xfailed, self.xpassed, self.errors)
        return dict(zip(COUNT_WORDS, values, strict=True))

    @property
    def flaky_tests(self) -> tuple[TestResult, ...]:
        return tuple(t for t in self.tests if t.flaky)

    @property
    def total(self) -> int:
        """Tests that count toward the pass rate (skipped ones do not)."""
        return self.passed + self.failed + self.errors

    @property
    def failures(self) -> tuple[TestResult, ...]:
        return tuple(t for t in self.tests if t.is_failure)


class Conclusion(StrEnum):
    """Check-run conclusions the bot uses. Never `neutral`/`skipped` (contract §6)."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    ACTION_REQUIRED = "action_required"


@dataclass(frozen=True)
class StepResult:
    """A setup command's outcome."""

    name: str
    ok: bool
    duration_seconds: float
    exit_code: int | None
    output_tail: str = ""
    reason: str = ""


@dataclass(frozen=True)
class RunReport:
    """Everything known about one run; the single input of every rendering."""

    check_name: str
    phases: tuple[PhaseVerdict, ...]
    conclusion: Conclusion | None = None  # None while the run is going on
    setup: tuple[StepResult, ...] = ()
    problem: str | None = None  # why the run stopped early (plan error, setup failure, cancel...)
    plan_problems: tuple[str, ...] = ()
    repo: str = ""
    head_sha: str = ""
    pr_number: int | None = None
    run_id: str = ""
    details_url: str | None = None
    requested_by: str = ""
    rerun_of: str = ""  # `rerun-failed`: the run whose failed tests this one ran again
    environment: str = "staging"
    duration_seconds: float = 0.0
    sandboxed: bool = True  # False: GOLDEN_PATH_SANDBOX=none, and every check run says so
    extra: dict[str, str] = field(default_factory=dict)
    history: HistoryView | None = None  # the past, when the bot keeps history (not the CLI)

    @property
    def current_phase(self) -> PhaseVerdict | None:
        return next((p for p in self.phases if p.status is PhaseStatus.RUNNING), None)

    @property
    def failed_phases(self) -> tuple[PhaseVerdict, ...]:
        return tuple(
            p for p in self.phases if p.status in (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT)
        )

    @property
    def mrr_at_risk(self) -> int:
        """Revenue protected by phases that did not demonstrate success."""
        return sum(
            p.mrr_at_risk
            for p in self.phases
            if p.status not in (PhaseStatus.PASSED, PhaseStatus.NOT_SELECTED)
        )
