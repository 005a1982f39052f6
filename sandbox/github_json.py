"""GitHub-shaped JSON for the fake's records, with URLs built from the server's own base URL.

PyGithub follows the `url` fields it is given for its follow-up calls, so they must point back at
the sandbox, not at api.github.com. HTML links use the same base (`{base}/{owner}/{repo}/...`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.fake_github.state.core import Repo
from sandbox.webhook_examples import user, user_id


@dataclass(frozen=True)
class AppInfo:
    app_id: str
    bot_login: str

    @property
    def slug(self) -> str:
        return self.bot_login.removesuffix("[bot]")


def app_json(base: str, app: AppInfo) -> dict[str, Any]:
    return {
        "id": int(app.app_id) if app.app_id.isdigit() else app.app_id,
        "slug": app.slug,
        "node_id": f"A_{app.app_id}",
        "name": app.slug,
        "owner": user("acme", "Organization", base_url=base),
        "description": "Golden Path bot (sandbox)",
        "external_url": base,
        "html_url": f"{base}/apps/{app.slug}",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "permissions": {"checks": "write", "issues": "write", "pull_requests": "write"},
        "events": ["issue_comment", "pull_request", "check_run", "merge_group"],
    }


def installation_json(base: str, app: AppInfo, record: dict[str, Any]) -> dict[str, Any]:
    iid = record["id"]
    return {
        "id": iid,
        "account": user(record["account"], "Organization", base_url=base),
        "app_id": app_json(base, app)["id"],
        "app_slug": app.slug,
        "target_type": "Organization",
        "repository_selection": "all",
        "access_tokens_url": f"{base}/app/installations/{iid}/access_tokens",
        "repositories_url": f"{base}/installation/repositories",
        "html_url": f"{base}/settings/installations/{iid}",
        "permissions": app_json(base, app)["permissions"],
        "events": app_json(base, app)["events"],
        "created_at": record["created_at"],
        "updated_at": record["created_at"],
        "single_file_name": None,
    }


def actor_json(base: str, login: str, user_type: str) -> dict[str, Any]:
    return user(login, user_type, base_url=base)


def repo_json(
    base: str, full_name: str, repo: Repo | None = None, *, fork: bool = False
) -> dict[str, Any]:
    """A repository; `repo` is None for a fork the sandbox does not hold."""
    owner, name = full_name.split("/", 1)
    api = f"{base}/repos/{full_name}"
    return {
        "id": repo.id if repo else user_id(full_name),
        "node_id": f"R_{full_name}",
        "name": name,
        "full_name": full_name,
        "private": repo.private if repo else False,
        "fork": fork,
        "owner": user(owner, "Organization", base_url=base),
        "url": api,
        "html_url": f"{base}/{full_name}",
        "clone_url": (repo.clone_url if repo else None) or f"{base}/{full_name}.git",
        "git_url": f"{base}/{full_name}.git",
        "ssh_url": f"{base}/{full_name}.git",
        "issues_url": f"{api}/issues{{/number}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "labels_url": f"{api}/labels{{/name}}",
        "default_branch": repo.default_branch if repo else "main",
        "created_at": repo.created_at if repo else "2024-01-01T00:00:00Z",
        "updated_at": repo.created_at if repo else "2024-01-01T00:00:00Z",
        "archived": False,
        "disabled": False,
        "visibility": "private" if repo and repo.private else "public",
    }


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


def check_run_json(
    base: str, app: AppInfo, run: dict[str, Any], pulls: list[dict[str, Any]]
) -> dict[str, Any]:
    full_name, rid = run["repo"], run["id"]
    api = f"{base}/repos/{full_name}/check-runs/{rid}"
    output = run["output"]
    return {
        "id": rid,
        "node_id": f"CR_{rid}",
        "head_sha": run["head_sha"],
        "external_id": run["external_id"],
        "url": api,
        "html_url": f"{base}/{full_name}/runs/{rid}",
        "details_url": run["details_url"],
        "status": run["status"],
        "conclusion": run["conclusion"],
        "started_at": run["started_at"],
        "completed_at": run["completed_at"],
        "output": {
            "title": output["title"],
            "summary": output["summary"],
            "text": output["text"],
            "annotations_count": len(run["annotations"]),
            "annotations_url": f"{api}/annotations",
        },
        "name": run["name"],
        "check_suite": {"id": rid},
        "app": app_json(base, app),
        "pull_requests": pulls,
    }


def annotation_json(annotation: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": annotation["path"],
        "start_line": annotation["start_line"],
        "end_line": annotation["end_line"],
        "start_column": annotation.get("start_column"),
        "end_column": annotation.get("end_column"),
        "annotation_level": annotation["annotation_level"],
        "title": annotation.get("title"),
        "message": annotation["message"],
        "raw_details": annotation.get("raw_details"),
        "blob_href": "",
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


def rate_limit_json(reset: int) -> dict[str, Any]:
    core = {"limit": 5000, "used": 1, "remaining": 4999, "reset": reset}
    return {
        "resources": {
            "core": core,
            "search": {"limit": 30, "used": 0, "remaining": 30, "reset": reset},
            "graphql": {"limit": 5000, "used": 0, "remaining": 5000, "reset": reset},
        },
        "rate": core,
    }


def content_json(base: str, full_name: str, path: str, ref: str, data: bytes) -> dict[str, Any]:
    """A file as `GET /repos/{owner}/{repo}/contents/{path}` answers: base64 content."""
    import base64
    import hashlib

    api = f"{base}/repos/{full_name}/contents/{path}?ref={ref}"
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": base64.encodebytes(data).decode(),
        "sha": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
        "url": api,
        "git_url": None,
        "html_url": f"{base}/{full_name}/blob/{ref}/{path}",
        "download_url": None,
        "_links": {"self": api, "git": None, "html": f"{base}/{full_name}/blob/{ref}/{path}"},
    }
