"""Time that passes only when someone sleeps: waits and retries without waiting."""

from __future__ import annotations

from collections.abc import Callable


class FakeClock:
    """`sleep` advances the clock at once and records the wait; `on_sleep` lets a test change
    the world while the code under test waits (a push, a cancel, another run finishing)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[], None] | None = None

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()
