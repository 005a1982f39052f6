"""What a run's page (the check run's `details_url`) shows of its record, as JSON-ready values.

The page itself is rendered by `bot.web.dashboard` (`templates/run_page.html.j2`); the same
values answer `Accept: application/json`. Internals (task ids, worker names, the check run id)
stay out.
"""

from __future__ import annotations

from typing import Any

from bot.core.run_model import RunRecord

SHOWN = {
    "run_id",
    "repo",
    "pr_number",
    "merge_group_ref",
    "head_sha",
    "phases",
    "requested_by",
    "trigger",
    "check_name",
    "environment",
    "state",
    "current_phase",
    "conclusion",
    "reason",
    "created_at",
    "started_at",
    "finished_at",
    "verdicts",
    "mrr_at_risk",
    "patterns",
}


def as_json(record: RunRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", include=SHOWN)
