"""Deliveries GitHub sends twice (a redelivery keeps its id) or that come back under a new id (a
replay after the de-duplication key expired): one run, one answer, nothing posted twice."""

from __future__ import annotations

import uuid
from pathlib import Path

from sandbox.stack import Stack, wait_until
from tests.faults import harness
from tests.faults.harness import check_nothing_lost, record


def test_duplicate_and_replayed_deliveries(stack: Stack, tmp_path: Path) -> None:
    project = harness.make_project(stack, tmp_path, slow_seconds=3)
    body = "/golden-path run"
    comment_id = stack.github.fake.add_comment(project.repo, project.number, body)
    delivery = str(uuid.uuid4())
    answers = [
        harness.deliver_comment(stack, project, comment_id, body, delivery) for _ in range(3)
    ]
    assert answers[0] == 202 and all(a in (200, 202) for a in answers[1:])
    wait_until(lambda: harness.pids(project), timeout=60, what="the run's slow test")
    replayed = harness.deliver_comment(stack, project, comment_id, body, str(uuid.uuid4()))
    assert replayed in (200, 202)
    done = harness.wait_done(stack, project)
    lost = check_nothing_lost(stack, project, conclusion="success", restarted=False)
    reactions = stack.github.fake.reactions(comment_id)
    if len(reactions) != 1:
        lost.append(f"{len(reactions)} reactions on the comment")
    record(
        "same delivery 3 times, then replayed under a new id",
        "webhook",
        "4 deliveries",
        f"one run, {done['conclusion']}",
        lost,
    )
    assert not lost
