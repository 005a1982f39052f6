"""Agent execution pipeline."""

from __future__ import annotations

import httpx


def run_agent(authed: httpx.Client, prompt: str = "Summarise open incidents") -> httpx.Response:
    return authed.post("/agents/runs", json={"agent": "triage", "prompt": prompt})


def test_agent_run_completes_with_output(authed: httpx.Client) -> None:
    answer = run_agent(authed)
    assert answer.status_code == 201, answer.text
    run = answer.json()
    assert run["status"] == "completed"
    assert run["output"].startswith("Summary of:")


def test_agent_run_can_be_fetched_again(authed: httpx.Client) -> None:
    answer = run_agent(authed)
    assert answer.status_code == 201, answer.text
    run_id = answer.json()["run_id"]
    again = authed.get(f"/agents/runs/{run_id}")
    assert again.status_code == 200
    assert again.json()["run_id"] == run_id


def test_agent_run_records_the_tools_it_used(authed: httpx.Client) -> None:
    answer = run_agent(authed, "Find the runbook for the payments outage")
    assert answer.status_code == 201, answer.text
    assert answer.json()["tools_used"] == ["search_docs"]


def test_agent_run_requires_a_prompt(authed: httpx.Client) -> None:
    assert authed.post("/agents/runs", json={"agent": "triage"}).status_code == 422


def test_agent_run_requires_login(client: httpx.Client) -> None:
    assert client.post("/agents/runs", json={"prompt": "hi"}).status_code == 401
