"""Contract §5.4: runs of one repository that share an environment never overlap, first come
first served, across worker processes; a waiting run's check stays `queued` and says why.

A dedicated stack runs two `worker` processes (one run slot each), so the two runs are taken by
different processes and only the Redis lock can keep them apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.state.run_records import RunRecords
from sandbox.stack import Stack, wait_until

RECORDING_SUITE = """
import json
import os
import time


def test_uses_staging():
    start = time.time()
    time.sleep(2.0)
    # the sandbox lets a test write only its checkout and its run's output folder
    with open(os.path.join(os.environ["GOLDEN_PATH_OUTPUT"], "intervals.jsonl"), "a") as f:
        interval = {"pr": os.environ["PR"], "start": start, "end": time.time()}
        f.write(json.dumps({**interval, "tag": os.environ["INTERVALS"]}) + "\\n")
"""

PLAN = """
environment: {environment}
env:
  INTERVALS: {intervals}
  PR: "{pr}"
phases:
  - id: journeys
    suites: [tests/test_staging.py]
"""


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(
        processes=("web", "worker"),
        workdir=tmp_path_factory.mktemp("lock"),
        extra_env={"GOLDEN_PATH_RUN_SLOTS": "1"},
    )
    try:
        stack.start()
        stack.start_process("worker", key="worker-2")
        yield stack
    finally:
        stack.stop()


def _pull(stack: Stack, root: Path, repo: str, number: int, environment: str, intervals: Path):
    files = {
        ".github/golden-path.yml": PLAN.format(
            environment=environment, intervals=intervals, pr=number
        ),
        "tests/test_staging.py": RECORDING_SUITE,
    }
    path = root / f"pr{number}-{environment}"
    return stack.add_project(repo, files, path=path, number=number)[1]


def _intervals(stack: Stack, tag: Path) -> dict[str, tuple[float, float]]:
    """What the runs tagged `tag` recorded in their output folders."""
    work = stack.workdir / "work"
    # a running run's output folder, or what a published run kept of it (workers/disk.py)
    files = [
        *(work / "artifacts").glob("*/output/intervals.jsonl"),
        *(work / "junit").glob("*/*/output/intervals.jsonl"),
    ]
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    return {d["pr"]: (d["start"], d["end"]) for d in lines if d["tag"] == str(tag)}


def test_two_pull_requests_on_one_environment_take_turns(two_workers: Stack, tmp_path: Path):
    stack = two_workers
    repo = "acme/locked"
    intervals = tmp_path / "intervals.jsonl"
    first = _pull(stack, tmp_path, repo, 1, "staging", intervals)
    second = _pull(stack, tmp_path, repo, 2, "staging", intervals)

    assert stack.comment(repo, 1, "/golden-path run").status_code == 202
    wait_until(
        lambda: any(
            r["status"] == "in_progress" for r in stack.github.fake.check_runs(repo, first)
        ),
        timeout=60,
        what="the first run to hold staging",
    )
    assert stack.comment(repo, 2, "/golden-path run").status_code == 202

    def both_done() -> bool:
        return all(
            any(r["status"] == "completed" for r in stack.github.fake.check_runs(repo, sha))
            for sha in (first, second)
        )

    wait_until(both_done, timeout=90, interval=0.2, what="both runs to complete")
    # The output folder moves to where the published run keeps it after the check concludes.
    ran = wait_until(
        lambda: found if set(found := _intervals(stack, intervals)) == {"1", "2"} else None,
        timeout=30,
        interval=0.2,
        what="both runs' recorded intervals",
    )
    (_a_start, a_end), (b_start, _b_end) = sorted(ran.values())
    assert a_end <= b_start, f"the runs overlapped: {ran}"
    assert ran["1"][0] < ran["2"][0]  # first come, first served

    waiting = stack.github.fake.check_runs(repo, second)[-1]
    summaries = [
        h["body"].get("output", {}).get("summary", "").replace("\u200d", "")
        for h in waiting["history"]
    ]
    assert any("staging" in s and "#1" in s for s in summaries), summaries  # says what it waits for

    records = RunRecords(redis.Redis.from_url(stack.redis.url))
    workers = {records.latest_for_pr(repo, n).worker for n in (1, 2)}
    assert len(workers) == 2, "both runs were taken by the same worker process"


def test_different_environments_run_side_by_side(two_workers: Stack, tmp_path: Path):
    stack = two_workers
    repo = "acme/parallel"
    intervals = tmp_path / "intervals.jsonl"
    shas = [
        _pull(stack, tmp_path, repo, 1, "staging", intervals),
        _pull(stack, tmp_path, repo, 2, "staging-eu", intervals),
    ]
    for number in (1, 2):
        stack.comment(repo, number, "/golden-path run")
    wait_until(
        lambda: all(
            any(r["status"] == "completed" for r in stack.github.fake.check_runs(repo, sha))
            for sha in shas
        ),
        timeout=90,
        interval=0.2,
    )
    (_a_start, a_end), (b_start, _b_end) = sorted(_intervals(stack, intervals).values())
    assert b_start < a_end, "runs on different environments waited for each other"
