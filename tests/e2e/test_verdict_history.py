"""Flaky tests, history and the PR comment's run table, end to end through the real workers."""

from __future__ import annotations

from typing import Any

from sandbox.stack import wait_until
from tests.e2e.conftest import FAILING_SUITE, PASSING_SUITE, bot_comments, check_runs

FLAKY_SUITE = """
import pathlib

def test_stable():
    pass

def test_websocket_events():
    marker = pathlib.Path("flaky-marker")
    if not marker.exists():
        marker.write_text("failed once")
        raise TimeoutError("websocket closed before agent_completed")
"""


def plan(flaky: str) -> str:
    return f"""
flaky: {flaky}
phases:
  - id: ws
    name: Websocket events
    retries: 2
    suites: [tests/test_ws.py]
"""


def completed(stack: Any, project: Any, count: int) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]] | None:
        runs = [
            r
            for r in check_runs(stack, project)
            if r["status"] == "completed" and r.get("conclusion") != "action_required"
        ]
        return runs if len(runs) >= count else None

    return wait_until(done, timeout=90, interval=0.2, what=f"{count} completed check runs")


def sticky(stack: Any, project: Any, containing: str) -> str:
    def find() -> str | None:
        for comment in bot_comments(stack, project.repo, project.number):
            if containing in comment["body"]:
                return str(comment["body"])
        return None

    return wait_until(find, timeout=60, interval=0.2, what=f"sticky comment with {containing!r}")


def test_flaky_test_under_both_policies(stack, make_project):
    for policy, conclusion, counted in (
        ("pass", "success", "passed"),
        ("fail", "failure", "failed"),
    ):
        project = make_project({"tests/test_ws.py": FLAKY_SUITE}, plan=plan(policy))
        stack.comment(project.repo, 1, "/golden-path run")
        [check] = completed(stack, project, 1)
        assert check["conclusion"] == conclusion, policy
        summary = check["output"]["summary"]
        assert "**Flaky tests**" in summary
        row = next(ln for ln in summary.splitlines() if "test_websocket_events" in ln)
        assert "❌ failed" in row and "✅ passed" in row and row.rstrip(" |").endswith(counted)
        comment = sticky(stack, project, "**Flaky tests**")
        assert "1 flaky" in comment
        notes = check["annotations"]
        assert [n["title"] for n in notes] == ["Flaky: tests/test_ws.py::test_websocket_events"]


def test_history_table_after_three_runs_and_one_mention_only_on_a_flip(stack, make_project):
    project = make_project(
        {"tests/test_auth.py": PASSING_SUITE, "tests/test_checkout.py": FAILING_SUITE}
    )
    stack.comment(project.repo, 1, "/golden-path run")
    completed(stack, project, 1)
    first = sticky(stack, project, "Runs of this pull request (1)")
    stack.comment(project.repo, 1, "/golden-path run")
    completed(stack, project, 2)
    second = sticky(stack, project, "Runs of this pull request (2)")
    project.push(stack, {"tests/test_checkout.py": PASSING_SUITE}, "fix checkout")
    stack.comment(project.repo, 1, "/golden-path run")
    completed(stack, project, 1)
    third = sticky(stack, project, "Runs of this pull request (3)")
    assert "@octocat" not in first and "@octocat" not in second  # first run, then a repeat
    assert third.count("@octocat") == 1
    assert "@octocat: the golden path now passes (it failed before)." in third
    table = third.split("Runs of this pull request (3)</summary>")[1]
    rows = [ln for ln in table.splitlines() if ln.startswith("| `")]
    assert len(rows) == 3 and "(this run)" in rows[0] and "✅ passed" in rows[0]
    assert "❌ failed" in rows[1] and "❌ failed" in rows[2]
    five_whys = [i["title"] for i in stack.github.fake.issues(project.repo)]
    assert (
        "Five whys: ConnectionError: payment gateway 10.0.0.7:8443 refused after 1.25s" in five_whys
    )
    assert not [t for t in five_whys if "<" in t]  # no placeholder tokens in any title
    assert "**new in this pull request**" in first


STAGING_SUITE = """
import os
import urllib.request

def test_login():
    pass

def test_agent_events():
    with urllib.request.urlopen(os.environ["STAGING_URL"], timeout=5) as answer:
        assert answer.read() == b"up", "staging answered: down"
"""


class _Staging:
    """A stand-in staging service on loopback: "down" until the test brings it up."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.state = b"down"
        staging = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(staging.state)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_rerun_failed_runs_only_the_failed_tests_and_merges_results(stack, make_project):
    staging = _Staging()
    try:
        project = make_project(
            {"tests/test_auth.py": PASSING_SUITE, "tests/test_agent.py": STAGING_SUITE},
            plan=f"""
fail_fast: false
flaky: pass
env:
  STAGING_URL: {staging.url}
phases:
  - id: auth
    name: Authentication
    suites: [tests/test_auth.py]
  - id: agent
    name: Agent execution
    suites: [tests/test_agent.py]
""",
        )
        stack.comment(project.repo, 1, "/golden-path rerun-failed")
        nothing = sticky(stack, project, "Nothing to re-run")
        assert "no completed golden-path run yet" in nothing
        stack.comment(project.repo, 1, "/golden-path run")
        [first] = completed(stack, project, 1)
        assert first["conclusion"] == "failure"
        staging.state = b"up"  # staging recovers: the failure was not the code's
        stack.comment(project.repo, 1, "/golden-path rerun-failed")
        runs = completed(stack, project, 2)
        second = next(r for r in runs if r["id"] != first["id"])
        assert second["conclusion"] == "success"  # `flaky: pass`
        summary = second["output"]["summary"]
        assert "Re-ran only the tests that failed in run" in summary
        assert "(carried over)" in summary  # auth kept its result without running
        assert "**Flaky tests**" in summary and "test_agent_events" in summary
        row = next(ln for ln in summary.splitlines() if "Agent execution" in ln)
        assert "2 passed (1 flaky)" in row  # test_login kept, test_agent_events passed now
        project.push(stack, {"README.md": "moved"}, "move the head")
        stack.comment(project.repo, 1, "/golden-path rerun-failed")
        moved = sticky(stack, project, "has moved to")
        assert "`rerun-failed` only ever runs the failed tests again" in moved
    finally:
        staging.server.shutdown()


def test_a_pattern_failing_on_the_default_branch_is_tagged_so_on_a_pull_request(
    stack, make_project
):
    from sandbox import webhooks

    project = make_project(
        {"tests/test_auth.py": PASSING_SUITE, "tests/test_checkout.py": FAILING_SUITE},
        plan="auto_run: true\nfail_fast: false\nphases:\n"
        "  - {id: checkout, name: Checkout journey, suites: [tests/test_checkout.py]}\n",
    )
    push = webhooks.push_event(
        project.repo,
        after=project.sha,
        installation_id=stack.installation_id,
        base_url=stack.github.url,
    )
    other_branch = {**push, "ref": "refs/heads/feature-1"}
    assert stack.deliver("push", other_branch).json()["status"] == "ignored"
    assert stack.deliver("push", push).status_code == 202
    [baseline] = completed(stack, project, 1)  # auto_run: the default branch's head ran
    assert baseline["conclusion"] == "failure"
    assert "requested by" in baseline["output"]["summary"]
    stack.comment(project.repo, 1, "/golden-path run")
    comment = sticky(stack, project, "Runs of this pull request (1)")
    assert "**also failing on the default branch**" in comment
    assert "**new in this pull request**" not in comment


def test_a_five_whys_issue_keeps_a_seen_in_table_and_is_reopened_when_it_fails_again(
    stack, make_project
):
    project = make_project(
        {"tests/test_checkout.py": FAILING_SUITE},
        plan="phases:\n  - {id: checkout, suites: [tests/test_checkout.py]}\n",
    )

    def five_whys(table: str = "### Seen in") -> dict[str, Any] | None:
        """The pattern's issue once its body holds `table` (issues come after the check)."""
        for issue in stack.github.fake.issues(project.repo):
            if "payment gateway" in issue["title"] and table in (issue["body"] or ""):
                return issue
        return None

    stack.comment(project.repo, 1, "/golden-path run")
    completed(stack, project, 1)
    issue = wait_until(lambda: five_whys("### Seen in (1 run)"), timeout=30, what="the issue")
    people = issue["body"].replace("1. **Why did", "1. Because the pool was exhausted. **Why did")
    stack.github.fake.state.update_issue(
        project.repo, issue["number"], {"body": people, "state": "closed"}
    )
    stack.comment(project.repo, 1, "/golden-path run")
    completed(stack, project, 2)

    def reopened() -> dict[str, Any] | None:
        found = five_whys("### Seen in (2 runs)")
        return found if found is not None and found["state"] == "open" else None

    issue = wait_until(reopened, timeout=30, interval=0.2, what="the issue reopened")
    assert "1. Because the pool was exhausted." in issue["body"]  # people's answers stay
    wait_until(
        lambda: [
            c
            for c in stack.github.fake.comments(project.repo, issue["number"])
            if "Reopened: this failure pattern" in c["body"]
        ],
        timeout=30,
        what="the reopening comment",
    )


def test_five_whys_evidence_lists_the_changes_since_the_tests_last_passed(stack, make_project):
    project = make_project(
        {"tests/test_checkout.py": PASSING_SUITE.replace("test_login_ok", "test_checkout_total")},
        plan="phases:\n  - {id: checkout, suites: [tests/test_checkout.py]}\n",
    )
    green = project.sha
    stack.comment(project.repo, 1, "/golden-path run")
    completed(stack, project, 1)
    project.push(stack, {"src/totals.py": "ROUNDING = 'down'\n"}, "Round totals down")
    project.push(stack, {"tests/test_checkout.py": FAILING_SUITE}, "Tighten checkout checks")
    stack.comment(project.repo, 1, "/golden-path run")
    completed(stack, project, 1)

    def issue() -> dict[str, Any] | None:
        for found in stack.github.fake.issues(project.repo):
            if "order" in found["title"] and "Changes since" in (found["body"] or ""):
                return found
        return None

    body = wait_until(issue, timeout=30, interval=0.2, what="the five whys")["body"]
    assert (
        f"**Changes since `{green[:7]}`, where these tests last passed** (2 commits, 2 files)"
        in body
    )
    assert "Round totals down" in body and "Tighten checkout checks" in body
    assert "`src/totals.py`" in body and "`tests/test_checkout.py`" in body
