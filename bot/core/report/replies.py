"""Replies to commands, one template per kind."""

from __future__ import annotations

import re
from typing import Any

from bot.core.report.facts import CONCLUSION_EMOJI, field_of, money
from bot.core.report.markdown import MAX_BODY_CHARS, cut_chars, url
from bot.core.report.templating import render_template
from bot.core.results import Conclusion


def _login(value: object) -> str:
    """A GitHub login, reduced to the characters logins may have (safe to @mention)."""
    return re.sub(r"[^A-Za-z0-9\-\[\]]", "", str(value or ""))


def _record(record: Any) -> dict[str, Any]:
    """The fields of a run record (duck-typed: `bot.run_records.RunRecord` is an edge type)."""
    state = field_of(record, "state", "") or ""
    conclusion = field_of(record, "conclusion") or ""
    return {
        "exists": record is not None,
        "state": state,
        "current_phase": field_of(record, "current_phase") or "",
        "conclusion": conclusion,
        "emoji": CONCLUSION_EMOJI.get(_conclusion(conclusion), "🔄")
        if state == "completed"
        else ("⏳" if state == "queued" else "🔄"),
        "sha": str(field_of(record, "head_sha", "") or "")[:7],
        "requested_by": _login(field_of(record, "requested_by")),
        "reason": field_of(record, "reason") or "",
        "run_id": field_of(record, "run_id") or "",
        "phases": list(field_of(record, "phases") or []),
        "mrr": money(int(field_of(record, "mrr_at_risk", 0) or 0)),
    }


def _conclusion(value: str) -> Conclusion | None:
    try:
        return Conclusion(value)
    except ValueError:
        return None


REPLY_KINDS = (
    "help",
    "refused",
    "already_running",
    "status",
    "unknown_phases",
    "plan_error",
    "closed",
    "nothing_to_cancel",
    "cancelled",
    "placeholder",
    "merge_group",
    "not_the_head",
    "ignored",
    "nothing_to_rerun",
    "rerun_head_moved",
)


def render_reply(kind: str, **context: Any) -> str:
    """A reply to a command (or a small fixed text); `kind` names `templates/reply_<kind>.md.j2`.

    Context by kind: help(reason), refused(user, permission, command), already_running(record,
    link), status(record, link), unknown_phases(unknown, known), plan_error(problems),
    closed(number), nothing_to_cancel(record), cancelled(record, user), placeholder(number,
    is_fork), merge_group(passed, missing, head_ref, unknown_ref), not_the_head(sha, head, number),
    ignored(count, limit), nothing_to_rerun(record), rerun_head_moved(record, head).
    """
    if kind not in REPLY_KINDS:
        raise ValueError(f"unknown reply kind {kind!r}")
    values = dict(context)
    if "record" in values:
        values["run"] = _record(values["record"])
    for name in ("user",):
        if name in values:
            values[name] = _login(values[name])
    if "link" in values:
        values["link"] = url(values["link"])
    values.setdefault("reason", "")
    return cut_chars(render_template(f"reply_{kind}.md.j2", **values), MAX_BODY_CHARS)
