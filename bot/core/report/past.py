"""What reports say about the past: a pattern's tag (new / seen before / also failing on the
default branch), a test's flaky rate, the pull request's run history, the mention on a flip."""

from __future__ import annotations

import re
import time
from typing import Any

from bot.core.history import PR_RUNS_SHOWN, PatternHistory, RunEntry, Seen
from bot.core.report.markdown import url
from bot.core.results import Conclusion, RunReport

_RESULT = {"success": "✅ passed", "failure": "❌ failed", "cancelled": "🚫 cancelled"}


def day(at: float | None) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at)) if at else ""


def seen_words(found: PatternHistory | None) -> str:
    """Markdown (only our own words and numbers) tagging a failure pattern."""
    if found is None:
        return ""
    if found.seen is Seen.NEW:
        return "**new in this pull request**"
    prs = ", ".join(f"#{n}" for n in found.pull_requests[:5])
    more = f" and {len(found.pull_requests) - 5} more" if len(found.pull_requests) > 5 else ""
    where = f" in {prs}{more}" if prs else ""
    since = f" since {day(found.first_seen)}" if found.first_seen else ""
    times = f"{found.count} time{'s' if found.count != 1 else ''}"
    if found.seen is Seen.ON_DEFAULT_BRANCH:
        return f"**also failing on the default branch** (seen {times}{where}{since})"
    return f"**seen before**{where} ({times}{since})"


def pattern_seen(report: RunReport, key: str) -> str:
    return seen_words(report.history.patterns.get(key)) if report.history else ""


def flaky_rate(report: RunReport, node_id: str) -> str:
    """`3 of its last 20 runs` (this run included)."""
    if report.history is None or node_id not in report.history.tests:
        return ""
    past = report.history.tests[node_id]
    return f"flaky in {past.flaky + 1} of its last {past.runs + 1} runs"


def _row(entry: RunEntry, current: bool) -> dict[str, Any]:
    return {
        "sha": entry.sha[:7],
        "result": _RESULT.get(entry.conclusion, entry.conclusion),
        "tests": f"{entry.passed}/{entry.total}",
        "duration": _duration(entry.duration_seconds),
        "url": url(entry.url),
        "current": current,
    }


def _duration(value: float) -> str:
    minutes, secs = divmod(round(value), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def current_entry(report: RunReport, at: float) -> RunEntry:
    """This run as a history entry (the table's first row, and what is recorded)."""
    selected = [p for p in report.phases if p.total or p.status.met_criteria]
    return RunEntry(
        run_id=report.run_id,
        sha=report.head_sha,
        conclusion=report.conclusion.value if report.conclusion else "failure",
        passed=sum(p.passed for p in selected),
        total=sum(p.total for p in selected),
        duration_seconds=report.duration_seconds,
        url=report.details_url,
        requested_by=report.requested_by,
        at=at,
        pr_number=report.pr_number,
    )


def runs_table(report: RunReport) -> list[dict[str, Any]]:
    """This run first, then the pull request's earlier runs, newest first, bounded."""
    if report.history is None or report.conclusion is None:
        return []
    rows = [_row(current_entry(report, 0.0), True)]
    rows += [_row(e, False) for e in report.history.pr_runs[: PR_RUNS_SHOWN - 1]]
    return rows


def mention_line(report: RunReport) -> str:
    """`@octocat: this pull request now passes` when the result flipped; else nothing."""
    if report.history is None or not report.history.mention:
        return ""
    login = re.sub(r"[^A-Za-z0-9-]", "", report.history.mention)  # a login, nothing else
    if not login:
        return ""
    now = "passes" if report.conclusion is Conclusion.SUCCESS else "fails"
    return f"@{login}: the golden path now {now} (it {_was(now)} before)."


def _was(now: str) -> str:
    return "failed" if now == "passes" else "passed"
