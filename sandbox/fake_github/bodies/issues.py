"""Bodies of issues and pull requests, their labels, comments and reactions."""

from __future__ import annotations

from typing import Any

from sandbox.fake_github.bodies.apps import AppInfo, actor_json, app_json, repo_json
from sandbox.fake_github.state.core import Repo
from sandbox.webhook_examples import user


def label_json(base: str, full_name: str, label: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": label["id"],
        "node_id": f"LA_{label['id']}",
        "url": f"{base}/repos/{full_name}/labels/{label['name']}",
        "name": label["name"],
        "color": label["color"],
        "description": label["description"],
        "default": label["default"],
    }


def _html_of(base: str, full_name: str, issue: dict[str, Any]) -> str:
    kind = "pull" if issue["pull"] else "issues"
    return f"{base}/{full_name}/{kind}/{issue['number']}"


def issue_json(
    base: str, issue: dict[str, Any], labels: list[dict[str, Any]], comments: int
) -> dict[str, Any]:
    full_name, number = issue["repo"], issue["number"]
    api = f"{base}/repos/{full_name}/issues/{number}"
    html = _html_of(base, full_name, issue)
    out: dict[str, Any] = {
        "id": issue["id"],
        "node_id": f"I_{issue['id']}",
        "url": api,
        "repository_url": f"{base}/repos/{full_name}",
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": html,
        "number": number,
        "state": issue["state"],
        "state_reason": issue["state_reason"],
        "title": issue["title"],
        "body": issue["body"],
        "user": actor_json(base, issue["user"], issue["user_type"]),
        "labels": [label_json(base, full_name, label) for label in labels],
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "locked": False,
        "comments": comments,
        "created_at": issue["created_at"],
        "updated_at": issue["updated_at"],
        "closed_at": issue["closed_at"],
        "author_association": "CONTRIBUTOR",
    }
    if issue["pull"]:
        out["pull_request"] = {
            "url": f"{base}/repos/{full_name}/pulls/{number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": None,
        }
    return out


def pull_json(
    base: str, issue: dict[str, Any], repo: Repo, head_repo: Repo | None
) -> dict[str, Any]:
    pull, full_name, number = issue["pull"], issue["repo"], issue["number"]
    api = f"{base}/repos/{full_name}"
    html = _html_of(base, full_name, issue)
    head_name = pull["head_full_name"]
    head = repo_json(base, head_name, head_repo, fork=head_name != full_name)
    if pull["head_clone_url"]:
        head["clone_url"] = pull["head_clone_url"]
    return {
        "id": pull["id"],
        "node_id": f"PR_{pull['id']}",
        "url": f"{api}/pulls/{number}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{api}/issues/{number}",
        "comments_url": f"{api}/issues/{number}/comments",
        "number": number,
        "state": issue["state"],
        "title": issue["title"],
        "body": issue["body"],
        "user": actor_json(base, issue["user"], issue["user_type"]),
        "draft": pull["draft"],
        "merged": False,
        "mergeable": None,
        "created_at": issue["created_at"],
        "updated_at": issue["updated_at"],
        "closed_at": issue["closed_at"],
        "merged_at": None,
        "head": {
            "label": f"{head_name.split('/')[0]}:{pull['head_ref']}",
            "ref": pull["head_ref"],
            "sha": pull["head_sha"],
            "user": head["owner"],
            "repo": head,
        },
        "base": {
            "label": f"{full_name.split('/')[0]}:{pull['base_ref']}",
            "ref": pull["base_ref"],
            "sha": "0" * 40,
            "user": user(full_name.split("/")[0], "Organization", base_url=base),
            "repo": repo_json(base, full_name, repo),
        },
    }


def pull_ref_json(base: str, pull: dict[str, Any], repo: Repo) -> dict[str, Any]:
    """The short pull-request form inside a check run's `pull_requests`."""
    repo_ref = {"id": repo.id, "url": f"{base}/repos/{repo.full_name}", "name": repo.full_name}
    return {
        "url": f"{base}/repos/{repo.full_name}/pulls/{pull['number']}",
        "id": pull["pull"]["id"],
        "number": pull["number"],
        "head": {
            "ref": pull["pull"]["head_ref"],
            "sha": pull["pull"]["head_sha"],
            "repo": repo_ref,
        },
        "base": {"ref": pull["pull"]["base_ref"], "sha": "0" * 40, "repo": repo_ref},
    }


def comment_json(base: str, app: AppInfo, comment: dict[str, Any]) -> dict[str, Any]:
    full_name, cid = comment["repo"], comment["id"]
    kind = "pull" if comment["is_pull"] else "issues"
    return {
        "id": cid,
        "node_id": f"IC_{cid}",
        "url": f"{base}/repos/{full_name}/issues/comments/{cid}",
        "html_url": f"{base}/{full_name}/{kind}/{comment['number']}#issuecomment-{cid}",
        "issue_url": f"{base}/repos/{full_name}/issues/{comment['number']}",
        "body": comment["body"],
        "user": actor_json(base, comment["user"], comment["user_type"]),
        "created_at": comment["created_at"],
        "updated_at": comment["updated_at"],
        "author_association": "NONE" if comment["via_app"] else "CONTRIBUTOR",
        "performed_via_github_app": app_json(base, app) if comment["via_app"] else None,
    }


def reaction_json(base: str, reaction: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": reaction["id"],
        "node_id": f"REA_{reaction['id']}",
        "user": actor_json(base, reaction["user"], reaction["user_type"]),
        "content": reaction["content"],
        "created_at": reaction["created_at"],
    }
