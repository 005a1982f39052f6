"""Core authentication & session management."""

from __future__ import annotations

import httpx


def test_login_returns_access_and_refresh_tokens(client: httpx.Client, demo_user: dict) -> None:
    answer = client.post("/auth/login", json=demo_user)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"] and body["refresh_token"]


def test_wrong_password_is_rejected(client: httpx.Client, demo_user: dict) -> None:
    answer = client.post("/auth/login", json={**demo_user, "password": "wrong"})
    assert answer.status_code == 401


def test_session_returns_the_logged_in_user(authed: httpx.Client, demo_user: dict) -> None:
    answer = authed.get("/auth/session")
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["email"] == demo_user["email"]


def test_refresh_rotates_the_refresh_token(client: httpx.Client, tokens: dict[str, str]) -> None:
    first = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200, first.text
    assert first.json()["access_token"] != tokens["access_token"]
    reuse = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reuse.status_code == 401, "a used refresh token must not work twice"


def test_logout_ends_the_session(authed: httpx.Client) -> None:
    assert authed.post("/auth/logout").status_code == 204
    assert authed.get("/auth/session").status_code == 401
