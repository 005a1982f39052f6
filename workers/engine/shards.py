"""A sharded phase (`shards: N`): its suites expanded to test files, the files split into N
balanced shards, each shard's result as JSON (it crosses Redis), and the shards' results merged
into one phase's session.

Decisions only, but for `expand_suites`, which lists the checkout's folders. Where the shards
run (Celery tasks, the coordinating run job) is `workers.job.shards`."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from bot.core.results import COUNT_WORDS, Attempt, Frame, Outcome, TestResult
from workers.engine.verdict import count

# pytest's defaults (`python_files`, `norecursedirs`): a folder suite becomes these files.
TEST_FILE_PATTERNS = ("test_*.py", "*_test.py")
SKIPPED_DIRS = ("*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}")
MAX_FILES = 10_000  # a folder with more test files than this stays one unit
MAX_SHARD_TESTS = 50_000  # results kept of one shard (a shard's JSON in Redis stays bounded)
MAX_OUTPUT_CHARS = 4000


def is_node_id(suite: str) -> bool:
    return "::" in suite


def file_of(node_id: str) -> str:
    """The test file a node id belongs to (`tests/test_a.py::test_x[1]` -> `tests/test_a.py`)."""
    return node_id.split("::", 1)[0]


def expand_suites(checkout: Path, suites: Sequence[str]) -> tuple[str, ...]:
    """The phase's units of work: a folder suite becomes its test files (pytest's default
    patterns, sorted, relative to the checkout); a file or a node id stays whole. A folder
    that is a symlink, leads outside the checkout, holds no test file or too many stays whole
    too (pytest then collects it as it would unsharded). Units are unique, in suite order."""
    root = checkout.resolve()
    units: dict[str, None] = {}
    for suite in suites:
        for unit in _units_of(root, suite):
            units.setdefault(unit, None)
    return tuple(units)


def _units_of(root: Path, suite: str) -> list[str]:
    if is_node_id(suite):
        return [suite]
    folder = root / suite
    if folder.is_symlink() or not folder.is_dir():
        return [suite]
    try:
        folder.resolve().relative_to(root)
    except ValueError:
        return [suite]
    found: list[str] = []
    for current, dirs, files in os.walk(folder):  # symlinked folders are not followed
        dirs[:] = sorted(d for d in dirs if not _skipped(d))
        for name in sorted(files):
            if any(fnmatch.fnmatch(name, p) for p in TEST_FILE_PATTERNS):
                found.append(PurePosixPath(Path(current, name).relative_to(root)).as_posix())
        if len(found) > MAX_FILES:
            return [suite]
    return found or [suite]


def _skipped(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in SKIPPED_DIRS)


def split(
    units: Sequence[str], durations: Mapping[str, float], shards: int
) -> tuple[tuple[str, ...], ...]:
    """`units` in at most `shards` groups of about equal expected time, none empty.

    Longest first onto the least loaded shard (LPT). A unit's expected time is its recorded
    duration; one never recorded counts as the mean of the known ones (1 when none is known,
    which balances by file count). Ties go to the lower shard, so the split is deterministic;
    each shard keeps its units in suite order."""
    count = max(1, min(shards, len(units)))
    known = [durations[u] for u in units if u in durations]
    guess = sum(known) / len(known) if known else 1.0
    expected = {u: max(0.0, durations.get(u, guess)) for u in units}
    order = {u: i for i, u in enumerate(units)}
    loads = [0.0] * count
    groups: list[list[str]] = [[] for _ in range(count)]
    for unit in sorted(units, key=lambda u: (-expected[u], order[u])):
        target = min(range(count), key=lambda i: (loads[i], i))
        groups[target].append(unit)
        loads[target] += expected[unit]
    return tuple(tuple(sorted(g, key=order.__getitem__)) for g in groups if g)


def file_durations(tests: Iterable[TestResult]) -> dict[str, float]:
    """Seconds per test file (node ids of one file summed), for the next run's split."""
    totals: dict[str, float] = {}
    for test in tests:
        name = file_of(test.node_id)
        totals[name] = totals.get(name, 0.0) + max(0.0, test.duration)
    return totals


def unit_durations(units: Sequence[str], files: Mapping[str, float]) -> dict[str, float]:
    """The recorded seconds of each unit that is a file (a node id is never recorded)."""
    return {u: files[u] for u in units if u in files}


@dataclass(frozen=True)
class ShardResult:
    """What one shard's pytest reported (scrubbed), as the coordinator merges it."""

    index: int
    tests: tuple[TestResult, ...] = ()
    collection_errors: tuple[TestResult, ...] = ()
    counts: dict[str, int] | None = None  # pytest's summary counts; None: count the tests
    running: str | None = None  # the test it was stopped during
    problem: str | None = None  # why the session ended abnormally
    abnormal: bool = False
    output: str = ""
    timed_out: bool = False  # stopped by the phase's timeout
    stopped: str | None = None  # stopped by a cancel (the reason)
    duration_seconds: float = 0.0
    worker: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "tests": [_test_json(t) for t in self.tests[:MAX_SHARD_TESTS]],
            "collection_errors": [_test_json(t) for t in self.collection_errors[:MAX_FILES]],
            "counts": self.counts,
            "running": self.running,
            "problem": self.problem,
            "abnormal": self.abnormal,
            "output": self.output[-MAX_OUTPUT_CHARS:],
            "timed_out": self.timed_out,
            "stopped": self.stopped,
            "duration_seconds": self.duration_seconds,
            "worker": self.worker,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShardResult:
        counts = data.get("counts")
        return cls(
            index=int(data["index"]),
            tests=tuple(_test_of(t) for t in data.get("tests") or ()),
            collection_errors=tuple(_test_of(t) for t in data.get("collection_errors") or ()),
            counts={str(k): int(v) for k, v in counts.items()} if counts is not None else None,
            running=data.get("running"),
            problem=data.get("problem"),
            abnormal=bool(data.get("abnormal")),
            output=str(data.get("output") or ""),
            timed_out=bool(data.get("timed_out")),
            stopped=data.get("stopped"),
            duration_seconds=float(data.get("duration_seconds") or 0.0),
            worker=str(data.get("worker") or ""),
        )


def _test_json(test: TestResult) -> dict[str, Any]:
    return {
        "node_id": test.node_id,
        "outcome": test.outcome.value,
        "duration": test.duration,
        "file": test.file,
        "line": test.line,
        "message": test.message,
        "traceback": test.traceback,
        "frames": [[f.path, f.line, f.function] for f in test.frames],
        "attempts": [[a.outcome.value, a.duration, a.message] for a in test.attempts],
    }


def _test_of(data: Mapping[str, Any]) -> TestResult:
    return TestResult(
        node_id=str(data["node_id"]),
        outcome=Outcome(data["outcome"]),
        duration=float(data.get("duration") or 0.0),
        file=data.get("file"),
        line=data.get("line"),
        message=str(data.get("message") or ""),
        traceback=str(data.get("traceback") or ""),
        frames=tuple(Frame(str(p), int(n), str(f)) for p, n, f in data.get("frames") or ()),
        attempts=tuple(
            Attempt(Outcome(o), float(d), str(m)) for o, d, m in data.get("attempts") or ()
        ),
    )


@dataclass(frozen=True)
class Merged:
    """The shards' results as one phase's: what `verdict.judge` takes."""

    tests: tuple[TestResult, ...]
    collection_errors: tuple[TestResult, ...]
    counts: dict[str, int] | None
    running: str | None
    problem: str | None
    abnormal: bool
    output: str
    timed_out: bool
    stopped: str | None
    missing: tuple[int, ...] = field(default=())


def merge(results: Sequence[ShardResult], *, expected: int, lost: Mapping[int, str] = {}) -> Merged:
    """Every shard's tests in shard order; pytest's counts summed (counted from the tests of a
    shard that has none); the first problem of each shard, named by its shard; timed out or
    stopped when any shard was. A shard with no result (`lost`: its reason) is a problem of
    the phase: nothing is concluded about its tests."""
    by_index = {r.index: r for r in results}
    ordered = [by_index[i] for i in sorted(by_index)]
    counts = dict.fromkeys(COUNT_WORDS, 0)
    for result in ordered:
        shard_counts = result.counts if result.counts is not None else _counted(result)
        for word in COUNT_WORDS:
            counts[word] += shard_counts.get(word, 0)
    problems = [f"shard {r.index + 1} of {expected}: {r.problem}" for r in ordered if r.problem]
    missing = tuple(i for i in range(expected) if i not in by_index)
    problems += [
        f"shard {i + 1} of {expected} reported no result: {lost.get(i, 'it never finished')}"
        for i in missing
    ]
    outputs = [
        f"--- shard {r.index + 1} of {expected} ---\n{r.output.strip()}"
        for r in ordered
        if r.output.strip() and (r.abnormal or r.timed_out)
    ]
    return Merged(
        tests=tuple(t for r in ordered for t in r.tests),
        collection_errors=tuple(e for r in ordered for e in r.collection_errors),
        counts=counts,
        running=next((r.running for r in ordered if r.running), None),
        problem="; ".join(problems) or None,
        abnormal=any(r.abnormal for r in ordered) or bool(missing),
        output="\n".join(outputs)[-MAX_OUTPUT_CHARS:],
        timed_out=any(r.timed_out for r in ordered),
        stopped=next((r.stopped for r in ordered if r.stopped), None),
        missing=missing,
    )


def _counted(result: ShardResult) -> dict[str, int]:
    return count(result.tests, result.collection_errors)


# (shard index, seconds left of the phase) -> that shard run here, in the run's own checkout
RunOwn = Callable[[int, float], ShardResult]


@dataclass(frozen=True)
class ShardsRan:
    """What became of a sharded phase's shards."""

    results: tuple[ShardResult, ...]
    lost: Mapping[int, str] = field(default_factory=dict)  # shard -> why it has no result
    stopped: str | None = None  # the run was stopped (cancel, supersede) while they ran


class Sharding(Protocol):
    """Where a run's shards run (`workers.job.shards.CeleryShards`): the engine splits and
    merges, this hands the shards out, runs some itself through `own`, and waits for the rest."""

    def durations(self, phase_id: str) -> Mapping[str, float]:
        """Seconds per test file from earlier runs of the phase (empty: none known)."""
        ...

    def remember(self, phase_id: str, durations: Mapping[str, float]) -> None: ...

    def run(
        self,
        phase_id: str,
        groups: Sequence[Sequence[str]],
        own: RunOwn,
        *,
        seconds: float,
        should_stop: Callable[[], str | None],
    ) -> ShardsRan: ...
