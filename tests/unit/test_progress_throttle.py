"""The in-progress check run is updated at most every few seconds, never losing the latest state."""

from __future__ import annotations

import time

from workers.job.throttle import Throttled


def test_first_value_goes_at_once_then_only_the_latest_after_the_interval() -> None:
    sent: list[tuple[str, float]] = []
    throttled = Throttled(lambda v: sent.append((v, time.monotonic())), interval=0.3)
    start = time.monotonic()
    for value in ("setup", "phase 1", "phase 2"):
        throttled.offer(value)
    assert [v for v, _ in sent] == ["setup"]
    time.sleep(0.5)
    assert [v for v, _ in sent] == ["setup", "phase 2"]  # trailing update, middle one skipped
    assert sent[1][1] - start >= 0.29


def test_close_drops_a_held_value_so_nothing_overwrites_the_conclusion() -> None:
    sent: list[str] = []
    throttled = Throttled(sent.append, interval=0.2)
    throttled.offer("phase 1")
    throttled.offer("phase 2")
    throttled.close()
    throttled.offer("phase 3")
    time.sleep(0.35)
    assert sent == ["phase 1"]
