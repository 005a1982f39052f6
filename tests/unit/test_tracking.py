"""The tracking issue's state across runs, and its rendering, as tables of named cases."""

from __future__ import annotations

import pytest

from bot.core import tracking
from bot.core.report.tracking_issue import (
    render_tracking_issue,
    tracking_marker,
    tracking_title,
)
from bot.core.results import Conclusion, Outcome, PhaseStatus, PhaseVerdict, RunReport, TestResult
from bot.core.tracking import TrackingState, apply, outcome_of

BOOM = TestResult("tests/test_auth.py::test_login", Outcome.FAILED, message="ValueError: boom 17")
SLOW = TestResult("tests/test_pay.py::test_pay", Outcome.FAILED, message="TimeoutError: slow 3s")


def phase(pid: str, status: PhaseStatus, *failures: TestResult, mrr: int = 100) -> PhaseVerdict:
    return PhaseVerdict(
        phase_id=pid,
        name=pid.title(),
        mrr_at_risk=mrr,
        status=status,
        passed=1,
        failed=len(failures),
        pass_rate=1 / (1 + len(failures)),
        tests=failures,
    )


def report(run_id: str, *phases: PhaseVerdict, pr: int | None = 7) -> RunReport:
    failed = any(p.status is PhaseStatus.FAILED for p in phases)
    return RunReport(
        check_name="GP",
        phases=phases,
        conclusion=Conclusion.FAILURE if failed or not phases else Conclusion.SUCCESS,
        repo="o/r",
        head_sha=run_id * 8,
        pr_number=pr,
        run_id=run_id,
        details_url=f"https://bot.example.com/runs/{run_id}",
    )


RED_AUTH = phase("auth", PhaseStatus.FAILED, BOOM, mrr=1000)
GREEN_AUTH = phase("auth", PhaseStatus.PASSED)
RED_PAY = phase("pay", PhaseStatus.FAILED, SLOW, mrr=50)
GREEN_PAY = phase("pay", PhaseStatus.PASSED)
SKIPPED_AUTH = phase("auth", PhaseStatus.NOT_SELECTED)


def run_all(*reports: RunReport, keep: int = 3) -> TrackingState:
    state = TrackingState(repo="o/r", environment="staging")
    for at, rep in enumerate(reports, start=1):
        state = apply(state, outcome_of(rep, at=float(at) * 86400), keep_green_runs=keep)
    return state


def shown(state: TrackingState) -> list[tuple[str, bool, int]]:
    return [(p.short.split(":")[0], p.failing, p.green_runs) for p in state.patterns]


# (name, runs in order, patterns afterwards as (exception, failing, green runs))
CASES = [
    ("a red run opens a pattern", [report("a", RED_AUTH)], [("ValueError", True, 0)]),
    (
        "a green run ticks it",
        [report("a", RED_AUTH), report("b", GREEN_AUTH)],
        [("ValueError", False, 1)],
    ),
    (
        "it fails again: unticked, green count reset",
        [report("a", RED_AUTH), report("b", GREEN_AUTH), report("c", RED_AUTH)],
        [("ValueError", True, 0)],
    ),
    (
        "dropped after three green runs",
        [report("a", RED_AUTH), *(report(x, GREEN_AUTH) for x in "bcd")],
        [],
    ),
    (
        "a run that did not run its phase says nothing",
        [report("a", RED_AUTH, GREEN_PAY), report("b", SKIPPED_AUTH, GREEN_PAY)],
        [("ValueError", True, 0)],
    ),
    (
        "a run that ended early says nothing",
        [report("a", RED_AUTH), report("b")],
        [("ValueError", True, 0)],
    ),
    (
        "failing first, then by money",
        [report("a", RED_PAY, GREEN_AUTH), report("b", RED_AUTH, GREEN_PAY)],
        [("ValueError", True, 0), ("TimeoutError", False, 1)],
    ),
]


@pytest.mark.parametrize(("name", "runs", "expected"), CASES, ids=[c[0] for c in CASES])
def test_patterns_across_runs(
    name: str, runs: list[RunReport], expected: list[tuple[str, bool, int]]
) -> None:
    assert shown(run_all(*runs)) == expected


def test_first_and_last_seen_and_pull_requests() -> None:
    state = run_all(
        report("a", RED_AUTH, pr=7), report("b", RED_AUTH, pr=None), report("c", RED_AUTH, pr=9)
    )
    (pattern,) = state.patterns
    assert (pattern.first_seen, pattern.last_seen) == (86400.0, 3 * 86400.0)
    assert pattern.prs == [7, 9]
    assert pattern.mrr_at_risk == 1000


def test_the_same_run_applied_twice_changes_nothing() -> None:
    state = run_all(report("a", RED_AUTH))
    again = apply(state, outcome_of(report("a", RED_AUTH), at=99.0))
    assert again == state


def test_latest_result_per_phase_survives_runs_that_skip_it() -> None:
    state = run_all(report("a", RED_AUTH, GREEN_PAY), report("b", SKIPPED_AUTH, GREEN_PAY))
    latest = {p.phase_id: (p.status, p.sha[:1]) for p in state.phases}
    assert latest == {"auth": ("failed", "a"), "pay": ("passed", "b")}
    assert state.mrr_at_risk == 1000


def test_the_log_keeps_the_newest_runs() -> None:
    reports = [report(f"{i:02d}", GREEN_AUTH) for i in range(tracking.LOG_SIZE + 3)]
    state = run_all(*reports)
    assert len(state.log) == tracking.LOG_SIZE
    assert state.log[0].sha.startswith(f"{tracking.LOG_SIZE + 2:02d}")


def test_the_five_whys_link_is_kept_when_a_later_run_has_none() -> None:
    state = TrackingState(repo="o/r", environment="staging")
    first = outcome_of(report("a", RED_AUTH), at=1.0, five_whys={})
    key = first.failing[0].key
    state = apply(state, outcome_of(report("a", RED_AUTH), at=1.0, five_whys={key: "https://x/1"}))
    state = apply(state, outcome_of(report("b", RED_AUTH), at=2.0))
    assert state.patterns[0].five_whys_url == "https://x/1"


def test_the_body_shows_phases_money_checklist_and_log() -> None:
    state = run_all(report("a", RED_AUTH, RED_PAY), report("b", GREEN_AUTH, RED_PAY))
    body = render_tracking_issue(state)
    assert body.startswith(tracking_marker("staging"))
    assert "| Auth (`auth`) | 1/1 | 100.0% | ✅ Passed | $0 |" in body
    assert "**Total MRR at risk: $50**" in body
    assert "HOLD production deployment" in body
    lines = body.splitlines()
    ticked = [line for line in lines if line.startswith("- [x] `ValueError: boom")]
    still_open = [line for line in lines if line.startswith("- [ ] `TimeoutError: slow")]
    assert len(ticked) == 1 and "$1,000 MRR at risk" in ticked[0]
    assert "green for 1 run" in ticked[0]
    assert len(still_open) == 1 and "$50 MRR at risk" in still_open[0]
    assert "· #7" in body
    assert body.count("https://bot.example.com/runs/") == 2  # one log line per run


def test_marker_and_title_are_safe_for_any_environment_name() -> None:
    assert "-->" not in tracking_marker("x --> <script>")[:-3]
    assert tracking_title("production") == "Golden path: production"
