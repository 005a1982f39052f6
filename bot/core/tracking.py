"""The tracking issue's memory (contract §6): one value per repository and environment, updated
by each finished run (pull request, default branch or deployment).

Pure: `outcome_of(report, ...)` turns a finished run into a `RunOutcome`; `apply(state, outcome)`
returns the next `TrackingState`. The edge (`workers/job/tracking_issue.py`) keeps the state in
Redis and rewrites the issue from it, one writer at a time.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field

from bot.core.report.facts import failure_patterns, recommendation, title
from bot.core.results import PhaseStatus, RunReport

KEEP_GREEN_RUNS = 3  # a ticked pattern leaves the checklist after this many green runs
LOG_SIZE = 10  # runs shown in the log
REMEMBERED_RUNS = 50  # run ids kept to make applying one run twice a no-op
MAX_PATTERNS = 50  # open patterns kept: a broken staging must not grow the issue without end
MAX_PRS = 20  # pull requests listed per pattern

_RAN = (PhaseStatus.PASSED, PhaseStatus.FAILED, PhaseStatus.TIMED_OUT)


class PhaseResult(BaseModel):
    phase_id: str
    name: str
    status: str
    passed: int = 0
    total: int = 0
    pass_rate: float | None = None
    mrr_at_risk: int = 0
    sha: str = ""
    at: float = 0.0

    @property
    def at_risk(self) -> bool:
        return self.status != PhaseStatus.PASSED.value


class PatternSeen(BaseModel):
    key: str
    short: str
    phase_ids: list[str]
    mrr_at_risk: int = 0
    five_whys_url: str | None = None


class RunOutcome(BaseModel):
    """What the tracking issue takes from one finished run."""

    run_id: str
    at: float
    sha: str
    pr_number: int | None = None
    source: str = ""  # "pull request", "default branch", "deployment to production", ...
    conclusion: str
    title: str
    recommendation: str
    link: str | None = None
    phases: list[PhaseResult] = Field(default_factory=list)  # the phases that ran
    failing: list[PatternSeen] = Field(default_factory=list)


class TrackedPattern(BaseModel):
    key: str
    short: str
    phase_ids: list[str]
    mrr_at_risk: int = 0
    five_whys_url: str | None = None
    first_seen: float
    last_seen: float
    prs: list[int] = Field(default_factory=list)
    failing: bool = True  # False: ticked (its phases ran green since it last failed)
    green_runs: int = 0


class LogEntry(BaseModel):
    at: float
    sha: str
    pr_number: int | None = None
    source: str = ""
    conclusion: str
    title: str
    link: str | None = None


class TrackingState(BaseModel):
    repo: str
    environment: str
    phases: list[PhaseResult] = Field(default_factory=list)  # latest result of each phase
    recommendation: str = ""
    patterns: list[TrackedPattern] = Field(default_factory=list)
    log: list[LogEntry] = Field(default_factory=list)  # newest first
    applied: list[str] = Field(default_factory=list)  # run ids, newest last

    @property
    def mrr_at_risk(self) -> int:
        return sum(p.mrr_at_risk for p in self.phases if p.at_risk)


def outcome_of(
    report: RunReport,
    *,
    at: float,
    five_whys: Mapping[str, str] | None = None,
    source: str = "",
) -> RunOutcome:
    """A finished run as the tracking issue sees it. `five_whys`: pattern key -> issue URL."""
    mrr = {p.phase_id: p.mrr_at_risk for p in report.phases}
    links = five_whys or {}
    return RunOutcome(
        run_id=report.run_id,
        at=at,
        sha=report.head_sha,
        pr_number=report.pr_number,
        source=source,
        conclusion=report.conclusion.value if report.conclusion else "failure",
        title=title(report),
        recommendation=recommendation(report),
        link=report.details_url,
        phases=[
            PhaseResult(
                phase_id=p.phase_id,
                name=p.name or p.phase_id,
                status=p.status.value,
                passed=p.passed,
                total=p.total,
                pass_rate=p.pass_rate,
                mrr_at_risk=p.mrr_at_risk,
                sha=report.head_sha,
                at=at,
            )
            for p in report.phases
            if p.status in _RAN
        ],
        failing=[
            PatternSeen(
                key=pattern.key,
                short=pattern.short,
                phase_ids=list(pattern.phase_ids),
                mrr_at_risk=sum(mrr.get(pid, 0) for pid in pattern.phase_ids),
                five_whys_url=links.get(pattern.key),
            )
            for pattern in failure_patterns(report)
        ],
    )


def apply(
    state: TrackingState, outcome: RunOutcome, *, keep_green_runs: int = KEEP_GREEN_RUNS
) -> TrackingState:
    """The state after `outcome`; applying the same run twice changes nothing."""
    if outcome.run_id and outcome.run_id in state.applied:
        return state
    ran = {p.phase_id for p in outcome.phases}
    phases = {p.phase_id: p for p in state.phases}
    for result in outcome.phases:
        phases[result.phase_id] = result
    patterns = _patterns(state.patterns, outcome, ran, keep_green_runs)
    entry = LogEntry(
        at=outcome.at,
        sha=outcome.sha,
        pr_number=outcome.pr_number,
        source=outcome.source,
        conclusion=outcome.conclusion,
        title=outcome.title,
        link=outcome.link,
    )
    return state.model_copy(
        update={
            "phases": list(phases.values()),
            "recommendation": outcome.recommendation,
            "patterns": patterns,
            "log": [entry, *state.log][:LOG_SIZE],
            "applied": [*state.applied, outcome.run_id][-REMEMBERED_RUNS:],
        }
    )


def _patterns(
    tracked: list[TrackedPattern], outcome: RunOutcome, ran: set[str], keep_green_runs: int
) -> list[TrackedPattern]:
    seen = {p.key: p for p in outcome.failing}
    out: list[TrackedPattern] = []
    for pattern in tracked:
        now = seen.pop(pattern.key, None)
        if now is not None:
            out.append(_failed_again(pattern, now, outcome))
        elif ran & set(pattern.phase_ids):
            # Its phase ran and it did not fail: ticked; gone after enough green runs.
            green = pattern.green_runs + 1
            if green < keep_green_runs:
                out.append(pattern.model_copy(update={"failing": False, "green_runs": green}))
        else:
            out.append(pattern)  # its phase did not run: nothing learnt about it
    for new in seen.values():
        out.append(
            TrackedPattern(
                key=new.key,
                short=new.short,
                phase_ids=new.phase_ids,
                mrr_at_risk=new.mrr_at_risk,
                five_whys_url=new.five_whys_url,
                first_seen=outcome.at,
                last_seen=outcome.at,
                prs=[outcome.pr_number] if outcome.pr_number is not None else [],
            )
        )
    # Failing first, then by money at risk; the oldest ticked ones go first past the cap.
    out.sort(key=lambda p: (not p.failing, -p.mrr_at_risk, p.first_seen))
    return out[:MAX_PATTERNS]


def _failed_again(pattern: TrackedPattern, now: PatternSeen, outcome: RunOutcome) -> TrackedPattern:
    prs = list(pattern.prs)
    if outcome.pr_number is not None and outcome.pr_number not in prs:
        prs = [*prs, outcome.pr_number][-MAX_PRS:]
    return pattern.model_copy(
        update={
            "short": now.short,
            "phase_ids": now.phase_ids,
            "mrr_at_risk": now.mrr_at_risk,
            "five_whys_url": now.five_whys_url or pattern.five_whys_url,
            "last_seen": outcome.at,
            "prs": prs,
            "failing": True,
            "green_runs": 0,
        }
    )
