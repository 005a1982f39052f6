"""The tracking issue (contract §6): title, hidden marker and body, from a `TrackingState`."""

from __future__ import annotations

import time
from urllib.parse import quote

from bot.core.report.facts import STATUS, money
from bot.core.report.markdown import MAX_BODY_CHARS, MAX_ISSUE_TITLE_CHARS, oneline, url
from bot.core.report.templating import fit, render_template
from bot.core.results import PhaseStatus
from bot.core.tracking import PhaseResult, TrackingState

TRACKING_LABEL = ("golden-path", "fbca04", "Golden path: the live tracking issue of an environment")
_CONCLUSION_EMOJI = {"success": "✅", "failure": "❌", "cancelled": "🚫", "timed_out": "⏱️"}


def tracking_marker(environment: str) -> str:
    """Found again by this; the name is URL-quoted so it can never close the HTML comment."""
    return f"<!-- golden-path:tracking environment={quote(environment, safe='')} -->"


def tracking_title(environment: str) -> str:
    return oneline(f"Golden path: {environment}", MAX_ISSUE_TITLE_CHARS)


def _day(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def _phase_row(phase: PhaseResult) -> dict[str, str]:
    emoji, word = STATUS[PhaseStatus(phase.status)]
    return {
        "name": phase.name,
        "id": phase.phase_id,
        "tests": f"{phase.passed}/{phase.total}",
        "pass_rate": "—" if phase.pass_rate is None else f"{phase.pass_rate * 100:.1f}%",
        "status": f"{emoji} {word}",
        "mrr": money(phase.mrr_at_risk if phase.at_risk else 0),
        "sha": phase.sha[:7],
        "when": _day(phase.at),
    }


def render_tracking_issue(state: TrackingState) -> str:
    """The whole body; rewritten after every run."""
    phases = [_phase_row(p) for p in state.phases]
    patterns = [
        {
            "done": not p.failing,
            "short": p.short,
            "url": url(p.five_whys_url or ""),
            "mrr": money(p.mrr_at_risk),
            "first": _day(p.first_seen),
            "last": _day(p.last_seen),
            "prs": p.prs,
            "green_runs": p.green_runs,
        }
        for p in state.patterns
    ]
    log = [
        {
            "emoji": _CONCLUSION_EMOJI.get(e.conclusion, "❔"),
            "when": _day(e.at),
            "sha": e.sha[:7],
            "pr_number": e.pr_number,
            "source": e.source,
            "title": e.title,
            "link": url(e.link or ""),
        }
        for e in state.log
    ]

    def render(k: int) -> str:
        return render_template(
            "tracking_issue.md.j2",
            marker=tracking_marker(state.environment),
            environment=state.environment,
            phases=phases,
            total_mrr=money(state.mrr_at_risk),
            recommendation=state.recommendation,
            patterns=patterns[:k],
            patterns_omitted=len(patterns) - k,
            log=log,
        )

    return fit(render, len(patterns), MAX_BODY_CHARS)
