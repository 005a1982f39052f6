"""The fake's github.com side of "Sign in with GitHub": the OAuth web application flow.

GitHub serves `/login/oauth/authorize` and `/login/oauth/access_token` on its web host, not on
the API host; the sandbox serves both from one server (the bot's `GITHUB_OAUTH_URL` points here).
As on GitHub: the authorize step needs the App's client id, sends `code` and `state` back to the
redirect URI, and keeps PKCE's `code_challenge` (only `S256`); the token step needs the client
secret and the code once, checks `code_verifier` against the challenge, and answers JSON errors
with status 200 (`bad_verification_code`, `incorrect_client_credentials`). Whoever is "signed in
to GitHub" in the browser is `signed_in` (tests set it with `sign_in`).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Grant:
    login: str
    client_id: str
    redirect_uri: str
    challenge: str | None


class OAuthWeb:
    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.signed_in: str | None = None
        self.authorizations: list[dict[str, str]] = []  # what the bot sent to authorize
        self._codes: dict[str, Grant] = {}
        self._tokens: dict[str, str] = {}  # user token -> login
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("/login/oauth/authorize", self._authorize, methods=["GET"]),
            Route("/login/oauth/access_token", self._access_token, methods=["POST"]),
        ]

    def sign_in(self, login: str | None) -> None:
        """The browser's GitHub session: who approves the next authorize request."""
        self.signed_in = login

    def issue_token(self, login: str) -> str:
        token = "ghu_" + secrets.token_hex(18)
        with self._lock:
            self._tokens[token] = login
        return token

    def login_of(self, authorization: str) -> str | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return None
        with self._lock:
            return self._tokens.get(token)

    async def _authorize(self, request: Request) -> Response:
        query = dict(request.query_params)
        with self._lock:
            self.authorizations.append(query)
        if query.get("client_id") != self.client_id:
            return HTMLResponse("<h1>404: unknown OAuth application</h1>", 404)
        redirect_uri = query.get("redirect_uri", "")
        method = query.get("code_challenge_method")
        challenge = query.get("code_challenge")
        if not redirect_uri.startswith(("http://", "https://")) or (challenge and method != "S256"):
            return _back(redirect_uri, {"error": "invalid_request", "state": query.get("state")})
        if self.signed_in is None:
            return HTMLResponse("<h1>Sign in to GitHub</h1><p>Nobody is signed in.</p>", 401)
        code = secrets.token_hex(10)
        with self._lock:
            self._codes[code] = Grant(self.signed_in, self.client_id, redirect_uri, challenge)
        return _back(redirect_uri, {"code": code, "state": query.get("state")})

    async def _access_token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("client_id") != self.client_id or not secrets.compare_digest(
            str(form.get("client_secret", "")), self.client_secret
        ):
            return _error("incorrect_client_credentials")
        with self._lock:
            grant = self._codes.pop(str(form.get("code", "")), None)
        if grant is None or form.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
            return _error("bad_verification_code")
        if (
            grant.challenge is not None
            and _s256(str(form.get("code_verifier", ""))) != grant.challenge
        ):
            return _error("bad_verification_code")
        token = self.issue_token(grant.login)
        body: dict[str, Any] = {"access_token": token, "token_type": "bearer", "scope": ""}
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(body)
        return Response(urlencode(body), media_type="application/x-www-form-urlencoded")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _back(redirect_uri: str, params: dict[str, Any]) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return RedirectResponse(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}", 302)


def _error(code: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": code.replace("_", " ")})
