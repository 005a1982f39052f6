"""What a run owes GitHub after its check run (issue 10): the job keeps the rest of its report
owed from the moment the check run is concluded until all of it is posted, so a worker lost in
between leaves it for the reconcile loop (`workers.owed_publish`)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.owed_publish import read_document
from bot.github.client import GitHubRateLimited
from tests.unit.job.test_run_job import PLAN, RUN, World, queued
from workers.job.run_job import perform_run


class MemoryOwed:
    """`bot.state.owed_publishes.OwedPublishes` in memory, noting what the job did and when."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.events: list[str] = []
        self.documents: dict[str, str] = {}
        self.holds: list[float] = []

    def owe(self, run_id: str, document: str, *, hold_seconds: float) -> None:
        state = self.world.records.get(run_id).state.value
        self.events.append(f"owe (record {state})")
        self.documents[run_id] = document
        self.holds.append(hold_seconds)

    def renew(self, run_id: str, hold_seconds: float) -> None:
        self.events.append("renew")

    def settle(self, run_id: str) -> None:
        self.events.append("settle")
        self.documents.pop(run_id, None)


def _run(tmp_path: Path, fail_comment: bool) -> tuple[World, MemoryOwed]:
    world = World(tmp_path, PLAN, queued(phases=["auth"]))
    owed = MemoryOwed(world)
    if fail_comment:  # a rate limit: publishing lets that step go at once
        world.github.fail["upsert_comment"] = GitHubRateLimited("slow down", datetime.now(UTC))
    services = dataclasses.replace(world.services(), owed=owed)
    perform_run(RUN, services, worker="w1", task_id="t1")
    return world, owed


@pytest.mark.parametrize(
    ("name", "fail_comment", "events", "left_owed"),
    [
        ("all posted: owed, then settled", False, ["owe (record running)", "settle"], False),
        ("a step refused: stays owed", True, ["owe (record running)"], True),
    ],
)
def test_the_rest_of_the_report_is_owed_until_posted(
    tmp_path: Path, name: str, fail_comment: bool, events: list[str], left_owed: bool
) -> None:
    world, owed = _run(tmp_path, fail_comment)
    assert world.record().state.value == "completed"
    assert owed.events == events
    assert (RUN in owed.documents) is left_owed
    assert owed.holds == [3 * 3600.0]  # three heartbeats: the hold lapses once they stop


def test_the_owed_document_is_the_run_as_concluded(tmp_path: Path) -> None:
    world, owed = _run(tmp_path, fail_comment=True)
    document = read_document(owed.documents[RUN])
    assert (document.run_id, document.attempt, document.repo) == (RUN, 1, world.record().repo)
    report = document.run_report()
    assert report.conclusion is not None
    assert report.conclusion.value == world.record().conclusion
    assert document.five_whys == "issue"
