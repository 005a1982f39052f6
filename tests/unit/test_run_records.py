"""Run records against a real redis-server: transitions happen once, whoever races for them."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from bot.state.run_records import RecordNotFound, RunRecord, RunRecords, RunState


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def records(client: redis.Redis) -> RunRecords:
    return RunRecords(client)


def _repo() -> str:
    """A repository name no other test uses, so tests share the session's Redis safely."""
    return f"acme/shop-{uuid.uuid4().hex[:8]}"


def _record(repo: str | None = None, pr_number: int | None = 5, **fields: Any) -> RunRecord:
    return RunRecord(
        installation_id=77,
        repo=repo or _repo(),
        pr_number=pr_number,
        head_sha=fields.pop("head_sha", "a" * 40),
        **fields,
    )


# --- create and read ---------------------------------------------------------------------------


def test_create_then_get_round_trips_every_field(records: RunRecords) -> None:
    record = _record(phases=["auth", "billing"], requested_by="octocat", check_run_id=9)
    records.create(record)
    assert records.get(record.run_id) == record
    assert records.get(record.run_id).state is RunState.QUEUED


def test_get_of_an_unknown_run_raises_record_not_found(records: RunRecords) -> None:
    with pytest.raises(RecordNotFound):
        records.get("no-such-run")


def test_latest_for_pr_is_the_last_created_for_that_pull_request(records: RunRecords) -> None:
    repo = _repo()
    first = records.create(_record(repo, 5, head_sha="1" * 40))
    second = records.create(_record(repo, 5, head_sha="2" * 40))
    other = records.create(_record(repo, 6))
    latest = records.latest_for_pr(repo, 5)
    assert latest is not None
    assert latest.run_id == second.run_id != first.run_id
    latest_other = records.latest_for_pr(repo, 6)
    assert latest_other is not None and latest_other.run_id == other.run_id
    assert records.latest_for_pr(repo, 7) is None


def test_merge_group_runs_have_their_own_latest(records: RunRecords) -> None:
    repo = _repo()
    ref = "refs/heads/gh-readonly-queue/main/pr-5-" + "b" * 40
    group = records.create(_record(repo, None, merge_group_ref=ref))
    assert group.target == f"{repo}@{ref}"
    latest = records.latest(group.target)
    assert latest is not None and latest.run_id == group.run_id
    assert records.latest_for_pr(repo, 5) is None


def test_active_lists_unfinished_runs_only(records: RunRecords) -> None:
    queued = records.create(_record())
    running = records.create(_record())
    done = records.create(_record())
    records.start(running.run_id, worker="w1", task_id="t1")
    records.finish(done.run_id, "success")
    active = {r.run_id for r in records.active()}
    assert {queued.run_id, running.run_id} <= active
    assert done.run_id not in active


def test_active_forgets_runs_whose_record_is_gone(records: RunRecords, client: redis.Redis) -> None:
    record = records.create(_record())
    client.delete(f"gp:run:{record.run_id}")
    assert record.run_id not in {r.run_id for r in records.active()}
    assert not client.sismember("gp:active", record.run_id)


def test_pr_for_sha_remembers_the_pull_request_of_a_commit(records: RunRecords) -> None:
    repo = _repo()
    assert records.pr_for_sha(repo, "c" * 40) is None
    records.remember_pr_for_sha(repo, "c" * 40, 12)
    assert records.pr_for_sha(repo, "c" * 40) == 12
    assert records.pr_for_sha(_repo(), "c" * 40) is None  # per repository
    records.create(_record(repo, 13, head_sha="d" * 40))  # create remembers it too
    assert records.pr_for_sha(repo, "d" * 40) == 13


def test_every_key_expires(records: RunRecords, client: redis.Redis) -> None:
    repo = _repo()
    record = records.create(_record(repo, 5, head_sha="e" * 40))
    records.remember_pr_for_sha(repo, "f" * 40, 5)
    keys = [
        f"gp:run:{record.run_id}",
        f"gp:latest:{record.target}",
        f"gp:sha-pr:{repo}:{'e' * 40}",
        f"gp:sha-pr:{repo}:{'f' * 40}",
    ]
    for key in keys:
        assert client.ttl(key) > 0, key
    records.start(record.run_id, worker="w", task_id=None)  # a rewrite keeps an expiry
    records.heartbeat(record.run_id)
    assert client.ttl(keys[0]) > 0


# --- transitions -------------------------------------------------------------------------------


def test_start_wins_once(records: RunRecords) -> None:
    record = records.create(_record())
    started = records.start(record.run_id, worker="w1", task_id="t1")
    assert started is not None
    assert started.state is RunState.RUNNING
    assert (started.worker, started.task_id) == ("w1", "t1")
    assert started.started_at is not None and started.heartbeat_at is not None
    assert records.start(record.run_id, worker="w2", task_id="t2") is None
    assert records.get(record.run_id).worker == "w1"


def test_start_loses_to_a_cancel_that_came_first(records: RunRecords) -> None:
    record = records.create(_record())
    cancelled = records.request_cancel(record.run_id, "cancelled by @octocat")
    assert cancelled is not None
    assert cancelled.state is RunState.COMPLETED
    assert cancelled.conclusion == "cancelled"
    assert cancelled.reason == "cancelled by @octocat"
    assert records.start(record.run_id, worker="w1", task_id="t1") is None
    stored = records.get(record.run_id)
    assert stored.state is RunState.COMPLETED and stored.worker is None
    assert record.run_id not in {r.run_id for r in records.active()}


def test_cancel_of_a_running_run_asks_it_to_stop(records: RunRecords) -> None:
    record = records.create(_record())
    records.start(record.run_id, worker="w1", task_id="t1")
    assert records.cancel_reason(record.run_id) is None
    asked = records.request_cancel(record.run_id, "superseded by 1234567")
    assert asked is not None
    assert asked.state is RunState.RUNNING  # the worker concludes it
    assert asked.conclusion is None
    assert records.cancel_reason(record.run_id) == "superseded by 1234567"


def test_cancel_of_a_completed_run_changes_nothing(records: RunRecords) -> None:
    record = records.create(_record())
    records.start(record.run_id, worker="w1", task_id="t1")
    records.finish(record.run_id, "success")
    assert records.request_cancel(record.run_id, "too late") is None
    stored = records.get(record.run_id)
    assert (stored.conclusion, stored.cancel_reason) == ("success", None)


def test_finish_happens_once(records: RunRecords) -> None:
    record = records.create(_record())
    records.start(record.run_id, worker="w1", task_id="t1")
    records.set_fields(record.run_id, current_phase="auth")
    done = records.finish(record.run_id, "failure", mrr_at_risk=120000)
    assert done is not None
    assert (done.state, done.conclusion) == (RunState.COMPLETED, "failure")
    assert done.mrr_at_risk == 120000
    assert done.current_phase is None and done.finished_at is not None
    assert records.finish(record.run_id, "timed_out", "reaped") is None
    assert records.get(record.run_id).conclusion == "failure"


def test_update_of_an_unknown_run_raises(records: RunRecords) -> None:
    with pytest.raises(RecordNotFound):
        records.start("no-such-run", worker="w", task_id=None)
    assert records.cancel_reason("no-such-run") is not None  # a vanished record means stop


def _race(redis_url: str, calls: list[Callable[[RunRecords], Any]]) -> list[Any]:
    """Run `calls` at once, each in a thread with its own connection, released together by a
    barrier; the results come back in the order given."""
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def worker(index: int) -> None:
        own = RunRecords(redis.Redis.from_url(redis_url))
        barrier.wait()
        results[index] = calls[index](own)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return results


def _start(run_id: str, worker: str) -> Callable[[RunRecords], Any]:
    return lambda records: ("start", records.start(run_id, worker=worker, task_id=None))


def _cancel(run_id: str) -> Callable[[RunRecords], Any]:
    return lambda records: ("cancel", records.request_cancel(run_id, "stop"))


def test_start_and_cancel_racing_from_threads_agree_on_one_outcome(
    redis_url: str, records: RunRecords
) -> None:
    for _ in range(5):
        run_id = records.create(_record()).run_id
        calls = [_start(run_id, f"w{i}") if i % 2 else _cancel(run_id) for i in range(20)]
        results = _race(redis_url, calls)
        starts = [rec for kind, rec in results if kind == "start" and rec is not None]
        cancels = [rec for kind, rec in results if kind == "cancel" and rec is not None]
        final = records.get(run_id)
        assert len(starts) <= 1
        if starts:  # the start won: every cancel only asked the running run to stop
            assert final.state is RunState.RUNNING
            assert final.worker == starts[0].worker
            assert final.cancel_reason == "stop"
            assert cancels and all(c.state is RunState.RUNNING for c in cancels)
        else:  # a cancel won while queued: the run is over and nobody started it
            assert final.state is RunState.COMPLETED and final.conclusion == "cancelled"
            assert final.worker is None
            assert [c.state for c in cancels] == [RunState.COMPLETED]


def test_only_one_of_many_racing_finishes_wins(redis_url: str, records: RunRecords) -> None:
    run_id = records.create(_record()).run_id
    records.start(run_id, worker="w", task_id=None)

    def finish(conclusion: str) -> Callable[[RunRecords], Any]:
        return lambda own: own.finish(run_id, conclusion)

    winners = [r for r in _race(redis_url, [finish(f"c{i}") for i in range(20)]) if r]
    assert len(winners) == 1
    assert records.get(run_id).conclusion == winners[0].conclusion


def test_concurrent_field_updates_are_not_lost(redis_url: str, records: RunRecords) -> None:
    """Each thread appends to `phases` through `update`: no write overwrites another."""
    run_id = records.create(_record(phases=[])).run_id

    def append(name: str) -> Callable[[RunRecords], Any]:
        return lambda own: own.update(run_id, lambda rec: rec.phases.append(name))

    _race(redis_url, [append(f"p{i}") for i in range(20)])
    assert sorted(records.get(run_id).phases) == sorted(f"p{i}" for i in range(20))


# --- the per-target decision lock --------------------------------------------------------------


def test_target_lock_excludes_a_second_holder(redis_url: str) -> None:
    target = f"{_repo()}#5"
    one = RunRecords(redis.Redis.from_url(redis_url))
    two = RunRecords(redis.Redis.from_url(redis_url))
    first = one.target_lock(target, timeout=5)
    assert first.acquire()
    second = two.target_lock(target, timeout=5)
    assert not second.acquire(blocking=False)
    assert two.target_lock(f"{target}0", timeout=5).acquire(blocking=False)  # other target
    first.release()
    assert second.acquire(blocking=False)
    second.release()


def test_target_lock_serialises_read_decide_write(redis_url: str) -> None:
    """Ten threads each "start a run unless one exists" under the lock: exactly one is created."""
    repo = _repo()
    created: list[str] = []

    def decide(records: RunRecords) -> None:
        with records.target_lock(f"{repo}#5", timeout=5):
            if records.latest_for_pr(repo, 5) is None:
                time.sleep(0.01)  # widen the window a missing lock would leave open
                created.append(records.create(_record(repo, 5)).run_id)

    _race(redis_url, [decide] * 10)
    assert len(created) == 1
