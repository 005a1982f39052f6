"""The reconcile loop decides nothing while Redis is away, and after an outage waits one
staleness window before trusting heartbeats (every run's beat stopped during it too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis

from workers.disk import DiskLimits
from workers.reconcile import Reconciler


class Reaper:
    def __init__(self) -> None:
        self.passes = 0

    def reap(self) -> list[str]:
        self.passes += 1
        return []


class Redis:
    """Answers, fails or answers slowly, as told."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.down = False
        self.slow = 0.0

    def ping(self) -> Any:
        if self.down:
            raise redis.ConnectionError("Connection refused")
        self.clock[0] += self.slow
        return True


def build(tmp_path: Path) -> tuple[Reconciler, Reaper, Redis, list[float]]:
    clock = [1000.0]
    reaper, server = Reaper(), Redis(clock)
    loop = Reconciler(
        reaper=reaper,  # type: ignore[arg-type]
        ping=server.ping,
        running_ids=set,
        workdir=tmp_path,
        limits=DiskLimits(),
        trust_after=30.0,
        clock=lambda: clock[0],
    )
    return loop, reaper, server, clock


def test_reaps_every_pass_while_redis_is_healthy(tmp_path: Path) -> None:
    loop, reaper, _, _ = build(tmp_path)
    loop.run_once()
    loop.run_once()
    assert reaper.passes == 2


def test_an_outage_stops_reaping_until_heartbeats_can_be_trusted(tmp_path: Path) -> None:
    loop, reaper, server, clock = build(tmp_path)
    server.down = True
    loop.run_once()
    assert reaper.passes == 0
    server.down = False
    clock[0] += 20
    loop.run_once()
    assert reaper.passes == 0  # heartbeats just came back: a stale one means nothing yet
    clock[0] += 31
    loop.run_once()
    assert reaper.passes == 1


def test_a_paused_redis_counts_as_an_outage(tmp_path: Path) -> None:
    loop, reaper, server, clock = build(tmp_path)
    server.slow = 10.0  # CLIENT PAUSE: the ping waited
    loop.run_once()
    assert reaper.passes == 0
    server.slow = 0.0
    clock[0] += 31
    loop.run_once()
    assert reaper.passes == 1


def test_leftovers_are_swept_on_each_pass(tmp_path: Path) -> None:
    loop, _, _, _ = build(tmp_path)
    (tmp_path / "checkouts" / "dead").mkdir(parents=True)
    loop.run_once()
    assert not (tmp_path / "checkouts" / "dead").exists()
