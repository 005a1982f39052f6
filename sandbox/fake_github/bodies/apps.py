"""Bodies of the App, its installations, users, repositories, contents and the rate limit."""

from __future__ import annotations

import base64
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


def content_json(base: str, full_name: str, path: str, ref: str, data: bytes) -> dict[str, Any]:
    """A file as `GET /repos/{owner}/{repo}/contents/{path}` answers: base64 content."""
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
