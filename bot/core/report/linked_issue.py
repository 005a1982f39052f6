"""The sticky comment on an issue the pull request closes."""

from __future__ import annotations

from bot.core.report.facts import linked_issue_marker, run_facts, table
from bot.core.report.markdown import MAX_BODY_CHARS, cut_chars
from bot.core.report.templating import render_template
from bot.core.results import RunReport


def render_linked_issue(report: RunReport) -> str:
    """The sticky comment on an issue the pull request closes."""
    return cut_chars(
        render_template(
            "linked_issue.md.j2",
            marker=linked_issue_marker(report.pr_number),
            facts=run_facts(report),
            table=table(report),
        ),
        MAX_BODY_CHARS,
    )
