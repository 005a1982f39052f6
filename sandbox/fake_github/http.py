"""The HTTP plumbing every route shares: the request as routes see it (`Ctx`), their answer
(`Reply`), GitHub's error body, pagination with `Link` headers, the rate-limit headers of every
answer, and injected faults (`fail_next`)."""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.responses import JSONResponse, Response

from sandbox.fake_github.auth import Credentials
from sandbox.fake_github.bodies.apps import AppInfo
from sandbox.fake_github.rules import ApiError
from sandbox.fake_github.state import GitHubState

DOCS_URL = "https://docs.github.com/rest"
DEFAULT_PER_PAGE, MAX_PER_PAGE = 30, 100


@dataclass
class Ctx:
    """One API request as the routes see it, with the parts of the fake they may use."""

    state: GitHubState
    app_info: AppInfo
    credentials: Credentials
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


def to_response(reply: Reply) -> Response:
    """The HTTP answer, with the rate-limit headers GitHub sends on every one."""
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


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    headers: dict[str, str]
    body: Any
    delay: float = 0.0  # seconds the answer is held back (the request itself is handled)


class Faults:
    """Answers planted for the next matching requests, each used `remaining` times.

    A fault with a `delay` is GitHub answering late: the request is handled at once (a comment
    it creates exists), and its answer (the planted status, or the real one when the status is
    0) leaves only after `delay` seconds, past a client's timeout. `held` lists those requests."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.held: list[tuple[str, str]] = []  # (method, path) of every answer held back

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The planted fault for this request, if any (and one use of it spent)."""
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.pattern.search(path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    if fault.delay > 0:
                        self.held.append((method, path))
                    return fault
        return None
