"""The `/_sandbox/...` control API: the fake's test-side methods over HTTP (no auth), and
`SandboxClient`, which calls them from a test running in another process."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.fake_github.rules import ApiError

if TYPE_CHECKING:
    from sandbox.fake_github.fake import FakeGitHub

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


def call_control(
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


def control_endpoint(fake: FakeGitHub) -> Callable[[Request], Awaitable[Response]]:
    """`GET|POST /_sandbox/{name}`: call the fake's method `name` (only those listed above)."""

    async def endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "POST":
            raw = await request.body()
            return call_control(fake, CONTROL_POST, name, json.loads(raw) if raw else {})
        return call_control(fake, CONTROL_GET, name, _coerce(dict(request.query_params)))

    return endpoint


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
        return cast(
            dict[str, Any], self._post("add_pull", full_name=full_name, number=number, **fields)
        )

    def set_head(self, full_name: str, number: int, sha: str) -> None:
        self._post("set_head", full_name=full_name, number=number, sha=sha)

    def set_permission(self, full_name: str, login: str, permission: str) -> None:
        self._post("set_permission", full_name=full_name, login=login, permission=permission)

    def add_issue(self, full_name: str, **fields: Any) -> dict[str, Any]:
        return cast(dict[str, Any], self._post("add_issue", full_name=full_name, **fields))

    def add_comment(self, full_name: str, number: int, body: str, **fields: Any) -> int:
        return cast(
            int, self._post("add_comment", full_name=full_name, number=number, body=body, **fields)
        )

    def fail_next(self, method: str, path_regex: str, status: int, **fields: Any) -> None:
        self._post("fail_next", method=method, path_regex=path_regex, status=status, **fields)

    def check_runs(self, full_name: str, head_sha: str | None = None) -> list[dict[str, Any]]:
        return cast(
            list[dict[str, Any]], self._get("check_runs", full_name=full_name, head_sha=head_sha)
        )

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("comments", full_name=full_name, number=number))

    def reactions(self, comment_id: int) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("reactions", comment_id=comment_id))

    def issues(self, full_name: str) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("issues", full_name=full_name))

    def labels_of(self, full_name: str, number: int) -> list[str]:
        return cast(list[str], self._get("labels_of", full_name=full_name, number=number))

    def deployment_answers(self, full_name: str) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("deployment_answers", full_name=full_name))

    @property
    def requests(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._get("requests"))
