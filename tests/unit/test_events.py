"""events.from_delivery on GitHub's example payloads, and the JSON round trip through Celery."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from bot.core.events import (
    EVENT_TYPES,
    ROUTED_ACTIONS,
    CheckRunEvent,
    CommentEvent,
    DeploymentGateEvent,
    MergeGroupEvent,
    PullRequestEvent,
    event_from_dict,
    from_delivery,
)
from bot.core.webhook import Delivery, MalformedDelivery
from tests.factories import comment_event

ROOT = Path(__file__).resolve().parents[2]
OCTOKIT_INDEX = Path("/tmp/npmx/octokit-webhooks-examples-7.6.1/package/api.github.com/index.json")
PAYLOAD_DIRS = (ROOT / "tests" / "payloads", ROOT / "sandbox" / "payloads")


def _load_examples() -> dict[str, list[dict[str, Any]]]:
    """GitHub's examples by event: the project's copies (`<event>.<action>.json`) first, then
    octokit's full index.json where present for what the copies lack."""
    found: dict[str, list[dict[str, Any]]] = {}
    for directory in PAYLOAD_DIRS:
        for path in sorted(directory.glob("*.json")) if directory.is_dir() else ():
            data = json.loads(path.read_text())
            event = path.stem.split(".")[0]
            found.setdefault(event, []).extend(data if isinstance(data, list) else [data])
    if OCTOKIT_INDEX.exists():
        for entry in json.loads(OCTOKIT_INDEX.read_text()):
            found.setdefault(entry["name"], []).extend(entry["examples"])
    return found


EXAMPLES = _load_examples()


def example(event: str, action: str | None, *, installation: bool = True) -> dict[str, Any]:
    for payload in EXAMPLES.get(event, []):
        if payload.get("action") == action:
            payload = copy.deepcopy(payload)
            if installation:
                payload.setdefault("installation", {"id": 1})
            if event == "issue_comment":
                # GitHub's comment examples are on a plain issue and hold no command; the bot
                # acts only on pull-request comments that mention `/golden-path`.
                payload["issue"]["pull_request"] = {"url": payload["issue"]["url"]}
                payload["comment"]["body"] = "/golden-path run"
            return payload
    pytest.skip(f"no example payload for {event} {action}")


def push_example(**changes: Any) -> dict[str, Any]:
    """GitHub's push to the default branch (`sandbox/payloads/push.json`), changed."""
    payload = copy.deepcopy(json.loads((ROOT / "sandbox/payloads/push.json").read_text()))
    repository = changes.pop("repository", {})
    payload["repository"].update(repository)
    payload.update(changes)
    return payload


def deliver(event: str, payload: dict[str, Any], delivery_id: str = "d-1") -> Any:
    return from_delivery(Delivery(id=delivery_id, event=event, payload=payload))


# ---- which deliveries we act on -------------------------------------------------------------

ACTED_ON = [
    ("issue_comment", "created", CommentEvent),
    ("pull_request", "opened", PullRequestEvent),
    ("pull_request", "reopened", PullRequestEvent),
    ("pull_request", "synchronize", PullRequestEvent),
    ("pull_request", "ready_for_review", PullRequestEvent),
    ("pull_request", "closed", PullRequestEvent),
    ("check_run", "requested_action", CheckRunEvent),
    ("check_run", "rerequested", CheckRunEvent),
    ("merge_group", "checks_requested", MergeGroupEvent),
    ("deployment_protection_rule", "requested", DeploymentGateEvent),
]

IGNORED = [
    ("ping", None),
    ("issue_comment", "edited"),
    ("issue_comment", "deleted"),
    ("issues", "opened"),
    ("pull_request", "labeled"),
    ("pull_request", "assigned"),
    ("pull_request", "converted_to_draft"),
    ("pull_request_review", "submitted"),
    ("check_run", "created"),
    ("check_run", "completed"),
    ("check_suite", "requested"),
    ("installation", "created"),
]


@pytest.mark.parametrize(("event", "action", "kind"), ACTED_ON)
def test_acted_on_examples_become_typed_events(event: str, action: str, kind: type) -> None:
    parsed = deliver(event, example(event, action))
    assert isinstance(parsed, kind)
    assert parsed.action == action
    assert parsed.delivery_id == "d-1"


@pytest.mark.parametrize(("event", "action"), IGNORED)
def test_ignored_examples_give_none(event: str, action: str | None) -> None:
    assert deliver(event, example(event, action)) is None


@pytest.mark.parametrize(("event", "action", "kind"), ACTED_ON)
def test_deliveries_without_an_installation_are_ignored(
    event: str, action: str, kind: type
) -> None:
    payload = example(event, action)
    del payload["installation"]
    assert deliver(event, payload) is None


def test_deployment_gate_fields() -> None:
    parsed = deliver(
        "deployment_protection_rule", example("deployment_protection_rule", "requested")
    )
    assert isinstance(parsed, DeploymentGateEvent)
    assert parsed.repo == "octocat/Hello-World"
    assert parsed.environment == "production"
    assert parsed.sha == "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d"
    assert (parsed.ref, parsed.trigger, parsed.workflow_run_id) == ("topic-branch", "deployment", 1)
    assert parsed.callback_url.endswith("/actions/runs/1/deployment_protection_rule")


def test_deployment_gate_on_github_enterprise_server() -> None:
    payload = example("deployment_protection_rule", "requested")
    payload["deployment_callback_url"] = (
        "https://ghe.example.com/api/v3/repos/octocat/hello-world/actions/runs/"
        "9876543210/deployment_protection_rule"
    )
    parsed = deliver("deployment_protection_rule", payload)
    assert isinstance(parsed, DeploymentGateEvent)
    assert parsed.workflow_run_id == 9876543210


def test_merge_group_destroyed_carries_its_reason() -> None:
    payload = example("merge_group", "checks_requested")
    payload.update(action="destroyed", reason="dequeued")
    parsed = deliver("merge_group", payload)
    assert isinstance(parsed, MergeGroupEvent)
    assert (parsed.action, parsed.reason) == ("destroyed", "dequeued")


def test_unknown_event_and_action_are_ignored() -> None:
    assert deliver("made_up_event", {"action": "created", "installation": {"id": 1}}) is None
    assert deliver("issue_comment", {"installation": {"id": 1}}) is None  # no action


# ---- the fields handlers get ----------------------------------------------------------------


def pr_comment_payload(body: str = "/golden-path run", **user: str) -> dict[str, Any]:
    payload = example("issue_comment", "created")
    payload["issue"]["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/1"}
    payload["comment"]["body"] = body
    payload["comment"]["user"].update(user)
    return payload


def test_comment_event_fields() -> None:
    payload = pr_comment_payload()
    payload["installation"] = {"id": 4242}
    parsed = deliver("issue_comment", payload)
    assert parsed == CommentEvent(
        delivery_id="d-1",
        installation_id=4242,
        repo=payload["repository"]["full_name"],
        action="created",
        sender=payload["sender"]["login"],
        number=payload["issue"]["number"],
        is_pull_request=True,
        issue_state=payload["issue"]["state"],
        comment_id=payload["comment"]["id"],
        body="/golden-path run",
        author=payload["comment"]["user"]["login"],
        author_type="User",
    )
    assert not parsed.author_is_bot


def test_comment_on_a_plain_issue_is_not_queued() -> None:
    payload = example("issue_comment", "created")
    del payload["issue"]["pull_request"]
    assert deliver("issue_comment", payload) is None


@pytest.mark.parametrize(
    ("login", "user_type", "is_bot"),
    [
        ("octocat", "User", False),
        ("golden-path[bot]", "Bot", True),
        ("dependabot[bot]", "User", True),  # the login alone gives a bot away
        ("renovate-bot", "Bot", True),
        ("robot", "User", False),
        ("Some-App[BOT]", "User", True),
    ],
)
def test_bot_authors(login: str, user_type: str, is_bot: bool) -> None:
    payload = pr_comment_payload(login=login, type=user_type)
    payload["comment"]["body"] = "/golden-path run"
    # Bots' comments are dropped before queueing; the property is what decides.
    assert (deliver("issue_comment", payload) is None) is is_bot
    event = comment_event(author=login, author_type=user_type)
    assert event.author_is_bot is is_bot


def test_pull_request_synchronize_fields() -> None:
    payload = example("pull_request", "synchronize")
    pr = payload["pull_request"]
    parsed = deliver("pull_request", payload)
    assert parsed == PullRequestEvent(
        delivery_id="d-1",
        installation_id=payload["installation"]["id"],
        repo=payload["repository"]["full_name"],
        action="synchronize",
        sender=payload["sender"]["login"],
        number=pr["number"],
        head_sha=pr["head"]["sha"],
        head_ref=pr["head"]["ref"],
        head_full_name=pr["head"]["repo"]["full_name"],
        base_full_name=pr["base"]["repo"]["full_name"],
        base_ref=pr["base"]["ref"],
        is_fork=False,
        before=payload["before"],
        draft=pr["draft"],
        body=pr["body"],
    )


def test_pull_request_from_a_fork() -> None:
    payload = example("pull_request", "opened")
    payload["pull_request"]["head"]["repo"]["full_name"] = "mallory/Hello-World"
    parsed = deliver("pull_request", payload)
    assert parsed.is_fork is True
    assert parsed.head_full_name == "mallory/Hello-World"


def test_pull_request_whose_head_repository_was_deleted_counts_as_a_fork() -> None:
    payload = example("pull_request", "opened")
    payload["pull_request"]["head"]["repo"] = None
    parsed = deliver("pull_request", payload)
    assert (parsed.is_fork, parsed.head_full_name) == (True, None)


def test_pull_request_without_a_description_or_draft_flag() -> None:
    payload = example("pull_request", "opened")
    payload["pull_request"]["body"] = None
    del payload["pull_request"]["draft"]
    parsed = deliver("pull_request", payload)
    assert (parsed.body, parsed.draft, parsed.before) == ("", False, None)


def test_check_run_requested_action_fields() -> None:
    payload = example("check_run", "requested_action")
    parsed = deliver("check_run", payload)
    run = payload["check_run"]
    assert parsed == CheckRunEvent(
        delivery_id="d-1",
        installation_id=payload["installation"]["id"],
        repo=payload["repository"]["full_name"],
        action="requested_action",
        sender=payload["sender"]["login"],
        check_run_id=run["id"],
        name=run["name"],
        head_sha=run["head_sha"],
        external_id=run["external_id"],
        requested_action=payload["requested_action"]["identifier"],
        app_id=run["app"]["id"],
        pull_requests=tuple(pr["number"] for pr in run["pull_requests"]),
    )
    assert parsed.pull_requests  # the example names its pull request


def test_check_run_rerequested_has_no_requested_action() -> None:
    parsed = deliver("check_run", example("check_run", "rerequested"))
    assert parsed.requested_action is None


def test_merge_group_fields() -> None:
    payload = example("merge_group", "checks_requested")
    group = payload["merge_group"]
    parsed = deliver("merge_group", payload)
    assert parsed == MergeGroupEvent(
        delivery_id="d-1",
        installation_id=payload["installation"]["id"],
        repo=payload["repository"]["full_name"],
        action="checks_requested",
        sender=payload["sender"]["login"],
        head_sha=group["head_sha"],
        head_ref=group["head_ref"],
        base_ref=group["base_ref"],
        reason=None,
    )


# ---- malformed payloads are 400s, not crashes -----------------------------------------------


def _drop(path: str) -> Any:
    def edit(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = payload
        for key in parents:
            target = target[key]
        del target[last]

    return edit


def _set(path: str, value: Any) -> Any:
    def edit(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = payload
        for key in parents:
            target = target[key]
        target[last] = value

    return edit


MALFORMED = [
    ("comment body missing", "issue_comment", "created", _drop("comment.body")),
    ("comment body not a string", "issue_comment", "created", _set("comment.body", 42)),
    ("comment body null", "issue_comment", "created", _set("comment.body", None)),
    ("comment missing", "issue_comment", "created", _drop("comment")),
    ("comment author missing", "issue_comment", "created", _drop("comment.user")),
    ("issue number a string", "issue_comment", "created", _set("issue.number", "1")),
    ("issue not an object", "issue_comment", "created", _set("issue", [])),
    ("installation id a string", "issue_comment", "created", _set("installation.id", "1")),
    ("installation id a bool", "issue_comment", "created", _set("installation.id", True)),
    ("installation not an object", "issue_comment", "created", _set("installation", 7)),
    ("repository missing", "issue_comment", "created", _drop("repository")),
    ("sender missing", "issue_comment", "created", _drop("sender")),
    ("pr head missing", "pull_request", "opened", _drop("pull_request.head")),
    ("pr head sha null", "pull_request", "opened", _set("pull_request.head.sha", None)),
    ("pr draft a string", "pull_request", "opened", _set("pull_request.draft", "no")),
    ("check run id missing", "check_run", "rerequested", _drop("check_run.id")),
    ("check run prs not a list", "check_run", "rerequested", _set("check_run.pull_requests", 3)),
    ("requested action odd", "check_run", "requested_action", _set("requested_action", "run")),
    ("merge group sha missing", "merge_group", "checks_requested", _drop("merge_group.head_sha")),
    *[
        (name, "deployment_protection_rule", "requested", edit)
        for name, edit in [
            ("gate environment missing", _drop("environment")),
            ("gate sha missing", _drop("sha")),
            ("gate sha not a commit", _set("sha", "main")),
            ("gate environment blank", _set("environment", " ")),
            ("gate callback missing", _drop("deployment_callback_url")),
            (
                "gate callback on another repository",
                _set(
                    "deployment_callback_url",
                    "https://api.github.com/repos/evil/x/actions/runs/1/deployment_protection_rule",
                ),
            ),
            (
                "gate callback another endpoint",
                _set("deployment_callback_url", "https://api.github.com/repos/octocat/Hello-World"),
            ),
            (
                "gate callback run id not a number",
                _set(
                    "deployment_callback_url",
                    "https://api.github.com/repos/octocat/Hello-World/actions/runs/x/"
                    "deployment_protection_rule",
                ),
            ),
        ]
    ],
]


@pytest.mark.parametrize(
    ("name", "event", "action", "edit"), MALFORMED, ids=[case[0] for case in MALFORMED]
)
def test_malformed_payloads_raise_malformed_delivery(
    name: str, event: str, action: str, edit: Any
) -> None:
    payload = example(event, action)
    edit(payload)
    with pytest.raises(MalformedDelivery) as info:
        deliver(event, payload)
    assert "Traceback" not in str(info.value)


def test_malformed_message_names_fields_not_values() -> None:
    payload = pr_comment_payload(body="hunter2")
    payload["comment"]["id"] = "hunter2-id"
    with pytest.raises(MalformedDelivery) as info:
        deliver("issue_comment", payload)
    assert "comment.id" in str(info.value)
    assert "hunter2" not in str(info.value)


# ---- the JSON round trip through Celery -----------------------------------------------------


def every_kind() -> list[Any]:
    return [
        deliver("issue_comment", pr_comment_payload()),
        deliver("pull_request", example("pull_request", "synchronize")),
        deliver("check_run", example("check_run", "requested_action")),
        deliver("merge_group", example("merge_group", "checks_requested")),
        deliver("deployment_protection_rule", example("deployment_protection_rule", "requested")),
        deliver("push", push_example()),
    ]


def test_round_trip_through_json_for_every_kind() -> None:
    events = every_kind()
    assert {type(e) for e in events} == set(EVENT_TYPES)
    for event in events:
        data = event.to_dict()
        assert json.loads(json.dumps(data)) == data  # plain JSON: no tuples, no objects
        assert event_from_dict(json.loads(json.dumps(data))) == event


def test_dict_format_is_flat_and_tagged() -> None:
    event = deliver("check_run", example("check_run", "requested_action"))
    data = event.to_dict()
    assert data["kind"] == "check_run"
    assert data["pull_requests"] == list(event.pull_requests)
    assert set(data) == {"kind"} | {f.name for f in dataclasses.fields(event)}


def test_from_dict_ignores_unknown_keys_from_a_newer_sender() -> None:
    event = every_kind()[0]
    assert event_from_dict({**event.to_dict(), "added_later": 1}) == event


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "nope"},
        {},
        {"kind": "comment"},  # every field missing
        {**every_kind()[0].to_dict(), "number": "not a number"},
    ],
    ids=["unknown kind", "no kind", "fields missing", "field mistyped"],
)
def test_from_dict_refuses_what_it_cannot_rebuild(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        event_from_dict(data)


def test_events_are_frozen() -> None:
    event = every_kind()[0]
    with pytest.raises(AttributeError):
        event.body = "/golden-path cancel"  # type: ignore[misc]


def test_routed_actions_match_the_event_types() -> None:
    assert {cls.github_event: cls.actions for cls in EVENT_TYPES} == dict(ROUTED_ACTIONS)
    assert len({cls.kind for cls in EVENT_TYPES}) == len(EVENT_TYPES)


# ---- comments that cannot hold a command never leave the web process ------------------------


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("comment on a plain issue", lambda p: p["issue"].pop("pull_request")),
        ("conversation without the command", lambda p: p["comment"].update(body="LGTM")),
        ("written by a bot account", lambda p: p["comment"]["user"].update(type="Bot")),
        ("written by an [bot] login", lambda p: p["comment"]["user"].update(login="ci[bot]")),
    ],
)
def test_comments_without_commands_are_ignored(case: str, change: Any) -> None:
    payload = example("issue_comment", "created")
    assert isinstance(deliver("issue_comment", payload), CommentEvent), case
    change(payload)
    assert deliver("issue_comment", payload) is None, case


# ---- pushes: only the default branch's new head reaches a worker ------------------------------

PUSH_CASES = [
    ("a push to the default branch", {}, "6113728f27ae82c7b1a177c8d03f9e96e0adf246"),
    ("another branch", {"ref": "refs/heads/feature"}, None),
    ("a tag", {"ref": "refs/tags/v1"}, None),
    ("the default branch deleted", {"deleted": True, "after": "0" * 40}, None),
    ("a renamed default branch", {"repository": {"default_branch": "main"}}, None),
    ("no installation", {"installation": None}, None),
    ("an action that is not a string", {"action": ["x"]}, None),
]


@pytest.mark.parametrize(
    ("changes", "after"), [c[1:] for c in PUSH_CASES], ids=[c[0] for c in PUSH_CASES]
)
def test_pushes(changes: dict[str, Any], after: str | None) -> None:
    parsed = deliver("push", push_example(**changes))
    assert (parsed.after if parsed is not None else None) == after
    if parsed is not None:
        assert (parsed.ref, parsed.repo, parsed.sender) == (
            "refs/heads/master",
            "Codertocat/Hello-World",
            "Codertocat",
        )
        assert event_from_dict(parsed.to_dict()) == parsed  # travels through Celery unchanged


def test_a_malformed_push_to_the_default_branch_is_a_400() -> None:
    with pytest.raises(MalformedDelivery):
        deliver("push", push_example(after=7))
