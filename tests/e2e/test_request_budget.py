"""How many GitHub API requests a run costs at steady state, measured end to end (issue 11).

Steady state: the repository's labels exist, the installation token is cached, and the bot has
posted on the pull request and its linked issue before. One pull request ("Fixes #3") gets a
warm-up run, then a passing run and a failing run with three failure patterns (five whys as
issues) are counted from the webhook to the last label. Budgets: a passing run at most 10
requests of which at most 6 writes; the failing run at most 20.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sandbox.stack import Stack, wait_until
from tests.e2e.conftest import PASSING_SUITE, Project, bot_comments

THREE_PATTERNS = """
def test_total():
    assert 41 == 42, "order total mismatch"


def test_gateway():
    raise ConnectionError("payment gateway 10.0.0.7:8443 refused")


def test_timeout():
    raise TimeoutError("websocket event not received within 2.5s")
"""

ONE_PHASE = """
phases:
  - id: journeys
    suites: [tests/test_journeys.py]
"""
WRITES = {"POST", "PATCH", "PUT", "DELETE"}
LINKED = 3


def test_request_counts_of_a_passing_and_a_failing_run_at_steady_state(stack, make_project):
    project = make_project(
        {"tests/test_journeys.py": PASSING_SUITE}, plan=ONE_PHASE, body="Fixes #3"
    )
    stack.github.fake.add_issue(project.repo, LINKED, title="t", body="")
    _run(stack, project, "golden-path:passing", relabels=True)  # warm-up: labels, first posts
    passing = _run(stack, project, "golden-path:passing")
    project.push(stack, {"tests/test_journeys.py": THREE_PATTERNS})
    _run(stack, project, "golden-path:failing", relabels=True)  # five-whys label and issues
    failing = _run(stack, project, "golden-path:failing")
    print(f"\nGitHub API requests at steady state: passing {len(passing)}, failing {len(failing)}")
    for name, sent in (("passing", passing), ("failing", failing)):
        kinds = Counter(f"{r['method']} {_shape(r['path'], project.repo)}" for r in sent)
        writes = sum(r["method"] in WRITES for r in sent)
        print(f"  {name} ({writes} writes): " + ", ".join(f"{k} x{n}" for k, n in kinds.items()))
    assert len(passing) <= 10
    assert sum(r["method"] in WRITES for r in passing) <= 6
    assert len(failing) <= 20
    failing_kinds = Counter(f"{r['method']} {_shape(r['path'], project.repo)}" for r in failing)
    assert failing_kinds["POST /repos/R/issues/N/comments"] == 3  # each pattern's open issue


def _run(
    stack: Stack, project: Project, label: str, *, relabels: bool = False
) -> list[dict[str, Any]]:
    """Requests to the repository from the command to the run's last post: the linked issue's
    comment, then (when the result changed) its label added and the other one removed."""
    fake = stack.github.fake
    since = len(fake.request_log())
    before = _linked_comment(stack, project)

    def sent() -> list[dict[str, Any]]:
        return [
            r
            for r in fake.request_log()[since:]
            if f"/repos/{project.repo}/" in r["path"] or r["path"] == f"/repos/{project.repo}"
        ]

    def reported() -> bool:
        removed = any(
            r["method"] == "DELETE" and f"/issues/{LINKED}/labels/" in r["path"] for r in sent()
        )
        return (
            fake.labels_of(project.repo, LINKED) == [label]
            and _linked_comment(stack, project) not in (None, before)
            and (removed or not relabels)
        )

    stack.comment(project.repo, project.number, "/golden-path run")
    wait_until(reported, timeout=90, interval=0.1, what=f"the run's report on #{LINKED}")
    return sent()


def _linked_comment(stack: Stack, project: Project) -> str | None:
    comments = bot_comments(stack, project.repo, LINKED)
    return comments[-1]["body"] if comments else None


def _shape(path: str, repo: str) -> str:
    return re.sub(r"/\d+", "/N", path.split("?")[0].replace(f"/repos/{repo}", "/repos/R"))
