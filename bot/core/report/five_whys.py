"""The five-whys issue (or PR comment) for one failure pattern, and its recurrence comment."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.history import Changes, last_passed_for
from bot.core.report.facts import five_whys_marker, money, run_facts
from bot.core.report.markdown import (
    EXCERPT_CHARS,
    MAX_BODY_CHARS,
    MAX_ISSUE_TITLE_CHARS,
    MAX_LISTED,
    TRACEBACK_CHARS,
    cut_chars,
    defuse,
    oneline,
)
from bot.core.report.past import day, seen_words
from bot.core.report.seen_in import render_seen_in
from bot.core.report.templating import fit, render_template
from bot.core.results import RunReport
from bot.core.signatures import FailurePattern, error_text


def _evidence(
    pattern: FailurePattern,
    report: RunReport,
    template: str,
    seen_at: float | None = None,
    reopened: bool = False,
) -> Callable[[int], str]:
    """Render `template` about `pattern`, listing the first k failing tests."""
    phases = [p for p in report.phases if p.phase_id in pattern.phase_ids]
    context = {
        "reopened": reopened,
        "seen_in": render_seen_in(pattern, report, seen_at) if seen_at else "",
        "marker": five_whys_marker(pattern.key),
        "facts": run_facts(report),
        "pattern": pattern,
        "phases": [
            {"id": p.phase_id, "name": p.name or p.phase_id, "mrr": money(p.mrr_at_risk)}
            for p in phases
        ],
        "mrr": money(sum(p.mrr_at_risk for p in phases)),
        "phase_ids": " ".join(pattern.phase_ids),
        "message": cut_chars(pattern.example_message.strip() or "(no message)", EXCERPT_CHARS),
        "traceback": cut_chars(pattern.example_traceback.strip(), TRACEBACK_CHARS, keep="tail"),
        "past": _past(pattern, report),
        "changes": _changes(pattern, report),
        "why": {
            "raised_at": pattern.raised_at or pattern.location,
            # "raised at tests/t.py:9 in test_x" already says where the test failed
            "failed_at": ""
            if (pattern.raised_at or "").startswith(f"{pattern.failed_at} ")
            else pattern.failed_at,
            "message": oneline(error_text(pattern.example_message, pattern.example_traceback), 300),
        },
    }

    def render(k: int) -> str:
        return render_template(
            template, tests=pattern.tests[:k], tests_omitted=len(pattern.tests) - k, **context
        )

    return render


_PAST_KEYS = (
    "seen",
    "first_seen",
    "last_seen",
    "last_passed_sha",
    "last_passed_day",
    "last_passed_pr",
    "flaky_rate",
)


def _past(pattern: FailurePattern, report: RunReport) -> dict[str, str]:
    """Evidence from history: when the pattern was first and last seen, the newest commit on
    which these tests passed, their flaky rate. Empty without history."""
    if report.history is None:
        return dict.fromkeys(_PAST_KEYS, "")
    found = report.history.patterns.get(pattern.key)
    newest = last_passed_for(report.history, pattern.tests)
    runs = [report.history.tests[t] for t in pattern.tests if t in report.history.tests]
    total, flaky = sum(h.runs for h in runs), sum(h.flaky for h in runs)
    return {
        "seen": seen_words(found),
        "first_seen": day(found.first_seen) if found and found.first_seen else "",
        "last_seen": day(found.last_seen) if found and found.last_seen else "",
        "last_passed_sha": newest.sha[:7] if newest else "",
        "last_passed_day": day(newest.at) if newest else "",
        "last_passed_pr": str(newest.pr_number) if newest and newest.pr_number else "",
        "flaky_rate": f"{flaky} of the last {total} runs of these tests" if total else "",
    }


def _changes(pattern: FailurePattern, report: RunReport) -> Changes | None:
    """What changed since the newest commit where these tests passed, when it was fetched."""
    if report.history is None:
        return None
    newest = last_passed_for(report.history, pattern.tests)
    return report.history.changes.get(newest.sha) if newest is not None else None


def render_five_whys_issue(
    pattern: FailurePattern, report: RunReport, seen_at: float | None = None
) -> tuple[str, str]:
    """Title and body of the issue (or PR comment) that investigates one failure pattern;
    with `seen_at` (when the run failed), the body holds its "Seen in" table."""
    issue_title = defuse(oneline(f"Five whys: {pattern.short}", MAX_ISSUE_TITLE_CHARS))
    render = _evidence(pattern, report, "five_whys.md.j2", seen_at)
    return issue_title, fit(render, min(len(pattern.tests), MAX_LISTED), MAX_BODY_CHARS)


def render_five_whys_recurrence(
    pattern: FailurePattern, report: RunReport, *, reopened: bool = False
) -> str:
    """A comment on the five-whys issue: the pattern failed again (and, when the issue had
    been closed, that it was reopened)."""
    render = _evidence(pattern, report, "five_whys_recurrence.md.j2", reopened=reopened)
    return fit(render, min(len(pattern.tests), MAX_LISTED), MAX_BODY_CHARS)
