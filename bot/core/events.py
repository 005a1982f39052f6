"""The events the bot acts on, as small frozen values that travel through Celery as JSON (pure).

`from_delivery` keeps only the fields the handlers need; everything else in GitHub's payload stays
behind in the web process. Payload subsets are validated strictly with pydantic, so a malformed
delivery becomes `MalformedDelivery` (400) instead of a crash in a worker.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from bot.core.commands import PREFIX as COMMAND_PREFIX
from bot.core.webhook import Delivery, MalformedDelivery

PUSH_ACTION = ""  # GitHub's `push` payload has no `action`


@dataclass(frozen=True)
class _EventBase:
    github_event: ClassVar[str]  # GitHub's X-GitHub-Event name; the router's key
    kind: ClassVar[str]  # the tag in `to_dict()`
    actions: ClassVar[frozenset[str]]  # the actions `from_delivery` produces

    delivery_id: str
    installation_id: int
    repo: str  # "owner/name" of the repository the event happened in
    action: str
    sender: str  # login of whoever caused the event

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict tagged with `kind`; tuples become lists."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"kind": self.kind, **{k: _jsonable(v) for k, v in data.items()}}


@dataclass(frozen=True)
class CommentEvent(_EventBase):
    """`issue_comment` `created`, on an issue or a pull request (prow's GenericCommentEvent)."""

    github_event: ClassVar[str] = "issue_comment"
    kind: ClassVar[str] = "comment"
    actions: ClassVar[frozenset[str]] = frozenset({"created"})

    number: int
    is_pull_request: bool
    issue_state: str  # "open" | "closed"
    comment_id: int
    body: str
    author: str
    author_type: str  # "User", "Bot", "Organization", ...

    @property
    def author_is_bot(self) -> bool:
        return self.author_type == "Bot" or self.author.lower().endswith("[bot]")


@dataclass(frozen=True)
class PullRequestEvent(_EventBase):
    github_event: ClassVar[str] = "pull_request"
    kind: ClassVar[str] = "pull_request"
    # closed: so a handler can cancel the run of a pull request nobody will merge.
    actions: ClassVar[frozenset[str]] = frozenset(
        {"opened", "reopened", "synchronize", "ready_for_review", "closed"}
    )

    number: int
    head_sha: str
    head_ref: str
    head_full_name: str | None  # None when the head repository was deleted
    base_full_name: str
    base_ref: str
    is_fork: bool  # head repository differs from (or is unknown next to) the base: never auto_run
    before: str | None  # previous head sha, on synchronize only
    draft: bool
    body: str  # "" when the pull request has no description


@dataclass(frozen=True)
class CheckRunEvent(_EventBase):
    github_event: ClassVar[str] = "check_run"
    kind: ClassVar[str] = "check_run"
    actions: ClassVar[frozenset[str]] = frozenset({"requested_action", "rerequested"})

    check_run_id: int
    name: str
    head_sha: str
    external_id: str
    requested_action: str | None  # the button's identifier, on requested_action only
    app_id: int | None  # the App that owns the check run: handlers ignore other apps' runs
    pull_requests: tuple[int, ...]


@dataclass(frozen=True)
class MergeGroupEvent(_EventBase):
    github_event: ClassVar[str] = "merge_group"
    kind: ClassVar[str] = "merge_group"
    actions: ClassVar[frozenset[str]] = frozenset({"checks_requested", "destroyed"})

    head_sha: str
    head_ref: str  # refs/heads/gh-readonly-queue/<base>/pr-<N>-<sha>
    base_ref: str
    reason: str | None  # on destroyed: "merged" | "invalidated" | "dequeued"


@dataclass(frozen=True)
class DeploymentGateEvent(_EventBase):
    """`deployment_protection_rule` `requested`: a deployment waits for this App's answer."""

    github_event: ClassVar[str] = "deployment_protection_rule"
    kind: ClassVar[str] = "deployment_gate"
    actions: ClassVar[frozenset[str]] = frozenset({"requested"})

    environment: str
    sha: str
    ref: str
    trigger: str  # the event that started the deployment (`event` in the payload)
    callback_url: str
    # The workflow run the answer is for, read from `deployment_callback_url`: the answer is
    # posted to our own API base with it, never to a host named by a payload.
    workflow_run_id: int


@dataclass(frozen=True)
class PushEvent(_EventBase):
    """`push` to the repository's default branch (other refs are dropped in the web process):
    with `auto_run: true` the plan runs on the new head, the baseline that tells a pull request
    whether a failure pattern is also failing on the default branch (contract §6)."""

    github_event: ClassVar[str] = "push"
    kind: ClassVar[str] = "push"
    actions: ClassVar[frozenset[str]] = frozenset({PUSH_ACTION})

    ref: str  # refs/heads/<default branch>
    after: str  # the branch's new head commit


Event: TypeAlias = (
    CommentEvent
    | PullRequestEvent
    | CheckRunEvent
    | MergeGroupEvent
    | DeploymentGateEvent
    | PushEvent
)
EVENT_TYPES: tuple[type[Event], ...] = (
    CommentEvent,
    PullRequestEvent,
    CheckRunEvent,
    MergeGroupEvent,
    DeploymentGateEvent,
    PushEvent,
)
_BY_KIND: dict[str, type[Event]] = {cls.kind: cls for cls in EVENT_TYPES}
# GitHub event name -> the actions we act on. Anything else is answered 200 and dropped.
ROUTED_ACTIONS: Mapping[str, frozenset[str]] = {
    cls.github_event: cls.actions for cls in EVENT_TYPES
}


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Inverse of `to_dict`. Unknown keys are ignored (a newer web process may add fields);
    a missing or mistyped field raises `ValueError` (pydantic's `ValidationError`)."""
    cls = _BY_KIND.get(str(data.get("kind")))
    if cls is None:
        raise ValueError(f"unknown event kind: {data.get('kind')!r}")
    fields = {k: v for k, v in data.items() if k != "kind"}
    return TypeAdapter(cls).validate_python(fields)


def from_delivery(delivery: Delivery) -> Event | None:
    """The typed event, or None for everything we ignore (other events and actions, ping,
    deliveries without an installation). Raises `MalformedDelivery` on a malformed payload."""
    payload = delivery.payload
    actions = ROUTED_ACTIONS.get(delivery.event)
    action = payload.get("action", PUSH_ACTION)
    if actions is None or not isinstance(action, str) or action not in actions:
        return None
    if payload.get("installation") is None:
        return None  # not sent to an App installation: nothing we could act with
    if delivery.event == PushEvent.github_event and payload.get("ref") != _default_ref(payload):
        return None  # another branch, a tag, or the default branch deleted
    try:
        event = _BUILDERS[delivery.event](delivery.id, payload)
    except ValidationError as exc:
        raise MalformedDelivery(_describe(delivery.event, exc)) from exc
    if isinstance(event, CommentEvent) and not _may_hold_commands(event):
        return None
    return event


def _default_ref(payload: Mapping[str, Any]) -> str | None:
    if payload.get("deleted") is True or set(str(payload.get("after", ""))) == {"0"}:
        return None
    repository = payload.get("repository")
    branch = repository.get("default_branch") if isinstance(repository, dict) else None
    return f"refs/heads/{branch}" if isinstance(branch, str) and branch else None


def _may_hold_commands(event: CommentEvent) -> bool:
    """Most comments are conversation: only a pull request's human comments that mention the
    command are worth a task (the handler still parses them properly)."""
    return (
        event.is_pull_request and not event.author_is_bot and COMMAND_PREFIX in event.body.lower()
    )


# ---- payload subsets: only what we read, strictly typed ------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _User(_Model):
    login: str
    type: str = "User"


class _Id(_Model):
    id: int


class _Repo(_Model):
    full_name: str


class _Envelope(_Model):
    action: str
    installation: _Id
    repository: _Repo
    sender: _User


class _Issue(_Model):
    number: int
    state: str
    pull_request: dict[str, Any] | None = None


class _Comment(_Model):
    id: int
    body: str
    user: _User


class _IssueCommentPayload(_Envelope):
    issue: _Issue
    comment: _Comment


class _Ref(_Model):
    ref: str
    sha: str
    repo: _Repo | None = None


class _PullRequest(_Model):
    number: int
    head: _Ref
    base: _Ref
    draft: bool = False
    body: str | None = None


class _PullRequestPayload(_Envelope):
    pull_request: _PullRequest
    before: str | None = None


class _Number(_Model):
    number: int


class _CheckRun(_Model):
    id: int
    name: str
    head_sha: str
    external_id: str | None = None
    app: _Id | None = None
    pull_requests: list[_Number] = []


class _RequestedAction(_Model):
    identifier: str


class _CheckRunPayload(_Envelope):
    check_run: _CheckRun
    requested_action: _RequestedAction | None = None


class _MergeGroup(_Model):
    head_sha: str
    head_ref: str
    base_ref: str


class _MergeGroupPayload(_Envelope):
    merge_group: _MergeGroup
    reason: str | None = None


class _DeploymentGatePayload(_Envelope):
    environment: str
    sha: str
    ref: str = ""
    event: str = ""
    deployment_callback_url: str


# `.../repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule` (GitHub Enterprise
# Server puts `/api/v3` in front).
_CALLBACK_PATH = re.compile(
    r"^https?://[^/?#]+(?:/[^?#]*)?/repos/(?P<repo>[^/?#]+/[^/?#]+)/actions/runs/"
    r"(?P<run_id>\d{1,19})/deployment_protection_rule$"
)
_SHA = re.compile(r"^[0-9a-fA-F]{40}$")


def _base(delivery_id: str, p: _Envelope) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "installation_id": p.installation.id,
        "repo": p.repository.full_name,
        "action": p.action,
        "sender": p.sender.login,
    }


def _comment(delivery_id: str, payload: dict[str, Any]) -> CommentEvent:
    p = _IssueCommentPayload.model_validate(payload)
    return CommentEvent(
        **_base(delivery_id, p),
        number=p.issue.number,
        is_pull_request=p.issue.pull_request is not None,
        issue_state=p.issue.state,
        comment_id=p.comment.id,
        body=p.comment.body,
        author=p.comment.user.login,
        author_type=p.comment.user.type,
    )


def _pull_request(delivery_id: str, payload: dict[str, Any]) -> PullRequestEvent:
    p = _PullRequestPayload.model_validate(payload)
    pr = p.pull_request
    head_name = pr.head.repo.full_name if pr.head.repo else None
    base_name = pr.base.repo.full_name if pr.base.repo else p.repository.full_name
    return PullRequestEvent(
        **_base(delivery_id, p),
        number=pr.number,
        head_sha=pr.head.sha,
        head_ref=pr.head.ref,
        head_full_name=head_name,
        base_full_name=base_name,
        base_ref=pr.base.ref,
        is_fork=head_name is None or head_name.lower() != base_name.lower(),
        before=p.before,
        draft=pr.draft,
        body=pr.body or "",
    )


def _check_run(delivery_id: str, payload: dict[str, Any]) -> CheckRunEvent:
    p = _CheckRunPayload.model_validate(payload)
    run = p.check_run
    return CheckRunEvent(
        **_base(delivery_id, p),
        check_run_id=run.id,
        name=run.name,
        head_sha=run.head_sha,
        external_id=run.external_id or "",
        requested_action=p.requested_action.identifier if p.requested_action else None,
        app_id=run.app.id if run.app else None,
        pull_requests=tuple(pr.number for pr in run.pull_requests),
    )


def _merge_group(delivery_id: str, payload: dict[str, Any]) -> MergeGroupEvent:
    p = _MergeGroupPayload.model_validate(payload)
    group = p.merge_group
    return MergeGroupEvent(
        **_base(delivery_id, p),
        head_sha=group.head_sha,
        head_ref=group.head_ref,
        base_ref=group.base_ref,
        reason=p.reason,
    )


def _deployment_gate(delivery_id: str, payload: dict[str, Any]) -> DeploymentGateEvent:
    p = _DeploymentGatePayload.model_validate(payload)
    found = _CALLBACK_PATH.match(p.deployment_callback_url)
    if found is None or found["repo"].lower() != p.repository.full_name.lower():
        raise MalformedDelivery(
            "malformed deployment_protection_rule payload: deployment_callback_url is not this "
            "repository's deployment_protection_rule endpoint"
        )
    if not _SHA.match(p.sha) or not p.environment.strip() or len(p.environment) > 255:
        raise MalformedDelivery(
            "malformed deployment_protection_rule payload: sha or environment is not valid"
        )
    return DeploymentGateEvent(
        **_base(delivery_id, p),
        environment=p.environment,
        sha=p.sha.lower(),
        ref=p.ref,
        trigger=p.event,
        callback_url=p.deployment_callback_url,
        workflow_run_id=int(found["run_id"]),
    )


class _PushPayload(_Model):
    installation: _Id
    repository: _Repo
    sender: _User
    ref: str
    after: str


def _push(delivery_id: str, payload: dict[str, Any]) -> PushEvent:
    p = _PushPayload.model_validate(payload)
    return PushEvent(
        delivery_id=delivery_id,
        installation_id=p.installation.id,
        repo=p.repository.full_name,
        action=PUSH_ACTION,
        sender=p.sender.login,
        ref=p.ref,
        after=p.after,
    )


_BUILDERS: dict[str, Callable[[str, dict[str, Any]], Event]] = {
    CommentEvent.github_event: _comment,
    PullRequestEvent.github_event: _pull_request,
    CheckRunEvent.github_event: _check_run,
    MergeGroupEvent.github_event: _merge_group,
    DeploymentGateEvent.github_event: _deployment_gate,
    PushEvent.github_event: _push,
}


def _describe(event: str, exc: ValidationError) -> str:
    """A short, body-free reason: field paths and error types only (no payload values)."""
    problems = [
        ".".join(str(part) for part in err["loc"]) + f" ({err['type']})" for err in exc.errors()[:5]
    ]
    return f"malformed {event} payload: " + ", ".join(problems)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
