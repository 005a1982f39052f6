"""End-to-end fixtures: one stack (redis-server, fake GitHub, `web` + `worker` from the Procfile)
shared by the e2e tests, and a factory of example repositories with open pull requests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.stack import Stack, commit_all, wait_until

pytestmark = pytest.mark.e2e

PASSING_SUITE = """
def test_login_ok():
    assert "session" in {"session": 1}


def test_refresh_ok():
    assert 2 + 2 == 4
"""

FAILING_SUITE = """
import os


def test_checkout_total():
    total = 41
    assert total == 42, f"order 9f8e7d total mismatch at {os.getpid()}"


def test_payment_declined():
    raise ConnectionError("payment gateway 10.0.0.7:8443 refused after 1.25s")
"""

SLOW_SUITE = """
import time


def test_slow():
    time.sleep(float(__import__("os").environ.get("SLOW_SECONDS", "60")))
"""

TWO_PHASE_PLAN = """
check_name: Golden Path P0
phases:
  - id: auth
    name: Core authentication
    mrr_at_risk: 120000
    suites: [tests/test_auth.py]
  - id: checkout
    name: Checkout journey
    mrr_at_risk: 80000
    suites: [tests/test_checkout.py]
    criteria:
      min_pass_rate: 1.0
"""


@dataclass
class Project:
    repo: str
    number: int
    path: Path
    sha: str

    def push(self, stack: Stack, files: dict[str, str], message: str = "push") -> str:
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.sha = commit_all(self.path, message)
        stack.github.fake.set_head(self.repo, self.number, self.sha)
        return self.sha


# Every test's repository belongs to the one installation of its stack: at the production pace
# (60 writes a minute after a burst of 15) the suite's writes would queue behind each other
# (about 200 waits, 220 s). These tests check what is written; the pace is checked by
# tests/unit/test_write_pacing.py and bench/github_write_pacing.py.
UNPACED_WRITES = {"GOLDEN_PATH_GITHUB_WRITES_PER_MINUTE": "6000"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(
        processes=("web", "worker"),
        workdir=tmp_path_factory.mktemp("stack"),
        extra_env={
            "GOLDEN_PATH_RUN_SLOTS": "2",
            "SLOW_SECONDS": "60",
            **UNPACED_WRITES,
        },
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def create_project(
    stack: Stack,
    root: Path,
    files: dict[str, str],
    *,
    plan: str = TWO_PHASE_PLAN,
    body: str = "",
    permissions: dict[str, str] | None = None,
    head_full_name: str | None = None,
) -> Project:
    """A new repository on the fake GitHub (a local git repository under `root`) with pull
    request #1 open on its first commit."""
    repo = f"acme/app-{uuid.uuid4().hex[:8]}"
    path, sha = stack.add_project(
        repo,
        {".github/golden-path.yml": plan, **files},
        path=root / repo.replace("/", "_"),
        body=body,
        head_full_name=head_full_name,
        permissions=permissions,
    )
    return Project(repo, 1, path, sha)


@pytest.fixture
def make_project(stack: Stack, tmp_path: Path) -> Any:
    def make(files: dict[str, str], **options: Any) -> Project:
        return create_project(stack, tmp_path, files, **options)

    return make


def check_runs(stack: Stack, project: Project, sha: str | None = None) -> list[dict[str, Any]]:
    return stack.github.fake.check_runs(project.repo, head_sha=sha or project.sha)


def wait_for_check(
    stack: Stack,
    project: Project,
    *,
    status: str = "completed",
    sha: str | None = None,
    timeout: float = 60,
    exclude_placeholder: bool = True,
) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for run in reversed(check_runs(stack, project, sha)):
            if exclude_placeholder and run.get("conclusion") == "action_required":
                continue
            if run["status"] == status:
                return run
        return None

    try:
        return wait_until(find, timeout=timeout, interval=0.1, what=f"check run {status}")
    except TimeoutError:
        print(stack.log("worker")[-6000:])
        raise


def bot_comments(stack: Stack, repo: str, number: int) -> list[dict[str, Any]]:
    """Comments written by this App (not by other bots, whose comments tests also create)."""
    login = stack.github.fake.bot_login
    return [c for c in stack.github.fake.comments(repo, number) if c["user"]["login"] == login]


def settle(seconds: float = 1.5) -> None:
    """Give an event that should have NO effect the time it would need to have one."""
    time.sleep(seconds)


@pytest.fixture(autouse=True)
def _requests_match_github_api(stack: Stack) -> Iterator[None]:
    """Everything the bot sent during a test matches GitHub's OpenAPI description."""
    before = len(stack.github.fake.request_log())
    yield
    sent = stack.github.fake.request_log()[before:]
    problems = [
        f"{r['method']} {r['path']}: {p}" for r in sent for p in r.get("openapi_problems", [])
    ]
    assert not problems, problems
