"""The fake GitHub: its state, credentials, planted faults and request log, the test-side
methods that arrange and read them, and `.app`, the ASGI app serving the REST API.

Each request is checked against GitHub's OpenAPI description and logged (`requests`), then
answered by a planted fault, or by its route (`sandbox.fake_github.routes`) once its credentials
pass (`sandbox.fake_github.auth`).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.fake_github.auth import Credentials, TokenScope
from sandbox.fake_github.bodies.apps import AppInfo
from sandbox.fake_github.bodies.issues import comment_json, reaction_json
from sandbox.fake_github.control import control_endpoint
from sandbox.fake_github.http import Ctx, Fault, Faults, Reply, error_body, to_response
from sandbox.fake_github.render import check_run_body, issue_body
from sandbox.fake_github.routes import match_route
from sandbox.fake_github.rules import ApiError
from sandbox.fake_github.state import GitHubState
from sandbox.github_oauth import OAuthWeb
from sandbox.openapi_check import check_request


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
        self.app_info = AppInfo(str(app_id), bot_login)
        self.public_key_pem = public_key_pem
        self.bot_login = bot_login
        self.base_url = "http://127.0.0.1"  # for the readers; the server sets its real one
        self.state = GitHubState()
        self.credentials = Credentials(self.app_info.app_id, public_key_pem)
        self.faults = Faults()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # guards `requests`
        self.oauth = OAuthWeb(oauth_client_id, oauth_client_secret or secrets.token_hex(20))
        self.app = Starlette(
            routes=[
                *self.oauth.routes(),
                Route("/_sandbox/{name}", control_endpoint(self), methods=["GET", "POST"]),
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
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` matching requests (re.search on the path) with `status`;
        with a `delay`, handle them and hold the answer back that long (`status` 0: the real
        answer, late)."""
        fault = Fault(
            method.upper(),
            re.compile(path_regex),
            status,
            times,
            dict(headers or {}),
            body if body is not None else error_body(status, f"sandbox fault {status}"),
            delay,
        )
        self.faults.add(fault)

    # readers

    def check_runs(self, full_name: str, head_sha: str | None = None) -> list[dict[str, Any]]:
        """Oldest first, as the API shows them, plus what the API does not show: every
        `annotations` item as sent (accumulated), the `actions`, and the `history` of the
        POST and PATCH bodies."""
        runs = reversed(self.state.check_runs_for(full_name, head_sha))
        return [
            {
                **check_run_body(self.state, self.app_info, self.base_url, run),
                "annotations": run["annotations"],
                "actions": run["actions"],
                "history": run["history"],
            }
            for run in runs
        ]

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        comments = self.state.comments_on(full_name, number)
        return [comment_json(self.base_url, self.app_info, c) for c in comments]

    def reactions(self, comment_id: int) -> list[dict[str, Any]]:
        return [reaction_json(self.base_url, r) for r in self.state.reactions_on(comment_id)]

    def issues(self, full_name: str) -> list[dict[str, Any]]:
        """Every issue and pull request (as issues), oldest first."""
        found = reversed(self.state.list_issues(full_name, state="all"))
        return [issue_body(self.state, self.base_url, full_name, i["number"]) for i in found]

    def labels_of(self, full_name: str, number: int) -> list[str]:
        return [label["name"] for label in self.state.labels_on(full_name, number)]

    def deployment_answers(self, full_name: str) -> list[dict[str, Any]]:
        """The deployment-gate answers posted for `full_name`, oldest first (`run_id`,
        `environment_name`, `state`, `comment`)."""
        return self.state.answers_for(full_name)

    def request_log(self) -> list[dict[str, Any]]:
        """A snapshot of `requests`, safe to read while the server appends."""
        with self._lock:
            return list(self.requests)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # installation tokens

    @property
    def token_scopes(self) -> dict[str, TokenScope]:
        """What each issued installation token was asked for."""
        return self.credentials.scopes

    @property
    def _tokens(self) -> dict[str, tuple[int, datetime]]:
        """Every issued installation token (tests check none leaks)."""
        return self.credentials.tokens

    def issue_token(
        self, installation_id: int, scope: TokenScope | None = None
    ) -> tuple[str, datetime]:
        return self.credentials.issue_token(installation_id, scope)

    def expire_tokens(self) -> None:
        """Make every issued installation token expired (tests of token refresh)."""
        self.credentials.expire_all()

    # HTTP

    def _handle(
        self, method: str, path: str, ctx: Ctx, authorization: str, fault: Fault | None = None
    ) -> Reply:
        if fault is not None and fault.status:
            return Reply(fault.body, fault.status, fault.headers)
        route = match_route(method, path)
        if route is None:
            raise ApiError(404, "Not Found")
        handler, auth, params = route
        if auth == "jwt":
            self.credentials.verify_jwt(authorization)
        elif auth == "user":
            login = self.oauth.login_of(authorization)
            if login is None:
                # 401 unless an installation token ...
                self.credentials.verify_token(authorization, method, params)
                raise ApiError(403, "Resource not accessible by integration")  # ... which can't
            ctx.actor = (login, "User")
        else:
            self.credentials.verify_token(authorization, method, params)
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
            base = str(request.base_url).rstrip("/")
            ctx = Ctx(
                self.state, self.app_info, self.credentials, base, path, {}, query, record["json"]
            )
            fault = self.faults.take(method, path)
            auth = request.headers.get("authorization", "")
            reply = self._handle(method, path, ctx, auth, fault)
            if fault is not None and fault.delay > 0:
                self._log(record, reply, method, path)  # logged now: the client may hang up
                await asyncio.sleep(fault.delay)  # answering late: the client has given up
                return to_response(reply)
        except json.JSONDecodeError:
            reply = Reply(error_body(400, "Problems parsing JSON"), 400)
        except ApiError as exc:
            reply = Reply(error_body(exc.status, exc.message, exc.errors), exc.status)
        self._log(record, reply, method, path)
        return to_response(reply)

    def _log(self, record: dict[str, Any], reply: Reply, method: str, path: str) -> None:
        record["status"] = reply.status
        record["openapi_problems"] = check_request(method, path, record["json"], record["query"])
        with self._lock:
            self.requests.append(record)
