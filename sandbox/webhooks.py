"""Webhook events as GitHub sends them, built from real payloads retargeted to the sandbox
(`sandbox.webhook_examples`); `sandbox.webhook_delivery` turns one into signed bytes and headers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sandbox.webhook_examples import for_repo, load_payload, retarget_repo, user, user_id

_PR_PAYLOADS = ("opened", "synchronize", "reopened", "ready_for_review")


# --- events -----------------------------------------------------------------------------------


def comment_on_pr(
    full_name: str,
    pr_number: int,
    body: str,
    *,
    user: str = "octocat",
    user_type: str = "User",
    installation_id: int,
    base_url: str,
    comment_id: int | None = None,
) -> dict[str, Any]:
    """`issue_comment` `created` on a pull request (the example is on a plain issue)."""
    base_url = base_url.rstrip("/")
    payload = for_repo(
        load_payload("issue_comment.created"),
        full_name,
        installation_id=installation_id,
        base_url=base_url,
    )
    _set_issue(payload["issue"], full_name, pr_number, base_url)
    author = _user(user, user_type, base_url)
    payload["comment"] = _comment(full_name, pr_number, body, author, base_url, comment_id)
    payload["sender"] = author
    return payload


def _user(login: str, user_type: str, base_url: str) -> dict[str, Any]:
    return user(login, user_type, base_url=base_url)


def _set_issue(issue: dict[str, Any], full_name: str, number: int, base_url: str) -> None:
    api = f"{base_url}/repos/{full_name}"
    html = f"{base_url}/{full_name}/pull/{number}"
    issue.update(
        number=number,
        state="open",
        url=f"{api}/issues/{number}",
        html_url=html,
        comments_url=f"{api}/issues/{number}/comments",
        labels_url=f"{api}/issues/{number}/labels{{/name}}",
        events_url=f"{api}/issues/{number}/events",
        repository_url=api,
        pull_request={
            "url": f"{api}/pulls/{number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": None,
        },
    )


def _comment(
    full_name: str,
    number: int,
    body: str,
    author: dict[str, Any],
    base_url: str,
    comment_id: int | None,
) -> dict[str, Any]:
    cid = comment_id if comment_id is not None else uuid.uuid4().int % 2_000_000_000
    return {
        "id": cid,
        "node_id": f"IC_{cid}",
        "url": f"{base_url}/repos/{full_name}/issues/comments/{cid}",
        "html_url": f"{base_url}/{full_name}/pull/{number}#issuecomment-{cid}",
        "issue_url": f"{base_url}/repos/{full_name}/issues/{number}",
        "body": body,
        "user": author,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "author_association": "CONTRIBUTOR" if author["type"] == "User" else "NONE",
        "performed_via_github_app": None,
    }


def pull_request_event(
    action: str,
    full_name: str,
    number: int,
    head_sha: str,
    *,
    installation_id: int,
    base_url: str,
    head_ref: str = "feature",
    head_full_name: str | None = None,
    head_clone_url: str | None = None,
    base_ref: str = "main",
    user: str = "octocat",
    draft: bool = False,
    before: str | None = None,
    body: str = "",
) -> dict[str, Any]:
    """`pull_request` event; `head_full_name` other than `full_name` makes it a fork."""
    base_url = base_url.rstrip("/")
    example = action if action in _PR_PAYLOADS else "opened"
    payload = for_repo(
        load_payload(f"pull_request.{example}"),
        full_name,
        installation_id=installation_id,
        base_url=base_url,
    )
    payload.update(action=action, number=number, sender=_user(user, "User", base_url))
    pr = payload["pull_request"]
    _set_pull(pr, full_name, number, base_url, body=body, draft=draft, user=user)
    head_repo = head_full_name or full_name
    pr["head"].update(ref=head_ref, sha=head_sha, label=f"{head_repo.split('/')[0]}:{head_ref}")
    retarget_repo(pr["head"]["repo"], head_repo, base_url)
    pr["head"]["repo"].update(
        fork=head_repo != full_name,
        clone_url=head_clone_url or f"{base_url}/{head_repo}.git",
        url=f"{base_url}/repos/{head_repo}",
    )
    pr["base"].update(ref=base_ref, label=f"{full_name.split('/')[0]}:{base_ref}")
    retarget_repo(pr["base"]["repo"], full_name, base_url)
    if action == "synchronize":
        payload["before"] = before or "0" * 40
        payload["after"] = head_sha
    return payload


def _set_pull(
    pr: dict[str, Any],
    full_name: str,
    number: int,
    base_url: str,
    *,
    body: str,
    draft: bool,
    user: str,
) -> None:
    api = f"{base_url}/repos/{full_name}"
    html = f"{base_url}/{full_name}/pull/{number}"
    pr.update(
        number=number,
        url=f"{api}/pulls/{number}",
        html_url=html,
        diff_url=f"{html}.diff",
        patch_url=f"{html}.patch",
        issue_url=f"{api}/issues/{number}",
        comments_url=f"{api}/issues/{number}/comments",
        body=body,
        draft=draft,
        state="open",
        user=_user(user, "User", base_url),
    )


def _pull_ref(full_name: str, number: int, head_sha: str, base_url: str) -> dict[str, Any]:
    """The short pull-request form GitHub puts in `check_run.pull_requests`."""
    repo = {"id": user_id(full_name), "url": f"{base_url}/repos/{full_name}", "name": full_name}
    return {
        "url": f"{base_url}/repos/{full_name}/pulls/{number}",
        "id": user_id(f"{full_name}#{number}"),
        "number": number,
        "head": {"ref": f"pr-{number}", "sha": head_sha, "repo": repo},
        "base": {"ref": "main", "sha": "0" * 40, "repo": repo},
    }


def check_run_event(
    action: str,
    full_name: str,
    *,
    check_run_id: int,
    head_sha: str,
    app_id: int,
    installation_id: int,
    base_url: str,
    name: str = "Golden Path P0",
    pull_numbers: Iterable[int] = (),
    identifier: str = "run",
    sender: str = "octocat",
) -> dict[str, Any]:
    """`check_run` `requested_action` (button `identifier` pressed) or `rerequested`."""
    base_url = base_url.rstrip("/")
    example = "requested_action" if action == "requested_action" else "rerequested"
    payload = for_repo(
        load_payload(f"check_run.{example}"),
        full_name,
        installation_id=installation_id,
        base_url=base_url,
    )
    payload.update(action=action, sender=_user(sender, "User", base_url))
    pulls = [_pull_ref(full_name, n, head_sha, base_url) for n in pull_numbers]
    run = payload["check_run"]
    run.update(
        id=check_run_id,
        name=name,
        head_sha=head_sha,
        url=f"{base_url}/repos/{full_name}/check-runs/{check_run_id}",
        html_url=f"{base_url}/{full_name}/runs/{check_run_id}",
        pull_requests=pulls,
    )
    run["app"]["id"] = app_id
    run["check_suite"].update(head_sha=head_sha, after=head_sha, pull_requests=pulls)
    run["check_suite"]["app"]["id"] = app_id
    if action == "requested_action":
        payload["requested_action"] = {"identifier": identifier}
    else:
        payload.pop("requested_action", None)
    return payload


def merge_group_event(
    full_name: str,
    *,
    head_sha: str,
    pr_number: int,
    installation_id: int,
    base_url: str,
    base_ref: str = "main",
    base_sha: str = "0" * 40,
    action: str = "checks_requested",
) -> dict[str, Any]:
    """`merge_group` event whose `head_ref` names pull request `pr_number`, as GitHub's does."""
    payload = for_repo(
        load_payload("merge_group.checks_requested"),
        full_name,
        installation_id=installation_id,
        base_url=base_url.rstrip("/"),
    )
    payload["action"] = action
    queue_ref = f"gh-readonly-queue/{base_ref}/pr-{pr_number}-{base_sha}"
    payload["merge_group"].update(
        head_sha=head_sha,
        head_ref=f"refs/heads/{queue_ref}",
        base_sha=base_sha,
        base_ref=f"refs/heads/{base_ref}",
    )
    payload["merge_group"]["head_commit"]["id"] = head_sha
    return payload


def ping_event(full_name: str, *, installation_id: int, base_url: str) -> dict[str, Any]:
    return for_repo(
        load_payload("ping"), full_name, installation_id=installation_id, base_url=base_url
    )


def deployment_gate_event(
    full_name: str,
    *,
    sha: str,
    environment: str,
    workflow_run_id: int,
    installation_id: int,
    base_url: str,
    ref: str = "main",
    trigger: str = "push",
    sender: str = "octocat",
) -> dict[str, Any]:
    """`deployment_protection_rule` `requested`: a workflow job of run `workflow_run_id` waits
    to deploy `sha` to `environment`. The callback URL points at the sandbox's endpoint."""
    base_url = base_url.rstrip("/")
    payload = for_repo(
        load_payload("deployment_protection_rule.requested"),
        full_name,
        installation_id=installation_id,
        base_url=base_url,
    )
    api = f"{base_url}/repos/{full_name}"
    payload.update(
        environment=environment,
        sha=sha,
        ref=ref,
        event=trigger,
        deployment_callback_url=(
            f"{api}/actions/runs/{workflow_run_id}/deployment_protection_rule"
        ),
    )
    payload["sender"].update(_user(sender, "User", base_url))  # keeps the schema's other fields
    payload["installation"] = {"id": installation_id, "node_id": f"I_{installation_id}"}
    payload["deployment"].update(sha=sha, ref=ref, environment=environment)
    return payload


def push_event(
    full_name: str,
    *,
    after: str,
    installation_id: int,
    base_url: str,
    branch: str = "main",
    default_branch: str = "main",
    sender: str = "octocat",
) -> dict[str, Any]:
    """`push` of `after` to `branch`, from GitHub's example of a push to the default branch."""
    base_url = base_url.rstrip("/")
    payload = for_repo(
        load_payload("push"), full_name, installation_id=installation_id, base_url=base_url
    )
    payload.update(ref=f"refs/heads/{branch}", after=after, created=False)
    payload["repository"]["default_branch"] = default_branch
    payload["head_commit"]["id"] = after
    payload["sender"].update(_user(sender, "User", base_url))
    return payload
