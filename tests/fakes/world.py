"""A handler's world in memory: the fakes a `Context` is built from, kept for the asserts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.handlers.context import Context
from tests.fakes.github import APP_ID, FakeGitHub
from tests.fakes.launcher import RecordingLauncher
from tests.fakes.runs import MemoryRunRecords
from tests.fakes.stores import MemoryGates, MemoryReplies

INSTALLATION = 77


@dataclass
class World:
    github: FakeGitHub = field(default_factory=FakeGitHub)
    runs: MemoryRunRecords = field(default_factory=MemoryRunRecords)
    launcher: RecordingLauncher = field(default_factory=RecordingLauncher)
    replies: MemoryReplies = field(default_factory=MemoryReplies)
    gates: MemoryGates = field(default_factory=MemoryGates)
    memo: dict[str, Any] = field(default_factory=dict)  # kept across attempts, as the task does
    details_base: str | None = "https://bot.example/runs/"

    def context(self) -> Context:
        base = self.details_base
        return Context(
            github=self.github,
            runs=self.runs,
            launcher=self.launcher,
            installation_id=INSTALLATION,
            replies=self.replies,
            details_url=lambda run_id: f"{base}{run_id}" if base else None,
            app_id=APP_ID,
            gates=self.gates,
            memo=self.memo,
        )
