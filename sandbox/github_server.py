"""A stateful fake of the GitHub REST API over real HTTP, for tests and the demo.

PyGithub runs unmodified against it (`Github(base_url=server.url)`). State lives in
`sandbox.github_state`, JSON shapes in `sandbox.github_json`; this module holds the HTTP side:
authentication (App JWT, installation tokens), the routes, pagination, fault injection, the request
log (each request checked against GitHub's OpenAPI description) and the `/_sandbox/...` control API.

Run it alone:  python -m sandbox.github_server --port 9000 --app-id 1 --public-key app.pub.pem
"""

from __future__ import annotations

import argparse
import json
import math
import re
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import github_json as js
from sandbox.github_oauth import OAuthWeb
from sandbox.github_state import PERMISSION_OF_ROLE, ApiError, GitHubState, label_names
from sandbox.openapi_check import check_request

DOCS_URL = "https://docs.github.com/rest"
JWT_MAX_LIFETIME = 600  # GitHub: exp at most 10 minutes after iat ...
CLOCK_SKEW = 60  # ... give or take the clock drift GitHub tolerates
TOKEN_LIFETIME = timedelta(hours=1)
DEFAULT_PER_PAGE, MAX_PER_PAGE = 30, 100
TOKEN_PERMISSIONS = {"checks": "write", "issues": "write", "pull_requests": "write"}


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    headers: dict[str, str]
    body: Any


@dataclass
class Ctx:
    """One API request as the handlers see it."""

    fake: FakeGitHub
    base: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    actor: tuple[str, str] = ("", "")  # (login, type) of the authenticated caller

    @property
    def repo(self) -> str:
        return f"{self.params['owner']}/{self.params['repo']}"

    def int_param(self, name: str) -> int:
        return int(self.params[name])

    def json_object(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return self.body


@dataclass
class Reply:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Ctx], Reply]


# --- helpers ----------------------------------------------------------------------------------


def error_body(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> Any:
    body: dict[str, Any] = {
        "message": message,
        "documentation_url": DOCS_URL,
        "status": str(status),
    }
    if errors:
        body["errors"] = errors
    return body


def paginate(ctx: Ctx, items: list[Any], *, key: str | None = None) -> Reply:
    """One page of `items` with GitHub's `Link` header (`per_page` ≤ 100, pages from 1)."""
    per_page = max(1, min(int(ctx.query.get("per_page", DEFAULT_PER_PAGE)), MAX_PER_PAGE))
    page = max(1, int(ctx.query.get("page", 1)))
    last = max(1, math.ceil(len(items) / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]

    def link(n: int, rel: str) -> str:
        query = urlencode({**ctx.query, "per_page": per_page, "page": n})
        return f'<{ctx.base}{ctx.path}?{query}>; rel="{rel}"'

    links = [link(page + 1, "next"), link(last, "last")] if page < last else []
    links += [link(1, "first"), link(page - 1, "prev")] if page > 1 else []
    headers = {"Link": ", ".join(links)} if links else {}
    body = chunk if key is None else {"total_count": len(items), key: chunk}
    return Reply(body, headers=headers)


def _issue_reply(ctx: Ctx, number: int, status: int = 200) -> Reply:
    return Reply(ctx.fake.render_issue(ctx.base, ctx.repo, number), status)


def _check_run_reply(ctx: Ctx, run: dict[str, Any], status: int = 200) -> Reply:
    return Reply(ctx.fake.render_check_run(ctx.base, run), status)


# --- handlers: the App (JWT) ------------------------------------------------------------------


def get_app(ctx: Ctx) -> Reply:
    return Reply(js.app_json(ctx.base, ctx.fake.app_info))


def list_installations(ctx: Ctx) -> Reply:
    with ctx.fake.state.lock:
        records = list(ctx.fake.state.installations.values())
    return paginate(ctx, [js.installation_json(ctx.base, ctx.fake.app_info, r) for r in records])


@dataclass(frozen=True)
class TokenScope:
    """What an installation token was created for (`POST .../access_tokens` body)."""

    repositories: tuple[str, ...] | None  # None: every repository of the installation
    permissions: dict[str, str]


def create_access_token(ctx: Ctx) -> Reply:
    installation_id = ctx.int_param("installation_id")
    ctx.fake.state.installation(installation_id)
    asked = ctx.json_object()
    repositories = asked.get("repositories")
    permissions = asked.get("permissions") or TOKEN_PERMISSIONS
    scope = TokenScope(tuple(repositories) if repositories else None, dict(permissions))
    token, expires_at = ctx.fake.issue_token(installation_id, scope)
    body = {
        "token": token,
        "expires_at": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "permissions": permissions,
        "repository_selection": "selected" if repositories else "all",
    }
    return Reply(body, 201)


def get_repo_installation(ctx: Ctx) -> Reply:
    with ctx.fake.state.lock:
        ctx.fake.state.repo(ctx.repo)
        records = list(ctx.fake.state.installations.values())
    if not records:
        raise ApiError(404, "Not Found")
    return Reply(js.installation_json(ctx.base, ctx.fake.app_info, records[0]))


# --- handlers: the signed-in user (user-to-server token from "Sign in with GitHub") ------------


def get_user(ctx: Ctx) -> Reply:
    return Reply(js.actor_json(ctx.base, ctx.actor[0], "User"))


def _readable_repos(ctx: Ctx) -> list[str]:
    """Repositories where the user has an explicit role that reads (GitHub lists only those);
    every repository of the sandbox belongs to each of its installations."""
    login = ctx.actor[0]
    with ctx.fake.state.lock:
        return sorted(
            name
            for name, repo in ctx.fake.state.repos.items()
            if PERMISSION_OF_ROLE.get(repo.roles.get(login, "none"), "none") != "none"
        )


def list_user_installations(ctx: Ctx) -> Reply:
    with ctx.fake.state.lock:
        records = list(ctx.fake.state.installations.values()) if _readable_repos(ctx) else []
    installations = [js.installation_json(ctx.base, ctx.fake.app_info, r) for r in records]
    return paginate(ctx, installations, key="installations")


def list_user_installation_repos(ctx: Ctx) -> Reply:
    ctx.fake.state.installation(ctx.int_param("installation_id"))
    names = _readable_repos(ctx)
    with ctx.fake.state.lock:
        repos = [js.repo_json(ctx.base, n, ctx.fake.state.repo(n)) for n in names]
    return paginate(ctx, repos, key="repositories")


# --- handlers: repositories, pulls, permissions ------------------------------------------------


def get_rate_limit(ctx: Ctx) -> Reply:
    return Reply(js.rate_limit_json(int(time.time()) + 3600))


def get_repo(ctx: Ctx) -> Reply:
    return Reply(js.repo_json(ctx.base, ctx.repo, ctx.fake.state.repo(ctx.repo)))


def get_pull(ctx: Ctx) -> Reply:
    state = ctx.fake.state
    with state.lock:
        issue = state.pull(ctx.repo, ctx.int_param("number"))
        head_repo = state.repos.get(issue["pull"]["head_full_name"])
        return Reply(js.pull_json(ctx.base, issue, state.repo(ctx.repo), head_repo))


def get_commit(ctx: Ctx) -> Reply:
    """Just enough of a commit for PyGithub's `Commit` to complete itself."""
    ctx.fake.state.repo(ctx.repo)
    sha = ctx.params["ref"]
    api = f"{ctx.base}/repos/{ctx.repo}/commits/{sha}"
    commit = {"message": "", "tree": {"sha": "0" * 40}, "url": api}
    return Reply({"sha": sha, "node_id": f"C_{sha}", "url": api, "commit": commit, "files": []})


def get_contents(ctx: Ctx) -> Reply:
    """A file at a commit, read with git from the repository's (or a pull's head's) local
    clone URL: the sandbox keeps no file contents of its own."""
    ref = ctx.query.get("ref") or "HEAD"
    path = ctx.params["path"]
    for source in ctx.fake.state.clone_sources(ctx.repo):
        done = subprocess.run(
            ["git", "-C", source, "show", f"{ref}:{path}"],
            capture_output=True,
            check=False,
            timeout=30,
        )
        if done.returncode == 0:
            return Reply(js.content_json(ctx.base, ctx.repo, path, ref, done.stdout))
    raise ApiError(404, "Not Found")


def get_permission(ctx: Ctx) -> Reply:
    login = ctx.params["username"]
    role = ctx.fake.state.role_of(ctx.repo, login)
    user = js.actor_json(ctx.base, login, "User")
    user["role_name"] = role
    return Reply({"permission": PERMISSION_OF_ROLE[role], "role_name": role, "user": user})


# --- handlers: check runs ---------------------------------------------------------------------


def create_check_run(ctx: Ctx) -> Reply:
    run = ctx.fake.state.create_check_run(ctx.repo, ctx.json_object())
    return _check_run_reply(ctx, run, 201)


def get_check_run(ctx: Ctx) -> Reply:
    return _check_run_reply(ctx, ctx.fake.state.check_run(ctx.repo, ctx.int_param("run_id")))


def update_check_run(ctx: Ctx) -> Reply:
    run = ctx.fake.state.update_check_run(ctx.repo, ctx.int_param("run_id"), ctx.json_object())
    return _check_run_reply(ctx, run)


def list_annotations(ctx: Ctx) -> Reply:
    run = ctx.fake.state.check_run(ctx.repo, ctx.int_param("run_id"))
    return paginate(ctx, [js.annotation_json(a) for a in run["annotations"]])


def list_check_runs_for_ref(ctx: Ctx) -> Reply:
    runs = ctx.fake.state.check_runs_for(
        ctx.repo, head_sha=ctx.params["ref"], name=ctx.query.get("check_name")
    )
    if ctx.query.get("status"):
        runs = [r for r in runs if r["status"] == ctx.query["status"]]
    if ctx.query.get("app_id") and ctx.query["app_id"] != ctx.fake.app_info.app_id:
        runs = []  # every check run here was made by the one App the sandbox knows
    bodies = [ctx.fake.render_check_run(ctx.base, r) for r in runs]
    return paginate(ctx, bodies, key="check_runs")


# --- handlers: deployment protection rules -----------------------------------------------------


def review_custom_gates(ctx: Ctx) -> Reply:
    """An App's answer to a deployment waiting on its custom protection rule (204, no body)."""
    ctx.fake.state.answer_deployment(ctx.repo, ctx.int_param("run_id"), ctx.json_object())
    return Reply(None, 204)


# --- handlers: issues, comments, reactions, labels --------------------------------------------


def list_issues(ctx: Ctx) -> Reply:
    labels = [n for n in ctx.query.get("labels", "").split(",") if n]
    issues = ctx.fake.state.list_issues(
        ctx.repo,
        state=ctx.query.get("state", "open"),
        labels=labels,
        creator=ctx.query.get("creator"),
    )
    return paginate(ctx, [_issue_reply(ctx, i["number"]).body for i in issues])


def create_issue(ctx: Ctx) -> Reply:
    number = ctx.fake.state.create_issue(ctx.repo, ctx.json_object(), *ctx.actor)
    return _issue_reply(ctx, number, 201)


def get_issue(ctx: Ctx) -> Reply:
    return _issue_reply(ctx, ctx.int_param("number"))


def update_issue(ctx: Ctx) -> Reply:
    ctx.fake.state.update_issue(ctx.repo, ctx.int_param("number"), ctx.json_object())
    return _issue_reply(ctx, ctx.int_param("number"))


def list_comments(ctx: Ctx) -> Reply:
    comments = ctx.fake.state.comments_on(ctx.repo, ctx.int_param("number"))
    return paginate(ctx, [js.comment_json(ctx.base, ctx.fake.app_info, c) for c in comments])


def create_comment(ctx: Ctx) -> Reply:
    login, kind = ctx.actor
    comment = ctx.fake.state.add_comment(
        ctx.repo,
        ctx.int_param("number"),
        ctx.json_object().get("body"),
        user=login,
        user_type=kind,
        via_app=kind == "Bot",
    )
    return Reply(js.comment_json(ctx.base, ctx.fake.app_info, comment), 201)


def get_comment(ctx: Ctx) -> Reply:
    comment = ctx.fake.state.comment(ctx.repo, ctx.int_param("comment_id"))
    return Reply(js.comment_json(ctx.base, ctx.fake.app_info, comment))


def edit_comment(ctx: Ctx) -> Reply:
    body = ctx.json_object().get("body")
    comment = ctx.fake.state.edit_comment(ctx.repo, ctx.int_param("comment_id"), body)
    return Reply(js.comment_json(ctx.base, ctx.fake.app_info, comment))


def create_reaction(ctx: Ctx) -> Reply:
    content = ctx.json_object().get("content")
    reaction, created = ctx.fake.state.react(
        ctx.repo, ctx.int_param("comment_id"), content, *ctx.actor
    )
    return Reply(js.reaction_json(ctx.base, reaction), 201 if created else 200)


def add_labels(ctx: Ctx) -> Reply:
    # GitHub takes `{"labels": [...]}` or, as PyGithub sends it, a bare list.
    body = ctx.body if isinstance(ctx.body, list) else ctx.json_object()
    names = [str(n) for n in body] if isinstance(body, list) else label_names(body)
    labels = ctx.fake.state.add_labels(ctx.repo, ctx.int_param("number"), names)
    return Reply([js.label_json(ctx.base, ctx.repo, label) for label in labels])


def remove_label(ctx: Ctx) -> Reply:
    labels = ctx.fake.state.remove_label(ctx.repo, ctx.int_param("number"), ctx.params["name"])
    return Reply([js.label_json(ctx.base, ctx.repo, label) for label in labels])


def list_labels(ctx: Ctx) -> Reply:
    labels = ctx.fake.state.labels(ctx.repo)
    return paginate(ctx, [js.label_json(ctx.base, ctx.repo, label) for label in labels])


def create_label(ctx: Ctx) -> Reply:
    label = ctx.fake.state.create_label(ctx.repo, ctx.json_object())
    return Reply(js.label_json(ctx.base, ctx.repo, label), 201)


def get_label(ctx: Ctx) -> Reply:
    label = ctx.fake.state.label(ctx.repo, ctx.params["name"])
    return Reply(js.label_json(ctx.base, ctx.repo, label))


# --- routing ----------------------------------------------------------------------------------

_R = "/repos/{owner}/{repo}"
# (method, path template, handler, auth): "jwt" = the App's JWT, "token" = installation token,
# "user" = a user's token from the OAuth web flow (`sandbox.github_oauth`).
API_ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", "/app", get_app, "jwt"),
    ("GET", "/app/installations", list_installations, "jwt"),
    ("POST", "/app/installations/{installation_id}/access_tokens", create_access_token, "jwt"),
    ("GET", f"{_R}/installation", get_repo_installation, "jwt"),
    ("GET", "/rate_limit", get_rate_limit, "token"),
    ("GET", "/user", get_user, "user"),
    ("GET", "/user/installations", list_user_installations, "user"),
    (
        "GET",
        "/user/installations/{installation_id}/repositories",
        list_user_installation_repos,
        "user",
    ),
    ("GET", _R, get_repo, "token"),
    ("GET", f"{_R}/pulls/{{number}}", get_pull, "token"),
    ("GET", f"{_R}/commits/{{ref}}", get_commit, "token"),
    ("GET", f"{_R}/commits/{{ref}}/check-runs", list_check_runs_for_ref, "token"),
    ("GET", f"{_R}/collaborators/{{username}}/permission", get_permission, "token"),
    ("GET", f"{_R}/contents/{{path}}", get_contents, "token"),
    ("POST", f"{_R}/check-runs", create_check_run, "token"),
    ("GET", f"{_R}/check-runs/{{run_id}}", get_check_run, "token"),
    ("PATCH", f"{_R}/check-runs/{{run_id}}", update_check_run, "token"),
    ("GET", f"{_R}/check-runs/{{run_id}}/annotations", list_annotations, "token"),
    ("GET", f"{_R}/issues/comments/{{comment_id}}", get_comment, "token"),
    ("PATCH", f"{_R}/issues/comments/{{comment_id}}", edit_comment, "token"),
    ("POST", f"{_R}/issues/comments/{{comment_id}}/reactions", create_reaction, "token"),
    ("GET", f"{_R}/issues", list_issues, "token"),
    ("POST", f"{_R}/issues", create_issue, "token"),
    ("GET", f"{_R}/issues/{{number}}", get_issue, "token"),
    ("PATCH", f"{_R}/issues/{{number}}", update_issue, "token"),
    ("GET", f"{_R}/issues/{{number}}/comments", list_comments, "token"),
    ("POST", f"{_R}/issues/{{number}}/comments", create_comment, "token"),
    ("POST", f"{_R}/issues/{{number}}/labels", add_labels, "token"),
    ("DELETE", f"{_R}/issues/{{number}}/labels/{{name}}", remove_label, "token"),
    ("GET", f"{_R}/labels", list_labels, "token"),
    ("POST", f"{_R}/labels", create_label, "token"),
    ("GET", f"{_R}/labels/{{name}}", get_label, "token"),
    (
        "POST",
        f"{_R}/actions/runs/{{run_id}}/deployment_protection_rule",
        review_custom_gates,
        "token",
    ),
]
_NUMERIC = {"number", "run_id", "comment_id", "installation_id"}


def _compile(template: str) -> re.Pattern[str]:
    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "path":
            return "(?P<path>.+)"
        return f"(?P<{name}>\\d+)" if name in _NUMERIC else f"(?P<{name}>[^/]+)"

    return re.compile("^" + re.sub(r"\{(\w+)\}", group, template) + "$")


_COMPILED = [(m, _compile(t), h, auth) for m, t, h, auth in API_ROUTES]


def match_route(method: str, path: str) -> tuple[Handler, str, dict[str, str]] | None:
    for route_method, pattern, handler, auth in _COMPILED:
        found = pattern.match(path)
        if found and route_method == method:
            return handler, auth, found.groupdict()
    return None


# --- the fake ---------------------------------------------------------------------------------


class FakeGitHub:
    """The fake's state, auth and request log; `.app` is the ASGI app serving it."""

    def __init__(
        self,
        app_id: str,
        public_key_pem: str,
        *,
        bot_login: str = "golden-path[bot]",
        oauth_client_id: str = "Iv1.sandbox0client",
        oauth_client_secret: str | None = None,
    ) -> None:
        self.app_info = js.AppInfo(str(app_id), bot_login)
        self.public_key_pem = public_key_pem
        self.bot_login = bot_login
        self.base_url = "http://127.0.0.1"  # for the readers; the server sets its real one
        self.state = GitHubState()
        self.requests: list[dict[str, Any]] = []
        self._tokens: dict[str, tuple[int, datetime]] = {}
        self.token_scopes: dict[str, TokenScope] = {}  # what each issued token was asked for
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.oauth = OAuthWeb(oauth_client_id, oauth_client_secret or secrets.token_hex(20))
        self.app = Starlette(
            routes=[
                *self.oauth.routes(),
                Route("/_sandbox/{name}", self._control, methods=["GET", "POST"]),
                Route("/{path:path}", self._api, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            ]
        )

    # test-side state API

    def add_installation(self, installation_id: int, account: str = "acme") -> None:
        self.state.add_installation(installation_id, account)

    def add_repo(
        self, full_name: str, *, clone_url: str | None = None, private: bool = False
    ) -> None:
        self.state.add_repo(full_name, clone_url=clone_url, private=private)

    def _ensure_repo(self, full_name: str) -> None:
        if full_name not in self.state.repos:
            self.state.add_repo(full_name)

    def add_pull(
        self,
        full_name: str,
        number: int,
        *,
        head_sha: str,
        head_ref: str,
        head_clone_url: str | None = None,
        head_full_name: str | None = None,
        body: str = "",
        user: str = "octocat",
        state: str = "open",
        base_ref: str = "main",
        title: str | None = None,
        draft: bool = False,
    ) -> dict[str, Any]:
        """A pull request (also issue `number`); `head_full_name` other than the repo = a fork."""
        self._ensure_repo(full_name)
        return self.state.add_pull(
            full_name,
            number,
            head_sha=head_sha,
            head_ref=head_ref,
            head_clone_url=head_clone_url,
            head_full_name=head_full_name,
            body=body,
            user=user,
            state=state,
            base_ref=base_ref,
            title=title,
            draft=draft,
        )

    def set_head(self, full_name: str, number: int, sha: str) -> None:
        self.state.set_head(full_name, number, sha)

    def set_permission(self, full_name: str, login: str, permission: str) -> None:
        """`permission` is the fine role: admin, maintain, write, triage, read or none."""
        self._ensure_repo(full_name)
        self.state.set_permission(full_name, login, permission)

    def add_issue(
        self, full_name: str, number: int | None = None, title: str = "An issue", body: str = ""
    ) -> dict[str, Any]:
        self._ensure_repo(full_name)
        return self.state.add_issue(full_name, number, title, body)

    def add_comment(
        self,
        full_name: str,
        number: int,
        body: str,
        *,
        user: str = "octocat",
        user_type: str = "User",
    ) -> int:
        """A comment written by someone (as a webhook would announce it); returns its id."""
        return int(
            self.state.add_comment(full_name, number, body, user=user, user_type=user_type)["id"]
        )

    def add_check_run(
        self,
        full_name: str,
        *,
        head_sha: str,
        name: str,
        conclusion: str = "success",
        app_id: str | None = None,
    ) -> int:
        """A completed check run, as if created by this App or (`app_id`) by another one."""
        self._ensure_repo(full_name)
        body = {"name": name, "head_sha": head_sha, "status": "completed", "conclusion": conclusion}
        run = self.state.create_check_run(full_name, body)
        if app_id is not None:
            with self.state.lock:
                self.state.check_runs[run["id"]]["other_app"] = str(app_id)
        return int(run["id"])

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `times` matching requests (re.search on the path) with `status`."""
        fault = Fault(
            method.upper(),
            re.compile(path_regex),
            status,
            times,
            dict(headers or {}),
            body if body is not None else error_body(status, f"sandbox fault {status}"),
        )
        with self._lock:
            self._faults.append(fault)

    # readers

    def check_runs(self, full_name: str, head_sha: str | None = None) -> list[dict[str, Any]]:
        """Oldest first, as the API shows them, plus what the API does not show: every
        `annotations` item as sent (accumulated), the `actions`, and the `history` of the
        POST and PATCH bodies."""
        runs = reversed(self.state.check_runs_for(full_name, head_sha))
        return [
            {
                **self.render_check_run(self.base_url, run),
                "annotations": run["annotations"],
                "actions": run["actions"],
                "history": run["history"],
            }
            for run in runs
        ]

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        comments = self.state.comments_on(full_name, number)
        return [js.comment_json(self.base_url, self.app_info, c) for c in comments]

    def reactions(self, comment_id: int) -> list[dict[str, Any]]:
        return [js.reaction_json(self.base_url, r) for r in self.state.reactions_on(comment_id)]

    def issues(self, full_name: str) -> list[dict[str, Any]]:
        """Every issue and pull request (as issues), oldest first."""
        found = reversed(self.state.list_issues(full_name, state="all"))
        return [self.render_issue(self.base_url, full_name, i["number"]) for i in found]

    def labels_of(self, full_name: str, number: int) -> list[str]:
        return [label["name"] for label in self.state.labels_on(full_name, number)]

    def deployment_answers(self, full_name: str) -> list[dict[str, Any]]:
        """The deployment-gate answers posted for `full_name`, oldest first (`run_id`,
        `environment_name`, `state`, `comment`)."""
        return self.state.answers_for(full_name)

    # rendering, shared by the routes and the readers

    def render_issue(self, base: str, full_name: str, number: int) -> dict[str, Any]:
        with self.state.lock:
            issue = self.state.issue(full_name, number)
            labels = self.state.labels_on(full_name, number)
            count = len(self.state.comments_on(full_name, number))
        return js.issue_json(base, issue, labels, count)

    def render_check_run(self, base: str, run: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            repo = self.state.repo(run["repo"])
            pulls = [
                js.pull_ref_json(base, self.state.pull(run["repo"], n), repo)
                for n in self.state.pulls_with_head(run["repo"], run["head_sha"])
            ]
        app = self.app_info
        if run.get("other_app"):  # a check run another App created (`add_check_run`)
            app = js.AppInfo(run["other_app"], f"app-{run['other_app']}[bot]")
        return js.check_run_json(base, app, run, pulls)

    def request_log(self) -> list[dict[str, Any]]:
        """A snapshot of `requests`, safe to read while the server appends."""
        with self._lock:
            return list(self.requests)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # auth

    def issue_token(
        self, installation_id: int, scope: TokenScope | None = None
    ) -> tuple[str, datetime]:
        token = "ghs_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "B")[:36]
        expires_at = datetime.now(UTC).replace(microsecond=0) + TOKEN_LIFETIME
        with self._lock:
            self._tokens[token] = (installation_id, expires_at)
            self.token_scopes[token] = scope or TokenScope(None, dict(TOKEN_PERMISSIONS))
        return token, expires_at

    def expire_tokens(self) -> None:
        """Make every issued installation token expired (tests of token refresh)."""
        with self._lock:
            self._tokens = {t: (i, datetime.now(UTC)) for t, (i, _) in self._tokens.items()}

    def _verify_jwt(self, authorization: str) -> None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                token,
                self.public_key_pem,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
                leeway=CLOCK_SKEW,
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(401, "'Expiration time' claim ('exp') is in the past") from exc
        except jwt.PyJWTError as exc:
            raise ApiError(401, f"A JSON web token could not be decoded ({exc})") from exc
        if str(claims["iss"]) != self.app_info.app_id:
            raise ApiError(401, "'Issuer' claim ('iss') does not match this App's id")
        too_long = claims["exp"] - claims["iat"] > JWT_MAX_LIFETIME + CLOCK_SKEW
        if too_long or claims["exp"] > time.time() + JWT_MAX_LIFETIME + CLOCK_SKEW:
            raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")

    def _verify_token(self, authorization: str, method: str, params: dict[str, Any]) -> None:
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            found = self._tokens.get(token) if scheme.lower() in ("token", "bearer") else None
            scope = self.token_scopes.get(token)
        if found is None or found[1] <= datetime.now(UTC):
            raise ApiError(401, "Bad credentials")
        # A token asked for some repositories sees only those, as on GitHub; one that may only
        # read may not write.
        if scope is None:
            return
        allowed = {r.lower() for r in scope.repositories or ()}
        elsewhere = "repo" in params and params["repo"].lower() not in allowed
        if scope.repositories is not None and elsewhere:
            raise ApiError(404, "Not Found")
        if method != "GET" and set(scope.permissions.values()) <= {"read"}:
            raise ApiError(403, "Resource not accessible by integration")

    # HTTP

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.pattern.search(path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _handle(self, method: str, path: str, ctx: Ctx, authorization: str) -> Reply:
        fault = self._take_fault(method, path)
        if fault is not None:
            return Reply(fault.body, fault.status, fault.headers)
        route = match_route(method, path)
        if route is None:
            raise ApiError(404, "Not Found")
        handler, auth, params = route
        if auth == "jwt":
            self._verify_jwt(authorization)
        elif auth == "user":
            login = self.oauth.login_of(authorization)
            if login is None:
                self._verify_token(authorization)  # 401 unless an installation token ...
                raise ApiError(403, "Resource not accessible by integration")  # ... which can't
            ctx.actor = (login, "User")
        else:
            self._verify_token(authorization, method, params)
            ctx.actor = (self.bot_login, "Bot")
        ctx.params = params
        return handler(ctx)

    async def _api(self, request: Request) -> Response:
        method, path = request.method, request.url.path
        query = dict(request.query_params)
        raw = await request.body()
        record: dict[str, Any] = {
            "at": time.time(),  # for pacing checks: writes per minute
            "method": method,
            "path": path,
            "query": query,
            "json": None,
            "headers": {k: v for k, v in request.headers.items() if k != "authorization"},
        }
        try:
            record["json"] = json.loads(raw) if raw else None
            ctx = Ctx(self, str(request.base_url).rstrip("/"), path, {}, query, record["json"])
            reply = self._handle(method, path, ctx, request.headers.get("authorization", ""))
        except json.JSONDecodeError:
            reply = Reply(error_body(400, "Problems parsing JSON"), 400)
        except ApiError as exc:
            reply = Reply(error_body(exc.status, exc.message, exc.errors), exc.status)
        record["status"] = reply.status
        record["openapi_problems"] = check_request(method, path, record["json"], query)
        with self._lock:
            self.requests.append(record)
        return self._response(reply)

    def _response(self, reply: Reply) -> Response:
        reset = str(int(time.time()) + 3600)
        defaults = {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Reset": reset,
            "X-RateLimit-Resource": "core",
            "X-GitHub-Request-Id": secrets.token_hex(8).upper(),
        }
        # Header names are case-insensitive: an injected `x-ratelimit-remaining` replaces the
        # default, or the client would see both joined ("4999, 0").
        replaced = {name.lower() for name in reply.headers}
        headers = {k: v for k, v in defaults.items() if k.lower() not in replaced}
        headers.update(reply.headers)
        if reply.status == 204:
            return Response(status_code=204, headers=headers)
        return JSONResponse(reply.body, reply.status, headers=headers)

    async def _control(self, request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "POST":
            raw = await request.body()
            return _call_control(self, CONTROL_POST, name, json.loads(raw) if raw else {})
        return _call_control(self, CONTROL_GET, name, _coerce(dict(request.query_params)))


# --- /_sandbox control API: the same methods over HTTP, no auth ---------------------------------

CONTROL_POST = {
    "add_installation",
    "add_repo",
    "add_pull",
    "set_head",
    "set_permission",
    "add_issue",
    "add_comment",
    "fail_next",
    "clear_requests",
    "expire_tokens",
}
CONTROL_GET = {
    "check_runs",
    "comments",
    "reactions",
    "issues",
    "labels_of",
    "requests",
    "deployment_answers",
}
_INT_QUERY = {"number", "comment_id", "installation_id"}


def _coerce(query: dict[str, str]) -> dict[str, Any]:
    return {k: int(v) if k in _INT_QUERY else v for k, v in query.items()}


def _call_control(
    fake: FakeGitHub, allowed: set[str], name: str, kwargs: dict[str, Any]
) -> Response:
    if name not in allowed:
        return JSONResponse({"message": f"unknown sandbox call {name!r}"}, 404)
    if name == "requests":
        return JSONResponse(fake.request_log())
    try:
        result = getattr(fake, name)(**kwargs)
    except (TypeError, ValueError, ApiError) as exc:
        return JSONResponse({"message": f"{name}: {exc}"}, 400)
    return JSONResponse({"result": result})


class SandboxClient:
    """The test-side API of a fake running in another process, over `/_sandbox/...`."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _post(self, name: str, **kwargs: Any) -> Any:
        response = httpx.post(f"{self.url}/_sandbox/{name}", json=kwargs, timeout=10)
        response.raise_for_status()
        return response.json()["result"]

    def _get(self, name: str, **params: Any) -> Any:
        params = {k: v for k, v in params.items() if v is not None}
        response = httpx.get(f"{self.url}/_sandbox/{name}", params=params, timeout=10)
        response.raise_for_status()
        body = response.json()
        return body if name == "requests" else body["result"]

    def add_installation(self, installation_id: int) -> None:
        self._post("add_installation", installation_id=installation_id)

    def add_repo(self, full_name: str, **fields: Any) -> None:
        self._post("add_repo", full_name=full_name, **fields)

    def add_pull(self, full_name: str, number: int, **fields: Any) -> dict[str, Any]:
        return self._post("add_pull", full_name=full_name, number=number, **fields)

    def set_head(self, full_name: str, number: int, sha: str) -> None:
        self._post("set_head", full_name=full_name, number=number, sha=sha)

    def set_permission(self, full_name: str, login: str, permission: str) -> None:
        self._post("set_permission", full_name=full_name, login=login, permission=permission)

    def add_issue(self, full_name: str, **fields: Any) -> dict[str, Any]:
        return self._post("add_issue", full_name=full_name, **fields)

    def add_comment(self, full_name: str, number: int, body: str, **fields: Any) -> int:
        return self._post("add_comment", full_name=full_name, number=number, body=body, **fields)

    def fail_next(self, method: str, path_regex: str, status: int, **fields: Any) -> None:
        self._post("fail_next", method=method, path_regex=path_regex, status=status, **fields)

    def check_runs(self, full_name: str, head_sha: str | None = None) -> list[dict[str, Any]]:
        return self._get("check_runs", full_name=full_name, head_sha=head_sha)

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        return self._get("comments", full_name=full_name, number=number)

    def reactions(self, comment_id: int) -> list[dict[str, Any]]:
        return self._get("reactions", comment_id=comment_id)

    def issues(self, full_name: str) -> list[dict[str, Any]]:
        return self._get("issues", full_name=full_name)

    def labels_of(self, full_name: str, number: int) -> list[str]:
        return self._get("labels_of", full_name=full_name, number=number)

    def deployment_answers(self, full_name: str) -> list[dict[str, Any]]:
        return self._get("deployment_answers", full_name=full_name)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._get("requests")


def create_fake_github(
    app_id: str, public_key_pem: str, *, bot_login: str = "golden-path[bot]"
) -> FakeGitHub:
    return FakeGitHub(app_id, public_key_pem, bot_login=bot_login)


# --- running it -------------------------------------------------------------------------------


class FakeGitHubServer:
    """Serve a `FakeGitHub` with uvicorn on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(
        self,
        fake: FakeGitHub | None = None,
        *,
        app_id: str | None = None,
        public_key_pem: str | None = None,
        bot_login: str = "golden-path[bot]",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Serve `fake`, or a new one made from `app_id` and `public_key_pem`."""
        if fake is None:
            if app_id is None or public_key_pem is None:
                raise TypeError("give a FakeGitHub, or app_id and public_key_pem")
            fake = create_fake_github(str(app_id), public_key_pem, bot_login=bot_login)
        self.fake = fake
        self.host, self.port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeGitHubServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.fake.base_url = self.url
        config = uvicorn.Config(self.fake.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake GitHub server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> FakeGitHubServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def public_pem(pem: str) -> str:
    """The public half of a PEM key; a private key is accepted too (handy for the demo)."""
    if "PRIVATE KEY" not in pem:
        return pem
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--app-id", required=True)
    parser.add_argument(
        "--public-key", required=True, type=Path, help="the App's public (or private) PEM key"
    )
    parser.add_argument("--bot-login", default="golden-path[bot]")
    args = parser.parse_args(argv)
    public_key = public_pem(args.public_key.read_text(encoding="utf-8"))
    fake = create_fake_github(args.app_id, public_key, bot_login=args.bot_login)
    fake.base_url = f"http://{args.host}:{args.port}"
    uvicorn.run(fake.app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
