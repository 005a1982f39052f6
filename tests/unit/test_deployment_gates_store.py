"""Deployment requests in Redis: remembered once, decided once, found by the run they wait for."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from bot.core.deployment_gate import Answer, GateRequest, request_key
from bot.state.deployment_gates import GateRequests


@pytest.fixture
def gates(redis_url: str) -> Iterator[GateRequests]:
    connection = redis.Redis.from_url(redis_url)
    yield GateRequests(connection)
    connection.close()


def request(**fields: object) -> GateRequest:
    values: dict[str, object] = {
        "installation_id": 1,
        "repo": f"Acme/App-{uuid.uuid4().hex[:6]}",
        "environment": "Production",
        "sha": "a" * 40,
        "workflow_run_id": 5,
    }
    values.update(fields)
    return GateRequest.model_validate(values)


def test_one_request_per_workflow_run_and_environment(gates: GateRequests) -> None:
    first = gates.open(request())
    again = gates.open(first.model_copy(update={"environment": "production", "sender": "x"}))
    assert again == first  # a redelivery finds the first one (names compared as GitHub does)
    assert first.key == request_key(first.repo.lower(), 5, "PRODUCTION")
    other = gates.open(request(repo=first.repo, workflow_run_id=6))
    assert other.key != first.key
    assert {first.key, other.key} <= {r.key for r in gates.pending()}


def test_decided_once_and_pending_until_answered(gates: GateRequests) -> None:
    opened = gates.open(request())
    assert gates.decide(opened.key, Answer.REJECTED, "red") is not None
    assert gates.decide(opened.key, Answer.APPROVED, "green") is None
    assert gates.get(opened.key).state is Answer.REJECTED  # type: ignore[union-attr]
    assert gates.wait_for(opened.key, "run1", started=True) is None  # decided: no more waiting
    assert gates.mark_answered(opened.key) is not None
    assert gates.mark_answered(opened.key) is None
    assert opened.key not in {r.key for r in gates.pending()}


def test_requests_waiting_for_a_run(gates: GateRequests) -> None:
    run_id = uuid.uuid4().hex[:12]
    one = gates.open(request())
    two = gates.open(request())
    for opened in (one, two):
        gates.wait_for(opened.key, run_id, started=opened is one)
    assert {r.key for r in gates.waiting_on(run_id)} == {one.key, two.key}
    assert gates.get(one.key).runs_started == 1  # type: ignore[union-attr]
    gates.forget_run(two.key)  # e.g. the run was cancelled: two looks again
    assert [r.key for r in gates.waiting_on(run_id)] == [one.key]


def test_one_sender_at_a_time(gates: GateRequests) -> None:
    opened = gates.open(request())
    assert gates.claim(opened.key)
    assert not gates.claim(opened.key)
    gates.release(opened.key)
    assert gates.claim(opened.key)
