"""One environment's line, in memory (`bot.state.env_lock.EnvironmentLock`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    holding: bool
    ahead: int = 0
    holder: str | None = None


class FakeLock:
    """Free unless `other` (a lock owner such as "<run id>.<attempt>") holds it: set it before
    the run asks to wait in line, or while it runs to have the environment taken from it (a
    lease that lapsed during a Redis outage)."""

    def __init__(self, owner: str, other: str | None = None) -> None:
        self.owner = owner
        self.other = other
        self.holding = False
        self.calls: list[str] = []

    def join(self) -> None:
        self.calls.append("join")

    def keep_alive(self) -> None:
        self.calls.append("keep_alive")

    def try_acquire(self) -> Turn:
        self.calls.append("try_acquire")
        if self.other is not None:
            self.holding = False
            return Turn(holding=False, ahead=1, holder=self.other)
        self.holding = True
        return Turn(holding=True, holder=self.owner)

    def release(self) -> None:
        self.calls.append("release")
        self.holding = False

    def holder(self) -> str | None:
        return self.other or (self.owner if self.holding else None)
