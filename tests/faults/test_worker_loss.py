"""A worker SIGKILLed (no handler, no `finally`) at each step of a run: the `worker` process that
replaces it notices the lost runs on its own (no beat), restarts each once on the same commit, and
every one concludes with its real result; nothing is posted twice or left behind."""

from __future__ import annotations

import re
from pathlib import Path

from bot.core.report.facts import PR_COMMENT_MARKER
from sandbox.stack import Stack, wait_until
from tests.faults import harness
from tests.faults.harness import Project, check_nothing_lost, record


def _at_step(stack: Stack, project: Project, step: str) -> bool:
    found = harness.latest(stack, project)
    if found is None or found.state != "running":
        return False
    if step == "phase":
        return found.current_phase == "slow" and bool(harness.pids(project))
    return True


def test_worker_killed_at_checkout_lock_wait_setup_and_phase(
    stack: Stack, tmp_path: Path, fault_dir: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    # phase: a slow test, holding its environment's lock
    phase = harness.make_project(stack, tmp_path, slow_seconds=60, environment="env-p")
    # lock wait: pull request #2 of the same repository, waiting for that environment
    waiting = harness.second_pull(stack, phase, tmp_path)
    # setup: a deploy step that is slow on the first attempt only
    slow_setup = f"test -e {marks}/setup || {{ touch {marks}/setup; sleep 60; }}"
    setup = harness.make_project(stack, tmp_path, environment="env-s", setup=slow_setup)
    # checkout: git held inside `fetch`
    checkout = harness.make_project(stack, tmp_path, environment="env-c")

    harness.say(stack, phase)
    harness.wait_record(stack, phase, lambda r: _at_step(stack, phase, "phase"), "phase")
    harness.say(stack, waiting)
    harness.wait_record(stack, waiting, lambda r: r.state == "running", "lock wait")
    harness.say(stack, setup)
    wait_until(lambda: (marks / "setup").exists(), timeout=60, what="the slow setup step")
    (fault_dir / "hold-git").touch()
    harness.say(stack, checkout)
    wait_until(lambda: (fault_dir / "in-git").exists(), timeout=60, what="git fetch held")
    queued = [c for c in harness.check_runs(stack, waiting) if c["status"] == "queued"]
    assert any("waiting for" in (c["output"]["title"] or "").lower() for c in queued) or queued

    stack.kill_process("worker")
    (fault_dir / "hold-git").unlink()
    (fault_dir / "in-git").unlink()
    stack.start_process("worker")

    cases = [("checkout", checkout), ("lock wait", waiting), ("setup", setup), ("phase", phase)]
    for where, project in cases:
        done = harness.wait_done(stack, project, timeout=120)
        ended = harness.latest(stack, project)
        assert ended is not None
        lost = check_nothing_lost(stack, project, conclusion="success", restarted=True)
        record(
            "worker SIGKILL",
            where,
            f"{ended.attempt} attempts",
            f"restarted once, then {done['conclusion']}",
            lost,
        )
        assert not lost, (where, lost)
        assert ended.attempt == 2 and ended.head_sha == project.sha
    workdir = Path(stack.env()["GOLDEN_PATH_WORKDIR"])
    assert harness.processes_in(workdir) == []  # nothing of any attempt still runs


def test_worker_killed_while_publishing(stack: Stack, tmp_path: Path) -> None:
    """Killed after the check run was concluded, before the five-whys issue, PR comment and
    linked issue: the report stays owed, and the reconcile loop posts the rest exactly once."""
    project = harness.make_project(stack, tmp_path, suite=harness.FAILING, body="Fixes #3")
    stack.github.fake.add_issue(project.repo, 3, "Checkout broken")
    fake = stack.github.fake
    held_before = len(fake.faults.held)
    # The five whys' issue search (the first request after the conclusion) answers late.
    fake.fail_next("GET", f"^/repos/{re.escape(project.repo)}/issues$", 0, times=2, delay=10)
    harness.say(stack, project)
    wait_until(lambda: len(fake.faults.held) > held_before, timeout=90, what="publishing held")
    stack.kill_process("worker")
    killed = harness.check_runs(stack, project)[-1]
    killed_record = harness.latest(stack, project)
    killed_run = killed_record.run_id if killed_record else "?"
    stack.start_process("worker")
    wait_until(lambda: fake.labels_of(project.repo, 3), timeout=60, what="the linked issue")
    lost = check_nothing_lost(stack, project, conclusion="failure", restarted=False)
    if killed["status"] != "completed":
        lost.append("killed before the check run was concluded")
    login = fake.bot_login
    mine = [c for c in fake.comments(project.repo, project.number) if c["user"]["login"] == login]
    if sum(PR_COMMENT_MARKER in c["body"] for c in mine) != 1:
        lost.append("PR comment not posted exactly once")
    five_whys = [i for i in fake.issues(project.repo) if "Five whys" in i["title"]]
    if len(five_whys) != 1:
        lost.append(f"{len(five_whys)} five-whys issues instead of 1")
    linked = [c for c in fake.comments(project.repo, 3) if c["user"]["login"] == login]
    if len(linked) != 1:
        lost.append(f"{len(linked)} comments on the linked issue instead of 1")
    if f"run {killed_run}: posted the report its lost worker still owed" not in stack.log("worker"):
        lost.append("the rest was not posted by the reconcile loop")
    ended = harness.latest(stack, project)
    assert ended is not None
    record(
        "worker SIGKILL",
        "publish (check run concluded; issue, PR comment, linked issue owed)",
        f"{ended.attempt} attempt",
        "the reconcile loop posted the rest once",
        lost,
    )
    assert not lost
