"""Issue 2's walking skeleton and issue 4's reporting, through every real part.

A signed `issue_comment` (GitHub's example payload, retargeted) reaches uvicorn; the events worker
checks permission, reacts and queues; the runs worker checks out the head commit with git, runs
both phases with pytest and reports on the fake GitHub.
"""

from __future__ import annotations

import time

from sandbox.stack import wait_until
from tests.e2e.conftest import (
    FAILING_SUITE,
    PASSING_SUITE,
    TWO_PHASE_PLAN,
    bot_comments,
    check_runs,
    settle,
    wait_for_check,
)


def test_run_comment_reports_check_run_comment_five_whys_and_linked_issue(stack, make_project):
    project = make_project(
        {"tests/test_auth.py": PASSING_SUITE, "tests/test_checkout.py": FAILING_SUITE},
        body="Make checkout sturdier.\n\nFixes #5",
    )
    fake = stack.github.fake
    fake.add_issue(project.repo, 5, title="Checkout drops orders", body="")
    comment_id = fake.add_comment(project.repo, 1, "/golden-path run")

    answer = stack.deliver("issue_comment", _comment(stack, project, comment_id))
    assert answer.status_code == 202

    done = wait_for_check(stack, project)
    assert done["name"] == "Golden Path P0"
    assert done["conclusion"] == "failure"
    summary = done["output"]["summary"]
    assert "Core authentication" in summary and "Checkout journey" in summary
    assert "HOLD production deployment" in summary
    statuses = [h["body"].get("status") for h in done["history"]]
    assert statuses[0] == "queued" and "in_progress" in statuses

    # annotations at the failing tests' file and line
    annotated = {(a["path"], a["start_line"]) for a in done["annotations"]}
    assert ("tests/test_checkout.py", 7) in annotated  # the assert in test_checkout_total
    assert any(a["path"] == "tests/test_checkout.py" for a in done["annotations"])

    assert [r["content"] for r in fake.reactions(comment_id)] == ["eyes"]
    wait_until(lambda: fake.labels_of(project.repo, 5), timeout=20)
    sticky = bot_comments(stack, project.repo, 1)
    assert len(sticky) == 1 and "golden-path:pr-comment" in sticky[0]["body"]

    five_whys = [i for i in fake.issues(project.repo) if i["title"].startswith("Five whys:")]
    assert len(five_whys) == 2  # an AssertionError pattern and a ConnectionError pattern
    assert all("five-whys" in [lb["name"] for lb in i["labels"]] for i in five_whys)
    assert fake.labels_of(project.repo, 5) == ["golden-path:failing"]
    assert len(bot_comments(stack, project.repo, 5)) == 1

    # A second run edits the sticky comment, comments on the five-whys issues, no duplicates.
    second = fake.add_comment(project.repo, 1, "/golden-path run")
    assert stack.deliver("issue_comment", _comment(stack, project, second)).status_code == 202
    _wait_for_n_completed(stack, project, 2)
    wait_until(
        lambda: all(len(bot_comments(stack, project.repo, i["number"])) == 1 for i in five_whys),
        timeout=20,
    )
    settle(1.0)
    assert len(bot_comments(stack, project.repo, 1)) == 1
    again = [i for i in fake.issues(project.repo) if i["title"].startswith("Five whys:")]
    assert len(again) == 2
    assert all(len(bot_comments(stack, project.repo, i["number"])) == 1 for i in again)
    assert len(bot_comments(stack, project.repo, 5)) == 1


def test_passing_run_succeeds_and_labels_linked_issue_passing(stack, make_project):
    project = make_project(
        {"tests/test_auth.py": PASSING_SUITE, "tests/test_checkout.py": PASSING_SUITE},
        body="closes #9",
    )
    stack.github.fake.add_issue(project.repo, 9, title="t", body="")
    stack.deliver("issue_comment", _comment(stack, project, None, "/golden-path run"))
    done = wait_for_check(stack, project)
    assert done["conclusion"] == "success"
    assert "HOLD" not in done["output"]["summary"]
    # the check run is concluded first (it gates the merge); the rest follows it
    wait_until(lambda: stack.github.fake.labels_of(project.repo, 9), timeout=20)
    assert stack.github.fake.labels_of(project.repo, 9) == ["golden-path:passing"]
    assert not [i for i in stack.github.fake.issues(project.repo) if "Five whys" in i["title"]]


def test_run_selected_phase_only(stack, make_project):
    project = make_project(
        {"tests/test_auth.py": PASSING_SUITE, "tests/test_checkout.py": FAILING_SUITE}
    )
    stack.deliver("issue_comment", _comment(stack, project, None, "/golden-path run auth"))
    done = wait_for_check(stack, project)
    assert done["conclusion"] == "success"
    assert "not selected" in done["output"]["summary"].lower()


def test_unknown_phase_is_answered_and_nothing_runs(stack, make_project):
    project = make_project({"tests/test_auth.py": PASSING_SUITE})
    comment_id = stack.github.fake.add_comment(project.repo, 1, "/golden-path run nope")
    stack.deliver("issue_comment", _comment(stack, project, comment_id, "/golden-path run nope"))
    reply = _wait_for_reply(stack, project)
    assert "nope" in reply and "auth" in reply and "checkout" in reply
    assert check_runs(stack, project) == []


def test_user_with_read_permission_is_refused(stack, make_project):
    project = make_project({"tests/test_auth.py": PASSING_SUITE}, permissions={"octocat": "read"})
    comment_id = stack.github.fake.add_comment(project.repo, 1, "/golden-path run")
    assert stack.deliver("issue_comment", _comment(stack, project, comment_id)).status_code == 202
    reply = _wait_for_reply(stack, project)
    assert "permission" in reply.lower()
    assert [r["content"] for r in stack.github.fake.reactions(comment_id)] == ["confused"]
    assert check_runs(stack, project) == []


def test_bot_comment_and_plain_issue_comment_do_nothing(stack, make_project):
    project = make_project({"tests/test_auth.py": PASSING_SUITE})
    bot = stack.comment(project.repo, 1, "/golden-path run", user="other[bot]", user_type="Bot")
    assert bot.status_code == 200
    payload = _comment(stack, project, None, "/golden-path run")
    del payload["issue"]["pull_request"]
    assert stack.deliver("issue_comment", payload).status_code == 200
    settle()
    assert check_runs(stack, project) == []
    assert bot_comments(stack, project.repo, 1) == []


def test_invalid_plan_fails_the_check_with_the_reason(stack, make_project):
    project = make_project({}, plan="phases:\n  - id: Bad Id\n    suites: []\n")
    stack.deliver("issue_comment", _comment(stack, project, None, "/golden-path run"))
    done = wait_for_check(stack, project)
    assert done["conclusion"] == "failure"
    summary = done["output"]["summary"]
    assert ".github/golden-path.yml" in summary and "phases[0].id" in summary


def _comment(stack, project, comment_id, body="/golden-path run"):
    from sandbox import webhooks

    return webhooks.comment_on_pr(
        project.repo,
        project.number,
        body,
        installation_id=stack.installation_id,
        base_url=stack.github.url,
        comment_id=comment_id,
    )


def _wait_for_reply(stack, project, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = bot_comments(stack, project.repo, project.number)
        if replies:
            return replies[-1]["body"]
        time.sleep(0.1)
    raise AssertionError("no reply from the bot")


def _wait_for_n_completed(stack, project, n, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in check_runs(stack, project) if r["status"] == "completed"]
        if len(runs) >= n:
            return runs
        time.sleep(0.1)
    raise AssertionError(f"fewer than {n} completed check runs")


def test_run_without_the_contents_api_reads_the_plan_from_the_checkout(stack, make_project):
    """A server that cannot show the plan through the API (404): the run still happens, and the
    check takes the name the checked-out plan gives it."""
    plan = TWO_PHASE_PLAN.replace("Golden Path P0", "Checkout gate")
    project = make_project(
        {"tests/test_auth.py": PASSING_SUITE, "tests/test_checkout.py": PASSING_SUITE}, plan=plan
    )
    stack.github.fake.fail_next("GET", rf"/repos/{project.repo}/contents/", 404, times=5)
    stack.deliver("issue_comment", _comment(stack, project, None, "/golden-path run"))
    done = wait_for_check(stack, project)
    assert done["conclusion"] == "success"
    assert done["name"] == "Checkout gate"


def test_eyes_come_before_the_queued_check_run(stack, make_project):
    project = make_project({"tests/test_auth.py": PASSING_SUITE, "tests/test_checkout.py": ""})
    comment_id = stack.github.fake.add_comment(project.repo, 1, "/golden-path run auth")
    since = len(stack.github.fake.request_log())
    stack.deliver("issue_comment", _comment(stack, project, comment_id, "/golden-path run auth"))
    wait_for_check(stack, project)
    writes = [
        r["path"].rsplit("/", 1)[-1]
        for r in stack.github.fake.request_log()[since:]
        if r["method"] == "POST" and project.repo in r["path"]
    ]
    assert writes.index("reactions") < writes.index("check-runs")
