"""What GitHub says a signed-in user may read: their login, and the repositories of this App's
installations that they can access (`GET /user/installations`, then each installation's
`/repositories`), asked with the user's own token from "Sign in with GitHub".

Edge (httpx). Bounded: at most `MAX_PAGES` pages of 100 per list and `MAX_INSTALLATIONS`
installations, whatever GitHub answers. Every answer is counted for `/metrics`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

MAX_PAGES = 10
MAX_INSTALLATIONS = 50
TIMEOUT_SECONDS = 10.0

# (method, path, status, x-ratelimit-remaining) -> recorded
Observe = Callable[[str, str, "int | str", "str | None"], Awaitable[None]]


class UserTokenRejected(Exception):
    """GitHub no longer accepts the user's token (revoked or expired): sign in again."""


class GitHubUnavailable(Exception):
    pass


async def _noop(*_: Any) -> None:
    return None


class UserClient:
    def __init__(self, api_url: str, token: str, observe: Observe = _noop) -> None:
        self._api = api_url.rstrip("/")
        self._token = token
        self._observe = observe

    async def login(self) -> str:
        async with self._client() as client:
            data = await self._get(client, "/user")
        login = data.get("login") if isinstance(data, dict) else None
        if not isinstance(login, str) or not login:
            raise GitHubUnavailable("GET /user: no login")
        return login

    async def readable_repositories(self) -> frozenset[str]:
        async with self._client() as client:
            installations = await self._list(client, "/user/installations", "installations")
            names: set[str] = set()
            for installation in installations[:MAX_INSTALLATIONS]:
                path = f"/user/installations/{int(installation['id'])}/repositories"
                for repo in await self._list(client, path, "repositories"):
                    if isinstance(repo.get("full_name"), str):
                        names.add(repo["full_name"])
        return frozenset(names)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=TIMEOUT_SECONDS,
            headers={
                "Authorization": f"Bearer {self._token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )

    async def _list(self, client: httpx.AsyncClient, path: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            data = await self._get(client, f"{path}?per_page=100&page={page}")
            chunk = data.get(key, []) if isinstance(data, dict) else []
            items += [item for item in chunk if isinstance(item, dict)]
            if len(chunk) < 100:
                break
        return items

    async def _get(self, client: httpx.AsyncClient, path: str) -> Any:
        try:
            answer = await client.get(self._api + path)
        except httpx.HTTPError as error:
            await self._observe("GET", path, "error", None)
            raise GitHubUnavailable(f"GET {path.split('?')[0]}: {type(error).__name__}") from None
        status = answer.status_code
        await self._observe(
            "GET",
            path,
            "2xx" if status < 300 else status,
            answer.headers.get("x-ratelimit-remaining"),
        )
        if status == 401:
            raise UserTokenRejected(path.split("?")[0])
        if status >= 300:
            raise GitHubUnavailable(f"GET {path.split('?')[0]}: HTTP {status}")
        return answer.json()
