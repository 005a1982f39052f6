"""Typed events for tests that need one without a webhook payload (one builder, shared)."""

from __future__ import annotations

from typing import Any

from bot.core.events import CommentEvent


def comment_event(**overrides: Any) -> CommentEvent:
    """A `/golden-path run` comment by a human on open pull request o/r#7; override any field."""
    fields: dict[str, Any] = {
        "delivery_id": "d",
        "installation_id": 1,
        "repo": "o/r",
        "action": "created",
        "sender": "octocat",
        "number": 7,
        "is_pull_request": True,
        "issue_state": "open",
        "comment_id": 9,
        "body": "/golden-path run",
        "author": "octocat",
        "author_type": "User",
    }
    return CommentEvent(**{**fields, **overrides})
