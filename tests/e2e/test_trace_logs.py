"""One delivery followed through the logs of all three processes: web, events worker, runs worker.

Each process writes JSON lines (its stdout is a file, not a terminal); the delivery's id travels
in Celery task headers, so the runs worker's lines for the run carry it with the run id."""

from __future__ import annotations

import json
from typing import Any

from sandbox.stack import Stack, wait_until
from tests.e2e.conftest import PASSING_SUITE, wait_for_check


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for raw in text.splitlines():
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    return lines


def test_one_delivery_is_traced_through_web_events_and_runs(stack: Stack, make_project):
    project = make_project({"tests/test_auth.py": PASSING_SUITE, "tests/test_checkout.py": ""})
    answer = stack.comment(project.repo, 1, "/golden-path run auth")
    assert answer.status_code == 202
    delivery_id = answer.request.headers["x-github-delivery"]
    wait_for_check(stack, project)

    def traced(process: str) -> list[dict[str, Any]]:
        return [
            line
            for line in json_lines(stack.log(process))
            if line.get("delivery_id") == delivery_id
        ]

    web = traced("web")
    assert any(line.get("status_code") == 202 for line in web)
    assert all(line["repo"] == project.repo for line in web)
    concluded = wait_until(
        lambda: [
            line
            for line in traced("worker")
            if line.get("logger") == "workers.job.run_job" and "concluded" in line["event"]
        ],
        timeout=20,
        what="the run's concluding log line",
    )
    run_id = concluded[0]["run_id"]
    worker = traced("worker")
    events = [line for line in worker if line.get("logger") == "workers.tasks"]
    assert any("handled" in line["event"] for line in events)
    assert all(line["installation_id"] == stack.installation_id for line in worker)
    assert {line["repo"] for line in worker} == {project.repo}
    assert any(line.get("run_id") == run_id for line in events)  # the run was launched here
    assert stack.secret.decode() not in stack.log("web") + stack.log("worker")
