"""Secrets stay secret (contract §5.2-5.3): test processes never see the bot's own secrets, and
nothing posted to GitHub or written to the worker's log holds a secret, a token or a pass_env value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.stack import Stack, wait_until
from workers.engine import sandbox

PASS_ENV_VALUE = "sim-key-7f3a9c51e2d84b06"

LEAKY_SUITE = """
import json
import os


def test_dump_environment():
    with open(os.path.join(os.environ["GOLDEN_PATH_OUTPUT"], "env.json"), "w") as f:
        json.dump(dict(os.environ), f)


def test_oauth_simulation():
    key = os.environ["E2E_OAUTH_SIMULATION_KEY"]
    print("using key", key)
    assert key == "expected", f"OAuth simulation rejected key {key} (@octocat please look)"
"""


@pytest.fixture(scope="module")
def secret_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(
        processes=("web", "worker"),
        workdir=tmp_path_factory.mktemp("secrets"),
        extra_env={"E2E_OAUTH_SIMULATION_KEY": PASS_ENV_VALUE},
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


def test_secrets_never_reach_tests_github_or_logs(secret_stack: Stack, tmp_path: Path) -> None:
    stack = secret_stack
    plan = """
five_whys: issue
pass_env: [E2E_OAUTH_SIMULATION_KEY]
phases:
  - id: auth
    suites: [tests/test_leaky.py]
"""
    repo = "acme/secrets"
    _, sha = stack.add_project(
        repo,
        {".github/golden-path.yml": plan, "tests/test_leaky.py": LEAKY_SUITE},
        body="Fixes #2",
    )
    fake = stack.github.fake
    fake.add_issue(repo, 2, title="OAuth", body="")
    assert stack.comment(repo, 1, "/golden-path run").status_code == 202

    wait_until(
        lambda: [r for r in fake.check_runs(repo, sha) if r["status"] == "completed"],
        timeout=60,
    )
    wait_until(lambda: fake.labels_of(repo, 2), timeout=30)

    # 1. what the test process saw
    [dump] = (stack.workdir / "work" / "artifacts").glob("*/output/env.json")
    seen = json.loads(dump.read_text())
    for name in (
        "GITHUB_PRIVATE_KEY",
        "GITHUB_PRIVATE_KEY_PATH",
        "GITHUB_WEBHOOK_SECRET",
        "GITHUB_APP_ID",
        "REDIS_URL",
    ):
        assert name not in seen, name
    tokens = set(fake._tokens)
    assert tokens, "the bot never got an installation token"
    values = set(seen.values())
    assert not values & tokens
    assert stack.secret.decode() not in values
    assert seen["E2E_OAUTH_SIMULATION_KEY"] == PASS_ENV_VALUE  # pass_env does reach the tests
    assert seen["HOME"] == sandbox.HOME  # the worker ran them in the sandbox (the default)

    # 2. everything posted to GitHub
    posted = json.dumps([r.get("json") for r in fake.request_log()])
    forbidden = [PASS_ENV_VALUE, stack.secret.decode(), *tokens]
    key_line = stack.key_path.read_text().splitlines()[1]
    for secret in [*forbidden, key_line]:
        assert secret not in posted
    assert "***" in posted  # the failure message named the key: it was masked, not dropped
    # untrusted text cannot ping people: a mention survives only inside code, where it is inert
    bodies = [
        r["json"].get(key)
        for r in fake.request_log()
        if isinstance(r.get("json"), dict)
        for key in ("body", "summary", "text")
        if isinstance(r["json"].get(key), str)
    ] + [
        r["json"]["output"].get(key)
        for r in fake.request_log()
        if isinstance(r.get("json"), dict) and isinstance(r["json"].get("output"), dict)
        for key in ("summary", "text")
        if r["json"]["output"].get(key)
    ]
    assert bodies
    for body in bodies:
        assert "@octocat please" not in _outside_code(body)

    # 3. the worker's and web's logs
    for name in ("worker", "web"):
        log = stack.log(name)
        for secret in [*forbidden, key_line]:
            assert secret not in log, name


def _outside_code(markdown: str) -> str:
    """The text of `markdown` outside fenced blocks and inline code spans."""
    without_fences = re.sub(r"(?ms)^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$", "", markdown)
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", without_fences)
