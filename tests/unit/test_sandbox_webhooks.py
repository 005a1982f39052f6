"""Webhook payloads of the sandbox: real examples, retargeted, signed as GitHub signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest

from sandbox import webhook_delivery, webhook_examples, webhooks
from sandbox.openapi_check import check_webhook

BASE = "http://127.0.0.1:9999"
REPO = "acme/shop"
SHA = "a" * 40
NAMES = [
    "issue_comment.created",
    "pull_request.opened",
    "pull_request.synchronize",
    "pull_request.reopened",
    "pull_request.ready_for_review",
    "check_run.requested_action",
    "check_run.rerequested",
    "merge_group.checks_requested",
    "ping",
    "deployment_protection_rule.requested",
]


def test_sign_matches_githubs_documented_example() -> None:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    signature = webhook_delivery.sign(b"Hello, World!", b"It's a Secret to Everybody")
    assert signature == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_delivery_headers_sign_the_exact_bytes() -> None:
    body = webhook_delivery.json_body({"zen": "Keep it logically awesome."})
    headers = webhook_delivery.delivery_headers("ping", body, b"s3cret")
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
    assert headers["X-GitHub-Event"] == "ping"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("GitHub-Hookshot/")
    uuid.UUID(headers["X-GitHub-Delivery"])
    assert (
        webhook_delivery.delivery_headers("ping", body, b"s", "fixed")["X-GitHub-Delivery"]
        == "fixed"
    )


@pytest.mark.parametrize("name", NAMES)
def test_payloads_load_as_fresh_copies(name: str) -> None:
    first = webhook_examples.load_payload(name)
    first["mutated"] = True
    assert "mutated" not in webhook_examples.load_payload(name)
    assert "repository" in first


def test_payload_files_are_the_examples_unmodified() -> None:
    stored = (webhook_examples.PAYLOADS / "ping.json").read_text()
    assert json.loads(stored)["zen"]


def test_for_repo_rewrites_names_urls_and_installation() -> None:
    payload = webhook_examples.for_repo(
        webhook_examples.load_payload("pull_request.opened"), REPO, installation_id=7, base_url=BASE
    )
    repo = payload["repository"]
    assert (repo["full_name"], repo["name"], repo["owner"]["login"]) == (REPO, "shop", "acme")
    assert repo["url"] == f"{BASE}/repos/{REPO}"
    assert repo["clone_url"] == f"{BASE}/{REPO}.git"
    assert payload["installation"] == {"id": 7}
    assert "api.github.com/repos/Codertocat" not in json.dumps(payload)


def test_comment_on_pr_is_a_pull_request_comment() -> None:
    payload = webhooks.comment_on_pr(
        REPO, 5, "/golden-path run", installation_id=7, base_url=BASE, comment_id=123
    )
    assert payload["action"] == "created"
    assert payload["issue"]["number"] == 5
    assert payload["issue"]["pull_request"]["url"] == f"{BASE}/repos/{REPO}/pulls/5"
    assert payload["comment"]["id"] == 123
    assert payload["comment"]["body"] == "/golden-path run"
    assert payload["comment"]["user"]["login"] == "octocat"
    assert payload["sender"]["login"] == "octocat"
    bot = webhooks.comment_on_pr(
        REPO, 5, "hi", user="golden-path[bot]", user_type="Bot", installation_id=7, base_url=BASE
    )
    assert bot["comment"]["user"]["type"] == "Bot"


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened", "ready_for_review"])
def test_pull_request_event(action: str) -> None:
    payload = webhooks.pull_request_event(
        action, REPO, 5, SHA, installation_id=7, base_url=BASE, head_ref="fix", before="b" * 40
    )
    pr = payload["pull_request"]
    assert (payload["action"], payload["number"], pr["number"]) == (action, 5, 5)
    assert (pr["head"]["sha"], pr["head"]["ref"]) == (SHA, "fix")
    assert pr["head"]["repo"]["fork"] is False
    if action == "synchronize":
        assert (payload["before"], payload["after"]) == ("b" * 40, SHA)


def test_pull_request_event_from_a_fork() -> None:
    payload = webhooks.pull_request_event(
        "opened", REPO, 5, SHA, installation_id=7, base_url=BASE, head_full_name="mallory/shop"
    )
    head = payload["pull_request"]["head"]["repo"]
    assert (head["full_name"], head["fork"]) == ("mallory/shop", True)
    assert payload["repository"]["full_name"] == REPO


@pytest.mark.parametrize("action", ["requested_action", "rerequested"])
def test_check_run_event(action: str) -> None:
    payload = webhooks.check_run_event(
        action,
        REPO,
        check_run_id=99,
        head_sha=SHA,
        app_id=4242,
        installation_id=7,
        base_url=BASE,
        pull_numbers=[5],
    )
    run = payload["check_run"]
    assert (run["id"], run["head_sha"], run["app"]["id"]) == (99, SHA, 4242)
    assert [p["number"] for p in run["pull_requests"]] == [5]
    assert run["url"] == f"{BASE}/repos/{REPO}/check-runs/99"
    if action == "requested_action":
        assert payload["requested_action"] == {"identifier": "run"}
    else:
        assert "requested_action" not in payload


def test_merge_group_event_names_the_pull_request_in_head_ref() -> None:
    payload = webhooks.merge_group_event(
        REPO, head_sha=SHA, pr_number=5, installation_id=7, base_url=BASE, base_sha="c" * 40
    )
    group = payload["merge_group"]
    assert group["head_sha"] == SHA
    assert group["head_ref"] == f"refs/heads/gh-readonly-queue/main/pr-5-{'c' * 40}"
    assert group["base_ref"] == "refs/heads/main"


def test_pull_request_event_is_a_fork_only_when_the_head_repository_differs() -> None:
    same = webhooks.pull_request_event(
        "opened", "acme/app", 3, "a" * 40, installation_id=1, base_url="http://sandbox"
    )
    assert same["pull_request"]["base"]["repo"]["full_name"] == "acme/app"
    assert same["pull_request"]["head"]["repo"]["full_name"] == "acme/app"
    fork = webhooks.pull_request_event(
        "opened",
        "acme/app",
        3,
        "a" * 40,
        installation_id=1,
        base_url="http://sandbox",
        head_full_name="someone/app",
    )
    assert fork["pull_request"]["head"]["repo"]["fork"] is True
    assert fork["pull_request"]["base"]["repo"]["full_name"] == "acme/app"


def test_the_deployment_gate_example_matches_githubs_schema() -> None:
    stored = webhook_examples.load_payload("deployment_protection_rule.requested")
    assert check_webhook("deployment-protection-rule-requested", stored) == []
    assert check_webhook("deployment-protection-rule-requested", {"action": "nope"}) != []


def test_deployment_gate_event_points_the_callback_at_the_sandbox() -> None:
    payload = webhooks.deployment_gate_event(
        REPO,
        sha=SHA,
        environment="production",
        workflow_run_id=31,
        installation_id=7,
        base_url=BASE,
    )
    assert check_webhook("deployment-protection-rule-requested", payload) == []
    assert payload["deployment_callback_url"] == (
        f"{BASE}/repos/{REPO}/actions/runs/31/deployment_protection_rule"
    )
    assert (payload["sha"], payload["environment"], payload["installation"]["id"]) == (
        SHA,
        "production",
        7,
    )
    assert payload["repository"]["full_name"] == REPO
