"""Who may call: the App's JWT (checked as GitHub checks it) and the installation tokens the fake
issued, each with the scope it was asked for."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from sandbox.fake_github.rules import ApiError

JWT_MAX_LIFETIME = 600  # GitHub: exp at most 10 minutes after iat ...
CLOCK_SKEW = 60  # ... give or take the clock drift GitHub tolerates
TOKEN_LIFETIME = timedelta(hours=1)
TOKEN_PERMISSIONS = {"checks": "write", "issues": "write", "pull_requests": "write"}


@dataclass(frozen=True)
class TokenScope:
    """What an installation token was created for (`POST .../access_tokens` body)."""

    repositories: tuple[str, ...] | None  # None: every repository of the installation
    permissions: dict[str, str]


class Credentials:
    """The App's public key and the installation tokens issued so far."""

    def __init__(self, app_id: str, public_key_pem: str) -> None:
        self.app_id = app_id
        self.public_key_pem = public_key_pem
        self.tokens: dict[str, tuple[int, datetime]] = {}  # token -> (installation, expiry)
        self.scopes: dict[str, TokenScope] = {}  # what each issued token was asked for
        self._lock = threading.Lock()

    def issue_token(
        self, installation_id: int, scope: TokenScope | None = None
    ) -> tuple[str, datetime]:
        token = "ghs_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "B")[:36]
        expires_at = datetime.now(UTC).replace(microsecond=0) + TOKEN_LIFETIME
        with self._lock:
            self.tokens[token] = (installation_id, expires_at)
            self.scopes[token] = scope or TokenScope(None, dict(TOKEN_PERMISSIONS))
        return token, expires_at

    def expire_all(self) -> None:
        """Make every issued installation token expired (tests of token refresh)."""
        with self._lock:
            now = datetime.now(UTC)
            for token, (installation_id, _) in self.tokens.items():
                self.tokens[token] = (installation_id, now)

    def verify_jwt(self, authorization: str) -> None:
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
        if str(claims["iss"]) != self.app_id:
            raise ApiError(401, "'Issuer' claim ('iss') does not match this App's id")
        too_long = claims["exp"] - claims["iat"] > JWT_MAX_LIFETIME + CLOCK_SKEW
        if too_long or claims["exp"] > time.time() + JWT_MAX_LIFETIME + CLOCK_SKEW:
            raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")

    def verify_token(self, authorization: str, method: str, params: dict[str, Any]) -> None:
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            found = self.tokens.get(token) if scheme.lower() in ("token", "bearer") else None
            scope = self.scopes.get(token)
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
