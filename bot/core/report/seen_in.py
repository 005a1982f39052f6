"""The "Seen in" table of a five-whys issue: every run that failed with the pattern, newest
first, kept in a marked section of the issue's body that the bot rewrites in place (the rest of
the body, where people fill in the five whys, is never touched).

Pure: the rows come from the run's history view (`bot.core.history`)."""

from __future__ import annotations

from bot.core.history import SEEN_IN_ROWS, Occurrence
from bot.core.report.past import day
from bot.core.results import RunReport
from bot.core.signatures import FailurePattern

START = "<!-- golden-path:seen-in -->"
END = "<!-- /golden-path:seen-in -->"
_ANCHOR = "### Five whys"  # a body without the section gets it before this heading


def render_seen_in(pattern: FailurePattern, report: RunReport, at: float) -> str:
    """The section: a heading and one row per run that failed with the pattern."""
    found = report.history.patterns.get(pattern.key) if report.history else None
    current = Occurrence(
        run_id=report.run_id,
        sha=report.head_sha,
        at=at,
        pr_number=report.pr_number,
        default_branch=report.history is not None and report.history.default_branch_run,
    )
    earlier = [o for o in (found.occurrences if found else ()) if o.run_id != report.run_id]
    rows = [current, *earlier][:SEEN_IN_ROWS]
    total = 1 + (found.count if found else 0)
    lines = [
        START,
        f"### Seen in ({total} run{'s' if total != 1 else ''})",
        "",
        "| when | where | commit | run |",
        "| --- | --- | --- | --- |",
        *(_row(o) for o in rows),
    ]
    if total > len(rows):
        lines.append(f"| … | and {total - len(rows)} earlier | | |")
    return "\n".join([*lines, END])


def _row(occurrence: Occurrence) -> str:
    if occurrence.default_branch:
        where = "default branch"
    elif occurrence.pr_number is not None:
        where = f"#{int(occurrence.pr_number)}"
    else:
        where = "a commit outside pull requests"
    sha = "".join(c for c in occurrence.sha[:7] if c in "0123456789abcdef")
    run_id = "".join(c for c in occurrence.run_id[:12] if c.isalnum())
    return f"| {day(occurrence.at)} | {where} | `{sha}` | `{run_id}` |"


def splice(body: str, section: str) -> str:
    """`body` with its "Seen in" section replaced by `section` (or added, when it has none)."""
    start = body.rfind(START)  # the last one: a stray marker people left earlier is text
    end = body.find(END, start) if start >= 0 else -1
    if end > start:
        return body[:start] + section + body[end + len(END) :]
    anchor = body.find(_ANCHOR)
    if anchor >= 0:
        return f"{body[:anchor]}{section}\n\n{body[anchor:]}"
    return f"{body.rstrip()}\n\n{section}\n"
