"""`shards: N` through the real stack: the Procfile's `worker` (its runs worker has two prefork
processes), Redis and the fake GitHub. A sharded phase's files run in several processes (the
coordinating run job and shard tasks) and merge into one verdict; a cancel stops every shard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.core.run_model import RunRecord
from bot.state.run_records import RunRecords
from sandbox.stack import Stack, pytest_pids, wait_until
from tests.e2e.conftest import Project, create_project, wait_for_check

pytestmark = pytest.mark.e2e

QUICK = """
import time


def test_one():
    time.sleep(0.4)


def test_two():
    time.sleep(0.4)
"""

FAILING = """
def test_total():
    assert 41 == 42, "order total mismatch"
"""

SHARDED_PLAN = """
check_name: Golden Path P0
phases:
  - id: all
    name: Every journey
    shards: 3
    suites: [tests]
"""

SLOW = """
import time


def test_slow():
    time.sleep(120)
"""

SLOW_PLAN = """
check_name: Golden Path P0
env:
  RUN_MARKER: "{marker}"
phases:
  - id: slow
    name: Slow journeys
    shards: 2
    suites: [tests]
"""


def client(stack: Stack) -> redis.Redis:
    return redis.Redis.from_url(stack.redis.url)


def latest_record(stack: Stack, project: Project) -> RunRecord | None:
    return RunRecords(client(stack)).latest_for_pr(project.repo, project.number)


def shard_results(stack: Stack, record: RunRecord, phase_id: str) -> list[dict[str, Any]]:
    keys = client(stack).keys(f"gp:shards:{record.run_id}.{record.attempt}.{phase_id}:result:*")
    return [json.loads(client(stack).get(k) or "{}") for k in keys]


def test_a_sharded_phase_runs_in_several_processes_and_merges(stack: Stack, tmp_path: Path) -> None:
    files = {f"tests/test_journey_{i}.py": QUICK for i in range(5)}
    files["tests/test_orders.py"] = FAILING
    project = create_project(stack, tmp_path, files, plan=SHARDED_PLAN)
    stack.comment(project.repo, project.number, "/golden-path run")
    done = wait_for_check(stack, project, timeout=120)
    assert done["conclusion"] == "failure"
    summary = done["output"]["summary"]
    assert "1 failed, 10 passed" in summary, summary
    assert "order total mismatch" in done["output"]["text"] + summary

    record = wait_until(lambda: latest_record(stack, project), what="the run's record")
    results = shard_results(stack, record, "all")
    assert sorted(r["index"] for r in results) == [0, 1, 2]
    ran = {n["node_id"].split("::")[0] for r in results for n in r["tests"]}
    assert ran == set(files)  # every file in exactly one shard
    assert sum(len(r["tests"]) for r in results) == 11
    # The coordinator ran some; the runs worker's other process took at least one.
    assert {r["worker"] == record.lock_owner for r in results} == {True, False}, results
    durations = client(stack).get(f"gp:durations:{project.repo}:all")
    assert durations is not None and set(json.loads(durations)) == set(files)


def test_a_cancel_stops_every_shard(stack: Stack, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    files = {"tests/test_slow_a.py": SLOW, "tests/test_slow_b.py": SLOW}
    plan = SLOW_PLAN.format(marker=marker)
    project = create_project(stack, tmp_path, files, plan=plan)
    stack.comment(project.repo, project.number, "/golden-path run")
    pids = wait_until(
        lambda: (found := pytest_pids(str(marker))) and len(found) == 2 and found,
        timeout=90,
        what="both shards' pytest running",
    )
    stack.comment(project.repo, project.number, "/golden-path cancel")
    done = wait_for_check(stack, project, timeout=30)
    assert done["conclusion"] == "cancelled"
    wait_until(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids),
        timeout=10,
        what="every shard's pytest stopped",
    )
