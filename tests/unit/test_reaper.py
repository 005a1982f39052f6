"""The reaper's actions against a real redis-server and a small recording GitHub: a lost run is
restarted once in place, a second loss concludes it, and a conclusion GitHub refuses is asked for
again on later passes; the record is finished only once GitHub took it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from bot.github.client import GitHubError, GitHubRateLimited
from bot.state.run_records import RunRecord, RunRecords, RunState
from sandbox.redis_server import RedisServer
from workers.reaper import MAX_CONCLUDE_TRIES, Reaper, ReapLimits


class GitHub:
    """Records check-run updates; `refuse` makes the next updates fail as GitHub would."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.refuse: list[GitHubError] = []

    def update_check_run(self, check_run_id: int, **fields: Any) -> None:
        if self.refuse:
            raise self.refuse.pop(0)
        self.updates.append({"id": check_run_id, **fields})


class Launcher:
    def __init__(self) -> None:
        self.launched: list[str] = []

    def launch(self, run_id: str) -> str:
        self.launched.append(run_id)
        return f"task-{len(self.launched)}"


@pytest.fixture
def records(redis_server_factory: Callable[[], RedisServer]) -> Iterator[RunRecords]:
    client = redis.Redis.from_url(redis_server_factory().url)
    yield RunRecords(client)
    client.close()


class World:
    def __init__(self, records: RunRecords) -> None:
        self.records = records
        self.github = GitHub()
        self.launcher = Launcher()
        self.released: list[str] = []
        self.now = time.time()
        self.reaper = Reaper(
            records,
            lambda installation, repo: self.github,
            self.launcher,
            lambda record: self.released.append(record.lock_owner),
            ReapLimits(heartbeat_stale_seconds=30),
            clock=lambda: self.now,
        )

    def running(self, *, beat_ago: float, **fields: Any) -> RunRecord:
        record = RunRecord(
            installation_id=1, repo="acme/shop", pr_number=5, head_sha="a" * 40, check_run_id=7,
            environment="staging", **fields,
        )  # fmt: skip
        self.records.create(record)
        self.records.start(record.run_id, worker="w1", task_id="t0")
        self.records.set_fields(record.run_id, heartbeat_at=self.now - beat_ago)
        return self.records.get(record.run_id)


@pytest.fixture
def world(records: RunRecords) -> World:
    return World(records)


def test_a_beating_run_is_left_alone(world: World) -> None:
    record = world.running(beat_ago=5)
    assert world.reaper.reap() == []
    assert world.records.get(record.run_id).state is RunState.RUNNING
    assert world.github.updates == [] and world.launcher.launched == []


def test_first_loss_restarts_the_run_in_place(world: World) -> None:
    record = world.running(beat_ago=31)
    assert world.reaper.reap() == [record.run_id]
    again = world.records.get(record.run_id)
    assert again.state is RunState.QUEUED and again.attempt == 2
    assert again.head_sha == record.head_sha and again.check_run_id == record.check_run_id
    assert again.task_id == "task-1" and world.launcher.launched == [record.run_id]
    assert world.released == [record.run_id]  # the lost attempt's place in line is freed
    [update] = world.github.updates
    assert update["status"] == "queued"
    assert "restarted: the worker running it was lost" in update["title"]
    # a second pass (another worker's loop) does nothing more
    assert world.reaper.reap() == []
    assert world.launcher.launched == [record.run_id]


def test_second_loss_concludes_failure_saying_nothing_was_concluded(world: World) -> None:
    record = world.running(beat_ago=31)
    world.reaper.reap()
    world.records.start(record.run_id, worker="w2", task_id="task-1")
    world.records.set_fields(record.run_id, heartbeat_at=world.now - 40)
    assert world.reaper.reap() == [record.run_id]
    ended = world.records.get(record.run_id)
    assert ended.state is RunState.COMPLETED and ended.conclusion == "failure"
    assert "nothing was concluded about the code" in (ended.reason or "")
    last = world.github.updates[-1]
    assert last["status"] == "completed" and last["conclusion"] == "failure"
    assert world.launcher.launched == [record.run_id]  # no third attempt


def test_a_refused_conclusion_is_retried_until_github_takes_it(world: World) -> None:
    record = world.running(beat_ago=31, attempt=2)
    reset = datetime.now(UTC)
    world.github.refuse = [GitHubRateLimited("rate limited", reset, 403), GitHubError("502", 502)]
    assert world.reaper.reap() == []
    pending = world.records.get(record.run_id)
    assert pending.state is RunState.RUNNING  # not finished: GitHub still shows in_progress
    assert pending.pending_conclusion == "failure" and pending.conclude_tries == 1
    assert world.reaper.reap() == []  # backing off: not yet time to ask again
    world.now = (pending.conclude_next_at or 0) + 1
    assert world.reaper.reap() == []  # refused again (502)
    world.now = (world.records.get(record.run_id).conclude_next_at or 0) + 1
    assert world.reaper.reap() == [record.run_id]
    ended = world.records.get(record.run_id)
    assert ended.state is RunState.COMPLETED and ended.conclusion == "failure"
    assert [u["conclusion"] for u in world.github.updates] == ["failure"]


def test_the_retries_are_bounded(world: World) -> None:
    record = world.running(beat_ago=31, attempt=2)
    world.github.refuse = [GitHubError("502", 502)] * (MAX_CONCLUDE_TRIES + 5)
    for _ in range(MAX_CONCLUDE_TRIES + 2):
        world.reaper.reap()
        world.now = (world.records.get(record.run_id).conclude_next_at or world.now) + 1
    ended = world.records.get(record.run_id)
    assert ended.state is RunState.COMPLETED  # given up, logged; never retried forever


def test_a_restart_whose_task_was_never_sent_is_relaunched(world: World) -> None:
    record = world.running(beat_ago=31)
    world.records.restart(record.run_id, attempt=1, now=world.now - 60)  # reconciler died here
    assert world.reaper.reap() == [record.run_id]
    assert world.launcher.launched == [record.run_id]
    assert world.records.get(record.run_id).task_id == "task-1"


def test_two_reconcilers_at_once_restart_once(world: World) -> None:
    record = world.running(beat_ago=31)
    other = Reaper(
        world.records, lambda i, r: world.github, world.launcher, None,
        ReapLimits(heartbeat_stale_seconds=30), clock=lambda: world.now,
    )  # fmt: skip
    acted = world.reaper.reap() + other.reap()
    assert acted == [record.run_id]
    assert world.launcher.launched == [record.run_id]


def test_a_slow_worker_learns_it_lost_the_run(world: World) -> None:
    record = world.running(beat_ago=31)
    world.reaper.reap()
    assert world.records.heartbeat(record.run_id, attempt=1) is False
    world.records.start(record.run_id, worker="w2", task_id="task-1")
    assert world.records.heartbeat(record.run_id, attempt=2) is True
