"""The coordinator of a sharded phase (`CeleryShards`) against an in-memory board and a clock
that moves only when it waits: other workers act while it sleeps. Then the board itself against
a real Redis (claims, leases, the take limit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import redis

from bot.state.shard_board import FileDurations, ShardBoard, ShardSpec
from tests.fakes.clock import FakeClock
from tests.fakes.shard_board import FakeBoard, FakeDurations
from workers.engine.shards import ShardResult, ShardsRan
from workers.job.ports import ShardPorts
from workers.job.shards import CeleryShards

GROUPS = [["t/a.py"], ["t/b.py"], ["t/c.py"]]


@dataclass
class World:
    board: FakeBoard = field(default_factory=FakeBoard)
    clock: FakeClock = field(default_factory=FakeClock)
    sent: list[int] = field(default_factory=list)
    ran_here: list[int] = field(default_factory=list)
    stop: str | None = None

    def coordinator(self) -> CeleryShards:
        ports = ShardPorts(
            board_for=lambda group: self.board,
            durations=FakeDurations(),
            send=lambda group, index: self.sent.append(index),
        )
        return CeleryShards(
            ports,
            repo="acme/app",
            run_id="r1",
            attempt=1,
            clone_url="/repos/app",
            head_sha="abc",
            owner="r1",
            clock=self.clock,
            grace_seconds=5,
        )

    def own(self, index: int, seconds: float) -> ShardResult:
        self.ran_here.append(index)
        return ShardResult(index, worker="r1")

    def elsewhere(self, index: int, worker: str = "w2") -> None:
        """Another worker claims shard `index` and reports it."""
        assert self.board.claim(index, worker)
        self.board.put_result(index, ShardResult(index, worker=worker).to_json())

    def run(self, seconds: float = 60) -> ShardsRan:
        return self.coordinator().run(
            "all", GROUPS, self.own, seconds=seconds, should_stop=lambda: self.stop
        )


def workers(ran: ShardsRan) -> dict[int, str]:
    return {r.index: r.worker for r in ran.results}


def when(world: World, step: int, action: Callable[[], None]) -> None:
    """Run `action` on the coordinator's `step`-th wait."""
    earlier = world.clock.on_sleep

    def on_sleep() -> None:
        if earlier is not None:
            earlier()
        if len(world.clock.sleeps) == step:
            action()

    world.clock.on_sleep = on_sleep


def test_its_own_shard_first_the_others_queued_and_collected() -> None:
    world = World()

    def others_start_during_own(index: int, seconds: float) -> ShardResult:
        world.elsewhere(1)
        world.board.claim(2, "w3")  # still running when the coordinator is done
        return World.own(world, index, seconds)

    world.own = others_start_during_own  # type: ignore[method-assign]
    when(world, 2, lambda: world.board.put_result(2, ShardResult(2, worker="w3").to_json()))
    ran = world.run()
    assert world.sent == [1, 2]
    assert workers(ran) == {0: "r1", 1: "w2", 2: "w3"}
    assert world.board.posted is not None and world.board.posted.deadline_at == 1_060
    assert world.board.stop_reason == "the phase is over"  # late tasks do nothing


def test_shards_nobody_started_are_run_here() -> None:
    world = World()
    ran = world.run()
    assert world.ran_here == [0, 1, 2] and world.clock.sleeps == []
    assert workers(ran) == {0: "r1", 1: "r1", 2: "r1"}


def test_a_shard_whose_worker_died_is_queued_again_once() -> None:
    world = World()

    def second_dies(index: int, seconds: float) -> ShardResult:
        if index == 0:
            world.board.claim(1, "w2")
            world.elsewhere(2)
        return World.own(world, index, seconds)

    world.own = second_dies  # type: ignore[method-assign]
    when(world, 3, lambda: world.board.lapse(1))  # w2 died: its lease lapsed, no result
    ran = world.run()
    assert world.sent == [1, 2, 1]  # queued again
    assert world.ran_here == [0, 1]  # and taken here first
    assert workers(ran) == {0: "r1", 1: "r1", 2: "w2"} and not ran.lost


def test_a_shard_lost_twice_fails_with_a_reason() -> None:
    world = World()
    world.board.claim(1, "w2")

    def both_lost(index: int, seconds: float) -> ShardResult:
        world.elsewhere(2)
        return World.own(world, index, seconds)

    world.own = both_lost  # type: ignore[method-assign]

    def lose_again() -> None:
        world.board.lapse(1)
        if world.board.takes[1] < 2:
            world.board.claim(1, "w4")

    when(world, 1, lose_again)
    when(world, 2, lose_again)
    ran = world.run()
    assert ran.lost == {
        1: "the worker running it was lost 2 times, so nothing is concluded about its tests"
    }
    assert 1 not in workers(ran)


def test_a_cancel_while_waiting_stops_every_shard() -> None:
    world = World()
    world.board.claim(1, "w2")
    world.board.claim(2, "w3")

    def cancel() -> None:
        world.stop = "Superseded by def5678"

    when(world, 2, cancel)
    ran = world.run()
    assert ran.stopped == "Superseded by def5678"
    assert world.board.stop_reason == "the phase is over"
    assert len(world.clock.sleeps) == 2  # within one poll


def test_shards_still_running_past_the_deadline_time_out() -> None:
    world = World()
    world.board.claim(1, "w2")
    world.elsewhere(2)
    ran = world.run(seconds=10)
    by_index = {r.index: r for r in ran.results}
    assert by_index[1].timed_out and by_index[1].problem
    assert world.clock.now >= 1_000 + 10 + 5  # the deadline and the grace, never longer


# --- the board in Redis ---------------------------------------------------------------------


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    return client


def test_the_board_claims_once_renews_and_limits_takes(client: redis.Redis) -> None:
    board = ShardBoard(client, "r1.1.all", lease_seconds=1)
    spec = ShardSpec("r1.1.all", "r1", 1, "all", "/repo", "abc", (("a",), ("b",)), 1234.5)
    board.post(spec)
    assert board.spec() == spec
    assert board.claim(0, "w1") == 1 and board.claim(0, "w2") == 0
    assert board.renew(0, "w1") and not board.renew(0, "w2")
    client.delete("gp:shards:r1.1.all:claim:0")  # the lease lapsed
    assert board.claim(0, "w2") == 2
    client.delete("gp:shards:r1.1.all:claim:0")
    assert board.claim(0, "w3") == 0  # started twice already
    board.put_result(1, {"index": 1})
    assert board.claim(1, "w1") == 0  # done
    states = board.states(2)
    assert states[1].result == {"index": 1} and states[0].takes == 2
    assert board.stopped() is None
    board.stop("Superseded")
    assert board.stopped() == "Superseded"
    assert all(client.ttl(k) > 0 for k in client.keys("gp:shards:*"))


def test_durations_keep_the_latest_files_bounded(client: redis.Redis) -> None:
    store = FileDurations(client, max_files=3)
    store.record("acme/app", "all", {"a": 1.0, "b": 2.0})
    store.record("acme/app", "all", {"c": 3.0, "a": 1.5, "d": 4.0})
    assert store.get("acme/app", "all") == {"c": 3.0, "a": 1.5, "d": 4.0}
    assert store.get("acme/app", "other") == {}
    client.set("gp:durations:acme/app:bad", "not json")
    assert store.get("acme/app", "bad") == {}
