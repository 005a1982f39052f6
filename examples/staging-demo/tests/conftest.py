"""Shared fixtures: where staging is, an HTTP client, and a logged-in session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

URL_FILE = Path(__file__).resolve().parents[1] / ".staging" / "url"
DEMO_USER = {"email": "demo@example.com", "password": "correct-horse"}


@pytest.fixture(scope="session")
def staging_url() -> str:
    """STAGING_URL when set, else the URL the setup step wrote."""
    url = os.environ.get("STAGING_URL") or (
        URL_FILE.read_text().strip() if URL_FILE.exists() else ""
    )
    if not url:
        pytest.fail("staging is not running: set STAGING_URL or run staging_app/start.py")
    return url.rstrip("/")


@pytest.fixture
def client(staging_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=staging_url, timeout=2.0) as http:
        yield http


@pytest.fixture
def demo_user() -> dict[str, str]:
    return dict(DEMO_USER)


@pytest.fixture
def tokens(client: httpx.Client) -> dict[str, str]:
    answer = client.post("/auth/login", json=DEMO_USER)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def authed(client: httpx.Client, tokens: dict[str, str]) -> httpx.Client:
    client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    return client
