"""The phases' runner, scripted: what `workers.engine.executor.execute` would report, without
setup steps or pytest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.core.plan import Plan
from bot.core.results import Conclusion, PhaseStatus, PhaseVerdict, RunReport


class ScriptedExecutor:
    """Every selected phase passes (or, with `fail`, fails one test), unless the run is asked to
    stop: the executor looks after the first phase starts, as the real one does between tests.
    `during` runs once that phase has started (a cancel comment, a lock lapsing...)."""

    def __init__(self, *, fail: bool = False, during: Callable[[], None] | None = None) -> None:
        self.fail = fail
        self.during = during
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self,
        checkout: Path,
        plan: Plan,
        selected: tuple[str, ...],
        *,
        on_progress: Callable[[RunReport], None],
        should_stop: Callable[[], str | None],
        report_fields: dict[str, Any],
        **rest: Any,
    ) -> RunReport:
        self.calls.append({"checkout": checkout, "selected": selected, **rest})
        first = plan.phase(selected[0])
        running = _verdict(first, PhaseStatus.RUNNING)
        on_progress(_report(plan, (running,), None, report_fields))
        if self.during is not None:
            self.during()
        stop = should_stop()
        if stop is not None:
            stopped = _verdict(first, PhaseStatus.NOT_RUN)
            return _report(plan, (stopped,), Conclusion.CANCELLED, report_fields, problem=stop)
        status = PhaseStatus.FAILED if self.fail else PhaseStatus.PASSED
        phases = tuple(_verdict(plan.phase(p), status) for p in selected)
        conclusion = Conclusion.FAILURE if self.fail else Conclusion.SUCCESS
        return _report(plan, phases, conclusion, report_fields)


def _verdict(phase: Any, status: PhaseStatus) -> PhaseVerdict:
    failed = status is PhaseStatus.FAILED
    return PhaseVerdict(
        phase_id=phase.id,
        name=phase.title,
        mrr_at_risk=phase.mrr_at_risk,
        status=status,
        passed=0 if failed else 1,
        failed=1 if failed else 0,
        pass_rate=None if status is PhaseStatus.RUNNING else (0.0 if failed else 1.0),
        reasons=("pass rate 0% < 100%",) if failed else (),
    )


def _report(
    plan: Plan,
    phases: tuple[PhaseVerdict, ...],
    conclusion: Conclusion | None,
    fields: dict[str, Any],
    problem: str | None = None,
) -> RunReport:
    return RunReport(
        check_name=plan.check_name,
        phases=phases,
        conclusion=conclusion,
        problem=problem,
        environment=plan.environment,
        **fields,
    )
