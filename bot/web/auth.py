"""Sign in with GitHub, and who the signed-in user is.

The App's own OAuth client (web application flow through Authlib: `state`, PKCE `S256`). The
cookie is Starlette's signed session (`GOLDEN_PATH_SESSION_SECRET`; HttpOnly, SameSite=Lax,
Secure when the public URL is https, two hours) and holds only a random session id and the login:
the user's GitHub token stays in Redis under that id, never in the browser. What the user may
read is asked of GitHub with their token and cached for a minute, so a revoked access stops
showing runs within that minute.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.web.github_user import UserClient

SESSION_COOKIE = "gp_session"
SESSION_MAX_AGE = 2 * 3600
READABLE_CACHE_SECONDS = 60
_SESSION_KEY = "gp:session:{sid}"
_READABLE_KEY = "gp:session:{sid}:repos"
_NO_SESSION_PATHS = ("/webhook", "/healthz", "/metrics")


@dataclass(frozen=True)
class Viewer:
    login: str
    readable: frozenset[str]

    def may_read(self, repo: str) -> bool:
        return repo in self.readable


def enabled(settings: Settings) -> bool:
    return bool(
        settings.github_client_id and settings.github_client_secret and settings.session_secret
    )


class LazySessions:
    """Starlette's SessionMiddleware, built on the first request (settings are read then, not
    at import). The webhook, health and metrics paths never touch the cookie."""

    def __init__(self, app: ASGIApp, settings: Any) -> None:
        self._app = app
        self._settings = settings  # () -> Settings
        self._inner: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _NO_SESSION_PATHS:
            await self._app(scope, receive, send)
            return
        if self._inner is None:
            self._inner = self._build(self._settings())
        await self._inner(scope, receive, send)

    def _build(self, settings: Settings) -> ASGIApp:
        if settings.session_secret is None:
            return self._app
        return SessionMiddleware(
            self._app,
            secret_key=settings.session_secret.get_secret_value(),
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_MAX_AGE,
            same_site="lax",
            https_only=(settings.public_url or "").startswith("https://"),
        )


def session_of(request: Request) -> dict[str, Any]:
    return request.session if "session" in request.scope else {}


class _OAuthClient(Protocol):
    """The part of Authlib's Starlette OAuth client used here (its stubs leave it untyped)."""

    async def authorize_redirect(self, request: Request, redirect_uri: str) -> Response: ...
    async def authorize_access_token(self, request: Request) -> object: ...


class SignIn:
    """The OAuth client and the server side of sessions, for one web process.

    Authlib (with joserfc) and httpx load when the first visitor needs sign-in, not at the web
    process's start: most web processes only ever answer webhooks, and these libraries are about
    a fifth of its import time and several MB of every worker's memory."""

    def __init__(self, settings: Settings, redis_client: Any, observe: Any) -> None:
        from authlib.integrations.starlette_client import OAuth

        self._settings = settings
        self._redis = redis_client
        self._observe = observe
        oauth = OAuth()
        secret = settings.github_client_secret
        client = oauth.register(
            name="github",
            client_id=settings.github_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            authorize_url=f"{settings.github_oauth_url}/login/oauth/authorize",
            access_token_url=f"{settings.github_oauth_url}/login/oauth/access_token",
            client_kwargs={
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_post",  # as GitHub documents it
            },
        )
        self._client = cast(_OAuthClient, client)  # register returns the client it created

    async def start(self, request: Request) -> Response:
        """Off to GitHub's authorize page; `next` (a local path) is where to come back to."""
        session_of(request)["next"] = _local_path(request.query_params.get("next"))
        return await self._client.authorize_redirect(request, self._callback_url(request))

    async def finish(self, request: Request) -> Response | str:
        """Back from GitHub: a redirect when signed in, else the reason (shown as a 400 page)."""
        from authlib.integrations.starlette_client import OAuthError

        from bot.web.github_user import GitHubUnavailable, UserTokenRejected

        try:
            token = await self._client.authorize_access_token(request)
        except OAuthError as error:
            return f"GitHub did not sign you in ({error.error})."
        access = token.get("access_token") if isinstance(token, dict) else None
        if not access:
            return "GitHub did not sign you in (no token)."
        try:
            login = await self._user_client(access).login()
        except (GitHubUnavailable, UserTokenRejected):
            return "GitHub did not say who you are; try again."
        sid = secrets.token_urlsafe(32)
        record = json.dumps({"login": login, "token": access})
        await run_in_threadpool(
            self._redis.set, _SESSION_KEY.format(sid=sid), record, ex=SESSION_MAX_AGE
        )
        session = session_of(request)
        target = session.get("next") or "/"
        session.clear()  # a fresh session: nothing from before sign-in carries over
        session.update({"sid": sid, "login": login})
        return RedirectResponse(target, status_code=303)

    async def sign_out(self, request: Request) -> None:
        session = session_of(request)
        sid = session.get("sid")
        if isinstance(sid, str):
            await run_in_threadpool(
                self._redis.delete, _SESSION_KEY.format(sid=sid), _READABLE_KEY.format(sid=sid)
            )
        session.clear()

    async def viewer(self, request: Request) -> Viewer | None:
        """The signed-in user and what GitHub says they can read, or None."""
        from bot.web.github_user import GitHubUnavailable, UserTokenRejected

        sid = session_of(request).get("sid")
        if not isinstance(sid, str):
            return None
        raw = await run_in_threadpool(self._redis.get, _SESSION_KEY.format(sid=sid))
        if raw is None:
            session_of(request).clear()
            return None
        stored = json.loads(raw)
        cached = await run_in_threadpool(self._redis.get, _READABLE_KEY.format(sid=sid))
        if cached is not None:
            return Viewer(stored["login"], frozenset(json.loads(cached)))
        try:
            readable = await self._user_client(stored["token"]).readable_repositories()
        except UserTokenRejected:
            await self.sign_out(request)
            return None
        except GitHubUnavailable:  # GitHub unsure: show nothing now, ask again next time
            return Viewer(stored["login"], frozenset())
        await run_in_threadpool(
            self._redis.set,
            _READABLE_KEY.format(sid=sid),
            json.dumps(sorted(readable)),
            ex=READABLE_CACHE_SECONDS,
        )
        return Viewer(stored["login"], readable)

    def _user_client(self, token: str) -> UserClient:
        from bot.web.github_user import UserClient

        return UserClient(self._settings.github_api_url, token, self._observe)

    def _callback_url(self, request: Request) -> str:
        if self._settings.public_url:
            return f"{self._settings.public_url}/auth/callback"
        return str(request.url_for("auth_callback"))


def _local_path(value: str | None) -> str:
    """Only a path on this site (never `//host` or a scheme): no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value[:500]
    return "/"
