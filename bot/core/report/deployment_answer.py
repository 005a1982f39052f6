"""The comment that goes with a deployment gate's answer: the run's title, the total MRR at risk,
the recommendation line and the run link, as plain lines (GitHub shows it beside the review)."""

from __future__ import annotations

import re

from bot.core.report.facts import money
from bot.core.report.markdown import defuse, oneline, url

# GitHub documents no limit for a review comment; keep it short enough for any page that shows it.
MAX_COMMENT_CHARS = 1_000
_EMPHASIS = re.compile(r"\*\*|__")

HOLD = (
    "🛑 HOLD production deployment: the golden path did not complete, so it proves nothing "
    "about this commit."
)
SAFE = "✅ Safe to deploy: every selected phase met its criteria."


def fallback_recommendation(conclusion: str | None) -> str:
    """The recommendation when the run ended before its report was rendered (a lost worker)."""
    return SAFE if conclusion == "success" else HOLD


def render_answer_comment(
    *,
    check_name: str,
    title: str,
    mrr_at_risk: int | None,
    recommendation: str,
    link: str | None,
) -> str:
    lines = [f"{oneline(check_name, 80)}: {oneline(title)}"]
    if mrr_at_risk is not None:
        lines.append(f"Total MRR at risk: {money(mrr_at_risk)}")
    lines.append(oneline(_EMPHASIS.sub("", recommendation), 300))
    if link and url(link):
        lines.append(f"Run: {url(link)}")
    return plain(lines)


def render_reason_comment(reason: str, link: str | None = None) -> str:
    """An answer that needed no run (ungated, invalid plan) or a run that could not start."""
    lines = [oneline(reason, 600)]
    if link and url(link):
        lines.append(f"Run: {url(link)}")
    return plain(lines)


def plain(lines: list[str]) -> str:
    text = defuse("\n".join(line for line in lines if line))
    return text if len(text) <= MAX_COMMENT_CHARS else text[: MAX_COMMENT_CHARS - 1] + "…"
