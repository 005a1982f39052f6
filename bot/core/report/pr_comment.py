"""The sticky pull-request comment."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.report.facts import (
    PR_COMMENT_MARKER,
    failure_patterns,
    flaky_items,
    pattern_item,
    run_facts,
    table,
)
from bot.core.report.markdown import MAX_BODY_CHARS, MAX_LISTED, MAX_PATTERNS_LISTED, url
from bot.core.report.past import mention_line, runs_table
from bot.core.report.templating import fit, render_template
from bot.core.results import RunReport


def render_pr_comment(report: RunReport, five_whys_links: Mapping[str, str]) -> str:
    """The sticky PR comment: the table and links to the five-whys issues (keyed by pattern)."""
    flaky = flaky_items(report)
    items = []
    for pattern in failure_patterns(report):
        item = pattern_item(pattern, report)
        item["url"] = url(five_whys_links.get(pattern.key, ""))
        items.append(item)

    def render(k: int) -> str:
        return render_template(
            "pr_comment.md.j2",
            marker=PR_COMMENT_MARKER,
            facts=run_facts(report),
            table=table(report),
            patterns=items[:k],
            patterns_omitted=len(items) - k,
            annotated=any(p.failures for p in report.phases),
            flaky=flaky[:MAX_LISTED],
            runs=runs_table(report),
            mention=mention_line(report),
            flaky_omitted=max(0, len(flaky) - MAX_LISTED),
        )

    return fit(render, min(len(items), MAX_PATTERNS_LISTED), MAX_BODY_CHARS)
