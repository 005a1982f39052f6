"""Redis unavailable for a while during a run changes nothing (contract §5.7): a 10 s pause
(`CLIENT PAUSE ALL`, as in a failover) and a restart (AOF on, as a deploy or crash would)."""

from __future__ import annotations

from pathlib import Path

from sandbox.stack import Stack, wait_until
from tests.faults import harness
from tests.faults.harness import check_nothing_lost, record


def _in_phase(stack: Stack, project: harness.Project) -> None:
    harness.say(stack, project)
    wait_until(lambda: harness.pids(project), timeout=60, what="the slow test")


def test_redis_paused_for_ten_seconds_during_a_phase(stack: Stack, tmp_path: Path) -> None:
    project = harness.make_project(stack, tmp_path, slow_seconds=6)
    _in_phase(stack, project)
    stack.redis.pause(10_000)
    done = harness.wait_done(stack, project)
    ended = harness.latest(stack, project)
    assert ended is not None
    lost = check_nothing_lost(stack, project, conclusion="success", restarted=False)
    record(
        "Redis paused 10 s (CLIENT PAUSE ALL)",
        "during a phase",
        f"{ended.attempt} attempt",
        f"run went on, {done['conclusion']}",
        lost,
    )
    assert not lost
    assert ended.attempt == 1


def test_redis_restarted_with_aof_during_a_phase(stack: Stack, tmp_path: Path) -> None:
    project = harness.make_project(stack, tmp_path, slow_seconds=6)
    _in_phase(stack, project)
    restarts_before = stack.log("worker").count("Celery worker exited")
    stack.redis.restart(down_seconds=3.0)
    done = harness.wait_done(stack, project)
    ended = harness.latest(stack, project)
    assert ended is not None
    lost = check_nothing_lost(stack, project, conclusion="success", restarted=False)
    # kombu's Redis transport can fail for good while restoring unacked messages on a lost
    # connection ("Unrecoverable error: AttributeError"), ending the `runs` Celery worker after
    # its runs; `bin/worker` starts it again itself. The test restarts nothing.
    worker = stack._procs["worker"]
    after = harness.make_project(stack, tmp_path)  # the workers consume again afterwards
    harness.say(stack, after)
    if harness.wait_done(stack, after)["conclusion"] != "success":
        lost.append("the next run after the restart")
    if worker.poll() is not None:
        lost.append(f"the worker process exited ({worker.returncode})")
    restarts = stack.log("worker").count("Celery worker exited") - restarts_before
    how = f"bin/worker started {restarts} Celery worker(s) again" if restarts else "went on"
    record(
        "Redis restarted (down 3 s, AOF on)",
        "during a phase",
        f"{ended.attempt} attempt",
        f"run went on, {done['conclusion']}; {how}; worker process kept serving: next run success",
        lost,
    )
    assert not lost
    assert ended.attempt == 1
