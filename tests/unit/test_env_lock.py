"""The per-environment queue against a real redis-server: first come first served, dead
waiters and holders skipped, and mutual exclusion between separate processes."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from bot.state import env_lock
from bot.state.env_lock import EnvironmentLock

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def make(client: redis.Redis) -> Callable[..., EnvironmentLock]:
    """`make(run_id, env="staging", repo=<this test's repo>)`: one waiter's view of a queue."""
    repo = f"acme/shop-{uuid.uuid4().hex[:8]}"

    def build(run_id: str, environment: str = "staging", repo_name: str = repo) -> EnvironmentLock:
        return EnvironmentLock(client, repo_name, environment, f"{run_id}-{repo_name}")

    return build


def _alive_key(lock: EnvironmentLock) -> str:
    return f"gp:alive:{lock._me}"


def test_the_first_to_join_holds_and_the_others_count_who_is_ahead(
    make: Callable[..., EnvironmentLock],
) -> None:
    a, b, c = make("a"), make("b"), make("c")
    for lock in (a, b, c):
        lock.join()
    # c asks first, yet it is third in line; b is second whoever asks
    turn_c = c.try_acquire()
    assert (turn_c.holding, turn_c.ahead, turn_c.holder) == (False, 2, None)
    turn_b = b.try_acquire()
    assert (turn_b.holding, turn_b.ahead) == (False, 1)
    turn_a = a.try_acquire()
    assert (turn_a.holding, turn_a.ahead, turn_a.holder) == (True, 0, a._me)
    assert b.try_acquire() == env_lock.Turn(holding=False, ahead=1, holder=a._me)
    assert c.try_acquire() == env_lock.Turn(holding=False, ahead=2, holder=a._me)
    assert a.try_acquire().holding  # asking again while holding keeps it


def test_release_hands_over_in_join_order(make: Callable[..., EnvironmentLock]) -> None:
    a, b, c = make("a"), make("b"), make("c")
    for lock in (a, b, c):
        lock.join()
    assert a.try_acquire().holding
    a.release()
    assert not c.try_acquire().holding  # c may not jump ahead of b
    assert c.try_acquire().ahead == 1
    assert b.try_acquire().holding
    assert c.try_acquire() == env_lock.Turn(holding=False, ahead=1, holder=b._me)
    b.release()
    assert c.try_acquire().holding
    c.release()
    assert a.holder() is None


def test_joining_again_keeps_the_first_place(make: Callable[..., EnvironmentLock]) -> None:
    a, b, c = make("a"), make("b"), make("c")
    a.join()
    b.join()
    c.join()
    b.join()  # a retried task joins again
    a.try_acquire()
    assert b.try_acquire().ahead == 1
    assert c.try_acquire().ahead == 2


def test_a_waiter_that_arrives_after_release_waits_for_the_queue(
    make: Callable[..., EnvironmentLock],
) -> None:
    a, b = make("a"), make("b")
    a.join()
    b.join()
    a.try_acquire()
    a.release()
    late = make("late")
    late.join()
    assert late.try_acquire() == env_lock.Turn(holding=False, ahead=1, holder=None)
    assert b.try_acquire().holding


def test_a_dead_waiter_is_skipped(
    make: Callable[..., EnvironmentLock], client: redis.Redis
) -> None:
    a, b, c = make("a"), make("b"), make("c")
    for lock in (a, b, c):
        lock.join()
    assert a.try_acquire().holding
    client.delete(_alive_key(b))  # b's worker died: its liveness key expired
    assert c.try_acquire().ahead == 1  # only the holder is ahead now
    a.release()
    assert c.try_acquire().holding


def test_a_dead_waiter_that_comes_back_stands_at_the_end(
    make: Callable[..., EnvironmentLock], client: redis.Redis
) -> None:
    a, b, c = make("a"), make("b"), make("c")
    for lock in (a, b, c):
        lock.join()
    a.try_acquire()
    client.delete(_alive_key(b))
    c.try_acquire()  # drops b
    assert b.try_acquire() == env_lock.Turn(holding=False, ahead=2, holder=a._me)


def test_a_dead_holder_frees_the_environment_when_its_lease_runs_out(
    make: Callable[..., EnvironmentLock], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(env_lock, "LEASE_SECONDS", 1)
    a, b = make("a"), make("b")
    a.join()
    b.join()
    assert a.try_acquire().holding
    assert not b.try_acquire().holding
    time.sleep(0.6)
    b.keep_alive()  # b is alive and waiting; a has stopped renewing
    assert not b.try_acquire().holding
    time.sleep(0.6)
    turn = b.try_acquire()
    assert turn == env_lock.Turn(holding=True, ahead=0, holder=b._me)
    # a comes back after losing its lease: it does not hold, and stands behind b
    assert a.try_acquire() == env_lock.Turn(holding=False, ahead=1, holder=b._me)


def test_keep_alive_renews_the_lease_of_the_holder(
    make: Callable[..., EnvironmentLock], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(env_lock, "LEASE_SECONDS", 1)
    a, b = make("a"), make("b")
    a.join()
    b.join()
    a.try_acquire()
    for _ in range(3):
        time.sleep(0.5)
        a.keep_alive()
        b.keep_alive()
    assert a.holder() == a._me
    assert not b.try_acquire().holding


def test_release_by_a_non_holder_does_not_free_the_lock(
    make: Callable[..., EnvironmentLock],
) -> None:
    a, b, c = make("a"), make("b"), make("c")
    for lock in (a, b, c):
        lock.join()
    a.try_acquire()
    b.release()  # b gives up its place (cancelled while waiting)
    assert a.holder() == a._me
    assert c.try_acquire().ahead == 1


def test_join_order_is_arrival_order_whatever_the_joiners_clock_says(
    make: Callable[..., EnvironmentLock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers on machines whose clocks disagree: the later arrival stands behind."""
    clock = itertools.count(2_000_000_000, -1_000_000)  # each reading earlier than the last
    monkeypatch.setattr(time, "time", lambda: float(next(clock)))
    a, b, c = make("a"), make("b"), make("c")
    a.join()  # a's clock is ahead of b's, b's ahead of c's
    b.join()
    c.join()
    monkeypatch.undo()
    assert not c.try_acquire().holding
    assert not b.try_acquire().holding
    assert a.try_acquire().holding
    assert (b.try_acquire().ahead, c.try_acquire().ahead) == (1, 2)


def test_never_holding_while_someone_else_holds(
    make: Callable[..., EnvironmentLock], client: redis.Redis
) -> None:
    """Even when the line was reordered under the holder (a waiter placed before it), the
    one in front is told to wait for the holder, not that it holds."""
    a, b = make("a"), make("b")
    a.join()
    assert a.try_acquire().holding
    b.keep_alive()
    client.zadd(a._waiters_key, {b._me: -1})  # b now stands before the holder
    turn = b.try_acquire()
    assert turn == env_lock.Turn(holding=False, ahead=1, holder=a._me)
    client.zrem(a._waiters_key, a._me)  # the holder's place vanished, its lock did not
    assert b.try_acquire() == env_lock.Turn(holding=False, ahead=1, holder=a._me)
    a.release()
    assert b.try_acquire().holding


def test_environments_and_repositories_do_not_block_each_other(
    make: Callable[..., EnvironmentLock],
) -> None:
    staging = make("a", "staging")
    perf = make("b", "perf")
    other_repo = make("c", "staging", "acme/other-" + uuid.uuid4().hex[:8])
    for lock in (staging, perf, other_repo):
        lock.join()
        assert lock.try_acquire().holding
    second_staging = make("d", "staging")
    second_staging.join()
    assert second_staging.try_acquire().ahead == 1


def test_every_key_it_leaves_expires(
    make: Callable[..., EnvironmentLock], client: redis.Redis
) -> None:
    a = make("a")
    a.join()
    a.try_acquire()
    assert client.ttl(a._lock_key) > 0
    assert client.ttl(_alive_key(a)) > 0
    a.release()
    assert not client.exists(_alive_key(a))
    assert not client.exists(a._lock_key)
    assert client.zcard(a._waiters_key) == 0


# --- across processes --------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import json, random, sys, time
    import redis
    from bot.state.env_lock import EnvironmentLock

    url, repo, me, go_key, out_key = sys.argv[1:6]
    client = redis.Redis.from_url(url)
    while not client.exists(go_key):  # a start line, so all three join at about once
        time.sleep(0.002)
    time.sleep(random.uniform(0, 0.05))
    lock = EnvironmentLock(client, repo, "staging", me)
    lock.join()
    joined = client.zscore(lock._waiters_key, me)
    while not lock.try_acquire().holding:
        lock.keep_alive()
        time.sleep(0.005)
    start = time.time()
    time.sleep(0.15)
    end = time.time()
    client.rpush(out_key, json.dumps({"me": me, "joined": joined, "start": start, "end": end}))
    lock.release()
    """
)


def test_processes_take_turns_in_join_order(redis_url: str, client: redis.Redis) -> None:
    repo = f"acme/shop-{uuid.uuid4().hex[:8]}"
    go_key, out_key = f"test:go:{repo}", f"test:out:{repo}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, redis_url, repo, f"run-{n}", go_key, out_key],
            cwd=ROOT,
            env=env,
        )
        for n in range(3)
    ]
    time.sleep(0.3)  # let them import; the ones still importing simply join later
    client.set(go_key, "1", ex=60)
    for child in children:
        assert child.wait(timeout=20) == 0
    sections = [json.loads(raw) for raw in client.lrange(out_key, 0, -1)]
    client.delete(go_key, out_key)
    assert len(sections) == 3
    by_start = sorted(sections, key=lambda s: s["start"])
    for earlier, later in itertools.pairwise(by_start):
        assert earlier["end"] <= later["start"], (earlier, later)
    by_join = sorted(sections, key=lambda s: s["joined"])
    assert [s["me"] for s in by_start] == [s["me"] for s in by_join]
