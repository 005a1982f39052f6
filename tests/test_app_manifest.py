"""`app.yaml`, the GitHub App manifest: the keys GitHub's manifest flow takes, the least
permissions the bot needs, and exactly the events the bot routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from bot.handlers import router

ROOT = Path(__file__).resolve().parents[1]

PERMISSIONS = {
    "checks": "write",
    "pull_requests": "write",
    "issues": "write",
    "contents": "read",
    "metadata": "read",
    "deployments": "write",
    "actions": "read",
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_has_the_keys_of_a_manifest(manifest: dict[str, Any]) -> None:
    for key in ("name", "url", "redirect_url", "public", "default_permissions"):
        assert key in manifest, key
    assert isinstance(manifest["name"], str) and manifest["name"].strip()
    assert isinstance(manifest["public"], bool)
    assert isinstance(manifest["default_events"], list) and manifest["default_events"]
    for key in ("url", "redirect_url"):
        assert urlparse(manifest[key]).scheme == "https", key


def test_the_webhook_goes_to_the_web_process_path(manifest: dict[str, Any]) -> None:
    hook = manifest["hook_attributes"]
    url = urlparse(hook["url"])
    assert url.scheme == "https"
    assert url.path == "/webhook"
    assert hook.get("active", True) is True


def test_the_web_process_serves_that_path() -> None:
    from bot.app import create_app

    app = create_app()
    assert any(
        getattr(route, "path", None) == "/webhook" and "POST" in getattr(route, "methods", ())
        for route in app.routes
    )


def test_permissions_are_exactly_what_the_bot_uses(manifest: dict[str, Any]) -> None:
    permissions = dict(manifest["default_permissions"])
    # the one addition GitHub demands for the merge_group subscription (see below)
    assert permissions.pop("merge_queues") == "read"
    assert permissions == PERMISSIONS


# GitHub's "Webhook events and payloads": the repository permission an App needs (any of them,
# read or write) before it may subscribe to each event the bot routes.
EVENT_PERMISSIONS = {
    "check_run": ("checks",),
    "issue_comment": ("issues", "pull_requests"),
    "pull_request": ("pull_requests",),
    "merge_group": ("merge_queues",),
    "deployment_protection_rule": ("deployments",),
    "push": ("contents",),
}


@pytest.mark.parametrize("event", sorted(EVENT_PERMISSIONS))
def test_each_subscribed_event_has_the_permission_github_requires(
    manifest: dict[str, Any], event: str
) -> None:
    assert event in manifest["default_events"]
    granted = manifest["default_permissions"]
    assert any(granted.get(p) in ("read", "write") for p in EVENT_PERMISSIONS[event])


def test_every_routed_event_has_a_known_permission() -> None:
    assert {event for event, _ in router.routes()} <= set(EVENT_PERMISSIONS)


def test_every_routed_event_is_subscribed_and_every_subscription_is_routed(
    manifest: dict[str, Any],
) -> None:
    routed = {event for event, _ in router.routes()}
    subscribed = set(manifest["default_events"])
    assert routed, "the router has no routes"
    assert routed - subscribed == set(), "routed but never delivered"
    assert subscribed - routed == set(), "delivered but never handled"
    assert len(manifest["default_events"]) == len(subscribed), "an event is listed twice"
