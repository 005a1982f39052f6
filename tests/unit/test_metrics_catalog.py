"""Endpoint templates keep GitHub request labels the size of the bot's own code."""

from __future__ import annotations

import pytest

from bot.telemetry.catalog import LOCK_WAIT, endpoint_template
from bot.telemetry.metrics import bucket_of

REPO = "acme/app"


@pytest.mark.parametrize(
    ("name", "path", "template"),
    [
        ("pull request", "/repos/acme/app/pulls/12", "/repos/{owner}/{repo}/pulls/{n}"),
        (
            "query string dropped",
            "/repos/acme/app/issues/3/comments?per_page=100&page=2",
            "/repos/{owner}/{repo}/issues/{n}/comments",
        ),
        (
            "label name",
            "/repos/acme/app/issues/5/labels/golden-path:failing",
            "/repos/{owner}/{repo}/issues/{n}/labels/{name}",
        ),
        (
            "file path",
            "/repos/acme/app/contents/.github/golden-path.yml?ref=abc",
            "/repos/{owner}/{repo}/contents/{path}",
        ),
        (
            "commit sha",
            "/repos/acme/app/commits/" + "a" * 40 + "/check-runs",
            "/repos/{owner}/{repo}/commits/{sha}/check-runs",
        ),
        (
            "installation token",
            "/app/installations/77/access_tokens",
            "/app/installations/{n}/access_tokens",
        ),
        (
            "user's repositories",
            "/user/installations/77/repositories",
            "/user/installations/{n}/repositories",
        ),
        (
            "collaborator permission",
            "/repos/acme/app/collaborators/octocat/permission",
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
        ),
    ],
)
def test_endpoint_template(name: str, path: str, template: str) -> None:
    assert endpoint_template(path, REPO) == template, name


@pytest.mark.parametrize(
    ("name", "seconds", "bucket"),
    [
        ("at once", 0.0, "0.1"),
        ("on a bound", 5.0, "5.0"),
        ("between bounds", 5.5, "15.0"),
        ("past the last", 99999.0, "+Inf"),
    ],
)
def test_histogram_bucket(name: str, seconds: float, bucket: str) -> None:
    assert bucket_of(LOCK_WAIT, seconds) == bucket, name
