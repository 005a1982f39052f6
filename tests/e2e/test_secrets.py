"""Secrets stay secret (contract §5.2-5.3): test processes never see the bot's own secrets, and
nothing posted to GitHub or written to the worker's log holds a secret, a token or a pass_env value.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from bot.state.run_records import RunRecord, RunRecords
from sandbox.stack import Stack, wait_until
from workers.engine import sandbox

PASS_ENV_VALUE = "sim-key-7f3a9c51e2d84b06"
AWS_VALUE = "aws-secret-never-given-5e0c2b"

LEAKY_SUITE = """
import json
import os


def test_dump_environment():
    # and every process environment and command line this test can read, the worker's included
    seen = []
    for proc in os.listdir("/proc"):
        for part in ("environ", "cmdline"):
            try:
                with open(f"/proc/{proc}/{part}", "rb") as f:
                    seen.append(f.read().decode(errors="replace"))
            except OSError:
                pass
    with open(os.path.join(os.environ["GOLDEN_PATH_OUTPUT"], "env.json"), "w") as f:
        json.dump({**os.environ, "__proc__": seen}, f)


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
        extra_env={
            "E2E_OAUTH_SIMULATION_KEY": PASS_ENV_VALUE,
            "GOLDEN_PATH_SECRETS": (
                "acme/secrets:E2E_OAUTH_SIMULATION_KEY,acme/private-setup:E2E_OAUTH_SIMULATION_KEY"
            ),
            "AWS_SECRET_ACCESS_KEY": AWS_VALUE,
        },
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
    # the run's output folder, or what the published run kept of it (workers/disk.py): the
    # labels can come before the run has moved it, so look in both places until it is there
    work = stack.workdir / "work"

    def dumps() -> list[Path]:
        return [
            *(work / "artifacts").glob("*/output/env.json"),
            *(work / "junit").glob("*/*/output/env.json"),
        ]

    wait_until(dumps, timeout=30)
    dump = dumps()[0]
    seen = json.loads(dump.read_text())
    visible = json.dumps(seen.pop("__proc__"))  # every environ and cmdline it could read
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
    # Redis requires a password, and no test process ever learns it (nor the webhook secret)
    assert stack.redis.password in stack.env()["REDIS_URL"]
    assert stack.redis.password not in visible and stack.secret.decode() not in visible
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


def test_pass_env_names_the_operator_did_not_allow_are_a_plan_error(secret_stack: Stack) -> None:
    stack = secret_stack
    plan = """
pass_env: [AWS_SECRET_ACCESS_KEY, E2E_OAUTH_SIMULATION_KEY]
phases:
  - id: auth
    suites: [tests/test_leaky.py]
"""
    repo = "acme/other"  # E2E_OAUTH_SIMULATION_KEY is allowed for acme/secrets only
    _, sha = stack.add_project(repo, {".github/golden-path.yml": plan, "tests/test_leaky.py": ""})
    assert stack.comment(repo, 1, "/golden-path run").status_code == 202
    [done] = wait_until(
        lambda: [r for r in stack.github.fake.check_runs(repo, sha) if r["status"] == "completed"],
        timeout=60,
    )
    assert done["conclusion"] == "failure"
    summary = done["output"]["summary"]
    for name in ("AWS_SECRET_ACCESS_KEY", "E2E_OAUTH_SIMULATION_KEY"):
        assert f"pass_env: {name}: not allowed by GOLDEN_PATH_SECRETS" in summary
    posted = json.dumps([r.get("json") for r in stack.github.fake.request_log()])
    assert AWS_VALUE not in posted


def _outside_code(markdown: str) -> str:
    """The text of `markdown` outside fenced blocks and inline code spans."""
    without_fences = re.sub(r"(?ms)^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$", "", markdown)
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", without_fences)


def test_a_failure_reason_is_stored_and_served_scrubbed_and_only_behind_the_signed_link(
    secret_stack: Stack,
) -> None:
    """Issue 9: a setup step's last line reached the summary as `sim\\_key\\_...`; the unscrubbed
    failure reason was stored in the run record and served on the anonymous `/runs/{id}` page
    (with the private repository's name) and in `/golden-path status` replies."""
    stack = secret_stack
    plan = """
pass_env: [E2E_OAUTH_SIMULATION_KEY]
setup:
  - name: Deploy
    run: >-
      echo "$E2E_OAUTH_SIMULATION_KEY" | base64;
      echo "deploy refused key=$E2E_OAUTH_SIMULATION_KEY"; exit 1
phases:
  - id: auth
    suites: [tests/test_ok.py]
"""
    repo = "acme/private-setup"
    _, sha = stack.add_project(
        repo, {".github/golden-path.yml": plan, "tests/test_ok.py": "def test_ok():\n    pass\n"}
    )
    fake = stack.github.fake
    assert stack.comment(repo, 1, "/golden-path run").status_code == 202
    [check] = wait_until(
        lambda: [r for r in fake.check_runs(repo, sha) if r["status"] == "completed"],
        timeout=60,
    )
    records = RunRecords(redis.Redis.from_url(stack.redis.url))

    def finished() -> RunRecord | None:
        found = records.latest_for_pr(repo, 1)
        return found if found is not None and found.conclusion else None

    record = wait_until(finished, timeout=30)
    assert stack.comment(repo, 1, "/golden-path status").status_code == 202
    wait_until(lambda: any("failure" in c["body"] for c in fake.comments(repo, 1)), timeout=30)
    assert record is not None and record.reason and "key=***" in record.reason
    link = check["details_url"]
    assert link and link.startswith(f"{stack.web_url}/runs/{record.run_id}?token=")
    page = httpx.get(link, timeout=10)
    assert page.status_code == 200 and "key=***" in page.text
    anonymous = httpx.get(f"{stack.web_url}/runs/{record.run_id}", timeout=10)
    assert anonymous.status_code == 404 and repo not in anonymous.text

    encoded = base64.b64encode(PASS_ENV_VALUE.encode()).decode()
    shown = [record.model_dump_json(), page.text, json.dumps(fake.request_log(), default=str)]
    for text in shown:
        for secret in (PASS_ENV_VALUE, encoded[:-4]):
            pieces = {secret[i : i + 8] for i in range(len(secret) - 7)}
            assert not [p for p in pieces if p in text.replace("\\", "")], secret
