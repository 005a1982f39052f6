"""The `runs` queue, in memory: what was launched and revoked."""

from __future__ import annotations


class RecordingLauncher:
    """`failures` are raised by the next launches, one each (a broker that is away)."""

    def __init__(self) -> None:
        self.launched: list[str] = []
        self.revoked: list[str] = []
        self.failures: list[Exception] = []

    def launch(self, run_id: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.launched.append(run_id)
        return f"task-{run_id}"

    def revoke(self, task_id: str) -> None:
        self.revoked.append(task_id)
