"""What every rendering of a run shares: status words and emoji, money and durations, the
results table, the title, the recommendation line, the hidden markers, the failure patterns."""

from __future__ import annotations

from typing import Any

from bot.core.report.markdown import oneline, url
from bot.core.report.past import flaky_rate, pattern_seen
from bot.core.results import (
    Conclusion,
    Outcome,
    PhaseStatus,
    PhaseVerdict,
    RunReport,
    TestResult,
    summary_line,
)
from bot.core.signatures import FailurePattern, cluster

PR_COMMENT_MARKER = "<!-- golden-path:pr-comment -->"


STATUS: dict[PhaseStatus, tuple[str, str]] = {
    PhaseStatus.PASSED: ("✅", "Passed"),
    PhaseStatus.FAILED: ("❌", "Failed"),
    PhaseStatus.TIMED_OUT: ("⏱️", "Timed out"),
    PhaseStatus.NOT_RUN: ("⏭️", "Not run"),
    PhaseStatus.NOT_SELECTED: ("➖", "Not selected"),  # noqa: RUF001 - an emoji, on purpose
    PhaseStatus.PENDING: ("⏳", "Pending"),
    PhaseStatus.RUNNING: ("🔄", "Running"),
}


CONCLUSION_EMOJI = {
    None: "🔄",
    Conclusion.SUCCESS: "✅",
    Conclusion.FAILURE: "❌",
    Conclusion.CANCELLED: "🚫",
    Conclusion.TIMED_OUT: "⏱️",
    Conclusion.ACTION_REQUIRED: "⚠️",
}


_FINISHED = (PhaseStatus.PASSED, PhaseStatus.FAILED, PhaseStatus.TIMED_OUT)


def five_whys_marker(key: str) -> str:
    return f"<!-- golden-path:five-whys sig={key} -->"


def linked_issue_marker(pr_number: int | None) -> str:
    return f"<!-- golden-path:linked-issue pr={pr_number} -->"


def money(dollars: int) -> str:
    return f"${dollars:,}"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
    minutes, secs = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _selected(report: RunReport) -> list[PhaseVerdict]:
    return [p for p in report.phases if p.status is not PhaseStatus.NOT_SELECTED]


def _at_risk(phase: PhaseVerdict) -> bool:
    return phase.status not in (PhaseStatus.PASSED, PhaseStatus.NOT_SELECTED)


def at_risk_dollars(phase: PhaseVerdict) -> int | None:
    """The MRR a phase puts at risk: its MRR unless it passed; None when it was not selected."""
    if phase.status is PhaseStatus.NOT_SELECTED:
        return None
    return phase.mrr_at_risk if _at_risk(phase) else 0


def _row(phase: PhaseVerdict) -> dict[str, Any]:
    emoji, word = STATUS[phase.status]
    ran = phase.status in (*_FINISHED, PhaseStatus.RUNNING) or phase.total > 0
    return {
        "id": phase.phase_id,
        "name": phase.name or phase.phase_id,
        "tests": f"{phase.passed}/{phase.total}" if ran else "—",
        "results": results_words(phase) if ran else "—",
        "pass_rate": "—" if phase.pass_rate is None else f"{phase.pass_rate * 100:.1f}%",
        "p95": seconds(phase.p95_seconds),
        "duration": seconds(phase.duration_seconds) if ran else "—",
        "status": f"{emoji} {word}",
        "mrr": "—" if (dollars := at_risk_dollars(phase)) is None else money(dollars),
    }


def results_words(phase: PhaseVerdict) -> str:
    """pytest's own summary ("1 failed, 2 passed, 3 skipped"), flaky tests apart, and what was
    running when the phase was stopped."""
    words = summary_line(phase.counts) or "no tests"
    if phase.flaky_count:
        words += f" ({phase.flaky_count} flaky)"
    if phase.carried_over:
        words += " (carried over)"
    return words


def recommendation(report: RunReport) -> str:
    if report.conclusion is None:
        return "⏳ **Recommendation pending**: the golden path is still running."
    if report.conclusion is Conclusion.SUCCESS and not report.failed_phases:
        return "✅ **Safe to deploy**: every selected phase met its criteria."
    failed = report.failed_phases
    if failed:
        return (
            f"🛑 **HOLD production deployment**: {plural(len(failed), 'phase')} missed "
            f"{'its' if len(failed) == 1 else 'their'} criteria."
        )
    return (
        "🛑 **HOLD production deployment**: the golden path did not complete, so it proves "
        "nothing about this commit."
    )


def table(report: RunReport, limit_rows: int | None = None) -> dict[str, Any]:
    rows = [_row(p) for p in report.phases]
    shown = rows if limit_rows is None else rows[:limit_rows]
    return {
        "rows": shown,
        "omitted": len(rows) - len(shown),
        "total_mrr": money(report.mrr_at_risk),
        "recommendation": recommendation(report),
    }


def title(report: RunReport) -> str:
    """The check run's one-line title."""
    selected = _selected(report)
    total = len(selected)
    failed = report.failed_phases
    if report.conclusion is None:
        current = report.current_phase
        if current is not None:
            position = selected.index(current) + 1 if current in selected else 1
            text = f"Running phase {position}/{total}: {current.name or current.phase_id}"
        else:
            done = sum(1 for p in selected if p.status in _FINISHED)
            text = f"Running: {done}/{total} phases done" if done else "Setting up the run"
        return oneline(text)
    if report.plan_problems:
        return oneline(f"Invalid golden-path plan: {plural(len(report.plan_problems), 'problem')}")
    prefix = {
        Conclusion.CANCELLED: "Cancelled",
        Conclusion.TIMED_OUT: "Timed out",
        Conclusion.ACTION_REQUIRED: "Action required",
    }.get(report.conclusion)
    if failed:
        text = (
            f"{len(failed)} of {plural(total, 'phase')} failed — "
            f"{money(report.mrr_at_risk)} MRR at risk"
        )
    elif report.conclusion is Conclusion.SUCCESS:
        text = f"All {total} phases passed" if total != 1 else "The selected phase passed"
    elif report.problem:
        text = report.problem.strip().split("\n", 1)[0]
    else:
        text = f"The golden path did not complete — {money(report.mrr_at_risk)} MRR at risk"
    if prefix or (not failed and report.conclusion is not Conclusion.SUCCESS):
        text = f"{prefix or 'Failed'}: {text}"
    return oneline(text)


def failure_patterns(report: RunReport) -> list[FailurePattern]:
    """The run's failed tests grouped by normalised error signature, biggest first."""
    return cluster((p.phase_id, t) for p in report.phases for t in p.failures)


def pattern_item(pattern: FailurePattern, report: RunReport) -> dict[str, Any]:
    names = {p.phase_id: p.name or p.phase_id for p in report.phases}
    return {
        "short": pattern.short,
        "key": pattern.key,
        "tests": plural(len(pattern.tests), "test"),
        "seen": pattern_seen(report, pattern.key),
        "phases": [names.get(pid, pid) for pid in pattern.phase_ids],
    }


def run_facts(report: RunReport) -> dict[str, Any]:
    return {
        "check_name": report.check_name,
        "repo": report.repo,
        "sha": report.head_sha[:7],
        "pr_number": report.pr_number,
        "environment": report.environment,
        "requested_by": report.requested_by,
        "rerun_of": report.rerun_of,
        "duration": seconds(report.duration_seconds) if report.duration_seconds else "",
        "details_url": url(report.details_url),
        "run_id": report.run_id,
        "emoji": CONCLUSION_EMOJI.get(report.conclusion, "❔"),
        "title": title(report),
        "sandboxed": report.sandboxed,
    }


def field_of(obj: Any, name: str, default: Any = None) -> Any:
    found = getattr(obj, name, default) if obj is not None else default
    return getattr(found, "value", found)


def attempts_text(test: TestResult) -> str:
    """`❌ failed 1.20 s → ✅ passed 0.90 s`: every attempt of a retried test, in order."""
    marks = {Outcome.PASSED: "✅", Outcome.FAILED: "❌", Outcome.ERROR: "💥"}
    return " → ".join(
        f"{marks.get(a.outcome, '❔')} {a.outcome.value} {seconds(a.duration)}"
        for a in test.attempts
    )


def flaky_items(report: RunReport) -> list[dict[str, Any]]:
    """Flaky tests (failed, then passed on a retry), listed apart with their attempts."""
    return [
        {
            "node_id": test.node_id,
            "phase": phase.name or phase.phase_id,
            "attempts": attempts_text(test),
            "counted": "passed" if test.outcome is Outcome.PASSED else "failed",
            "rate": flaky_rate(report, test.node_id),
        }
        for phase in report.phases
        for test in phase.flaky_tests
    ]
