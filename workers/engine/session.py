"""One finished (or killed) pytest session to a `PhaseVerdict`: the result stream first (it
survives kills and crashes), JUnit XML when there is no stream, pytest's own output for what
neither holds (a conftest that could not be imported, the last words of a crash)."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.core.plan import Phase
from bot.core.results import PhaseVerdict, TestResult
from workers.engine import abnormal, junit, processes, stream, verdict
from workers.engine.processes import ProcessOutcome

JUNIT_MAX_BYTES = 64 * 1024 * 1024
Scrub = Callable[[str], str]


@dataclass(frozen=True)
class PhaseFiles:
    """Where a phase's pytest writes: JUnit XML, the result stream, the output log."""

    junit: Path
    stream: Path
    log: Path

    def __init__(self, artifacts: Path, name: str, output: Path | None = None):
        """The reports go to `output` (the folder the tests may write; `artifacts` by default),
        the log the worker writes stays in `artifacts`, out of their reach."""
        output = output or artifacts
        object.__setattr__(self, "junit", output / f"junit-{name}.xml")
        object.__setattr__(self, "stream", output / f"results-{name}.jsonl")
        object.__setattr__(self, "log", artifacts / f"pytest-{name}.log")
        for path in (self.junit, self.stream):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                path.unlink()


@dataclass(frozen=True)
class Session:
    """What one pytest process reported, however it ended."""

    tests: tuple[TestResult, ...]
    collection_errors: tuple[TestResult, ...]
    counts: dict[str, int] | None
    running: str | None
    problem: str | None
    abnormal: bool
    output: str


def read_session(
    outcome: ProcessOutcome, files: PhaseFiles, *, checkout: Path, scrub: Scrub
) -> Session:
    """The results of one pytest process, with the running test and the reason it ended early.

    `outcome` comes scrubbed; what the reports hold is scrubbed as they are parsed."""
    found = _read_stream(files.stream, scrub)
    conftest = abnormal.conftest_errors(outcome.output_tail, str(checkout))
    if found is None:
        return _from_junit(outcome, files, conftest, scrub)
    tests, counts = list(found.tests), dict(found.counts)
    counts["errors"] += len(conftest)
    ended_early = not found.finished and not outcome.start_error
    problem = None
    output = outcome.output_tail
    if found.last_output:
        output = (
            f"{output.rstrip()}\n--- captured output of {found.running} ---\n{found.last_output}"
        )
    if found.running and ended_early:
        why = (
            "the phase's timeout stopped it during this test"
            if outcome.timed_out
            else f"the test process ended (exit code {outcome.exit_code}) during this test"
        )
        tests.append(abnormal.crashed_test(found.running, why, output))
        counts["errors"] += 1
    if outcome.start_error:
        problem = f"could not start pytest: {outcome.start_error}"
    elif ended_early and not outcome.timed_out:
        during = f" while running {found.running}" if found.running else ""
        problem = (
            f"pytest ended before finishing its session (exit code {outcome.exit_code}){during}"
        )
    elif not found.collection_errors and not conftest:
        problem = verdict.pytest_problem(outcome.exit_code, outcome.output_tail)
    return Session(
        tests=tuple(tests),
        collection_errors=(*found.collection_errors, *conftest),
        counts=counts,
        running=found.running if ended_early else None,
        problem=problem,
        abnormal=ended_early or bool(problem) or bool(conftest),
        output=output[-processes.OUTPUT_TAIL_CHARS :],
    )


def _from_junit(
    outcome: ProcessOutcome, files: PhaseFiles, conftest: tuple[TestResult, ...], scrub: Scrub
) -> Session:
    summary, report_problem = _read_junit(files.junit, scrub)
    collection = (*summary.collection_errors, *conftest)
    problem = None
    if outcome.start_error:
        problem = f"could not start pytest: {outcome.start_error}"
    elif not outcome.timed_out and not collection:
        problem = verdict.pytest_problem(outcome.exit_code, outcome.output_tail)
        problem = problem or (report_problem if outcome.exit_code not in (0, 1, 5) else None)
    return Session(
        tests=summary.tests,
        collection_errors=collection,
        counts=None,
        running=None,
        problem=problem,
        abnormal=bool(problem) or outcome.timed_out or bool(conftest),
        output=outcome.output_tail,
    )


def judge(
    phase: Phase, found: Session, outcome: ProcessOutcome, *, duration_seconds: float
) -> PhaseVerdict:
    return verdict.judge(
        phase,
        found.tests,
        duration_seconds=duration_seconds,
        timed_out=outcome.timed_out,
        collection_errors=found.collection_errors,
        session_problem=found.problem,
        counts=found.counts,
        running=found.running,
        output_tail=found.output if found.abnormal or outcome.timed_out else "",
    )


def _read_stream(path: Path, scrub: Scrub) -> stream.StreamSummary | None:
    try:
        return stream.parse(_read_tests_file(path, stream.MAX_STREAM_BYTES), scrub=scrub)
    except FileNotFoundError:
        return None
    except OSError:  # not a plain file of the tests' own: as if there were none
        return None


def _read_junit(path: Path, scrub: Scrub) -> tuple[junit.JunitSummary, str | None]:
    try:
        return junit.parse(_read_tests_file(path, JUNIT_MAX_BYTES), scrub=scrub), None
    except FileNotFoundError:
        return junit.JunitSummary(()), "pytest wrote no JUnit report"
    except OSError as error:
        return junit.JunitSummary(()), f"the JUnit report cannot be read: {error.strerror}"
    except junit.JunitError as exc:
        return junit.JunitSummary(()), str(exc)


def _read_tests_file(path: Path, limit: int) -> str:
    """The last `limit` bytes of a file the tests wrote, read by the worker: never through a
    symlink or a hard link (either could point at a file only the worker may read, whose text
    would then reach the report), nor a device or FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise OSError(errno.EPERM, "not a plain file")
        handle.seek(max(0, info.st_size - limit))
        return handle.read(limit).decode("utf-8", errors="replace")
