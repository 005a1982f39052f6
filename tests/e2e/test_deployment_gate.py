"""Contract §6, deployment gate and tracking issue, through every real part: signed
`deployment_protection_rule` deliveries reach uvicorn, the workers decide, run and answer at the
sandbox's callback endpoint (validated against GitHub's OpenAPI description), beat reconciles.

A stack of its own: beat with a fast reaper, and a worker the restart test kills.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import webhooks
from sandbox.stack import Stack, wait_until
from tests.e2e.conftest import (
    FAILING_SUITE,
    PASSING_SUITE,
    UNPACED_WRITES,
    Project,
    bot_comments,
    create_project,
    settle,
    wait_for_check,
)

PLAN = """
check_name: Golden Path P0
deployments: [production]
tracking_issue: true
phases:
  - id: auth
    name: Core authentication
    mrr_at_risk: 120000
    suites: [tests/test_auth.py]
"""
SLOW_PASSING_SUITE = """
import time


def test_slow_but_fine():
    time.sleep(12)
"""
_workflow_runs = itertools.count(9001)


@pytest.fixture(scope="module")
def gate_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(
        processes=("web", "worker", "beat"),
        workdir=tmp_path_factory.mktemp("gate-stack"),
        extra_env={
            "GOLDEN_PATH_RUN_SLOTS": "2",
            "GOLDEN_PATH_REAP_INTERVAL_SECONDS": "1",
            "GOLDEN_PATH_STALE_AFTER_SECONDS": "6",
            "GOLDEN_PATH_DEPLOY_LOCK_WAIT_SECONDS": "4",
            **UNPACED_WRITES,
        },
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(autouse=True)
def _gate_requests_match_github_api(gate_stack: Stack) -> Iterator[None]:
    before = len(gate_stack.github.fake.request_log())
    yield
    sent = gate_stack.github.fake.request_log()[before:]
    problems = [f"{r['method']} {r['path']}: {p}" for r in sent for p in r["openapi_problems"]]
    assert not problems, problems


def project(stack: Stack, root: Path, suite: str, plan: str = PLAN) -> Project:
    return create_project(stack, root, {"tests/test_auth.py": suite}, plan=plan)


def request_deployment(
    stack: Stack, project: Project, environment: str = "production", run_id: int | None = None
) -> int:
    """A workflow job waiting to deploy the project's head commit; returns its workflow run."""
    workflow_run = run_id if run_id is not None else next(_workflow_runs)
    payload = webhooks.deployment_gate_event(
        project.repo,
        sha=project.sha,
        environment=environment,
        workflow_run_id=workflow_run,
        installation_id=stack.installation_id,
        base_url=stack.github.url,
    )
    assert stack.deliver("deployment_protection_rule", payload).status_code == 202
    return workflow_run


def answers(stack: Stack, project: Project) -> list[dict[str, Any]]:
    return stack.github.fake.deployment_answers(project.repo)


def wait_for_answer(stack: Stack, project: Project, timeout: float = 60) -> dict[str, Any]:
    try:
        found = wait_until(lambda: answers(stack, project), timeout=timeout, interval=0.2)
    except TimeoutError:
        print(stack.log("worker")[-6000:])
        raise
    return found[0]


def run_on_pull_request(stack: Stack, project: Project) -> dict[str, Any]:
    assert stack.comment(project.repo, project.number, "/golden-path run").status_code == 202
    return wait_for_check(stack, project)


def tracking_issue(stack: Stack, project: Project) -> dict[str, Any] | None:
    found = [
        i for i in stack.github.fake.issues(project.repo) if i["title"] == "Golden path: staging"
    ]
    assert len(found) <= 1
    return found[0] if found else None


def test_a_green_commit_is_approved(gate_stack: Stack, tmp_path: Path) -> None:
    proj = project(gate_stack, tmp_path, PASSING_SUITE)
    check = run_on_pull_request(gate_stack, proj)
    assert check["conclusion"] == "success"
    workflow_run = request_deployment(gate_stack, proj)
    answer = wait_for_answer(gate_stack, proj)
    assert (answer["run_id"], answer["environment_name"], answer["state"]) == (
        workflow_run,
        "production",
        "approved",
    )
    assert check["output"]["title"] in answer["comment"]
    assert "Total MRR at risk: $0" in answer["comment"]
    assert "Safe to deploy" in answer["comment"]
    assert f"{gate_stack.web_url}/runs/" in answer["comment"]
    settle(1.0)
    assert len(answers(gate_stack, proj)) == 1
    assert len(gate_stack.github.fake.check_runs(proj.repo, proj.sha)) == 1  # no run started


def test_a_red_commit_is_rejected_with_the_reason(gate_stack: Stack, tmp_path: Path) -> None:
    proj = project(gate_stack, tmp_path, FAILING_SUITE)
    check = run_on_pull_request(gate_stack, proj)
    assert check["conclusion"] == "failure"
    request_deployment(gate_stack, proj)
    answer = wait_for_answer(gate_stack, proj)
    assert answer["state"] == "rejected"
    assert "HOLD production deployment" in answer["comment"]
    assert "Total MRR at risk: $120,000" in answer["comment"]
    assert check["output"]["title"] in answer["comment"]


def test_an_unseen_commit_is_run_then_answered(gate_stack: Stack, tmp_path: Path) -> None:
    proj = project(gate_stack, tmp_path, PASSING_SUITE)
    request_deployment(gate_stack, proj)
    answer = wait_for_answer(gate_stack, proj, timeout=90)
    assert answer["state"] == "approved"
    (run,) = [r for r in gate_stack.github.fake.check_runs(proj.repo, proj.sha)]
    assert (run["status"], run["conclusion"]) == ("completed", "success")
    assert run["output"]["title"] in answer["comment"]
    # No pull request asked: no PR comment; the tracking issue took the run.
    assert bot_comments(gate_stack, proj.repo, proj.number) == []
    issue = wait_until(lambda: tracking_issue(gate_stack, proj), timeout=20)
    assert "deployment" in issue["body"] and proj.sha[:7] in issue["body"]


def test_an_environment_the_plan_does_not_list_is_approved(
    gate_stack: Stack, tmp_path: Path
) -> None:
    proj = project(gate_stack, tmp_path, FAILING_SUITE)
    request_deployment(gate_stack, proj, environment="staging-eu")
    answer = wait_for_answer(gate_stack, proj)
    assert (answer["environment_name"], answer["state"]) == ("staging-eu", "approved")
    assert "does not gate `staging-eu`" in answer["comment"]
    assert "`production`" in answer["comment"]
    assert gate_stack.github.fake.check_runs(proj.repo, proj.sha) == []  # nothing ran


def test_an_invalid_plan_is_rejected_with_its_problems(gate_stack: Stack, tmp_path: Path) -> None:
    proj = project(gate_stack, tmp_path, PASSING_SUITE, plan="deployments: [production]\n")
    request_deployment(gate_stack, proj)
    answer = wait_for_answer(gate_stack, proj)
    assert answer["state"] == "rejected"
    assert "phases: required key is missing" in answer["comment"]


def test_a_run_that_cannot_get_staging_in_time_rejects_saying_so(
    gate_stack: Stack, tmp_path: Path
) -> None:
    proj = project(gate_stack, tmp_path, SLOW_PASSING_SUITE)
    assert gate_stack.comment(proj.repo, proj.number, "/golden-path run").status_code == 202
    wait_for_check(gate_stack, proj, status="in_progress", timeout=60)  # it holds `staging`
    pr_sha = proj.sha
    proj.push(gate_stack, {"README.md": "release candidate\n"}, "release")
    request_deployment(gate_stack, proj)
    answer = wait_for_answer(gate_stack, proj, timeout=60)
    assert answer["state"] == "rejected"
    assert "`staging` stayed in use by other runs for more than 4.00 s" in answer["comment"]
    assert wait_for_check(gate_stack, proj, sha=pr_sha, timeout=60)["conclusion"] == "success"


def test_one_answer_per_request_across_a_worker_restart(gate_stack: Stack, tmp_path: Path) -> None:
    proj = project(gate_stack, tmp_path, SLOW_PASSING_SUITE)
    workflow_run = request_deployment(gate_stack, proj)
    wait_for_check(gate_stack, proj, status="in_progress", timeout=60)
    # The worker dies mid-run (SIGKILL: nothing of it runs again); a new one starts.
    gate_stack.kill_process("worker")
    gate_stack.start_process("worker")
    # GitHub redelivers the request meanwhile (another delivery of the same workflow run).
    request_deployment(gate_stack, proj, run_id=workflow_run)
    answer = wait_for_answer(gate_stack, proj, timeout=90)
    assert answer["run_id"] == workflow_run
    request_deployment(gate_stack, proj, run_id=workflow_run)  # and once more, after the answer
    settle(3.0)
    assert len(answers(gate_stack, proj)) == 1


def test_the_tracking_issue_ticks_a_pattern_once_it_runs_green(
    gate_stack: Stack, tmp_path: Path
) -> None:
    proj = project(gate_stack, tmp_path, FAILING_SUITE)
    assert run_on_pull_request(gate_stack, proj)["conclusion"] == "failure"
    red = wait_until(lambda: tracking_issue(gate_stack, proj), timeout=20)
    assert [label["name"] for label in red["labels"]] == ["golden-path"]
    open_items = [line for line in red["body"].splitlines() if line.startswith("- [ ] ")]
    assert len(open_items) == 2  # the AssertionError and the ConnectionError patterns
    assert all("#1" in line and "$120,000 MRR at risk" in line for line in open_items)
    assert "Five whys" not in red["body"] or "/issues/" in red["body"]

    proj.push(gate_stack, {"tests/test_auth.py": PASSING_SUITE}, "fix")
    assert run_on_pull_request(gate_stack, proj)["conclusion"] == "success"

    def ticked() -> dict[str, Any] | None:
        issue = tracking_issue(gate_stack, proj)
        return issue if issue and "- [ ] " not in issue["body"] else None

    green = wait_until(ticked, timeout=20)
    assert green["number"] == red["number"]  # the same issue, rewritten
    done = [line for line in green["body"].splitlines() if line.startswith("- [x] ")]
    assert len(done) == 2
    assert "Safe to deploy" in green["body"]
    assert "**Total MRR at risk: $0**" in green["body"]
