"""Merge gating through every real part: redis-server, uvicorn, the Celery workers (and beat),
git and pytest in the sandbox.

The required-check placeholder and its button, GitHub's Re-run, a push superseding a queued or a
running run, a head that moved before its run started (or before a retried event task decided),
`cancel` / `status` / `help`, `auto_run` with and without a fork, one run per pull request and
commit, the merge queue (`reuse` and `run`, and a destroyed group) and a run whose worker was
killed, concluded by the reaper. The synchronize -> cancelled latency is measured by
`bench/supersede_latency.py`.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.core.run_model import RunRecord
from bot.state.run_records import RunRecords
from sandbox import webhooks
from sandbox.stack import Stack, commit_all, pytest_pids, wait_until
from tests.e2e.conftest import (
    PASSING_SUITE,
    Project,
    bot_comments,
    check_runs,
    create_project,
    settle,
)

PID_SUITE = """
import os
import time


def test_slow_journey():
    time.sleep(float(os.environ.get("SLOW_SECONDS", "60")))
"""

PASSING_PLAN = """
check_name: Golden Path P0
merge_queue: {merge_queue}
auto_run: {auto_run}
phases:
  - id: auth
    name: Core authentication
    mrr_at_risk: 120000
    suites: [tests/test_auth.py]
"""

SLOW_PLAN = """
check_name: Golden Path P0
merge_queue: {merge_queue}
env:
  SLOW_SECONDS: "{seconds}"
  RUN_MARKER: "{pid_file}"
phases:
  - id: auth
    name: Core authentication
    mrr_at_risk: 120000
    suites: [tests/test_auth.py]
  - id: slow
    name: Slow journey
    mrr_at_risk: 80000
    suites: [tests/test_slow.py]
"""

PLACEHOLDER_TITLE = "The golden path has not run for this commit"


# --- projects ---------------------------------------------------------------


def passing_files(merge_queue: str = "reuse", auto_run: bool = False) -> dict[str, str]:
    plan = PASSING_PLAN.format(merge_queue=merge_queue, auto_run=str(auto_run).lower())
    return {".github/golden-path.yml": plan, "tests/test_auth.py": PASSING_SUITE}


def slow_files(pid_file: Path, *, merge_queue: str = "reuse", seconds: int = 60) -> dict[str, str]:
    plan = SLOW_PLAN.format(merge_queue=merge_queue, seconds=seconds, pid_file=pid_file)
    return {
        ".github/golden-path.yml": plan,
        "tests/test_auth.py": PASSING_SUITE,
        "tests/test_slow.py": PID_SUITE,
    }


def new_project(stack: Stack, root: Path, files: dict[str, str], **options: Any) -> Project:
    files = dict(files)
    plan = files.pop(".github/golden-path.yml")
    permissions = {"octocat": "write", "maintainer": "maintain", "visitor": "read"}
    return create_project(stack, root, files, plan=plan, permissions=permissions, **options)


def git(project: Project, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=project.path, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def side_commit(project: Project, files: dict[str, str], message: str) -> str:
    """A commit on top of the project's head on a branch of its own (main does not move)."""
    branch = f"side-{time.monotonic_ns()}"
    git(project, "checkout", "-q", "-b", branch)
    try:
        for name, text in files.items():
            target = project.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return commit_all(project.path, message)
    finally:
        git(project, "checkout", "-q", "main")


def add_second_pull(stack: Stack, project: Project, head_sha: str, number: int = 2) -> None:
    stack.github.fake.add_pull(
        project.repo,
        number,
        head_sha=head_sha,
        head_ref=f"feature-{number}",
        head_clone_url=str(project.path),
    )


# --- talking to the bot ---------------------------------------------------------------


def records(stack: Stack) -> RunRecords:
    return RunRecords(redis.Redis.from_url(stack.redis.url))


def wait_finished(stack: Stack, run_id: str) -> RunRecord:
    """The record once completed: it completes just after the check run's conclusion is
    accepted (and its cleanup ran), so it can trail the check run by a moment."""
    return wait_for(
        lambda: r if (r := records(stack).get(run_id)).state == "completed" else None,
        f"run {run_id} completed",
        stack,
        timeout=15,
    )


def say(
    stack: Stack, project: Project, body: str, *, user: str = "octocat", number: int = 1
) -> int:
    """A pull-request comment as GitHub would announce it; returns the comment's id."""
    comment_id = stack.github.fake.add_comment(project.repo, number, body, user=user)
    payload = webhooks.comment_on_pr(
        project.repo,
        number,
        body,
        user=user,
        installation_id=stack.installation_id,
        base_url=stack.github.url,
        comment_id=comment_id,
    )
    assert stack.deliver("issue_comment", payload).status_code == 202
    return comment_id


def pull_request_event(
    stack: Stack, project: Project, action: str, sha: str, *, fork: str | None = None, **kw: Any
) -> float:
    """Deliver `pull_request` `action` for head `sha`; returns the time it was accepted."""
    payload = webhooks.pull_request_event(
        action,
        project.repo,
        project.number,
        sha,
        installation_id=stack.installation_id,
        base_url=stack.github.url,
        head_full_name=fork,
        head_clone_url=str(project.path),
        **kw,
    )
    answer = stack.deliver("pull_request", payload)
    assert answer.status_code == 202, answer.text
    return time.monotonic()


def check_run_event(
    stack: Stack, project: Project, action: str, run: dict[str, Any], *, sender: str
) -> None:
    payload = webhooks.check_run_event(
        action,
        project.repo,
        check_run_id=run["id"],
        head_sha=run["head_sha"],
        app_id=int(stack.app_id),
        installation_id=stack.installation_id,
        base_url=stack.github.url,
        pull_numbers=[project.number],
        identifier="run",
        sender=sender,
    )
    assert stack.deliver("check_run", payload).status_code == 202


def merge_group_event(
    stack: Stack, project: Project, head_sha: str, pr_number: int, action: str
) -> None:
    payload = webhooks.merge_group_event(
        project.repo,
        head_sha=head_sha,
        pr_number=pr_number,
        installation_id=stack.installation_id,
        base_url=stack.github.url,
        action=action,
    )
    if action == "destroyed":
        payload["reason"] = "dequeued"
    assert stack.deliver("merge_group", payload).status_code == 202


# --- waiting and looking ---------------------------------------------------------------


def is_placeholder(run: dict[str, Any]) -> bool:
    return run.get("conclusion") == "action_required"


def placeholders(stack: Stack, project: Project, sha: str) -> list[dict[str, Any]]:
    return [r for r in check_runs(stack, project, sha) if is_placeholder(r)]


def runs_on(stack: Stack, project: Project, sha: str) -> list[dict[str, Any]]:
    """The check runs of real runs on `sha` (placeholders left out), oldest first."""
    return [r for r in check_runs(stack, project, sha) if not is_placeholder(r)]


def fetch(stack: Stack, project: Project, check_run_id: int) -> dict[str, Any]:
    found = [r for r in stack.github.fake.check_runs(project.repo) if r["id"] == check_run_id]
    assert found, f"no check run {check_run_id}"
    return found[0]


def wait_for(check: Callable[[], Any], what: str, stack: Stack, timeout: float = 30) -> Any:
    try:
        return wait_until(check, timeout=timeout, interval=0.05, what=what)
    except TimeoutError:
        print(stack.log("worker")[-8000:])
        raise


def wait_completed(
    stack: Stack, project: Project, check_run_id: int, timeout: float = 30
) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        run = fetch(stack, project, check_run_id)
        return run if run["status"] == "completed" else None

    return wait_for(done, f"check run {check_run_id} completed", stack, timeout)


def wait_new_run(
    stack: Stack, project: Project, sha: str, *, known: int = 0, timeout: float = 30
) -> dict[str, Any]:
    """The check run of the next run on `sha`, once there are more than `known`."""
    return wait_for(
        lambda: (
            runs_on(stack, project, sha)[known]
            if len(runs_on(stack, project, sha)) > known
            else None
        ),
        f"a run's check run on {sha[:7]}",
        stack,
        timeout,
    )


def wait_record(
    stack: Stack,
    project: Project,
    check: Callable[[RunRecord], bool],
    what: str,
    number: int = 1,
    timeout: float = 30,
) -> RunRecord:
    def find() -> RunRecord | None:
        record = records(stack).latest_for_pr(project.repo, number)
        return record if record is not None and check(record) else None

    return wait_for(find, what, stack, timeout)


def start_slow_run(
    stack: Stack, project: Project, *, number: int = 1, sha: str | None = None
) -> tuple[RunRecord, dict[str, Any]]:
    """`/golden-path run`, then wait until its check run is in_progress in the `slow` phase."""
    known = len(runs_on(stack, project, sha or project.sha))
    say(stack, project, "/golden-path run", number=number)
    record = wait_record(
        stack,
        project,
        lambda r: r.state == "running" and r.current_phase == "slow",
        "the run to reach its slow phase",
        number=number,
    )
    run = wait_new_run(stack, project, sha or project.sha, known=known)
    wait_for(
        lambda: (
            fetch(stack, project, run["id"])["status"] == "in_progress"
            and "Slow journey" in (fetch(stack, project, run["id"])["output"]["title"] or "")
        ),
        "the check run to show the slow phase in progress",
        stack,
    )
    return record, fetch(stack, project, run["id"])


def pids_in(marker: Path) -> list[int]:
    """The slow test's pytest, found from the host by the marker in its environment."""
    return pytest_pids(str(marker))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def replies(stack: Stack, project: Project, number: int = 1) -> list[str]:
    """The bot's replies to commands (its sticky results comment left out), oldest first."""
    return [
        c["body"]
        for c in bot_comments(stack, project.repo, number)
        if "golden-path:pr-comment" not in c["body"]
    ]


def wait_reply(stack: Stack, project: Project, known: int, number: int = 1) -> str:
    """The newest reply, once there are more than `known`."""
    found = wait_for(lambda: replies(stack, project, number)[known:], "a reply from the bot", stack)
    return found[-1]


def reactions(stack: Stack, comment_id: int) -> list[str]:
    return [r["content"] for r in stack.github.fake.reactions(comment_id)]


@pytest.fixture(autouse=True)
def _no_runs_left_behind(stack: Stack) -> Iterator[None]:
    """A test that fails half-way must not leave slow runs holding the run slots."""
    yield
    runs = records(stack)
    for record in runs.active():
        runs.request_cancel(record.run_id, "end of the test")
    wait_until(lambda: not runs.active(), timeout=20, what="every run to end")


# --- 1. the placeholder, the button and Re-run -------------------------------------------------


def test_placeholder_on_every_new_head_action_and_nothing_runs(stack, tmp_path):
    project = new_project(stack, tmp_path, passing_files())
    pull_request_event(stack, project, "opened", project.sha)
    first = wait_for(lambda: placeholders(stack, project, project.sha), "placeholder", stack)[0]
    assert first["name"] == "Golden Path P0"
    assert first["status"] == "completed" and first["conclusion"] == "action_required"
    assert first["output"]["title"] == PLACEHOLDER_TITLE
    assert first["actions"] == [
        {
            "label": "Run golden path",
            "description": "Run the P0 golden-path suites",
            "identifier": "run",
        }
    ]
    assert "/golden-path run" in first["output"]["summary"]

    # Each new head gets one: a push, a reopen after a push, a draft made ready after a push.
    heads = [project.sha]
    for action in ("synchronize", "reopened", "ready_for_review"):
        sha = project.push(stack, {"tests/test_more.py": f"# {action}\n{PASSING_SUITE}"})
        pull_request_event(stack, project, action, sha, before=heads[-1])
        wait_for(lambda s=sha: placeholders(stack, project, s), f"placeholder on {action}", stack)
        heads.append(sha)
    # The same head again (a reopen, ready for review): it already has the check; no second one.
    pull_request_event(stack, project, "reopened", heads[-1])
    pull_request_event(stack, project, "ready_for_review", heads[-1])
    settle()
    assert [len(placeholders(stack, project, sha)) for sha in heads] == [1, 1, 1, 1]
    assert all(runs_on(stack, project, sha) == [] for sha in heads)
    assert records(stack).latest_for_pr(project.repo, 1) is None


def test_button_runs_as_the_user_who_pressed_it_and_rerun_runs_again(stack, tmp_path):
    project = new_project(stack, tmp_path, passing_files())
    pull_request_event(stack, project, "opened", project.sha)
    placeholder = wait_for(lambda: placeholders(stack, project, project.sha), "placeholder", stack)[
        0
    ]

    # Someone with read permission: refused with a reply, nothing runs.
    check_run_event(stack, project, "requested_action", placeholder, sender="visitor")
    refusal = wait_reply(stack, project, 0)
    assert "visitor" in refusal and "permission" in refusal.lower()
    settle(1.0)
    assert runs_on(stack, project, project.sha) == []

    check_run_event(stack, project, "requested_action", placeholder, sender="maintainer")
    first = wait_completed(stack, project, wait_new_run(stack, project, project.sha)["id"])
    assert first["conclusion"] == "success", first["output"]
    record = records(stack).latest_for_pr(project.repo, 1)
    assert record is not None
    assert record.requested_by == "maintainer" and record.trigger == "button"
    assert record.head_sha == project.sha

    # GitHub's "Re-run" on the finished check run: a second run of the same commit.
    check_run_event(stack, project, "rerequested", first, sender="octocat")
    second = wait_completed(
        stack, project, wait_new_run(stack, project, project.sha, known=1)["id"]
    )
    assert second["id"] != first["id"] and second["conclusion"] == "success"
    record = records(stack).latest_for_pr(project.repo, 1)
    assert record.requested_by == "octocat" and record.trigger == "rerun"

    # Marking the pull request ready for review keeps the result: no placeholder buries it.
    pull_request_event(stack, project, "ready_for_review", project.sha)
    settle()
    newest = check_runs(stack, project, project.sha)[-1]
    assert newest["id"] == second["id"] and newest["conclusion"] == "success"
    assert len(bot_comments(stack, project.repo, 1)) == 2  # the refusal and the sticky comment


# --- 2. supersede ---------------------------------------------------------------


def test_push_supersedes_a_running_run_and_kills_its_tests(stack, tmp_path):
    pid_file = tmp_path / "pids"
    project = new_project(stack, tmp_path, slow_files(pid_file))
    record, running = start_slow_run(stack, project)
    [pid] = wait_for(lambda: pids_in(pid_file), "the slow test's pid", stack)
    assert alive(pid)

    old = project.sha
    new = project.push(stack, {"README.md": "a new commit\n"})
    pull_request_event(stack, project, "synchronize", new, before=old)
    # The wait bounds the supersede; its latency is bench/supersede_latency.py's to measure.
    done = wait_completed(stack, project, running["id"], timeout=30)
    assert done["conclusion"] == "cancelled"
    assert new[:7] in done["output"]["title"] + done["output"]["summary"]
    assert "Superseded" in done["output"]["summary"]
    wait_for(lambda: not alive(pid), "the slow test process to be killed", stack, timeout=5)

    # The new head gets the placeholder; the superseded run's record says why it ended.
    wait_for(lambda: placeholders(stack, project, new), "placeholder on the new head", stack)
    ended = wait_finished(stack, record.run_id)
    assert ended.state == "completed" and ended.conclusion == "cancelled"
    assert runs_on(stack, project, new) == []


def test_push_supersedes_a_queued_run_before_a_worker_takes_it(stack, tmp_path):
    # Both run slots busy with slow runs of other pull requests: the third run stays queued.
    busy = [
        new_project(stack, tmp_path / f"busy{i}", slow_files(tmp_path / f"busy{i}.pids"))
        for i in range(2)
    ]
    for project in busy:
        start_slow_run(stack, project)
    pid_file = tmp_path / "queued.pids"
    project = new_project(stack, tmp_path, slow_files(pid_file))
    say(stack, project, "/golden-path run")
    queued = wait_new_run(stack, project, project.sha)
    record = wait_record(stack, project, lambda r: r.task_id is not None, "the run's task id")
    settle(1.0)
    assert records(stack).get(record.run_id).state == "queued"

    old = project.sha
    new = project.push(stack, {"README.md": "newer\n"})
    pull_request_event(stack, project, "synchronize", new, before=old)
    done = wait_completed(stack, project, queued["id"], timeout=15)
    assert done["conclusion"] == "cancelled"
    assert new[:7] in done["output"]["summary"]

    # Free the slots: the revoked task never runs the superseded commit.
    for other in busy:
        say(stack, other, "/golden-path cancel")
    wait_until(lambda: not records(stack).active(), timeout=15, what="the busy runs to end")
    settle(2.0)
    assert pids_in(pid_file) == []
    assert fetch(stack, project, queued["id"])["conclusion"] == "cancelled"
    assert "in_progress" not in [h["body"].get("status") for h in done["history"]]


def test_head_moved_while_the_run_waited_supersedes_it_and_runs_no_tests(stack, tmp_path):
    first_pids = tmp_path / "first.pids"
    second_pids = tmp_path / "second.pids"
    project = new_project(stack, tmp_path, slow_files(first_pids))
    # Pull request #2 of the same repository: same `staging` environment, so it waits for #1.
    approved = side_commit(project, slow_files(second_pids), "pull request 2")
    add_second_pull(stack, project, approved)
    _, first = start_slow_run(stack, project)

    say(stack, project, "/golden-path run", number=2)
    waiting = wait_new_run(stack, project, approved)
    wait_for(
        lambda: (
            "waiting for `staging`"
            in (fetch(stack, project, waiting["id"])["output"]["title"] or "")
        ),
        "the second run to wait for staging",
        stack,
    )
    record = records(stack).latest_for_pr(project.repo, 2)
    assert record.head_sha == approved and record.state == "running"

    # The head moves (no webhook arrives), then the environment frees up.
    moved = side_commit(project, {"README.md": "unapproved\n"}, "pushed after approval")
    stack.github.fake.set_head(project.repo, 2, moved)
    say(stack, project, "/golden-path cancel")
    assert wait_completed(stack, project, first["id"])["conclusion"] == "cancelled"

    done = wait_completed(stack, project, waiting["id"], timeout=20)
    assert done["conclusion"] == "cancelled"
    text = done["output"]["summary"]
    assert f"Superseded by {moved[:7]}" in text and "before this run started" in text
    assert pids_in(second_pids) == []  # no pytest ran for the approved-then-moved commit
    assert runs_on(stack, project, moved) == []  # and nothing ran the unapproved one
    assert "in_progress" not in [h["body"].get("status") for h in done["history"]]


# --- 3. commands ---------------------------------------------------------------


def test_cancel_stops_the_run_and_says_who_cancelled(stack, tmp_path):
    pid_file = tmp_path / "pids"
    project = new_project(stack, tmp_path, slow_files(pid_file))
    record, running = start_slow_run(stack, project)
    [pid] = wait_for(lambda: pids_in(pid_file), "the slow test's pid", stack)
    known = len(replies(stack, project))

    refused = say(stack, project, "/golden-path cancel", user="visitor")
    assert "permission" in wait_reply(stack, project, known).lower()
    assert reactions(stack, refused) == ["confused"]
    assert fetch(stack, project, running["id"])["status"] == "in_progress"

    known = len(replies(stack, project))
    comment = say(stack, project, "/golden-path cancel", user="maintainer")
    done = wait_completed(stack, project, running["id"], timeout=15)
    assert done["conclusion"] == "cancelled"
    assert "maintainer" in done["output"]["summary"] and "Cancelled by" in done["output"]["summary"]
    wait_for(lambda: not alive(pid), "the slow test process to be killed", stack, timeout=5)
    reply = wait_reply(stack, project, known)
    assert "@maintainer" in reply and record.head_sha[:7] in reply
    assert reactions(stack, comment) == ["eyes"]

    # Nothing left to cancel: said so.
    known = len(replies(stack, project))
    say(stack, project, "/golden-path cancel")
    assert "nothing to cancel" in wait_reply(stack, project, known)


def test_status_shows_state_phase_results_so_far_and_link_and_help_replies(stack, tmp_path):
    project = new_project(stack, tmp_path, slow_files(tmp_path / "pids"))
    known = 0
    say(stack, project, "/golden-path status", user="visitor")
    assert "No golden-path run yet" in wait_reply(stack, project, known)

    record, running = start_slow_run(stack, project)
    known = len(replies(stack, project))
    comment = say(stack, project, "/golden-path status", user="visitor")
    status = wait_reply(stack, project, known)
    assert "**running**" in status and "`slow`" in status
    assert "`auth` passed (2/2 tests)" in status
    assert f"{stack.web_url}/runs/{record.run_id}" in status
    assert reactions(stack, comment) == ["eyes"]

    known = len(replies(stack, project))
    say(stack, project, "/golden-path cancel")
    wait_reply(stack, project, known)
    wait_completed(stack, project, running["id"])
    known = len(replies(stack, project))
    say(stack, project, "/golden-path status")
    status = wait_reply(stack, project, known)
    assert "**completed**" in status and "**cancelled**" in status and "octocat" in status

    known = len(replies(stack, project))
    comment = say(stack, project, "/golden-path help", user="visitor")
    usage = wait_reply(stack, project, known)
    assert "/golden-path cancel" in usage and "/golden-path status" in usage
    assert reactions(stack, comment) == ["eyes"]
    known = len(replies(stack, project))
    comment = say(stack, project, "/golden-path frobnicate")
    assert "/golden-path run" in wait_reply(stack, project, known)
    assert reactions(stack, comment) == ["confused"]


# --- 4. auto_run ---------------------------------------------------------------


def test_auto_run_runs_every_push_of_a_same_repository_pull_request(stack, tmp_path):
    project = new_project(stack, tmp_path, passing_files(auto_run=True))
    pull_request_event(stack, project, "opened", project.sha)
    first = wait_completed(stack, project, wait_new_run(stack, project, project.sha)["id"])
    assert first["conclusion"] == "success", first["output"]
    assert placeholders(stack, project, project.sha) == []
    assert records(stack).latest_for_pr(project.repo, 1).trigger == "auto"

    old = project.sha
    new = project.push(stack, {"README.md": "pushed\n"})
    pull_request_event(stack, project, "synchronize", new, before=old)
    second = wait_completed(stack, project, wait_new_run(stack, project, new)["id"])
    assert second["conclusion"] == "success"
    assert placeholders(stack, project, new) == []
    assert len(runs_on(stack, project, old)) == 1


def test_auto_run_never_starts_for_a_fork(stack, tmp_path):
    project = new_project(
        stack, tmp_path, passing_files(auto_run=True), head_full_name="someone/fork"
    )
    pull_request_event(stack, project, "opened", project.sha, fork="someone/fork")
    placeholder = wait_for(lambda: placeholders(stack, project, project.sha), "placeholder", stack)
    assert "fork" in placeholder[0]["output"]["summary"]
    settle()
    assert runs_on(stack, project, project.sha) == []
    assert records(stack).latest_for_pr(project.repo, 1) is None

    # A maintainer can still start it (after reviewing the change).
    check_run_event(stack, project, "requested_action", placeholder[0], sender="maintainer")
    done = wait_completed(stack, project, wait_new_run(stack, project, project.sha)["id"])
    assert done["conclusion"] == "success"


# --- 5. one run per pull request and commit -------------------------------------------


def test_second_request_links_the_existing_run_and_a_newer_commit_supersedes(stack, tmp_path):
    project = new_project(stack, tmp_path, slow_files(tmp_path / "pids"))
    record, running = start_slow_run(stack, project)

    known = len(replies(stack, project))
    say(stack, project, "/golden-path run", user="maintainer")
    reply = wait_reply(stack, project, known)
    assert "already running" in reply and f"{stack.web_url}/runs/{record.run_id}" in reply
    check_run_event(stack, project, "rerequested", running, sender="maintainer")
    settle()
    assert [r["id"] for r in runs_on(stack, project, project.sha)] == [running["id"]]

    # The head moved (the push's webhook is late): a request now is for the newer commit.
    new = project.push(stack, {"README.md": "newer\n"})
    say(stack, project, "/golden-path run")
    done = wait_completed(stack, project, running["id"], timeout=15)
    assert (
        done["conclusion"] == "cancelled"
        and f"Superseded by {new[:7]}" in done["output"]["summary"]
    )
    newer = wait_new_run(stack, project, new)
    assert records(stack).latest_for_pr(project.repo, 1).head_sha == new
    say(stack, project, "/golden-path cancel")
    assert wait_completed(stack, project, newer["id"])["conclusion"] == "cancelled"


# --- 6. approval pinned to the commit ----------------------------------------------------------
# (A head that moves while the run waits for its environment: see
# test_head_moved_while_the_run_waited_supersedes_it_and_runs_no_tests above.)


def failed_check_run_posts(stack: Stack, project: Project) -> int:
    return sum(
        1
        for r in stack.github.fake.request_log()
        if r["method"] == "POST"
        and r["path"] == f"/repos/{project.repo}/check-runs"
        and r["status"] == 502
    )


@pytest.mark.parametrize("head_moves", [False, True])
def test_a_retried_request_runs_the_commit_it_accepted_or_nothing(stack, tmp_path, head_moves):
    """GitHub fails the queued check run (502, through the client's own retries): the event task
    is retried later. The retry runs the commit the command was accepted for, never a newer
    head pushed in between."""
    project = new_project(stack, tmp_path, passing_files())
    accepted = project.sha
    stack.github.fake.fail_next("POST", rf"^/repos/{project.repo}/check-runs$", 502, times=4)
    comment = say(stack, project, "/golden-path run")
    wait_for(lambda: failed_check_run_posts(stack, project) == 4, "the failed attempt", stack)
    if head_moves:
        project.push(stack, {"README.md": "pushed while the task waited to retry\n"})
    wait_for(lambda: reactions(stack, comment), "the retried attempt to answer", stack)
    assert reactions(stack, comment) == ["eyes"]
    if head_moves:
        settle()
        assert (
            runs_on(stack, project, accepted) == [] and runs_on(stack, project, project.sha) == []
        )
        assert records(stack).latest_for_pr(project.repo, 1) is None
    else:
        done = wait_completed(stack, project, wait_new_run(stack, project, accepted)["id"])
        assert done["conclusion"] == "success"
        settle(1.0)
        assert len(runs_on(stack, project, accepted)) == 1


# --- 7. the merge queue ---------------------------------------------------------------


def group_commit(project: Project, message: str = "merge group") -> str:
    """The merge group's commit: the pull request merged into main, on its own branch."""
    return side_commit(project, {"MERGED": message}, message)


def test_merge_group_reuses_the_pull_requests_own_results(stack, tmp_path):
    project = new_project(stack, tmp_path, passing_files(merge_queue="reuse"))
    say(stack, project, "/golden-path run")
    assert (
        wait_completed(stack, project, wait_new_run(stack, project, project.sha)["id"])[
            "conclusion"
        ]
        == "success"
    )

    group = group_commit(project)
    merge_group_event(stack, project, group, 1, "checks_requested")
    check = wait_for(lambda: check_runs(stack, project, group), "the group's check", stack)[0]
    assert check["name"] == "Golden Path P0"
    assert check["status"] == "completed" and check["conclusion"] == "success"
    assert "#1" in check["output"]["summary"]
    assert (
        records(stack).latest(f"{project.repo}@refs/heads/gh-readonly-queue/main/pr-1-{'0' * 40}")
        is None
    )

    # Pull request #2 never passed on its head commit: the group fails and names it.
    head2 = side_commit(project, {"README.md": "pr 2\n"}, "pull request 2")
    add_second_pull(stack, project, head2)
    group2 = group_commit(project, "merge group 2")
    merge_group_event(stack, project, group2, 2, "checks_requested")
    check2 = wait_for(lambda: check_runs(stack, project, group2), "the group's check", stack)[0]
    assert check2["status"] == "completed" and check2["conclusion"] == "failure"
    assert "#2" in check2["output"]["summary"] and "#1" not in check2["output"]["summary"]


def test_merge_group_with_merge_queue_run_runs_the_group_commit(stack, tmp_path):
    project = new_project(stack, tmp_path, passing_files(merge_queue="run"))
    group = group_commit(project)
    merge_group_event(stack, project, group, 1, "checks_requested")
    done = wait_completed(stack, project, wait_new_run(stack, project, group)["id"])
    assert done["conclusion"] == "success" and done["head_sha"] == group
    statuses = [h["body"].get("status") for h in done["history"]]
    assert statuses[0] == "queued" and "in_progress" in statuses


def test_destroyed_merge_group_stops_its_run(stack, tmp_path):
    pid_file = tmp_path / "pids"
    project = new_project(stack, tmp_path, slow_files(pid_file, merge_queue="run"))
    group = group_commit(project)
    merge_group_event(stack, project, group, 1, "checks_requested")
    running = wait_new_run(stack, project, group)
    [pid] = wait_for(lambda: pids_in(pid_file), "the group's slow test", stack)

    merge_group_event(stack, project, group, 1, "destroyed")
    done = wait_completed(stack, project, running["id"], timeout=15)
    assert done["conclusion"] == "cancelled"
    assert "merge group was destroyed" in done["output"]["summary"]
    wait_for(lambda: not alive(pid), "the group's slow test to be killed", stack, timeout=5)


# --- 8. the reaper ---------------------------------------------------------------


@pytest.fixture
def reaper_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own with beat and a fast reaper, whose worker the test may kill."""
    stack = Stack(
        processes=("web", "worker", "beat"),
        workdir=tmp_path_factory.mktemp("reaper-stack"),
        extra_env={
            "GOLDEN_PATH_RUN_SLOTS": "1",
            "GOLDEN_PATH_REAP_INTERVAL_SECONDS": "1",
            "GOLDEN_PATH_STALE_AFTER_SECONDS": "4",
        },
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def test_beat_restarts_a_lost_run_once_then_concludes_it(reaper_stack, tmp_path):
    """With `beat` deployed as well: the first loss restarts the run on the same commit, the
    second concludes it `failure` saying nothing was concluded about the code (contract §5.6).
    (tests/faults/ covers the same without beat, where the worker's own loop does it.)"""
    stack = reaper_stack
    pid_file = tmp_path / "pids"
    project = new_project(stack, tmp_path, slow_files(pid_file, seconds=30))
    record, running = start_slow_run(stack, project)
    [pid] = wait_for(lambda: pids_in(pid_file), "the slow test's pid", stack)
    try:
        # A run that keeps beating is left alone.
        settle(5.0)
        assert fetch(stack, project, running["id"])["status"] == "in_progress"

        # The worker dies with its run (SIGKILL: no handler, no finally); a new one starts,
        # as a process manager would, with nothing left to tell it about the lost run.
        stack.kill_process("worker")
        # ...and its tests with it (the sandbox dies with its worker): no overlap with the next run
        wait_for(lambda: not alive(pid), "the dead worker's pytest to be killed", stack, 10)
        stack.start_process("worker")
        again = wait_record(
            stack,
            project,
            lambda r: r.attempt == 2 and r.current_phase == "slow",
            "the run restarted on the same commit",
        )
        assert again.run_id == record.run_id and again.head_sha == record.head_sha
        titles = [
            h["body"].get("output", {}).get("title", "")
            for h in fetch(stack, project, running["id"])["history"]
        ]
        assert any("restarted: the worker running it was lost" in t for t in titles), titles

        pids = wait_for(lambda: [p for p in pids_in(pid_file) if p != pid], "attempt 2", stack)
        pid = pids[0]
        stack.kill_process("worker")
        wait_for(lambda: not alive(pid), "the second pytest to be killed", stack, 10)
        stack.start_process("worker")
        done = wait_completed(stack, project, running["id"], timeout=30)
        assert done["conclusion"] == "failure"
        assert "nothing was concluded about the code" in done["output"]["summary"]
        ended = wait_finished(stack, record.run_id)
        assert ended.state == "completed" and ended.conclusion == "failure"
        assert len(runs_on(stack, project, project.sha)) == 1  # one check run, restarted in place
    finally:
        for left in pids_in(pid_file):
            if alive(left):  # never leave a sleeping test behind, whatever failed above
                os.kill(left, 9)
