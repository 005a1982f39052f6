"""Run a plan in a checkout: setup steps, then each selected phase's pytest, judged in order.

Shared by the Celery worker and the `golden-path` CLI; everything it touches is passed in."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from bot.core.plan import Phase, Plan, SetupStep, is_reserved
from bot.core.rerun import failed_ids, merge
from bot.core.results import (
    Conclusion,
    Outcome,
    PhaseStatus,
    PhaseVerdict,
    RunReport,
    StepResult,
    TestResult,
)
from workers.engine import processes, retries, session, shards, verdict
from workers.engine.pytest_command import plugin_env, pytest_argv

# The only variables a test process inherits from the worker (plus `env` and `pass_env`).
BASE_ENV_NAMES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "VIRTUAL_ENV")
PYTHON_VAR = "GOLDEN_PATH_PYTHON"  # setup steps start `"$GOLDEN_PATH_PYTHON" ...` as pytest's
OUTPUT_VAR = "GOLDEN_PATH_OUTPUT"  # where steps and tests may leave files (screenshots, dumps)

OUTPUT_DIR = "output"  # in the artifacts folder: the only place but the checkout a run may write

Progress = Callable[[RunReport], None]
StopCheck = Callable[[], str | None]
Scrub = Callable[[str], str]
# (checkout, output folder, python) -> the launcher of every step, for the whole run
Isolation = Callable[[Path, Path, str], AbstractContextManager[processes.Launcher]]
unsandboxed: Isolation = processes.unsandboxed


def build_env(plan: Plan, worker_env: Mapping[str, str]) -> dict[str, str]:
    """A plain base environment, then `plan.env`, then the `pass_env` values that exist.

    The bot's secrets, its broker URL and tokens never pass, whoever names them."""
    env = {name: worker_env[name] for name in BASE_ENV_NAMES if name in worker_env}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: v for k, v in plan.env.items() if not is_reserved(k)})
    for name in plan.pass_env:
        if name in worker_env and not is_reserved(name):
            env[name] = worker_env[name]
    return env


def missing_pass_env(plan: Plan, worker_env: Mapping[str, str]) -> list[str]:
    """`pass_env` names the worker does not have (their tests will not see them)."""
    return [name for name in plan.pass_env if name not in worker_env]


def secret_values(plan: Plan, worker_env: Mapping[str, str]) -> list[str]:
    """The `pass_env` values, for the scrubber."""
    return [worker_env[n] for n in plan.pass_env if worker_env.get(n)]


@dataclasses.dataclass
class _Execution:
    """The mutable state of one run while it goes; `report()` freezes it."""

    checkout: Path
    plan: Plan
    env: dict[str, str]
    artifacts: Path
    output: Path
    on_progress: Progress
    should_stop: StopCheck
    deadline: float | None
    fields: dict[str, Any]
    scrub: Scrub
    # `rerun-failed`: phase -> the earlier run's stored result, whose failed tests run again
    rerun: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    carried: Mapping[str, PhaseVerdict] = dataclasses.field(default_factory=dict)
    launcher: processes.Launcher | None = None
    sharding: shards.Sharding | None = None  # `shards: N` phases; None: every phase runs whole
    pytest_env: dict[str, str] = dataclasses.field(default_factory=dict)  # env + the plugin
    started: float = dataclasses.field(default_factory=time.monotonic)
    verdicts: dict[str, PhaseVerdict] = dataclasses.field(default_factory=dict)
    setup: list[StepResult] = dataclasses.field(default_factory=list)
    problem: str | None = None
    cancelled: bool = False
    timed_out: bool = False
    setup_failed: bool = False
    retry_count: int = 0

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def report(self, conclusion: Conclusion | None) -> RunReport:
        return RunReport(
            check_name=self.plan.check_name,
            phases=tuple(self.verdicts[p.id] for p in self.plan.phases),
            conclusion=conclusion,
            setup=tuple(self.setup),
            problem=self.problem,
            environment=self.plan.environment,
            duration_seconds=time.monotonic() - self.started,
            **self.fields,
        )


def execute(
    checkout: Path,
    plan: Plan,
    selected: tuple[str, ...],
    *,
    env: Mapping[str, str],
    artifacts: Path,
    scrub: Scrub,
    on_progress: Progress = lambda r: None,
    should_stop: StopCheck = lambda: None,
    deadline: float | None = None,
    report_fields: Mapping[str, Any] = {},  # read only, never mutated
    isolation: Isolation = unsandboxed,
    rerun: Mapping[str, Mapping[str, Any]] = {},  # read only
    carried: Mapping[str, PhaseVerdict] = {},  # read only
    sharding: shards.Sharding | None = None,
) -> RunReport:
    """Run setup, then the selected phases in plan order; return the finished report.

    `/golden-path rerun-failed` hands in, per phase, the earlier run's stored result (`rerun`:
    only its failed tests run, and their results join the rest) or its verdict (`carried`:
    nothing runs, the result stands; see `bot.core.rerun`).

    `sharding` runs a `shards: N` phase's test files as N shards (`workers.job.shards`: Celery
    tasks on any worker, and this process); without it such a phase runs whole, here.

    Every step runs through `isolation`, entered once for the whole run: with the sandbox, what a
    step leaves running is there for the next step, and gone when the run ends. `scrub` masks the
    run's secrets in every text read from a process or a report, before anything cuts or stores
    it (contract §5.3)."""
    # Absolute: pytest runs in the checkout and writes --junitxml relative to it, while this
    # process reads it relative to its own directory.
    checkout, artifacts = checkout.resolve(), artifacts.resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    output = artifacts / OUTPUT_DIR
    output.mkdir(exist_ok=True)
    python = plan.python or sys.executable
    run = _Execution(
        checkout=checkout,
        plan=plan,
        env={**env, PYTHON_VAR: python, OUTPUT_VAR: str(output)},
        artifacts=artifacts,
        output=output,
        on_progress=on_progress,
        should_stop=should_stop,
        deadline=deadline,
        fields=_report_fields(report_fields),
        scrub=scrub,
        rerun=rerun,
        carried=carried,
        sharding=sharding,
    )
    # installed before any code of the run's runs: the worker never writes there again
    run.pytest_env = plugin_env(run.env, output)
    for phase in plan.phases:
        status = PhaseStatus.PENDING if phase.id in selected else PhaseStatus.NOT_SELECTED
        run.verdicts[phase.id] = _placeholder(phase, status)
    _run_isolated(run, isolation, [p for p in plan.phases if p.id in selected], python)
    _leave_pending_as_not_run(run)
    conclusion = verdict.conclude(
        list(run.verdicts.values()),
        cancelled=run.cancelled,
        timed_out=run.timed_out,
        setup_failed=run.setup_failed,
    )
    return run.report(conclusion)


def _run_isolated(run: _Execution, isolation: Isolation, phases: list[Phase], python: str) -> None:
    with contextlib.ExitStack() as stack:
        try:
            run.launcher = stack.enter_context(isolation(run.checkout, run.output, python))
        except OSError as error:  # the sandbox cannot start here: nothing runs unisolated
            run.setup_failed = True
            run.problem = f"the sandbox could not start, so nothing ran: {error}"
            return
        if _run_setup(run):
            _run_phases(run, phases, python)


def _report_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(RunReport)}
    own = {"check_name", "phases", "conclusion", "setup", "problem", "duration_seconds"}
    unknown = set(fields) - known
    if unknown:
        raise TypeError(f"unknown report fields: {', '.join(sorted(unknown))}")
    return {k: v for k, v in fields.items() if k not in own}


def _placeholder(phase: Phase, status: PhaseStatus, *reasons: str) -> PhaseVerdict:
    return PhaseVerdict(
        phase_id=phase.id,
        name=phase.title,
        mrr_at_risk=phase.mrr_at_risk,
        status=status,
        reasons=reasons,
    )


def _interrupted(run: _Execution) -> bool:
    """Checks the stop switch and the run deadline between steps; records why it stops."""
    if run.cancelled or run.timed_out:
        return True
    reason = run.should_stop()
    if reason:
        run.cancelled, run.problem = True, reason
    elif (left := run.remaining()) is not None and left <= 0:
        run.timed_out = True
        limit = verdict.minutes_text(run.plan.timeout_minutes)
        run.problem = f"the run's timeout of {limit} was reached"
    return run.cancelled or run.timed_out


def _limit(run: _Execution, minutes: float) -> tuple[float, bool]:
    """The seconds a step may take, and whether the run deadline (not its own) is the limit."""
    own = minutes * 60
    left = run.remaining()
    if left is not None and left < own:
        return max(left, 0.0), True
    return own, False


def _run_setup(run: _Execution) -> bool:
    for index, step in enumerate(run.plan.setup, start=1):
        if _interrupted(run):
            return False
        result = _setup_step(run, index, step)
        run.setup.append(result)
        if not result.ok:
            if not (run.cancelled or run.timed_out):
                run.setup_failed = True
                run.problem = f"setup step '{step.name}' failed: {result.reason}"
            return False
    return True


def _setup_step(run: _Execution, index: int, step: SetupStep) -> StepResult:
    seconds, deadline_bound = _limit(run, step.timeout_minutes)
    outcome = processes.supervise(
        step.run,
        cwd=run.checkout,
        env=run.env,
        timeout_seconds=seconds,
        log_path=run.artifacts / f"setup-{index}.log",
        should_stop=run.should_stop,
        launcher=run.launcher,
    )
    outcome = scrub_outcome(outcome, run.scrub)
    reason = ""
    if outcome.stopped_reason:
        run.cancelled, run.problem = True, outcome.stopped_reason
        reason = f"stopped: {outcome.stopped_reason}"
    elif outcome.timed_out and deadline_bound:
        run.timed_out = True
        run.problem = f"the run's timeout was reached during setup step '{step.name}'"
        reason = "stopped by the run's timeout"
    elif outcome.timed_out:
        reason = f"timed out after {verdict.minutes_text(step.timeout_minutes)}"
    elif outcome.start_error:
        reason = f"could not start: {outcome.start_error}"
    elif outcome.exit_code != 0:
        reason = f"exit code {outcome.exit_code}{last_line(outcome.output_tail)}"
    return StepResult(
        name=step.name,
        ok=outcome.ok,
        duration_seconds=outcome.duration_seconds,
        exit_code=outcome.exit_code,
        output_tail=outcome.output_tail,
        reason=reason,
    )


def scrub_outcome(outcome: processes.ProcessOutcome, scrub: Scrub) -> processes.ProcessOutcome:
    """The outcome with its output tail and start error scrubbed, as they are read."""
    return dataclasses.replace(
        outcome,
        output_tail=scrub(outcome.output_tail),
        start_error=scrub(outcome.start_error) if outcome.start_error else outcome.start_error,
    )


def last_line(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return f": {lines[-1][:200]}" if lines else ""


def _run_phases(run: _Execution, phases: list[Phase], python: str) -> None:
    for phase in phases:
        if phase.id in run.carried:
            run.verdicts[phase.id] = run.carried[phase.id]
            continue
        if _interrupted(run):
            return
        run.verdicts[phase.id] = _placeholder(phase, PhaseStatus.RUNNING)
        run.on_progress(run.report(None))
        result = _run_phase(run, phase, python)
        run.verdicts[phase.id] = result
        run.on_progress(run.report(None))
        if run.plan.fail_fast and not result.status.met_criteria and not run.cancelled:
            _mark_rest(run, f"not run: phase '{phase.id}' did not meet its criteria (fail_fast)")
            return


def _run_phase(run: _Execution, phase: Phase, python: str) -> PhaseVerdict:
    files = _PhaseFiles(run.artifacts, phase.id, run.output)
    seconds, deadline_bound = _limit(run, phase.timeout_minutes)
    started = time.monotonic()
    earlier = run.rerun.get(phase.id)
    if earlier is None and phase.shards > 1 and run.sharding is not None:
        sharded = _run_sharded(run, run.sharding, phase, python, seconds)
        if sharded is not None:
            return _deadline_bound(run, phase, sharded, deadline_bound)
    suites = failed_ids(earlier) if earlier is not None else phase.suites
    outcome = _pytest(run, python, suites, files, seconds)
    if outcome.stopped_reason:
        run.cancelled, run.problem = True, outcome.stopped_reason
        return _placeholder(phase, PhaseStatus.NOT_RUN, f"stopped: {outcome.stopped_reason}")
    found = session.read_session(outcome, files, checkout=run.checkout, scrub=run.scrub)
    if phase.retries and not outcome.timed_out:
        tests = retries.retry_failures(
            found.tests,
            retries=phase.retries,
            rerun=lambda node_id, left: _rerun(run, phase, python, node_id, left),
            seconds_left=lambda: seconds - (time.monotonic() - started),
        )
        found = dataclasses.replace(found, tests=tests)
        if run.cancelled:
            return _placeholder(phase, PhaseStatus.NOT_RUN, f"stopped: {run.problem}")
    if earlier is not None:
        found = _joined(found, earlier)
    tests, counts = retries.apply_policy(found.tests, found.counts, run.plan.flaky)
    found = dataclasses.replace(found, tests=tests, counts=counts)
    judged = session.judge(phase, found, outcome, duration_seconds=time.monotonic() - started)
    return _deadline_bound(run, phase, judged, deadline_bound)


def _deadline_bound(
    run: _Execution, phase: Phase, judged: PhaseVerdict, deadline_bound: bool
) -> PhaseVerdict:
    """A phase stopped by the run's timeout (not its own) times the run out."""
    if judged.status is PhaseStatus.TIMED_OUT and deadline_bound:
        run.timed_out = True
        run.problem = f"the run's timeout was reached during phase '{phase.id}'"
        reasons = ("stopped by the run's timeout", *judged.reasons[1:])
        return dataclasses.replace(judged, reasons=reasons)
    return judged


def _run_sharded(
    run: _Execution, sharding: shards.Sharding, phase: Phase, python: str, seconds: float
) -> PhaseVerdict | None:
    """The phase's test files split into shards that run anywhere (this process among them),
    merged into one verdict; None when there is nothing to split (one file): it runs whole."""
    started = time.monotonic()
    units = shards.expand_suites(run.checkout, phase.suites)
    known = shards.unit_durations(units, sharding.durations(phase.id))
    groups = shards.split(units, known, phase.shards)
    if len(groups) < 2:
        return None

    def own(index: int, seconds_left: float) -> shards.ShardResult:
        return _shard_result(run, phase, python, index, groups[index], seconds_left)

    ran = sharding.run(phase.id, groups, own, seconds=seconds, should_stop=run.should_stop)
    merged = shards.merge(ran.results, expected=len(groups), lost=ran.lost)
    stopped = ran.stopped or merged.stopped
    if stopped:
        run.cancelled, run.problem = True, stopped
        return _placeholder(phase, PhaseStatus.NOT_RUN, f"stopped: {stopped}")
    if not merged.missing:  # the next run's split: seconds per file
        sharding.remember(phase.id, shards.file_durations(merged.tests))
    return verdict.judge(
        phase,
        merged.tests,
        duration_seconds=time.monotonic() - started,
        timed_out=merged.timed_out,
        collection_errors=merged.collection_errors,
        session_problem=merged.problem,
        counts=merged.counts,
        running=merged.running,
        output_tail=merged.output if merged.abnormal or merged.timed_out else "",
    )


def _shard_result(
    run: _Execution, phase: Phase, python: str, index: int, units: Sequence[str], seconds: float
) -> shards.ShardResult:
    """One shard's files through pytest here, with the phase's retries and flaky policy."""
    started = time.monotonic()
    files = _PhaseFiles(run.artifacts, f"{phase.id}-shard-{index + 1}", run.output)
    outcome = _pytest(run, python, units, files, seconds)
    if outcome.stopped_reason:
        return shards.ShardResult(index, stopped=outcome.stopped_reason)
    found = session.read_session(outcome, files, checkout=run.checkout, scrub=run.scrub)
    if phase.retries and not outcome.timed_out:
        tests = retries.retry_failures(
            found.tests,
            retries=phase.retries,
            rerun=lambda node_id, left: _rerun(run, phase, python, node_id, left),
            seconds_left=lambda: seconds - (time.monotonic() - started),
        )
        found = dataclasses.replace(found, tests=tests)
        if run.cancelled:
            return shards.ShardResult(index, stopped=run.problem or "stopped")
    tests, counts = retries.apply_policy(found.tests, found.counts, run.plan.flaky)
    return shards.ShardResult(
        index,
        tests=tests,
        collection_errors=found.collection_errors,
        counts=counts,
        running=found.running,
        problem=found.problem,
        abnormal=found.abnormal,
        output=found.output if found.abnormal or outcome.timed_out else "",
        timed_out=outcome.timed_out,
        duration_seconds=time.monotonic() - started,
    )


def execute_shard(
    checkout: Path,
    plan: Plan,
    phase_id: str,
    index: int,
    units: Sequence[str],
    *,
    env: Mapping[str, str],
    artifacts: Path,
    scrub: Scrub,
    should_stop: StopCheck,
    seconds: float,
    isolation: Isolation = unsandboxed,
) -> shards.ShardResult:
    """One shard of a sharded phase, on whichever worker took it: its files through pytest
    in this checkout, inside the run's isolation, with the phase's retries (no setup: the
    coordinating run did it once). `seconds`: what is left of the phase's timeout."""
    checkout, artifacts = checkout.resolve(), artifacts.resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    output = artifacts / OUTPUT_DIR
    output.mkdir(exist_ok=True)
    python = plan.python or sys.executable
    run = _Execution(
        checkout=checkout,
        plan=plan,
        env={**env, PYTHON_VAR: python, OUTPUT_VAR: str(output)},
        artifacts=artifacts,
        output=output,
        on_progress=lambda r: None,
        should_stop=should_stop,
        deadline=None,
        fields={},
        scrub=scrub,
    )
    run.pytest_env = plugin_env(run.env, output)
    with contextlib.ExitStack() as stack:
        try:
            run.launcher = stack.enter_context(isolation(checkout, output, python))
        except OSError as error:
            problem = scrub(f"the sandbox could not start, so the shard did not run: {error}")
            return shards.ShardResult(index, problem=problem, abnormal=True)
        return _shard_result(run, plan.phase(phase_id), python, index, units, seconds)


def _joined(found: session.Session, earlier: Mapping[str, Any]) -> session.Session:
    """A rerun's results joined to the earlier run's: its passed tests keep their result."""
    merged = merge(earlier, found.tests)
    counts = merged.counts
    counts["errors"] += len(found.collection_errors)  # pytest counts them among its errors
    return dataclasses.replace(found, tests=merged.tests, counts=counts)


def _pytest(
    run: _Execution, python: str, suites: Sequence[str], files: session.PhaseFiles, seconds: float
) -> processes.ProcessOutcome:
    outcome = processes.supervise(
        pytest_argv(python, suites, files.junit, files.stream),
        cwd=run.checkout,
        env=run.pytest_env,
        timeout_seconds=seconds,
        log_path=files.log,
        should_stop=run.should_stop,
        launcher=run.launcher,
    )
    return scrub_outcome(outcome, run.scrub)


def _rerun(run: _Execution, phase: Phase, python: str, node_id: str, seconds: float) -> TestResult:
    """One failed test again, alone, in the same checkout and environment."""
    run.retry_count += 1
    files = _PhaseFiles(run.artifacts, f"{phase.id}-retry-{run.retry_count}", run.output)
    outcome = _pytest(run, python, [node_id], files, seconds)
    if outcome.stopped_reason:
        run.cancelled, run.problem = True, outcome.stopped_reason
    found = session.read_session(outcome, files, checkout=run.checkout, scrub=run.scrub)
    same = [t for t in found.tests if t.node_id == node_id]
    if same:
        return same[0]
    why = "timed out" if outcome.timed_out else found.problem or "the retry reported no result"
    return TestResult(node_id, Outcome.ERROR, outcome.duration_seconds, message=why)


_PhaseFiles = session.PhaseFiles


def _mark_rest(run: _Execution, reason: str) -> None:
    for phase in run.plan.phases:
        if run.verdicts[phase.id].status is PhaseStatus.PENDING:
            run.verdicts[phase.id] = _placeholder(phase, PhaseStatus.NOT_RUN, reason)


def _leave_pending_as_not_run(run: _Execution) -> None:
    if run.cancelled:
        _mark_rest(run, "not run: the run was cancelled")
    elif run.timed_out:
        _mark_rest(run, "not run: the run's timeout was reached")
    elif run.setup_failed:
        _mark_rest(run, "not run: setup failed")
    else:
        _mark_rest(run, "not run")
