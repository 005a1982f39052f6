"""Real-time websocket events: the agent's progress reaches the browser, in order."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

EXPECTED = [
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
]
EVENT_TIMEOUT = 1.0


def ws_url(staging_url: str, token: str) -> str:
    return staging_url.replace("http://", "ws://", 1) + f"/ws?token={token}"


def events_until(ws: ClientConnection, last: str) -> list[dict]:
    events = []
    while True:
        event = json.loads(ws.recv(timeout=EVENT_TIMEOUT))
        events.append(event)
        if event["type"] == last:
            return events


@pytest.fixture
def ws(staging_url: str, tokens: dict[str, str]):
    with connect(ws_url(staging_url, tokens["access_token"]), open_timeout=2) as conn:
        yield conn


def test_connection_without_a_token_is_refused(staging_url: str) -> None:
    with (
        pytest.raises(InvalidStatus) as refused,
        connect(ws_url(staging_url, "nope"), open_timeout=2),
    ):
        pass
    assert refused.value.response.status_code == 403


def test_agent_events_arrive_in_order(ws: ClientConnection) -> None:
    ws.send(json.dumps({"type": "run_agent", "prompt": "triage the queue"}))
    assert [e["type"] for e in events_until(ws, "agent_completed")] == EXPECTED


def test_every_event_carries_the_run_id(ws: ClientConnection) -> None:
    ws.send(json.dumps({"type": "run_agent", "prompt": "triage the queue"}))
    events = events_until(ws, "agent_completed")
    run_ids = {e["run_id"] for e in events}
    assert len(run_ids) == 1 and None not in run_ids, f"events lost their run: {events}"


def test_tool_result_is_delivered(ws: ClientConnection) -> None:
    ws.send(json.dumps({"type": "run_agent", "prompt": "look up the runbook"}))
    seen = []
    while "tool_completed" not in seen:
        seen.append(json.loads(ws.recv(timeout=EVENT_TIMEOUT))["type"])


def test_heartbeat(ws: ClientConnection) -> None:
    ws.send(json.dumps({"type": "ping"}))
    assert json.loads(ws.recv(timeout=EVENT_TIMEOUT)) == {"type": "pong"}
