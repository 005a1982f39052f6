"""A run's record as the small HTML page (or JSON) that check runs link to as `details_url`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.state.run_records import RunRecord

_ENV = Environment(
    loader=PackageLoader("templates", ""),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def as_json(record: RunRecord) -> dict[str, Any]:
    """What the page shows, without internals (task ids, worker names)."""
    return record.model_dump(
        mode="json",
        include={
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
        },
    )


def render(record: RunRecord) -> str:
    return _ENV.get_template("run_page.html.j2").render(
        run=as_json(record), when=_when, mrr=f"${record.mrr_at_risk:,}"
    )


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "—"
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
