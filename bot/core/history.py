"""What the bot remembers across runs, and the decisions it makes from it (no I/O): whether a
failure pattern is new in this pull request, seen before, or also failing on the default branch;
a test's flaky rate; the pull request's run history; whether to mention the requester (only when
the result flips). `bot.state.history` stores these values in Redis."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

FLAKY_WINDOW = 20  # a test's flaky rate is over its last N runs
PR_RUNS_SHOWN = 10  # rows of the PR comment's history table
SEEN_IN_ROWS = 15  # rows of a five-whys issue's "Seen in" table, this run included
_DECIDED = ("success", "failure")  # a cancelled or timed-out run neither flips nor repeats


class RunEntry(BaseModel):
    """One finished run, as the history table and the flip rule see it."""

    run_id: str
    sha: str
    conclusion: str
    passed: int = 0
    total: int = 0
    duration_seconds: float = 0.0
    url: str | None = None
    requested_by: str = ""
    at: float = 0.0
    pr_number: int | None = None
    default_branch: bool = False


class Occurrence(BaseModel):
    """A failure pattern, or one test, in one run."""

    run_id: str
    sha: str
    at: float
    pr_number: int | None = None
    default_branch: bool = False
    outcome: str = "failed"  # tests: passed | failed | flaky


class Seen(StrEnum):
    NEW = "new"
    SEEN_BEFORE = "seen_before"
    ON_DEFAULT_BRANCH = "on_default_branch"


@dataclass(frozen=True)
class PatternHistory:
    """Where a pattern was seen before this run."""

    seen: Seen
    pull_requests: tuple[int, ...] = ()
    count: int = 0  # earlier runs that failed with it
    first_seen: float | None = None
    last_seen: float | None = None
    occurrences: tuple[Occurrence, ...] = ()  # the newest SEEN_IN_ROWS, newest first


def tag_pattern(
    earlier: Sequence[Occurrence], *, pr_number: int | None, failing_on_default: bool
) -> PatternHistory:
    """**also failing on the default branch** when the default branch's latest run failed with
    it; **seen before** when another pull request (or the default branch) had it; else **new**
    (earlier runs of this same pull request do not make it old)."""
    others = [o for o in earlier if o.pr_number != pr_number or o.default_branch]
    prs = tuple(sorted({o.pr_number for o in earlier if o.pr_number is not None}))
    times = [o.at for o in earlier]
    if failing_on_default:
        seen = Seen.ON_DEFAULT_BRANCH
    elif others:
        seen = Seen.SEEN_BEFORE
    else:
        seen = Seen.NEW
    return PatternHistory(
        seen,
        pull_requests=prs,
        count=len(earlier),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        occurrences=tuple(sorted(earlier, key=lambda o: o.at, reverse=True)[: SEEN_IN_ROWS - 1]),
    )


@dataclass(frozen=True)
class TestHistory:
    __test__ = False

    runs: int
    flaky: int
    failed: int

    @property
    def flaky_rate(self) -> float:
        return self.flaky / self.runs if self.runs else 0.0


def flaky_history(occurrences: Sequence[Occurrence], window: int = FLAKY_WINDOW) -> TestHistory:
    """A test's last `window` runs (newest first in `occurrences`)."""
    recent = list(occurrences)[:window]
    return TestHistory(
        runs=len(recent),
        flaky=sum(1 for o in recent if o.outcome == "flaky"),
        failed=sum(1 for o in recent if o.outcome == "failed"),
    )


def last_passing(occurrences: Sequence[Occurrence]) -> Occurrence | None:
    """The newest run in which the test passed (not flakily)."""
    return next((o for o in occurrences if o.outcome == "passed"), None)


def mention(previous: Sequence[RunEntry], conclusion: str, requested_by: str) -> str | None:
    """The requester to mention: only when this result flips the pull request's last decided
    one (red to green, green to red); never on the first run or on a repeat."""
    if conclusion not in _DECIDED or not requested_by:
        return None
    before = next((e for e in previous if e.conclusion in _DECIDED), None)
    if before is None or before.conclusion == conclusion:
        return None
    return requested_by


MAX_CHANGED_COMMITS = 10  # listed in a five-whys issue's evidence
MAX_CHANGED_FILES = 20


@dataclass(frozen=True)
class Changes:
    """What changed between the newest commit where a pattern's tests passed (`base`) and the
    run's commit: GitHub's compare API, bounded."""

    base: str
    commits: tuple[tuple[str, str], ...]  # (sha, the first line of its message), oldest first
    files: tuple[str, ...]
    total_commits: int
    total_files: int


@dataclass(frozen=True)
class HistoryView:
    """What a report shows of the past, gathered before rendering."""

    patterns: dict[str, PatternHistory]  # pattern key -> where it was seen before
    tests: dict[str, TestHistory]  # test id -> its recent runs (failed and flaky tests only)
    last_passed: dict[str, Occurrence]  # test id -> the newest run where it passed
    pr_runs: tuple[RunEntry, ...] = ()  # this pull request's earlier runs, newest first
    mention: str | None = None  # the requester, when the result flipped
    default_branch_run: bool = False  # this run is of the default branch's head (`auto_run`)
    changes: dict[str, Changes] = dataclasses.field(default_factory=dict)  # by base commit


def last_passed_for(view: HistoryView, node_ids: Sequence[str]) -> Occurrence | None:
    """The newest run in which one of these tests passed (the evidence's "last passed")."""
    passes = [view.last_passed[t] for t in node_ids if t in view.last_passed]
    return max(passes, key=lambda o: o.at) if passes else None
