"""How many GitHub API requests a run costs, measured end to end (and kept from creeping up).

Counts every request to the repository's endpoints from the webhook to the last label, for a
passing run and for a failing run with three failure patterns (five whys as issues, one linked
issue). The figures are printed (`-s`) and bounded, so a change that doubles them is noticed.
"""

from __future__ import annotations

from collections import Counter

from sandbox.stack import wait_until
from tests.e2e.conftest import PASSING_SUITE, bot_comments, wait_for_check

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


def _requests_for(stack, repo: str, since: int) -> list[dict]:
    return [
        r
        for r in stack.github.fake.request_log()[since:]
        if f"/repos/{repo}/" in r["path"] or r["path"] == f"/repos/{repo}"
    ]


def _measure(stack, make_project, suite: str) -> tuple[int, Counter]:
    project = make_project({"tests/test_journeys.py": suite}, plan=ONE_PHASE, body="Fixes #3")
    stack.github.fake.add_issue(project.repo, 3, title="t", body="")
    since = len(stack.github.fake.request_log())
    stack.comment(project.repo, 1, "/golden-path run")
    wait_for_check(stack, project)
    wait_until(lambda: stack.github.fake.labels_of(project.repo, 3), timeout=30)
    wait_until(lambda: bot_comments(stack, project.repo, 1), timeout=30)
    sent = _requests_for(stack, project.repo, since)
    kinds = Counter(f"{r['method']} {_shape(r['path'], project.repo)}" for r in sent)
    return len(sent), kinds


def _shape(path: str, repo: str) -> str:
    import re

    return re.sub(r"/\d+", "/N", path.replace(f"/repos/{repo}", "/repos/R"))


def test_request_counts_of_a_passing_and_a_failing_run(stack, make_project):
    passing, passing_kinds = _measure(stack, make_project, PASSING_SUITE)
    failing, failing_kinds = _measure(stack, make_project, THREE_PATTERNS)
    print(f"\nGitHub API requests: passing run {passing}, failing run with 3 patterns {failing}")
    for name, kinds in (("passing", passing_kinds), ("failing", failing_kinds)):
        print(f"  {name}: " + ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())))
    assert failing_kinds["POST /repos/R/issues"] == 3  # one five-whys issue per pattern
    assert passing <= 16
    assert failing <= 40
