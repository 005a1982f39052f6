"""Plain values that flow from the runner to the report: tests, phase verdicts, the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class TestResult:
    """One pytest test case as read from JUnit XML."""

    __test__ = False  # not a pytest test class

    node_id: str
    outcome: Outcome
    duration: float = 0.0
    file: str | None = None
    line: int | None = None
    message: str = ""
    traceback: str = ""

    @property
    def is_failure(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.ERROR)


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
    pass_rate: float | None = None
    p95_seconds: float | None = None
    duration_seconds: float = 0.0
    reasons: tuple[str, ...] = ()
    tests: tuple[TestResult, ...] = ()

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
    environment: str = "staging"
    duration_seconds: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

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
