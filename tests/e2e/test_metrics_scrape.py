"""`GET /metrics` on the real web process shows what the worker processes recorded in Redis."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sandbox.stack import Stack, wait_until
from tests.e2e.conftest import PASSING_SUITE, wait_for_check


def scrape(stack: Stack) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"{stack.web_url}/metrics", timeout=5).text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_run_shows_up_in_the_web_scrape(stack: Stack, make_project):
    runs = ("golden_path_runs_total", frozenset({("conclusion", "success")}))
    check_runs = (
        "golden_path_github_requests_total",
        frozenset(
            {
                ("method", "POST"),
                ("endpoint", "/repos/{owner}/{repo}/check-runs"),
                ("status", "2xx"),
            }
        ),
    )
    comments = (
        "golden_path_deliveries_total",
        frozenset({("event", "issue_comment"), ("answer", "202")}),
    )
    before = scrape(stack)
    project = make_project({"tests/test_auth.py": PASSING_SUITE, "tests/test_checkout.py": ""})
    assert stack.comment(project.repo, 1, "/golden-path run auth").status_code == 202
    assert wait_for_check(stack, project)["conclusion"] == "success"

    after = wait_until(
        lambda: (got := scrape(stack)).get(runs, 0) > before.get(runs, 0) and got,
        timeout=20,
        what="the run counted",
    )
    assert after[check_runs] > before.get(check_runs, 0)
    assert after[comments] == before.get(comments, 0) + 1
    installation = frozenset({("installation", str(stack.installation_id))})
    assert after[("golden_path_github_rate_limit_remaining", installation)] > 0
    assert after[("golden_path_lock_wait_seconds_count", frozenset())] >= 1
    assert ("golden_path_queue_depth", frozenset({("queue", "runs")})) in after
    passed = frozenset({("status", "passed")})
    assert after[("golden_path_phase_duration_seconds_count", passed)] >= 1
