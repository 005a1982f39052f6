"""A run's job holds its folders until its last clean-up step: the disk sweep of the reconcile
loop must not take the checkout or artifacts of a run whose record completed (check concluded)
while its job still publishes and keeps its results."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
import redis

from bot.state.folder_leases import FolderLeases
from tests.unit.job.test_run_job import PLAN, RUN, World, queued
from workers.job.run_job import perform_run


class RecordingLeases:
    def __init__(self, world: World) -> None:
        self.world = world
        self.events: list[tuple[str, bool]] = []  # (what, the record still active then)

    def hold(self, run_id: str, seconds: float) -> None:
        assert run_id == RUN and seconds > 0
        self.events.append(("hold", self.world.record().active))

    def release(self, run_id: str) -> None:
        artifacts = self.world.workdir / "artifacts" / RUN
        self.events.append(("release", artifacts.exists()))


def test_the_job_holds_its_folders_from_start_to_its_last_clean_up(tmp_path: Path) -> None:
    world = World(tmp_path, PLAN, queued())
    leases = RecordingLeases(world)
    services = dataclasses.replace(world.services(), folder_leases=leases)
    perform_run(RUN, services, worker="w1", task_id="t1")
    assert world.record().conclusion == "success"
    # held while the run is queued/running, released only once the artifacts are gone
    assert leases.events == [("hold", True), ("release", False)]


@pytest.fixture
def leases(redis_url: str) -> FolderLeases:
    client = redis.Redis.from_url(redis_url)
    client.delete("gp:folder-leases")
    return FolderLeases(client)


def test_leases_lapse_unless_renewed_and_go_when_released(leases: FolderLeases) -> None:
    leases.hold("run-a", 30)
    leases.hold("run-b", 0.2)
    leases.hold("run-c", 30)
    leases.release("run-c")
    assert leases.held() == {"run-a", "run-b"}
    time.sleep(0.3)  # run-b's worker stopped renewing: its folders are leftovers now
    assert leases.held() == {"run-a"}
