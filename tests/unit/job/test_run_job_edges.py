"""The run job's edges, each a named case: what it hands the executor, what it does around the
result (history, deployments waiting, the tracking issue), and what it survives (Redis blips,
GitHub refusing, an error after the conclusion)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import redis

from bot.core.deployment_gate import GateRequest
from bot.core.results import PhaseStatus
from bot.core.run_model import RunState
from tests.fakes.github import REPO, FakeGitHub
from tests.fakes.history import MemoryHistory
from tests.fakes.lock import FakeLock, Turn
from tests.fakes.stores import MemoryGates
from tests.fakes.world import INSTALLATION
from tests.unit.job.test_run_job import (
    HEAD,
    NUMBER,
    PLAN,
    RUN,
    World,
    _completes,
    push_a_new_head,
    queued,
    refuse_the_conclusion,
)
from workers.job.environment_wait import POLL_SECONDS
from workers.job.run_job import perform_run

EARLIER = "e" * 12


def run(world: World, **services: Any) -> None:
    perform_run(RUN, dataclasses.replace(world.services(), **services), worker="w1", task_id="t1")


def test_rerun_failed_runs_the_failed_tests_again_and_carries_the_passed_phase(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, PLAN, queued(rerun_of=EARLIER))
    earlier = queued(
        run_id=EARLIER,
        state=RunState.COMPLETED,
        conclusion="failure",
        verdicts=[
            {"phase_id": "auth", "status": "failed", "failed_ids": ["tests/test_auth.py::t"]},
            {"phase_id": "pay", "status": "passed", "passed": 3, "total": 3},
        ],
    )
    world.records.create(earlier)
    run(world)
    (call,) = world.executor.calls
    assert set(call["rerun"]) == {"auth"}
    (carried,) = call["carried"].values()
    assert (carried.phase_id, carried.status, carried.carried_over) == (
        "pay",
        PhaseStatus.PASSED,
        True,
    )
    assert world.record().conclusion == "success"


def test_history_is_read_into_the_report_and_the_result_kept(tmp_path: Path) -> None:
    world = World(tmp_path, PLAN, queued())
    history = MemoryHistory()
    run(world, history=history)
    ((repo, entry),) = history.runs
    assert (repo, entry.run_id, entry.conclusion, entry.pr_number) == (REPO, RUN, "success", NUMBER)


def test_history_unavailable_costs_the_run_nothing(tmp_path: Path) -> None:
    world = World(tmp_path, PLAN, queued())
    run(world, history=MemoryHistory(unavailable=True))
    assert world.record().conclusion == "success"
    assert world.conclusion()["conclusion"] == "success"


def test_a_finished_run_answers_the_deployments_waiting_for_it(tmp_path: Path) -> None:
    world = World(tmp_path, PLAN, queued(pr_number=None, commit_ref=HEAD, trigger="deployment"))
    gates = MemoryGates()
    request = gates.open(
        GateRequest(
            installation_id=INSTALLATION,
            repo=REPO,
            environment="production",
            sha=HEAD,
            workflow_run_id=31,
        )
    )
    gates.wait_for(request.key, RUN, started=True)
    run(world, gates=gates)
    (answer,) = world.github.named("answer_deployment_gate")
    assert (answer["workflow_run_id"], answer["state"]) == (31, "approved")


def test_a_tracking_issue_that_cannot_be_updated_costs_the_run_nothing(tmp_path: Path) -> None:
    class Unreachable:
        def load(self, repo: str, environment: str) -> Any:
            raise ConnectionError("Redis away")

        def save(self, state: Any) -> None:
            raise ConnectionError("Redis away")

        def lock(self, repo: str, environment: str) -> Any:
            raise ConnectionError("Redis away")

    world = World(tmp_path, "tracking_issue: true\n" + PLAN, queued())
    run(world, tracking=Unreachable())
    assert world.record().conclusion == "success"


class BlinkingLock(FakeLock):
    """Redis does not answer the first question about the line."""

    def __init__(self, owner: str) -> None:
        super().__init__(owner)
        self.blinks = 1

    def try_acquire(self) -> Turn:
        if self.blinks:
            self.blinks -= 1
            raise redis.ConnectionError("Redis is restarting")
        return super().try_acquire()


def test_a_redis_blip_in_the_line_is_waited_out(tmp_path: Path) -> None:
    world = World(tmp_path, PLAN, queued())
    world.lock = BlinkingLock(world.lock.owner)
    run(world)
    assert world.clock.sleeps == [POLL_SECONDS]
    assert world.record().conclusion == "success"


def test_waiting_behind_a_run_whose_record_expired_names_the_environment_only(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, PLAN, queued())
    world.lock.other = "9" * 12 + ".1"  # no record of it
    world.clock.on_sleep = lambda: setattr(world.lock, "other", None)
    run(world)
    (note,) = [u for u in world.github.named("update_check_run") if u.get("status") == "queued"]
    assert "waiting for `staging`" in note["title"] + note["summary"]
    assert "in use by" not in note["title"] + note["summary"]


def test_a_plan_with_setup_says_in_progress_before_the_first_phase(tmp_path: Path) -> None:
    plan = "setup: [{name: deploy, run: ./deploy.sh}]\n" + PLAN
    world = World(tmp_path, plan, queued())
    run(world)
    first = world.github.named("update_check_run")[0]
    assert first["status"] == "in_progress"
    (record_progress,) = [v for v in world.record().verdicts if v["phase_id"] == "pay"]
    assert record_progress["status"] == "passed"


def test_a_check_run_that_cannot_be_concluded_early_leaves_the_record_to_the_reaper(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, PLAN, queued())
    refuse_the_conclusion(99)(world)
    push_a_new_head(world)
    run(world)
    assert [u for u in world.github.named("update_check_run") if _completes(u)] == []
    assert world.record().state is RunState.RUNNING
    assert world.executor.calls == []


def test_an_error_after_the_conclusion_keeps_the_conclusion(tmp_path: Path) -> None:
    """The check run and the record hold the result; a later step's bug changes neither."""
    world = World(tmp_path, PLAN, queued())
    world.github.fail["upsert_comment"] = RuntimeError("a bug in the PR comment")
    run(world)
    completed = [u for u in world.github.named("update_check_run") if _completes(u)]
    assert {u["conclusion"] for u in completed} == {"success"}  # the retries repeat it, as it is
    assert world.record().conclusion == "success"
    assert world.clock.sleeps == [2.0, 4.0, 8.0]


class RefusesProgress(FakeGitHub):
    def update_check_run(self, check_run_id: int, **fields: Any) -> None:
        if fields.get("status") == "in_progress":
            raise ConnectionError("GitHub away")
        super().update_check_run(check_run_id, **fields)


def test_progress_github_refuses_is_let_go(tmp_path: Path) -> None:
    world = World(tmp_path, PLAN, queued())
    world.github = RefusesProgress(pulls=world.github.pulls)
    run(world)
    assert world.record().conclusion == "success"
    assert world.conclusion()["conclusion"] == "success"
