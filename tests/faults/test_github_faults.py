"""GitHub failing once on every endpoint the bot calls during a run (a 502, an answer later than
the client's timeout, a secondary rate limit with `retry-after`, the primary limit): each request
is tried again within its bound (a create whose answer was lost is looked for, not sent again) and
the run concludes with its real result, nothing posted twice."""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.stack import Stack
from tests.faults import harness
from tests.faults.harness import check_nothing_lost, record

TWO_PATTERNS = """
def test_total():
    assert 41 == 42, "order total mismatch"


def test_gateway():
    raise ConnectionError("payment gateway refused")
"""

# (name shown in the table, method, path under /repos/<repo>, or an absolute path pattern)
ENDPOINTS = [
    ("installation token", "POST", r"^/app/installations/\d+/access_tokens$"),
    ("permission", "GET", "/collaborators/[^/]+/permission$"),
    ("reaction", "POST", r"/issues/comments/\d+/reactions$"),
    ("plan contents", "GET", "/contents/"),
    ("create check run", "POST", "/check-runs$"),
    ("update check run", "PATCH", r"/check-runs/\d+$"),
    ("pull request", "GET", r"/pulls/\d+$"),
    ("list comments", "GET", r"/issues/\d+/comments$"),
    ("create comment", "POST", r"/issues/\d+/comments$"),
    ("list issues", "GET", "/issues$"),
    ("create issue", "POST", "/issues$"),
    ("get label", "GET", "/labels/"),
    ("create label", "POST", "/labels$"),
    ("add labels", "POST", r"/issues/\d+/labels$"),
]


_installations = itertools.count(9100)


CREATES = {"create check run", "create comment", "create issue"}
# The stack's client gives up on an answer after GOLDEN_PATH_GITHUB_TIMEOUT_SECONDS (2 s).
LATE_SECONDS = 3.0


def _faults(kind: str) -> tuple[int, dict[str, str]]:
    if kind == "502":
        return 502, {}
    if kind == "timeout":
        return 0, {}  # the request is done, its answer comes after the client gave up
    if kind == "403 secondary rate limit":
        return 403, {"retry-after": "1"}
    reset = str(int(time.time()) + 2)
    return 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}


@pytest.mark.parametrize(
    "kind", ["502", "timeout", "403 secondary rate limit", "403 primary rate limit"]
)
def test_every_endpoint_fails_once(stack: Stack, tmp_path: Path, kind: str) -> None:
    project = harness.make_project(stack, tmp_path, suite=TWO_PATTERNS, body="Fixes #3")
    stack.github.fake.add_issue(project.repo, 3, "Checkout broken")
    since = len(stack.github.fake.request_log())
    status, headers = _faults(kind)
    repo = re.escape(f"/repos/{project.repo}")
    # Workers keep an installation's token for an hour: each case is a new installation, so
    # its token is fetched (and refused once) too.
    installation = next(_installations)
    stack.github.fake.add_installation(installation)
    endpoints = ENDPOINTS
    for _, method, pattern in endpoints:
        path = pattern if pattern.startswith("^") else f"^{repo}{pattern}"
        path = path.replace(r"\d+/access_tokens", f"{installation}/access_tokens")
        delay = LATE_SECONDS if kind == "timeout" else 0.0
        stack.github.fake.fail_next(method, path, status, headers=dict(headers), delay=delay)
    harness.say(stack, project, installation_id=installation)
    done = harness.wait_done(stack, project, timeout=120)
    harness.wait_published(stack, project)
    lost = check_nothing_lost(stack, project, conclusion="failure")
    issues = [i for i in stack.github.fake.issues(project.repo) if "Five whys" in i["title"]]
    if len(issues) != 2:
        lost.append(f"{len(issues)} five-whys issues instead of 2")
    lost += _linked_issue_problems(stack, project)
    for name, method, pattern in endpoints:
        path = pattern if pattern.startswith("^") else f"^{repo}{pattern}"
        tries = harness.tried(stack, method, path, since)
        conclusion = done["conclusion"]
        if kind != "timeout":
            outcome = f"1 of {tries} requests refused, retried; run {done['conclusion']}"
        elif name in CREATES:  # done by GitHub: looked for (key, marker), never sent again
            outcome = f"1 of {tries} answered too late, found, not sent again; run {conclusion}"
        else:
            outcome = f"1 of {tries} requests answered too late, retried; run {done['conclusion']}"
        record(f"GitHub {kind}", name, tries, outcome, lost)
    assert not lost


def _linked_issue_problems(stack: Stack, project: harness.Project) -> list[str]:
    problems = []
    login = stack.github.fake.bot_login
    mine = [c for c in stack.github.fake.comments(project.repo, 3) if c["user"]["login"] == login]
    if len(mine) != 1:
        problems.append(f"{len(mine)} comments on the linked issue")
    labels: list[Any] = stack.github.fake.labels_of(project.repo, 3)
    if labels != ["golden-path:failing"]:
        problems.append(f"linked issue labelled {labels}")
    return problems
